//! The hot-path cache of granted API keys (ADR 014): a key that was granted once is judged from
//! memory afterwards, so every change that can refuse it must reach the cache at once — on this
//! node and, through the ephemeral store's invalidation channel, on the others.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, stack, TestApp};
use crate::isolation::{create_user, set_user_enabled};
use nexus::clock::Clock;

const PASSWORD: &str = "alice-password";

fn keys_path(realm: &str) -> String {
    format!("/realms/{realm}/api/v1/api-keys")
}

/// Creates a key as alice; (id, secret).
async fn new_key(app: &TestApp, token: &str, realm: &str, body: Value) -> (String, String) {
    let resp = app
        .http
        .post(app.url(&keys_path(realm)))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("create a key");
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.expect("json");
    (
        created["id"].as_str().expect("id").to_owned(),
        created["secret"].as_str().expect("secret").to_owned(),
    )
}

/// Key for token: (status, the token's claims when 200).
async fn key_for_token(app: &TestApp, realm: &str, id: &str, secret: &str) -> (u16, Option<Value>) {
    let resp = app
        .http
        .post(app.url(&format!("/realms/{realm}/api/v1/oauth/tokens")))
        .json(&json!({ "apiKey": id, "apiSecret": secret }))
        .send()
        .await
        .expect("key for token");
    let status = resp.status().as_u16();
    if status != 200 {
        return (status, None);
    }
    let body: Value = resp.json().await.expect("json");
    let claims = app
        .verify(realm, body["access_token"].as_str().expect("token"))
        .await
        .expect("the token verifies");
    (status, Some(claims))
}

async fn status_of(app: &TestApp, realm: &str, id: &str, secret: &str) -> u16 {
    key_for_token(app, realm, id, secret).await.0
}

/// `Authorization-PSK` at userinfo.
async fn userinfo_status(app: &TestApp, realm: &str, secret: &str) -> u16 {
    app.http
        .get(app.url(&format!("/realms/{realm}/protocol/openid-connect/userinfo")))
        .header("Authorization-PSK", secret)
        .send()
        .await
        .expect("userinfo")
        .status()
        .as_u16()
}

fn realm_roles(claims: &Value) -> Vec<String> {
    claims["realm_access"]["roles"]
        .as_array()
        .map(|roles| roles.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Realm `realm` with alice holding the realm role `reader`; (alice's id, her token, the role).
async fn realm_with_reader(app: &TestApp, realm: &str) -> (String, String, Value) {
    app.create_realm(realm).await;
    let alice = create_user(app, realm, "alice", PASSWORD, true).await;
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/roles"),
            Some(json!({ "name": "reader" })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let role: Value = app
        .admin(Method::GET, &format!("/admin/realms/{realm}/roles/reader"), None)
        .await
        .json()
        .await
        .expect("role");
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/users/{alice}/role-mappings/realm"),
            Some(json!([role.clone()])),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let token = app.password_token(realm, "admin-cli", "alice", PASSWORD).await;
    (alice, token, role)
}

#[tokio::test]
async fn a_granted_key_is_refused_at_once_after_any_change_that_refuses_it() {
    let app = spawn_app().await;
    let (alice, token, role) = realm_with_reader(&app, "hot").await;

    // Deleted by its owner: refused on the very next request, though it was granted (and so
    // cached) just before.
    let (id, secret) = new_key(&app, &token, "hot", json!({})).await;
    for _ in 0..3 {
        assert_eq!(status_of(&app, "hot", &id, &secret).await, 200);
    }
    assert_eq!(userinfo_status(&app, "hot", &secret).await, 200);
    let resp = app
        .http
        .delete(app.url(&format!("{}/{id}", keys_path("hot"))))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 204);
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 401, "deleted");
    assert_eq!(userinfo_status(&app, "hot", &secret).await, 401, "deleted");

    // Deleted by an admin.
    let (id, secret) = new_key(&app, &token, "hot", json!({})).await;
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 200);
    let resp = app
        .admin(
            Method::DELETE,
            &format!("/admin/realms/hot/users/{alice}/api-keys/{id}"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 401, "deleted by an admin");

    // Regenerated: the old secret stops at once, the new one works.
    let (id, secret) = new_key(&app, &token, "hot", json!({})).await;
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 200);
    let regenerated: Value = app
        .http
        .post(app.url(&format!("{}/{id}/regenerate", keys_path("hot"))))
        .bearer_auth(&token)
        .send()
        .await
        .expect("regenerate")
        .json()
        .await
        .expect("json");
    let new_secret = regenerated["secret"].as_str().expect("secret");
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 401, "regenerated");
    assert_eq!(status_of(&app, "hot", &id, new_secret).await, 200);

    // Rotated with a short grace: the cached (then current) secret becomes the previous one, which
    // ends with the grace period even though nothing else is written meanwhile.
    app.update_realm("hot", json!({ "apiKeyRotationGraceSeconds": 30 }))
        .await;
    assert_eq!(status_of(&app, "hot", &id, new_secret).await, 200);
    let resp = app
        .http
        .post(app.url(&format!("{}/{id}/rotate", keys_path("hot"))))
        .bearer_auth(&token)
        .send()
        .await
        .expect("rotate");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        status_of(&app, "hot", &id, new_secret).await,
        200,
        "in its grace period"
    );
    app.clock.advance(30);
    assert_eq!(status_of(&app, "hot", &id, new_secret).await, 401, "grace period over");

    // Shortened expiry: judged against the clock on every use.
    let (id, secret) = new_key(&app, &token, "hot", json!({})).await;
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 200);
    let soon = nexus::domain::dates::format_rfc3339(app.clock.now() + 120);
    let resp = app
        .http
        .put(app.url(&format!("{}/{id}", keys_path("hot"))))
        .bearer_auth(&token)
        .json(&json!({ "expiresAt": soon }))
        .send()
        .await
        .expect("update");
    assert_eq!(resp.status(), 200);
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 200);
    app.clock.advance(120);
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 401, "expired");

    // A key limited to `reader`: the role leaves its tokens as soon as the owner loses it.
    let token = app.password_token("hot", "admin-cli", "alice", PASSWORD).await;
    let (id, secret) = new_key(&app, &token, "hot", json!({ "roleId": "reader" })).await;
    let (status, claims) = key_for_token(&app, "hot", &id, &secret).await;
    assert_eq!(status, 200);
    assert_eq!(realm_roles(&claims.expect("claims")), vec!["reader".to_owned()]);
    let resp = app
        .admin(
            Method::DELETE,
            &format!("/admin/realms/hot/users/{alice}/role-mappings/realm"),
            Some(json!([role])),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let (status, claims) = key_for_token(&app, "hot", &id, &secret).await;
    assert_eq!(status, 200);
    assert!(
        realm_roles(&claims.expect("claims")).is_empty(),
        "the owner no longer holds the key's role"
    );

    // Owner disabled, then enabled again.
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 200);
    set_user_enabled(&app, "hot", &alice, false).await;
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 401, "owner disabled");
    set_user_enabled(&app, "hot", &alice, true).await;
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 200, "owner enabled again");

    // The realm stops accepting the key's environment.
    assert_eq!(userinfo_status(&app, "hot", &secret).await, 200);
    app.update_realm("hot", json!({ "apiKeyEnvironments": ["test"] })).await;
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 401, "live keys refused");
    assert_eq!(userinfo_status(&app, "hot", &secret).await, 401);

    // A cached key is still checked against the request: wrong id, another realm.
    app.update_realm("hot", json!({ "apiKeyEnvironments": ["live", "test"] }))
        .await;
    assert_eq!(status_of(&app, "hot", &id, &secret).await, 200);
    let (other_id, _) = new_key(&app, &token, "hot", json!({})).await;
    assert_eq!(status_of(&app, "hot", &other_id, &secret).await, 401, "wrong key id");
    app.create_realm("elsewhere").await;
    assert_eq!(status_of(&app, "elsewhere", &id, &secret).await, 401, "another realm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_deleted_on_one_node_is_refused_on_the_other() {
    let node1 = spawn_app().await;
    let node2 = node1.spawn_peer().await;
    node1.create_realm("pair").await;
    create_user(&node1, "pair", "alice", PASSWORD, true).await;
    let token = node1.password_token("pair", "admin-cli", "alice", PASSWORD).await;
    let (id, secret) = new_key(&node1, &token, "pair", json!({})).await;
    // Both nodes have granted (and cached) the key.
    assert_eq!(status_of(&node1, "pair", &id, &secret).await, 200);
    assert_eq!(status_of(&node2, "pair", &id, &secret).await, 200);

    let resp = node1
        .http
        .delete(node1.url(&format!("{}/{id}", keys_path("pair"))))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 204);
    assert_eq!(status_of(&node1, "pair", &id, &secret).await, 401);
    // On the embedded stack each process has its own in-process store, so no invalidation can reach
    // a peer (it converges within the cache's maximum age); with Redis it arrives in milliseconds.
    if stack() != "sqlite+memory" {
        let deadline = Instant::now() + Duration::from_secs(3);
        while status_of(&node2, "pair", &id, &secret).await != 401 {
            assert!(
                Instant::now() < deadline,
                "node 2 still grants the deleted key after 3 s"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
