//! The shortest path through the product: admin token, realm, client, token, verified by JWKS.

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_client_gets_a_token_verifiable_from_the_jwks() {
    let app = spawn_app().await;
    app.create_realm("acme").await;
    let (_, secret) = app.create_service_client("acme", "billing").await;
    let resp = app.client_credentials("acme", "billing", &secret).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("cache-control").map(|v| v.to_str().unwrap_or("")),
        Some("no-store")
    );
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let claims = app
        .verify("acme", body["access_token"].as_str().expect("token"))
        .await
        .expect("verifies");
    assert_eq!(claims["azp"], "billing");
    assert_eq!(claims["preferred_username"], "service-account-billing");
    assert_eq!(claims["client_id"], "billing");
    assert!(claims["realm_access"]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .any(|r| r == "default-roles-acme"));
}
