//! Restart: stop the server, start it again on the same storage; keys, clients, users and secrets
//! are all still there and tokens issued before still verify.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::spawn_app;
use crate::helpers::{spawn_on, verify_with_jwks, TestApp};
use crate::isolation::create_user;
use crate::token_endpoint::{split, token_form};

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).expect("header").kid.expect("kid")
}

async fn client_secret(app: &TestApp, realm: &str, id: &str) -> String {
    let resp = app
        .admin(
            Method::GET,
            &format!("/admin/realms/{realm}/clients/{id}/client-secret"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    body["value"].as_str().expect("secret").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_survives_a_restart() {
    let app = spawn_app().await;
    app.create_realm("keep").await;
    let resp = app
        .admin(
            Method::PUT,
            "/admin/realms/keep",
            Some(json!({ "accessTokenLifespan": 900 })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let (id, secret) = app.create_service_client("keep", "svc").await;
    // A generated secret too.
    let generated_id = {
        let resp = app
            .admin(
                Method::POST,
                "/admin/realms/keep/clients",
                Some(json!({ "clientId": "gen", "serviceAccountsEnabled": true })),
            )
            .await;
        assert_eq!(resp.status(), 201);
        crate::helpers::location_id(&resp)
    };
    let generated = client_secret(&app, "keep", &generated_id).await;
    create_user(&app, "keep", "ursula", "ursula-password-123", true).await;

    let (status, _, body) = split(app.client_credentials("keep", "svc", &secret).await).await;
    assert_eq!(status, 200);
    let token = body["access_token"].as_str().expect("token").to_owned();
    let kid = kid_of(&token);
    let old_issuer = app.issuer("keep");
    let jwks_before = app.jwks("keep").await;
    let master_kid = kid_of(&app.admin_token().await);

    let app = app.restart().await;

    // The old token verifies against the restarted server's JWKS (its issuer is the old address).
    let jwks_after = app.jwks("keep").await;
    assert_eq!(jwks_before, jwks_after, "same keys published");
    verify_with_jwks(&jwks_after, &token, &old_issuer).expect("old token verifies after restart");

    // Clients with the same secrets, the same signing key, the same settings.
    let (status, _, body) = split(app.client_credentials("keep", "svc", &secret).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 900);
    let new_token = body["access_token"].as_str().expect("token");
    assert_eq!(kid_of(new_token), kid, "kid unchanged");
    app.verify("keep", new_token).await.expect("verifies");
    let (status, _, _) = split(app.client_credentials("keep", "gen", &generated).await).await;
    assert_eq!(status, 200);
    let (status, _, _) = split(
        app.client_credentials("keep", "svc", "wrong-secret-0123456789abcdefghijklmnop")
            .await,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(client_secret(&app, "keep", &id).await, secret);
    assert_eq!(client_secret(&app, "keep", &generated_id).await, generated);

    // The bootstrap admin (not re-created) and the user log in.
    let admin = app.admin_token().await;
    assert_eq!(kid_of(&admin), master_kid);
    let (status, _, body) = token_form(
        &app,
        "keep",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "ursula"),
            ("password", "ursula-password-123"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let realms: Value = app
        .admin(Method::GET, "/admin/realms", None)
        .await
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = realms
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["realm"].as_str())
        .collect();
    assert_eq!(names.iter().filter(|n| **n == "master").count(), 1);
    assert!(names.contains(&"keep"));
}

/// Stops `app` and starts it again at the same address (so its issuer is unchanged).
pub async fn restart_in_place(app: TestApp) -> TestApp {
    restart_in_place_with(app, false).await
}

/// Like `restart_in_place`; with `forget_ephemeral` the new node also starts on an empty
/// ephemeral store (a restarted Redis without persistence; the in-process store is lost anyway).
pub async fn restart_in_place_with(app: TestApp, forget_ephemeral: bool) -> TestApp {
    let port = app.port;
    let address = app.address.clone();
    app.stop().await;
    let (mut storage, clock) = (app.storage.clone(), app.clock.clone());
    if forget_ephemeral {
        storage.redis_prefix = format!("test-{}:", uuid::Uuid::new_v4().simple());
    }
    drop(app);
    spawn_on(storage, clock, move |s| {
        s.bind = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        s.public_url = Some(address);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_before_a_restart_in_place_keep_working() {
    let app = spawn_app().await;
    app.create_realm("inplace").await;
    let (_, secret) = app.create_service_client("inplace", "svc").await;
    let admin = app.admin_token().await;
    let (status, _, login) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", crate::helpers::ADMIN_USER),
            ("password", crate::helpers::ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (_, _, body) = split(app.client_credentials("inplace", "svc", &secret).await).await;
    let token = body["access_token"].as_str().expect("token").to_owned();

    let app = restart_in_place(app).await;

    app.verify("inplace", &token).await.expect("old access token verifies");
    // The admin's token from before the restart is still accepted by the admin API.
    let resp = app
        .admin_as(&admin, Method::GET, "/admin/realms/inplace/clients", None)
        .await;
    assert_eq!(resp.status(), 200);
    // The refresh token too (its family lives in the database).
    let rt = login["refresh_token"].as_str().expect("rt");
    let (status, _, body) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "admin-cli"),
            ("refresh_token", rt),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // And its reuse is still detected.
    let (status, _, body) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "admin-cli"),
            ("refresh_token", rt),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}
