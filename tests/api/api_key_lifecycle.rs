//! API keys over their life (issue 4): rotation with a grace period, regeneration, the admin's
//! view of one key, accepted environments, IP allowlists behind trusted proxies, the usage record
//! and its events, keys at userinfo, and `request_iso8601`.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_on, Storage, TestApp};
use crate::isolation::create_user;
use nexus::clock::{Clock, SettableClock};

const PASSWORD: &str = "alice-password";

/// A node that believes `X-Forwarded-For` from loopback (as behind a local proxy).
async fn spawn_behind_proxy() -> TestApp {
    spawn_on(Storage::fresh(), SettableClock::default(), |s| {
        s.trusted_proxies = vec![
            "127.0.0.0/8".parse().expect("a range"),
            "::1/128".parse().expect("a range"),
        ];
    })
    .await
}

/// Realm `realm` with user alice (and the `email` scope her keys may carry); (alice's id, her token).
async fn realm_with_alice(app: &TestApp, realm: &str) -> (String, String) {
    app.create_realm(realm).await;
    let alice = create_user(app, realm, "alice", PASSWORD, true).await;
    let token = app.password_token(realm, "admin-cli", "alice", PASSWORD).await;
    (alice, token)
}

fn keys_path(realm: &str) -> String {
    format!("/realms/{realm}/api/v1/api-keys")
}

async fn send(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request")
}

/// Creates a key as its owner; (id, secret).
async fn new_key(app: &TestApp, token: &str, realm: &str, body: Value) -> (String, String) {
    let resp = send(app, token, Method::POST, &keys_path(realm), Some(body)).await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.expect("json");
    (
        created["id"].as_str().expect("id").to_owned(),
        created["secret"].as_str().expect("secret").to_owned(),
    )
}

/// The status of listing the owner's keys with the secret as `Authorization-PSK`.
async fn psk_status(app: &TestApp, realm: &str, secret: &str) -> u16 {
    app.http
        .get(app.url(&keys_path(realm)))
        .header("Authorization-PSK", secret)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn key_for_token_status(app: &TestApp, realm: &str, id: &str, secret: &str) -> u16 {
    app.http
        .post(app.url(&format!("/realms/{realm}/api/v1/oauth/tokens")))
        .json(&json!({ "apiKey": id, "apiSecret": secret }))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn json_of(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status(), status);
    resp.json().await.expect("json")
}

#[tokio::test]
async fn api_key_rotation_keeps_the_old_secret_for_the_grace_period_only() {
    let app = crate::helpers::spawn_app().await;
    let (_, token) = realm_with_alice(&app, "rot").await;
    let (id, old) = new_key(&app, &token, "rot", json!({ "environment": "test" })).await;

    let rotated = json_of(
        send(
            &app,
            &token,
            Method::POST,
            &format!("{}/{id}/rotate", keys_path("rot")),
            None,
        )
        .await,
        200,
    )
    .await;
    let new = rotated["secret"].as_str().expect("a new secret").to_owned();
    assert_ne!(new, old);
    assert!(new.starts_with("nx_test_"), "the kind and environment stay: {new}");
    assert_eq!(rotated["id"], id.as_str());
    assert!(rotated["previousSecretExpiresAt"].is_string(), "{rotated}");

    // Both work inside the grace period (24 h by default); the list never shows a secret.
    assert_eq!(psk_status(&app, "rot", &old).await, 200);
    assert_eq!(psk_status(&app, "rot", &new).await, 200);
    assert_eq!(key_for_token_status(&app, "rot", &id, &old).await, 200);
    let list = json_of(send(&app, &token, Method::GET, &keys_path("rot"), None).await, 200).await;
    assert!(!list.to_string().contains(&new) && !list.to_string().contains(&old));

    app.clock.advance(24 * 3600 - 5);
    assert_eq!(
        psk_status(&app, "rot", &old).await,
        200,
        "still inside the grace period"
    );
    app.clock.advance(5);
    assert_eq!(psk_status(&app, "rot", &old).await, 401, "the grace period is over");
    assert_eq!(key_for_token_status(&app, "rot", &id, &old).await, 401);
    assert_eq!(psk_status(&app, "rot", &new).await, 200);

    // A realm setting shortens the grace period.
    app.update_realm("rot", json!({ "apiKeyRotationGraceSeconds": 60 }))
        .await;
    let token = app.password_token("rot", "admin-cli", "alice", PASSWORD).await;
    let again = json_of(
        send(
            &app,
            &token,
            Method::POST,
            &format!("{}/{id}/rotate", keys_path("rot")),
            None,
        )
        .await,
        200,
    )
    .await;
    let newest = again["secret"].as_str().expect("secret").to_owned();
    app.clock.advance(59);
    assert_eq!(psk_status(&app, "rot", &new).await, 200);
    app.clock.advance(1);
    assert_eq!(psk_status(&app, "rot", &new).await, 401);
    assert_eq!(psk_status(&app, "rot", &newest).await, 200);
    // A bad setting is refused.
    let resp = app
        .admin(
            Method::PUT,
            "/admin/realms/rot",
            Some(json!({ "apiKeyRotationGraceSeconds": -1 })),
        )
        .await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn api_key_regeneration_ends_the_old_secret_at_once() {
    let app = crate::helpers::spawn_app().await;
    let (_, token) = realm_with_alice(&app, "regen").await;
    let (id, old) = new_key(&app, &token, "regen", json!({})).await;
    let body = json_of(
        send(
            &app,
            &token,
            Method::POST,
            &format!("{}/{id}/regenerate", keys_path("regen")),
            None,
        )
        .await,
        200,
    )
    .await;
    let new = body["secret"].as_str().expect("secret").to_owned();
    assert!(new.starts_with("nx_live_"));
    assert!(body["previousSecretExpiresAt"].is_null());
    assert_eq!(psk_status(&app, "regen", &old).await, 401);
    assert_eq!(key_for_token_status(&app, "regen", &id, &old).await, 401);
    assert_eq!(psk_status(&app, "regen", &new).await, 200);
    // Rotating or regenerating a key that is not there, or not usable any more.
    let resp = send(
        &app,
        &token,
        Method::POST,
        &format!("{}/nope/rotate", keys_path("regen")),
        None,
    )
    .await;
    assert_eq!(resp.status(), 404);
    app.clock.advance(366 * 24 * 3600);
    let token = app.password_token("regen", "admin-cli", "alice", PASSWORD).await;
    let resp = send(
        &app,
        &token,
        Method::POST,
        &format!("{}/{id}/regenerate", keys_path("regen")),
        None,
    )
    .await;
    assert_eq!(resp.status(), 409, "an expired key gets no new secret");
}

#[tokio::test]
async fn api_key_admin_reads_changes_rotates_and_regenerates_one_key() {
    let app = crate::helpers::spawn_app().await;
    let (alice, token) = realm_with_alice(&app, "adm").await;
    let (id, old) = new_key(&app, &token, "adm", json!({ "description": "ci" })).await;
    let one = format!("/admin/realms/adm/users/{alice}/api-keys/{id}");

    let key = json_of(app.admin(Method::GET, &one, None).await, 200).await;
    assert_eq!(key["description"], "ci");
    assert!(key.get("secret").is_none());
    let changed = json_of(
        app.admin(
            Method::PUT,
            &one,
            Some(json!({ "description": "deploy", "allowedIps": ["10.0.0.0/8"] })),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["description"], "deploy");
    assert_eq!(changed["allowedIps"], json!(["10.0.0.0/8"]));
    // Bad input changes nothing.
    let resp = app
        .admin(
            Method::PUT,
            &one,
            Some(json!({ "description": "x", "allowedIps": ["10.0.0.300"] })),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let key = json_of(app.admin(Method::GET, &one, None).await, 200).await;
    assert_eq!(key["description"], "deploy");
    // Clear the allowlist again, then rotate and regenerate as the admin.
    app.admin(Method::PUT, &one, Some(json!({ "allowedIps": [] }))).await;
    let rotated = json_of(app.admin(Method::POST, &format!("{one}/rotate"), None).await, 200).await;
    let rotated_secret = rotated["secret"].as_str().expect("secret").to_owned();
    assert_eq!(psk_status(&app, "adm", &old).await, 200, "grace period");
    let regenerated = json_of(app.admin(Method::POST, &format!("{one}/regenerate"), None).await, 200).await;
    assert_eq!(psk_status(&app, "adm", &old).await, 401);
    assert_eq!(psk_status(&app, "adm", &rotated_secret).await, 401);
    assert_eq!(
        psk_status(&app, "adm", regenerated["secret"].as_str().expect("secret")).await,
        200
    );
    assert_eq!(
        app.admin(
            Method::GET,
            &format!("/admin/realms/adm/users/{alice}/api-keys/nope"),
            None
        )
        .await
        .status(),
        404
    );
}

#[tokio::test]
async fn api_key_environments_are_a_realm_setting() {
    let app = crate::helpers::spawn_app().await;
    let (_, token) = realm_with_alice(&app, "env").await;
    let (_, test_secret) = new_key(&app, &token, "env", json!({ "environment": "test" })).await;
    let (_, live_secret) = new_key(&app, &token, "env", json!({})).await;
    let realm = json_of(app.admin(Method::GET, "/admin/realms/env", None).await, 200).await;
    assert_eq!(realm["apiKeyEnvironments"], json!(["live", "test"]));

    app.update_realm("env", json!({ "apiKeyEnvironments": ["live"] })).await;
    assert_eq!(
        psk_status(&app, "env", &test_secret).await,
        401,
        "test keys refused now"
    );
    assert_eq!(psk_status(&app, "env", &live_secret).await, 200);
    let resp = send(
        &app,
        &token,
        Method::POST,
        &keys_path("env"),
        Some(json!({ "environment": "test" })),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let resp = app
        .admin(
            Method::PUT,
            "/admin/realms/env",
            Some(json!({ "apiKeyEnvironments": ["prod"] })),
        )
        .await;
    assert_eq!(resp.status(), 400);
    // Minted tokens carry the environment.
    app.update_realm("env", json!({ "apiKeyEnvironments": ["live", "test"] }))
        .await;
    assert_eq!(psk_status(&app, "env", &test_secret).await, 200);
}

#[tokio::test]
async fn api_key_allowlists_use_the_client_address_from_trusted_proxies_only() {
    let app = spawn_behind_proxy().await;
    let (_, token) = realm_with_alice(&app, "ips").await;
    let (id, secret) = new_key(
        &app,
        &token,
        "ips",
        json!({ "allowedIps": ["203.0.113.0/24", "2001:db8::1"] }),
    )
    .await;
    let from = |address: &'static str| {
        app.http
            .get(app.url(&keys_path("ips")))
            .header("Authorization-PSK", secret.clone())
            .header("X-Forwarded-For", address)
    };
    let status = |req: reqwest::RequestBuilder| async move { req.send().await.expect("request").status().as_u16() };
    assert_eq!(status(from("203.0.113.7")).await, 200);
    assert_eq!(status(from("2001:db8::1")).await, 200);
    assert_eq!(status(from("198.51.100.1")).await, 401);
    assert_eq!(
        psk_status(&app, "ips", &secret).await,
        401,
        "loopback is not on the list"
    );
    // The header's last untrusted hop counts, not whatever the client wrote first.
    assert_eq!(status(from("203.0.113.7, 198.51.100.1")).await, 401);
    assert_eq!(status(from("198.51.100.1, 203.0.113.7")).await, 200);
    let minted = app
        .http
        .post(app.url("/realms/ips/api/v1/oauth/tokens"))
        .header("X-Forwarded-For", "198.51.100.1")
        .json(&json!({ "apiKey": id, "apiSecret": secret }))
        .send()
        .await
        .expect("request");
    assert_eq!(minted.status(), 401);

    // Without trusted proxies, X-Forwarded-For is the client's own word and is ignored.
    let plain = crate::helpers::spawn_app().await;
    let (_, token) = realm_with_alice(&plain, "ips").await;
    let (_, secret) = new_key(&plain, &token, "ips", json!({ "allowedIps": ["203.0.113.0/24"] })).await;
    let resp = plain
        .http
        .get(plain.url(&keys_path("ips")))
        .header("Authorization-PSK", &secret)
        .header("X-Forwarded-For", "203.0.113.7")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    let (_, open) = new_key(&plain, &token, "ips", json!({ "allowedIps": ["127.0.0.1"] })).await;
    assert_eq!(psk_status(&plain, "ips", &open).await, 200);
}

/// Waits until the events of `realm` matching `query` number at least `n` (they are written off
/// the request path).
async fn events(app: &TestApp, realm: &str, query: &str, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let body = json_of(
            app.admin(Method::GET, &format!("/admin/realms/{realm}/events?{query}"), None)
                .await,
            200,
        )
        .await;
        let list = body.as_array().expect("a list").clone();
        if list.len() >= n {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} events for {query}");
}

#[tokio::test]
async fn api_key_uses_and_refusals_are_recorded_and_listed_for_admins() {
    let app = spawn_behind_proxy().await;
    let (alice, token) = realm_with_alice(&app, "usage").await;
    let (id, secret) = new_key(&app, &token, "usage", json!({})).await;
    let one = format!("{}/{id}", keys_path("usage"));
    let before = json_of(send(&app, &token, Method::GET, &one, None).await, 200).await;
    assert!(before["lastUsedAt"].is_null());

    let resp = app
        .http
        .get(app.url(&keys_path("usage")))
        .header("Authorization-PSK", &secret)
        .header("X-Forwarded-For", "198.51.100.23")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        key_for_token_status(&app, "usage", &id, "nx_live_wrong-secret").await,
        401
    );

    let used = events(&app, "usage", "type=API_KEY_USED", 1).await;
    assert_eq!(used[0]["type"], "API_KEY_USED");
    assert_eq!(used[0]["userId"], alice.as_str());
    assert_eq!(used[0]["ipAddress"], "198.51.100.23");
    assert_eq!(used[0]["details"]["api_key_id"], id.as_str());
    assert_eq!(used[0]["details"]["auth_method"], "header");
    assert!(used[0]["time"].as_i64().is_some_and(|t| t > 0));
    let refused = events(&app, "usage", "type=API_KEY_REFUSED", 1).await;
    assert_eq!(refused[0]["error"], "invalid_secret");
    assert_eq!(
        refused[0]["details"]["api_key_id"],
        id.as_str(),
        "pinned on the key it named"
    );
    assert_eq!(refused[0]["userId"], alice.as_str());
    // Filters: by user, by address, by several types, by date, paging.
    let both = events(&app, "usage", "type=API_KEY_USED&type=API_KEY_REFUSED", 2).await;
    assert_eq!(both.len(), 2);
    let by_ip = events(&app, "usage", "ipAddress=198.51.100.23", 1).await;
    assert!(by_ip.iter().all(|e| e["ipAddress"] == "198.51.100.23"));
    let far = json_of(
        app.admin(Method::GET, "/admin/realms/usage/events?dateFrom=2999-01-01", None)
            .await,
        200,
    )
    .await;
    assert_eq!(far, json!([]));
    let page = json_of(
        app.admin(Method::GET, "/admin/realms/usage/events?max=1", None).await,
        200,
    )
    .await;
    assert_eq!(page.as_array().map(Vec::len), Some(1));
    let resp = app
        .admin(Method::GET, "/admin/realms/usage/events?dateFrom=yesterday", None)
        .await;
    assert_eq!(resp.status(), 400);

    // The key's usage record.
    let mut after = Value::Null;
    for _ in 0..100 {
        after = json_of(send(&app, &token, Method::GET, &one, None).await, 200).await;
        if after["lastUsedAt"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(after["lastUsedAt"].is_string(), "{after}");
    assert_eq!(after["lastUsedIp"], "198.51.100.23");

    // Only admins of the realm read them; an admin clears them.
    let resp = app
        .http
        .get(app.url("/admin/realms/usage/events"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 403);
    assert_eq!(
        app.admin(Method::DELETE, "/admin/realms/usage/events", None)
            .await
            .status(),
        204
    );
    let cleared = json_of(app.admin(Method::GET, "/admin/realms/usage/events", None).await, 200).await;
    assert_eq!(cleared, json!([]));
}

#[tokio::test]
async fn api_keys_and_their_tokens_are_accepted_at_userinfo() {
    let app = crate::helpers::spawn_app().await;
    let (alice, token) = realm_with_alice(&app, "ui").await;
    let userinfo = app.url("/realms/ui/protocol/openid-connect/userinfo");
    let (id, secret) = new_key(&app, &token, "ui", json!({ "permissions": "email" })).await;
    let (_, bare) = new_key(&app, &token, "ui", json!({})).await;

    let claims = json_of(
        app.http
            .get(&userinfo)
            .header("Authorization-PSK", &secret)
            .send()
            .await
            .expect("request"),
        200,
    )
    .await;
    assert_eq!(claims["sub"], alice.as_str());
    assert!(
        claims.get("email_verified").is_some(),
        "the email permission releases it: {claims}"
    );
    let claims = json_of(
        app.http
            .get(&userinfo)
            .bearer_auth(&bare)
            .send()
            .await
            .expect("request"),
        200,
    )
    .await;
    assert_eq!(claims["sub"], alice.as_str());
    assert!(
        claims.get("email_verified").is_none(),
        "no permission, no email claims: {claims}"
    );
    let resp = app
        .http
        .get(&userinfo)
        .header("Authorization-PSK", "nx_live_nothing-like-a-key")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));

    // A token minted from the key works there, and stops with its key.
    let minted: Value = app
        .http
        .post(app.url("/realms/ui/api/v1/oauth/tokens"))
        .json(&json!({ "apiKey": id, "apiSecret": secret }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let access = minted["access_token"].as_str().expect("token").to_owned();
    let claims = json_of(
        app.http
            .get(&userinfo)
            .bearer_auth(&access)
            .send()
            .await
            .expect("request"),
        200,
    )
    .await;
    assert_eq!(claims["sub"], alice.as_str());
    let resp = send(&app, &token, Method::DELETE, &format!("{}/{id}", keys_path("ui")), None).await;
    assert_eq!(resp.status(), 204);
    let resp = app
        .http
        .get(&userinfo)
        .bearer_auth(&access)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn request_iso8601_turns_every_date_into_iso_8601() {
    let app = crate::helpers::spawn_app().await;
    let (alice, _) = realm_with_alice(&app, "iso").await;
    let user = format!("/admin/realms/iso/users/{alice}");
    let plain = json_of(app.admin(Method::GET, &user, None).await, 200).await;
    assert!(
        plain["createdTimestamp"].is_i64(),
        "Keycloak's epoch milliseconds by default"
    );
    let admin_token = app.admin_token().await;
    let iso: Value = app
        .http
        .get(app.url(&user))
        .bearer_auth(&admin_token)
        .header("request_iso8601", "true")
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let created = iso["createdTimestamp"].as_str().expect("an ISO date");
    assert_eq!(created.len(), 20, "{created}");
    assert!(created.ends_with('Z') && &created[10..11] == "T", "{created}");
    assert_eq!(iso["username"], "alice", "the rest is untouched");
    let expected_day = nexus::domain::dates::format_rfc3339(app.clock.now());
    assert_eq!(&created[..10], &expected_day[..10]);
}
