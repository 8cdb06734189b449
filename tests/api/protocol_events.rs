//! The protocol endpoints' events (issue 6): `CLIENT_LOGIN`, `CODE_TO_TOKEN`, `REFRESH_TOKEN`,
//! `INTROSPECT_TOKEN`, `REVOKE_GRANT`, `LOGOUT` and their `_ERROR`s, with Keycloak's fields, and
//! none of them stored when the realm's settings say so.

use reqwest::Method;
use serde_json::{json, Value};

use crate::authorization_code::{exchange, login_for_code, realm_with_web_client, Browser, VERIFIER};
use crate::helpers::{list_after_writer, spawn_app, TestApp};

/// The realm's events of `event_type` once at least `at_least` are stored.
async fn events_of(app: &TestApp, realm: &str, event_type: &str, at_least: usize) -> Vec<Value> {
    list_after_writer(
        app,
        &format!("/admin/realms/{realm}/events?type={event_type}"),
        at_least,
    )
    .await
}

async fn service_account_id(app: &TestApp, realm: &str, client_uuid: &str) -> String {
    let resp = app
        .admin(
            Method::GET,
            &format!("/admin/realms/{realm}/clients/{client_uuid}/service-account-user"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_leave_client_login_events() {
    let app = spawn_app().await;
    app.create_realm("acme").await;
    let (uuid, secret) = app.create_service_client("acme", "billing").await;
    let account = service_account_id(&app, "acme", &uuid).await;
    assert_eq!(app.client_credentials("acme", "billing", &secret).await.status(), 200);
    assert_eq!(app.client_credentials("acme", "billing", "wrong").await.status(), 401);

    let logins = events_of(&app, "acme", "CLIENT_LOGIN", 1).await;
    assert_eq!(logins.len(), 1, "{logins:?}");
    let login = &logins[0];
    assert_eq!(login["clientId"], "billing");
    assert_eq!(login["userId"], account.as_str(), "the service account is the user");
    assert_eq!(login["ipAddress"], "127.0.0.1");
    assert_eq!(login["details"]["grant_type"], "client_credentials");
    assert!(login["error"].is_null());

    let errors = events_of(&app, "acme", "CLIENT_LOGIN_ERROR", 1).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["clientId"], "billing", "the client the request named");
    assert_eq!(errors[0]["error"], "invalid_client_credentials");
    assert!(errors[0]["userId"].is_null());
    assert!(
        !errors[0].to_string().contains("wrong"),
        "no presented secret in an event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_refresh_introspection_revocation_and_logout_events() {
    let app = spawn_app().await;
    let user_id = realm_with_web_client(&app, "acme").await;
    let (_, secret) = app.create_service_client("acme", "resource-server").await;
    let browser = Browser::new(&app);

    let code = login_for_code(&app, &browser, "acme", "web").await;
    let (status, tokens) = exchange(&app, "acme", "web", &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    let session = tokens["session_state"].as_str().expect("session").to_owned();

    let code_events = events_of(&app, "acme", "CODE_TO_TOKEN", 1).await;
    assert_eq!(code_events.len(), 1);
    assert_eq!(code_events[0]["userId"], user_id.as_str());
    assert_eq!(code_events[0]["sessionId"], session.as_str());
    assert_eq!(code_events[0]["clientId"], "web");

    let refresh = |token: String| {
        let app = &app;
        async move {
            app.http
                .post(app.token_url("acme"))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", "web"),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .expect("refresh")
        }
    };
    let first_refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    let resp = refresh(first_refresh.clone()).await;
    assert_eq!(resp.status(), 200);
    let refreshed: Value = resp.json().await.expect("json");
    assert_eq!(refresh("not-a-token".into()).await.status(), 400);
    let refreshes = events_of(&app, "acme", "REFRESH_TOKEN", 1).await;
    assert_eq!(refreshes.len(), 1);
    assert_eq!(refreshes[0]["userId"], user_id.as_str());
    assert_eq!(refreshes[0]["sessionId"], session.as_str());
    let refresh_errors = events_of(&app, "acme", "REFRESH_TOKEN_ERROR", 1).await;
    assert_eq!(refresh_errors.len(), 1);
    assert_eq!(refresh_errors[0]["error"], "invalid_token");
    assert_eq!(refresh_errors[0]["clientId"], "web");

    // Introspection and revocation by the confidential resource server.
    let access = refreshed["access_token"].as_str().expect("access");
    let resp = app
        .http
        .post(format!("{}/introspect", app.token_url("acme")))
        .basic_auth("resource-server", Some(&secret))
        .form(&[("token", access)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(resp.status(), 200);
    let resp = app
        .http
        .post(format!("{}/introspect", app.token_url("acme")))
        .basic_auth("resource-server", Some("wrong"))
        .form(&[("token", access)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(resp.status(), 401);
    let introspections = events_of(&app, "acme", "INTROSPECT_TOKEN", 1).await;
    assert_eq!(introspections.len(), 1);
    assert_eq!(introspections[0]["clientId"], "resource-server");
    assert_eq!(introspections[0]["userId"], user_id.as_str(), "whose token it was");
    let introspection_errors = events_of(&app, "acme", "INTROSPECT_TOKEN_ERROR", 1).await;
    assert_eq!(introspection_errors.len(), 1);
    assert_eq!(introspection_errors[0]["error"], "invalid_client_credentials");

    let resp = app
        .http
        .post(app.url("/realms/acme/protocol/openid-connect/revoke"))
        .form(&[("client_id", "web"), ("token", access)])
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 200);
    let revocations = events_of(&app, "acme", "REVOKE_GRANT", 1).await;
    assert_eq!(revocations.len(), 1);
    assert_eq!(revocations[0]["clientId"], "web");

    // Back-channel logout with the newest refresh token ends the session.
    let resp = app
        .http
        .post(app.url("/realms/acme/protocol/openid-connect/logout"))
        .form(&[
            ("client_id", "web"),
            ("refresh_token", refreshed["refresh_token"].as_str().expect("refresh")),
        ])
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 204);
    let logouts = events_of(&app, "acme", "LOGOUT", 1).await;
    assert_eq!(logouts.len(), 1);
    assert_eq!(logouts[0]["userId"], user_id.as_str());
    assert_eq!(logouts[0]["sessionId"], session.as_str());
    assert_eq!(logouts[0]["clientId"], "web");

    // A code works once (a replay also revokes what it gave, so this comes last).
    let (status, _) = exchange(&app, "acme", "web", &code, VERIFIER).await;
    assert_eq!(status, 400);
    let code_errors = events_of(&app, "acme", "CODE_TO_TOKEN_ERROR", 1).await;
    assert_eq!(code_errors.len(), 1);
    assert_eq!(code_errors[0]["error"], "invalid_code");
    assert_eq!(code_errors[0]["clientId"], "web");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realm_that_keeps_no_such_events_stores_none() {
    let app = spawn_app().await;
    app.create_realm("quiet").await;
    app.create_realm("loud").await;
    let resp = app
        .admin(
            Method::PUT,
            "/admin/realms/quiet/events/config",
            Some(json!({ "enabledEventTypes": ["CLIENT_LOGIN_ERROR"] })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    for realm in ["quiet", "loud"] {
        let (_, secret) = app.create_service_client(realm, "svc").await;
        assert_eq!(app.client_credentials(realm, "svc", &secret).await.status(), 200);
        assert_eq!(app.client_credentials(realm, "svc", "wrong").await.status(), 401);
    }
    // The other realm's events have been written by the time its list shows them.
    assert_eq!(events_of(&app, "loud", "CLIENT_LOGIN", 1).await.len(), 1);
    assert_eq!(events_of(&app, "loud", "CLIENT_LOGIN_ERROR", 1).await.len(), 1);
    assert_eq!(events_of(&app, "quiet", "CLIENT_LOGIN_ERROR", 1).await.len(), 1);
    assert!(events_of(&app, "quiet", "CLIENT_LOGIN", 0).await.is_empty());

    let resp = app
        .admin(
            Method::PUT,
            "/admin/realms/quiet/events/config",
            Some(json!({ "eventsEnabled": false, "enabledEventTypes": [] })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(app.client_credentials("quiet", "svc", "wrong").await.status(), 401);
    assert_eq!(app.client_credentials("loud", "svc", "wrong").await.status(), 401);
    assert_eq!(events_of(&app, "loud", "CLIENT_LOGIN_ERROR", 2).await.len(), 2);
    assert_eq!(
        events_of(&app, "quiet", "CLIENT_LOGIN_ERROR", 0).await.len(),
        1,
        "nothing new once events are off"
    );
}
