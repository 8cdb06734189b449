//! A realm's event settings (issue 6): Keycloak's `GET|PUT /admin/realms/{realm}/events/config`,
//! which events are stored (`eventsEnabled`, `enabledEventTypes`), and the retention
//! (`eventsExpiration`) that a background job enforces.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{list_after_writer, spawn_on, Storage, TestApp};
use crate::isolation::create_user;
use nexus::clock::SettableClock;

async fn app_with_quick_purge() -> TestApp {
    spawn_on(Storage::fresh(), SettableClock::default(), |s| {
        s.events_purge_interval = 1;
    })
    .await
}

async fn config(app: &TestApp, realm: &str) -> Value {
    let resp = app
        .admin(Method::GET, &format!("/admin/realms/{realm}/events/config"), None)
        .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

async fn put_config(app: &TestApp, realm: &str, body: Value) -> reqwest::Response {
    app.admin(Method::PUT, &format!("/admin/realms/{realm}/events/config"), Some(body))
        .await
}

/// A refused API key: one `API_KEY_REFUSED` event (when the realm keeps those).
async fn refuse_a_key(app: &TestApp, realm: &str, user_id: &str) {
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/users/{user_id}/api-keys"),
            Some(json!({})),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let key: Value = resp.json().await.expect("json");
    let resp = app
        .http
        .post(app.url(&format!("/realms/{realm}/api/v1/oauth/tokens")))
        .json(&json!({ "apiKey": key["id"], "apiSecret": "nx_live_wrong" }))
        .send()
        .await
        .expect("key for token");
    assert_eq!(resp.status(), 401);
}

/// The realm's events once the writer has stored at least `at_least` (0: as they are now).
async fn events_after_writer(app: &TestApp, realm: &str, at_least: usize) -> Vec<Value> {
    list_after_writer(app, &format!("/admin/realms/{realm}/events"), at_least).await
}

#[tokio::test]
async fn events_config_reads_and_writes_keycloaks_representation() {
    let app = app_with_quick_purge().await;
    app.create_realm("shop").await;

    let initial = config(&app, "shop").await;
    assert_eq!(initial["eventsEnabled"], true, "nexus keeps events unless told not to");
    assert_eq!(initial["eventsExpiration"], Value::Null);
    assert_eq!(initial["enabledEventTypes"], json!([]));
    assert_eq!(initial["adminEventsEnabled"], false);
    assert_eq!(initial["eventsListeners"], json!(["jboss-logging"]));

    let resp = put_config(
        &app,
        "shop",
        json!({ "eventsExpiration": 3600, "enabledEventTypes": ["API_KEY_USED"], "adminEventsEnabled": true }),
    )
    .await;
    assert_eq!(resp.status(), 204);
    let changed = config(&app, "shop").await;
    assert_eq!(changed["eventsExpiration"], 3600);
    assert_eq!(changed["enabledEventTypes"], json!(["API_KEY_USED"]));
    assert_eq!(changed["adminEventsEnabled"], true);
    assert_eq!(changed["eventsEnabled"], true, "a field left out keeps its value");

    // Bad fields are refused by name, and nothing of the body is applied.
    for (body, field) in [
        (
            json!({ "eventsEnabled": "yes", "eventsExpiration": 60 }),
            "eventsEnabled",
        ),
        (json!({ "eventsExpiration": -5 }), "eventsExpiration"),
        (json!({ "enabledEventTypes": "LOGIN" }), "enabledEventTypes"),
        (json!({ "enabledEventTypes": ["login"] }), "enabledEventTypes"),
    ] {
        let resp = put_config(&app, "shop", body.clone()).await;
        assert_eq!(resp.status(), 400, "{body}");
        let error: Value = resp.json().await.expect("json");
        assert!(error.to_string().contains(field), "{body} → {error}");
    }
    assert_eq!(config(&app, "shop").await, changed);
    let resp = put_config(&app, "shop", json!({ "eventsExpiration": null })).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(config(&app, "shop").await["eventsExpiration"], Value::Null);

    // view-events may read, not write; a user with no admin role may do neither.
    create_user(&app, "shop", "eve", "eve-password-1", true).await;
    let token = app.password_token("shop", "admin-cli", "eve", "eve-password-1").await;
    let resp = app
        .http
        .get(app.url("/admin/realms/shop/events/config"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn events_config_decides_what_is_stored() {
    let app = app_with_quick_purge().await;
    app.create_realm("shop").await;
    let bob = create_user(&app, "shop", "bob", "bob-password-1", true).await;

    // Only API_KEY_USED is kept: a refusal leaves no event.
    let resp = put_config(&app, "shop", json!({ "enabledEventTypes": ["API_KEY_USED"] })).await;
    assert_eq!(resp.status(), 204);
    refuse_a_key(&app, "shop", &bob).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(events_after_writer(&app, "shop", 0).await, Vec::<Value>::new());

    // Every type again: the refusal is stored.
    let resp = put_config(&app, "shop", json!({ "enabledEventTypes": [] })).await;
    assert_eq!(resp.status(), 204);
    refuse_a_key(&app, "shop", &bob).await;
    let stored = events_after_writer(&app, "shop", 1).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["type"], "API_KEY_REFUSED");

    // Events off: nothing more is stored.
    let resp = put_config(&app, "shop", json!({ "eventsEnabled": false })).await;
    assert_eq!(resp.status(), 204);
    refuse_a_key(&app, "shop", &bob).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(events_after_writer(&app, "shop", 2).await.len(), 1);
}

#[tokio::test]
async fn events_past_their_realms_retention_are_removed() {
    let app = app_with_quick_purge().await;
    for realm in ["shop", "other"] {
        app.create_realm(realm).await;
        let bob = create_user(&app, realm, "bob", "bob-password-1", true).await;
        refuse_a_key(&app, realm, &bob).await;
        assert_eq!(events_after_writer(&app, realm, 1).await.len(), 1);
    }
    let resp = put_config(&app, "shop", json!({ "eventsExpiration": 3600 })).await;
    assert_eq!(resp.status(), 204);

    // Within the retention the event stays; two hours later the job (every second here) removes it,
    // and only in the realm with a retention.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(events_after_writer(&app, "shop", 1).await.len(), 1);
    app.clock.advance(2 * 3600);
    let mut left = 1;
    for _ in 0..60 {
        left = events_after_writer(&app, "shop", 0).await.len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "the expired event was not removed");
    assert_eq!(events_after_writer(&app, "other", 1).await.len(), 1);
}

/// Sign-ins and the account console leave Keycloak's event types: LOGIN and LOGIN_ERROR (with
/// the client, the user, the session and the address), UPDATE_PASSWORD.
#[tokio::test]
async fn sign_ins_and_password_changes_are_events() {
    let app = app_with_quick_purge().await;
    app.create_realm("shop").await;
    let bob = create_user(&app, "shop", "bob", "bob-password-1", true).await;
    let grant = |password: &'static str| {
        let app = &app;
        async move {
            app.http
                .post(app.token_url("shop"))
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", "admin-cli"),
                    ("username", "bob"),
                    ("password", password),
                ])
                .send()
                .await
                .expect("token")
                .status()
                .as_u16()
        }
    };
    assert_eq!(grant("wrong-password").await, 401);
    assert_eq!(grant("bob-password-1").await, 200);
    let events = events_after_writer(&app, "shop", 2).await;
    let login = events.iter().find(|e| e["type"] == "LOGIN").expect("LOGIN");
    assert_eq!(login["userId"], bob.as_str());
    assert_eq!(login["clientId"], "admin-cli");
    assert!(login["sessionId"].as_str().is_some_and(|s| !s.is_empty()), "{login}");
    assert_eq!(login["details"]["username"], "bob");
    let error = events.iter().find(|e| e["type"] == "LOGIN_ERROR").expect("LOGIN_ERROR");
    assert_eq!(error["error"], "invalid_user_credentials");
    assert_eq!(error["details"]["username"], "bob");
    assert!(
        error["userId"].is_null(),
        "a failed login does not say whose the name is"
    );

    // Only the types a realm keeps.
    let resp = put_config(&app, "shop", json!({ "enabledEventTypes": ["LOGIN_ERROR"] })).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(grant("bob-password-1").await, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let logins = events_after_writer(&app, "shop", 0)
        .await
        .iter()
        .filter(|e| e["type"] == "LOGIN")
        .count();
    assert_eq!(logins, 1, "the second sign-in is not kept");
}
