//! Several nodes on the same storage: what one node writes, the others serve, and what one node
//! revokes (a secret, a client, a key, a realm) the others stop honouring as soon as the
//! invalidation arrives (Redis pub/sub).
//!
//! On the embedded stack (SQLite + in-process store) each process has its own in-memory store, so
//! no invalidation can reach a peer: a peer's cached realm converges only after the cache's
//! maximum age (a real-time `Instant`, not the test clock). Those assertions are skipped there.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_on, stack, TestApp, ADMIN_PASSWORD, ADMIN_USER};
use crate::keys::jwks_kids;
use crate::token_endpoint::{split, token_form};

fn shared_invalidation() -> bool {
    stack() != "sqlite+memory"
}

async fn cc_status(app: &TestApp, realm: &str, client: &str, secret: &str) -> u16 {
    split(app.client_credentials(realm, client, secret).await).await.0
}

async fn cc_is(app: &TestApp, realm: &str, client: &str, secret: &str, want: u16) -> bool {
    cc_status(app, realm, client, secret).await == want
}

/// Polls until `check` holds; invalidation crosses nodes asynchronously, in milliseconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(3);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen within 3 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_created_on_one_node_gets_tokens_on_another() {
    let node1 = spawn_app().await;
    let node2 = node1.spawn_peer().await;
    node1.create_realm("shared").await;
    // Node 2 has the realm cached before the client exists.
    let resp = node2.http.get(node2.url("/realms/shared")).send().await.expect("realm");
    assert_eq!(resp.status(), 200);
    let (status, _, _) = split(
        node2
            .client_credentials("shared", "svc", "svc-secret-0123456789abcdefghijklmnop")
            .await,
    )
    .await;
    assert_eq!(status, 401, "not yet created");

    let (_, secret) = node1.create_service_client("shared", "svc").await;
    let (status, _, body) = split(node2.client_credentials("shared", "svc", &secret).await).await;
    assert_eq!(status, 200, "{body}");
    node2
        .verify("shared", body["access_token"].as_str().expect("token"))
        .await
        .expect("verifies on node 2");
    // Both nodes publish the same keys.
    assert_eq!(node1.jwks("shared").await, node2.jwks("shared").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_regenerated_on_one_node_is_refused_on_the_other() {
    let node1 = spawn_app().await;
    let node2 = node1.spawn_peer().await;
    node1.create_realm("regen").await;
    let (id, old_secret) = node1.create_service_client("regen", "svc").await;
    // Both nodes have the client cached.
    assert_eq!(cc_status(&node1, "regen", "svc", &old_secret).await, 200);
    assert_eq!(cc_status(&node2, "regen", "svc", &old_secret).await, 200);

    let resp = node1
        .admin(
            Method::POST,
            &format!("/admin/realms/regen/clients/{id}/client-secret"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let new_secret = resp.json::<Value>().await.expect("json")["value"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert_ne!(new_secret, old_secret);

    // The writing node: at once.
    assert_eq!(cc_status(&node1, "regen", "svc", &old_secret).await, 401);
    assert_eq!(cc_status(&node1, "regen", "svc", &new_secret).await, 200);
    if shared_invalidation() {
        eventually("node 2 refusing the old secret", || {
            cc_is(&node2, "regen", "svc", &old_secret, 401)
        })
        .await;
        assert_eq!(cc_status(&node2, "regen", "svc", &new_secret).await, 200);
    }
    // (Embedded stack: node 2 keeps its cached client until the cache's max age; see the module doc.)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletions_and_rotations_on_one_node_reach_the_other() {
    let node1 = spawn_app().await;
    let node2 = node1.spawn_peer().await;
    node1.create_realm("gone").await;
    let (id, secret) = node1.create_service_client("gone", "svc").await;
    assert_eq!(cc_status(&node2, "gone", "svc", &secret).await, 200);
    let old_kid = jwks_kids(&node2, "gone").await;

    // Rotate on node 1: node 2 signs with and publishes the new key.
    let resp = node1.admin(Method::POST, "/admin/realms/gone/keys/rotate", None).await;
    assert_eq!(resp.status(), 200);
    let new_kid = resp.json::<Value>().await.expect("json")["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    if shared_invalidation() {
        eventually("node 2 publishing the new key", || {
            let node2 = &node2;
            let new_kid = new_kid.clone();
            async move { jwks_kids(node2, "gone").await.contains(&new_kid) }
        })
        .await;
        let (_, _, body) = split(node2.client_credentials("gone", "svc", &secret).await).await;
        let kid = jsonwebtoken::decode_header(body["access_token"].as_str().expect("token"))
            .expect("header")
            .kid;
        assert_eq!(kid.as_deref(), Some(new_kid.as_str()));
        assert!(
            jwks_kids(&node2, "gone").await.contains(&old_kid[0]),
            "the old key still verifies"
        );
    }

    // Delete the client on node 1: node 2 refuses it.
    let resp = node1
        .admin(Method::DELETE, &format!("/admin/realms/gone/clients/{id}"), None)
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(cc_status(&node1, "gone", "svc", &secret).await, 401);
    if shared_invalidation() {
        eventually("node 2 refusing the deleted client", || {
            cc_is(&node2, "gone", "svc", &secret, 401)
        })
        .await;
    }

    // Delete the realm on node 1: node 2 no longer knows it.
    let resp = node1.admin(Method::DELETE, "/admin/realms/gone", None).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        node1
            .http
            .get(node1.url("/realms/gone"))
            .send()
            .await
            .expect("realm")
            .status(),
        404
    );
    if shared_invalidation() {
        eventually("node 2 forgetting the realm", || {
            let node2 = &node2;
            async move {
                node2
                    .http
                    .get(node2.url("/realms/gone"))
                    .send()
                    .await
                    .expect("realm")
                    .status()
                    == 404
            }
        })
        .await;
        let status = split(
            node2
                .http
                .post(node2.token_url("gone"))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .expect("token"),
        )
        .await
        .0;
        assert_eq!(status, 404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_behind_one_public_url_share_tokens_and_refresh_families() {
    let node1 = spawn_app().await;
    let public = node1.address.clone();
    let node2 = spawn_on(node1.storage.clone(), node1.clock.clone(), move |s| {
        s.public_url = Some(public)
    })
    .await;
    // node1 issues with its own address as the issuer; node2 was told to use the same.
    let login_form = [
        ("grant_type", "password"),
        ("client_id", "admin-cli"),
        ("username", ADMIN_USER),
        ("password", ADMIN_PASSWORD),
    ];
    let (status, _, login) = token_form(&node1, "master", &login_form).await;
    assert_eq!(status, 200);
    let admin = login["access_token"].as_str().expect("token").to_owned();

    // An admin token of node 1 works on node 2.
    let resp = node2
        .admin_as(&admin, Method::POST, "/admin/realms", Some(json!({ "realm": "lb" })))
        .await;
    assert_eq!(resp.status(), 201);
    let resp = node1.admin_as(&admin, Method::GET, "/admin/realms/lb", None).await;
    assert_eq!(resp.status(), 200);

    // A refresh token of node 1 redeems on node 2, once.
    let rt1 = login["refresh_token"].as_str().expect("rt").to_owned();
    let refresh = |rt: String| {
        [
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", "admin-cli".to_owned()),
            ("refresh_token", rt),
        ]
    };
    let resp = node2
        .http
        .post(node2.token_url("master"))
        .form(&refresh(rt1.clone()))
        .send()
        .await
        .expect("refresh");
    let (status, _, body) = split(resp).await;
    assert_eq!(status, 200, "{body}");
    let rt2 = body["refresh_token"].as_str().expect("rt2").to_owned();
    // Replaying the first one on node 1 is detected and kills the family everywhere.
    let resp = node1
        .http
        .post(node1.token_url("master"))
        .form(&refresh(rt1))
        .send()
        .await
        .expect("refresh");
    assert_eq!(split(resp).await.0, 400);
    let resp = node2
        .http
        .post(node2.token_url("master"))
        .form(&refresh(rt2))
        .send()
        .await
        .expect("refresh");
    assert_eq!(split(resp).await.0, 400);
}
