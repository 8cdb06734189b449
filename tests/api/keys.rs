//! Signing keys: rotation by the admin API and by the CLI; old tokens keep verifying until they
//! expire, new tokens carry the new kid; the realm's `public_key`.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::spawn_app;
use crate::helpers::{stack, verify_with_jwks, TestApp};
use crate::token_endpoint::{create_client, split};

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).expect("header").kid.expect("kid")
}

pub async fn jwks_kids(app: &TestApp, realm: &str) -> Vec<String> {
    let jwks = app.jwks(realm).await;
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

async fn cc_token(app: &TestApp, realm: &str, client: &str, secret: &str) -> String {
    let (status, _, body) = split(app.client_credentials(realm, client, secret).await).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

async fn rotate(app: &TestApp, realm: &str) -> String {
    let resp = app
        .admin(Method::POST, &format!("/admin/realms/{realm}/keys/rotate"), None)
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    body["kid"].as_str().expect("kid").to_owned()
}

async fn admin_keys(app: &TestApp, realm: &str) -> Value {
    let resp = app
        .admin(Method::GET, &format!("/admin/realms/{realm}/keys"), None)
        .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

fn status_of(keys: &Value, kid: &str) -> Option<String> {
    keys["keys"]
        .as_array()?
        .iter()
        .find(|k| k["kid"] == kid)
        .map(|k| k["status"].as_str().unwrap_or("").to_owned())
}

/// Verifies with the PEM of `GET /realms/{realm}`'s `public_key`, as Keycloak adapters do.
async fn verify_with_realm_public_key(app: &TestApp, realm: &str, token: &str) -> Result<Value, String> {
    let info: Value = app
        .http
        .get(app.url(&format!("/realms/{realm}")))
        .send()
        .await
        .expect("realm")
        .json()
        .await
        .expect("json");
    let b64 = info["public_key"].as_str().ok_or("no public_key")?;
    let der = STANDARD.decode(b64).map_err(|e| e.to_string())?;
    let body: Vec<String> = STANDARD
        .encode(&der)
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        body.join("\n")
    );
    let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    validation.set_issuer(&[app.issuer(realm)]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_old_tokens_verifying_and_signs_new_ones_with_the_new_key() {
    let app = spawn_app().await;
    app.create_realm("rot").await;
    let (_, secret) = app.create_service_client("rot", "svc").await;
    let before = cc_token(&app, "rot", "svc", &secret).await;
    let old_kid = kid_of(&before);
    assert_eq!(jwks_kids(&app, "rot").await, std::slice::from_ref(&old_kid));
    verify_with_realm_public_key(&app, "rot", &before)
        .await
        .expect("public_key verifies the token");
    let keys = admin_keys(&app, "rot").await;
    assert_eq!(keys["active"]["RS256"], old_kid.as_str());

    let new_kid = rotate(&app, "rot").await;
    assert_ne!(new_kid, old_kid);

    // The JWKS lists both; the old token still verifies independently.
    let kids = jwks_kids(&app, "rot").await;
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid), "{kids:?}");
    assert_eq!(kids.len(), 2);
    app.verify("rot", &before)
        .await
        .expect("a token signed before rotation still verifies");

    // New tokens carry the new kid.
    let after = cc_token(&app, "rot", "svc", &secret).await;
    assert_eq!(kid_of(&after), new_kid);
    app.verify("rot", &after).await.expect("new token verifies");

    // Admin view: the new key ACTIVE, the old one PASSIVE with a validTo.
    let keys = admin_keys(&app, "rot").await;
    assert_eq!(keys["active"]["RS256"], new_kid.as_str());
    assert_eq!(status_of(&keys, &new_kid).as_deref(), Some("ACTIVE"));
    assert_eq!(status_of(&keys, &old_kid).as_deref(), Some("PASSIVE"));
    let old = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == old_kid.as_str())
        .expect("old key")
        .clone();
    assert!(old["validTo"].as_i64().is_some(), "{old}");

    // `public_key` is the active key: it verifies the new token, not the old one.
    verify_with_realm_public_key(&app, "rot", &after)
        .await
        .expect("public_key is the active key");
    assert!(verify_with_realm_public_key(&app, "rot", &before).await.is_err());

    // Just before the old key's window closes (lifespan 3600 + grace), after a fresh load it is still published.
    app.clock.advance(3600);
    app.admin(Method::PUT, "/admin/realms/rot", Some(json!({}))).await;
    assert!(jwks_kids(&app, "rot").await.contains(&old_kid));
    // Past it, the old kid leaves the JWKS and the admin list.
    app.clock.advance(3600);
    let resp = app.admin(Method::PUT, "/admin/realms/rot", Some(json!({}))).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(jwks_kids(&app, "rot").await, std::slice::from_ref(&new_kid));
    let keys = admin_keys(&app, "rot").await;
    assert_eq!(status_of(&keys, &old_kid), None, "{keys}");
    // The new key keeps working.
    let later = cc_token(&app, "rot", "svc", &secret).await;
    assert_eq!(kid_of(&later), new_kid);
    app.verify("rot", &later).await.expect("verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_key_outlives_the_longest_token_lifespan_of_the_realm() {
    let app = spawn_app().await;
    app.create_realm("long").await;
    let secret = "long-lived-secret-0123456789abcdefghijklm";
    create_client(
        &app,
        "long",
        json!({ "clientId": "long", "secret": secret, "serviceAccountsEnabled": true, "attributes": { "access.token.lifespan": "36000" } }),
    )
    .await;
    let token = cc_token(&app, "long", "long", secret).await;
    let old_kid = kid_of(&token);
    rotate(&app, "long").await;

    // Ten hours minus a little: the token is still valid, so its key must still be published.
    app.clock.advance(36000 - 60);
    app.admin(Method::PUT, "/admin/realms/long", Some(json!({}))).await;
    assert!(jwks_kids(&app, "long").await.contains(&old_kid));
    let jwks = app.jwks("long").await;
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    validation.validate_exp = false;
    let key = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == old_kid.as_str())
        .expect("old key");
    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().expect("n"), key["e"].as_str().expect("e")).expect("key");
    jsonwebtoken::decode::<Value>(&token, &decoding, &validation).expect("old token verifies late in its life");

    app.clock.advance(3600);
    app.admin(Method::PUT, "/admin/realms/long", Some(json!({}))).await;
    assert!(!jwks_kids(&app, "long").await.contains(&old_kid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_master_keeps_the_admins_token_working() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let resp = app
        .admin_as(&token, Method::POST, "/admin/realms/master/keys/rotate", None)
        .await;
    assert_eq!(resp.status(), 200);
    // The admin's token was signed by the now passive key; the server still accepts it.
    let resp = app.admin_as(&token, Method::GET, "/admin/realms", None).await;
    assert_eq!(resp.status(), 200);
    app.verify("master", &token).await.expect("verifies");
    let fresh = app.admin_token().await;
    assert_ne!(kid_of(&fresh), kid_of(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_leave_exactly_one_active_key() {
    let app = spawn_app().await;
    app.create_realm("race").await;
    let token = app.admin_token().await;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let http = app.http.clone();
        let url = app.url("/admin/realms/race/keys/rotate");
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("rotate")
                .status()
                .as_u16()
        }));
    }
    for task in tasks {
        let status = task.await.expect("join");
        assert!(status == 200 || status == 409, "rotation answered {status}");
    }
    let keys = admin_keys(&app, "race").await;
    let active: Vec<&Value> = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["status"] == "ACTIVE")
        .collect();
    assert_eq!(active.len(), 1, "{keys}");
    let (_, secret) = app.create_service_client("race", "svc").await;
    let token = cc_token(&app, "race", "svc", &secret).await;
    assert_eq!(keys["active"]["RS256"], kid_of(&token).as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_needs_an_admin_and_an_existing_realm() {
    let app = spawn_app().await;
    let resp = app
        .http
        .post(app.url("/admin/realms/master/keys/rotate"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    let resp = app.admin(Method::POST, "/admin/realms/nope/keys/rotate", None).await;
    assert_eq!(resp.status(), 404);
}

/// Runs the built `nexus` binary against the app's storage.
fn nexus_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_nexus"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NEXUS_") {
            cmd.env_remove(name);
        }
    }
    let storage = &app.storage;
    cmd.env("NEXUS_DATA_DIR", storage.data_dir.path())
        .env("NEXUS_REDIS_KEY_PREFIX", &storage.redis_prefix)
        .env("RUST_LOG", "warn")
        .args(args);
    if let Some(url) = &storage.database_url {
        cmd.env("NEXUS_DATABASE_URL", url);
    }
    if let Some(url) = &storage.redis_url {
        cmd.env("NEXUS_REDIS_URL", url);
    }
    cmd.output().expect("run nexus")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_rotates_keys_of_a_running_server() {
    let app = spawn_app().await;
    app.create_realm("cli").await;
    let (_, secret) = app.create_service_client("cli", "svc").await;
    let before = cc_token(&app, "cli", "svc", &secret).await;
    let old_kid = kid_of(&before);
    let old_issuer = app.issuer("cli");

    let output = tokio::task::block_in_place(|| nexus_cli(&app, &["keys", "rotate", "--realm", "cli"]));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "nexus keys rotate failed: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let new_kid = stdout.trim().rsplit(' ').next().expect("kid").to_owned();
    assert_ne!(new_kid, old_kid);

    let app = if stack() == "sqlite+memory" {
        // The embedded store is per process: the CLI cannot reach the running node's cache, which
        // converges within a minute; a restart shows it at once.
        app.restart().await
    } else {
        // Redis carries the CLI's invalidation to the running node.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !jwks_kids(&app, "cli").await.contains(&new_kid) {
            assert!(
                Instant::now() < deadline,
                "the running node never saw the CLI's rotation"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        app
    };
    let kids = jwks_kids(&app, "cli").await;
    assert!(kids.contains(&new_kid) && kids.contains(&old_kid), "{kids:?}");
    verify_with_jwks(&app.jwks("cli").await, &before, &old_issuer).expect("the old token still verifies");
    let after = cc_token(&app, "cli", "svc", &secret).await;
    assert_eq!(kid_of(&after), new_kid);
    app.verify("cli", &after).await.expect("verifies");

    // An unknown realm is a clear failure.
    let output = tokio::task::block_in_place(|| nexus_cli(&app, &["keys", "rotate", "--realm", "no-such-realm"]));
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-realm"));
}

/// The same race without HTTP in the way: rotations that reach the database at the same instant
/// (two admins, or the CLI beside a node) must all succeed and leave one active key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_rotations_in_the_database_serialize() {
    use nexus::store::db;
    let app = spawn_app().await;
    app.create_realm("lockstep").await;
    let database = crate::isolation::direct_db(&app);
    let master = nexus::startup::load_master_key(&app.storage.settings()).expect("master key");
    let realm = database
        .blocking(|conn| db::realms::find_by_name(conn, "lockstep").map_err(db::DbError::from))
        .expect("query")
        .expect("realm");
    const N: usize = 6;
    let keys: Vec<_> = (0..N)
        .map(|_| nexus::service::keys::new_key(&master).expect("key"))
        .collect();
    let now = nexus::clock::Clock::now(&app.clock);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(N));
    let handles: Vec<_> = keys
        .into_iter()
        .map(|key| {
            let (database, realm, barrier) = (database.clone(), realm.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                database.blocking(|conn| {
                    use diesel::Connection;
                    conn.transaction(|conn| nexus::service::keys::rotate(conn, &realm, key, now))
                        .map(|_| ())
                        .map_err(db::DbError::from)
                })
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("thread").expect("every rotation succeeds");
    }
    let records = database
        .blocking(|conn| db::keys::list_for_realm(conn, &realm.id).map_err(db::DbError::from))
        .expect("keys");
    let active = records
        .iter()
        .filter(|k| k.status == nexus::domain::KeyStatus::Active)
        .count();
    assert_eq!(active, 1, "exactly one active key after {N} simultaneous rotations");
    assert_eq!(records.len(), N + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realms_and_rotations_take_distinct_keys_from_the_background_pool() {
    use crate::helpers::{spawn_on, Storage};
    let app = spawn_on(Storage::fresh(), nexus::clock::SettableClock::default(), |s| {
        s.key_pool_size = 2
    })
    .await;
    // Let the filler thread get ahead, so the pool path (not only the inline fallback) is taken.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut kids = std::collections::HashSet::new();
    for realm in ["pool-a", "pool-b", "pool-c"] {
        app.create_realm(realm).await;
        let (_, secret) = app.create_service_client(realm, "svc").await;
        let token = cc_token(&app, realm, "svc", &secret).await;
        let claims = app
            .verify(realm, &token)
            .await
            .expect("token verifies against the JWKS");
        assert_eq!(claims["iss"], app.issuer(realm));
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert!(kids.insert(header.kid.expect("kid")), "every realm gets its own key");
    }
    let new_kid = rotate(&app, "pool-a").await;
    assert!(kids.insert(new_kid), "a rotation gets a key no realm had");
}
