//! API keys (issue 4): storage, rules and verification through the service layer.

use std::time::Instant;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::isolation::{create_user, direct_db};
use nexus::clock::Clock;
use nexus::crypto::secrets::MasterKey;
use nexus::domain::api_keys::{ApiKey, Environment, KeyKind, KeyRuleError};
use nexus::service::api_keys::{self as keys, ApiKeyError, NewApiKey};
use nexus::store::db::{self, Db, DbError};

/// The realm's internal id.
async fn realm_id(app: &TestApp, realm: &str) -> String {
    let resp = app.admin(Method::GET, &format!("/admin/realms/{realm}"), None).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("api keys test");
    body["id"].as_str().expect("api keys test").to_owned()
}

/// Creates a realm role; returns its id.
async fn create_role(app: &TestApp, realm: &str, name: &str) -> String {
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/roles"),
            Some(json!({ "name": name })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .admin(Method::GET, &format!("/admin/realms/{realm}/roles/{name}"), None)
        .await;
    let body: Value = resp.json().await.expect("api keys test");
    body["id"].as_str().expect("api keys test").to_owned()
}

async fn grant_role(app: &TestApp, realm: &str, user: &str, role_id: &str, role: &str, method: Method) {
    let resp = app
        .admin(
            method,
            &format!("/admin/realms/{realm}/users/{user}/role-mappings/realm"),
            Some(json!([{ "id": role_id, "name": role }])),
        )
        .await;
    assert!(resp.status().is_success(), "role mapping: {}", resp.status());
}

async fn create_scope(app: &TestApp, realm: &str, name: &str) {
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/client-scopes"),
            Some(json!({ "name": name, "protocol": "openid-connect" })),
        )
        .await;
    assert_eq!(resp.status(), 201, "create scope {name}");
}

/// A realm `name` with a user `alice`; (realm id, alice's id).
async fn realm_with_owner(app: &TestApp, name: &str) -> (String, String) {
    app.create_realm(name).await;
    let alice = create_user(app, name, "alice", "alice-password", true).await;
    (realm_id(app, name).await, alice)
}

struct Keys {
    db: Db,
    master: MasterKey,
}

impl Keys {
    fn of(app: &TestApp) -> Self {
        Self {
            db: direct_db(app),
            master: MasterKey::load_or_create(app.storage.data_dir.path()).expect("master key"),
        }
    }

    fn create(
        &self,
        realm_id: &str,
        owner: &str,
        request: NewApiKey,
        now: i64,
    ) -> Result<(ApiKey, String), ApiKeyError> {
        self.db.blocking(|conn| {
            db::write_transaction(conn, |conn| {
                keys::create(conn, &self.master, realm_id, owner, owner, request, now)
            })
        })
    }

    /// The key, when the pair is granted (`id` None: the secret alone, as `Authorization-PSK`).
    fn check(&self, realm_id: &str, id: Option<&str>, secret: &str, now: i64) -> Option<ApiKey> {
        let hash = self.master.keyed_hash(secret.as_bytes());
        let presented = keys::Presented {
            secret_hash: &hash,
            key_id: id,
            realm_id: Some(realm_id),
            address: None,
        };
        match self
            .db
            .blocking(|conn| keys::check_presented(conn, presented, now))
            .expect("check a key")
        {
            keys::KeyCheck::Granted { grant, .. } => Some(grant.key),
            keys::KeyCheck::Refused(_) => None,
        }
    }

    fn verify(&self, realm_id: &str, id: &str, secret: &str, now: i64) -> Option<ApiKey> {
        self.check(realm_id, Some(id), secret, now)
    }
}

#[tokio::test]
async fn api_keys_service_stores_only_a_keyed_hash_of_the_secret() {
    let app = spawn_app().await;
    let (realm, alice) = realm_with_owner(&app, "keys").await;
    let k = Keys::of(&app);
    let now = app.clock.now();

    let (key, secret) = k
        .create(&realm, &alice, NewApiKey::default(), now)
        .expect("api keys test");
    assert!(secret.starts_with("nx_live_"), "{secret}");
    assert!(secret.len() >= 8 + 43);
    assert_eq!(key.expires_at, now + 365 * 24 * 3600);
    assert_eq!(key.display_prefix, &secret[..12]);

    let row =
        k.db.blocking(|conn| db::api_keys::find(conn, &realm, &key.id).map_err(DbError::from))
            .expect("api keys test")
            .expect("row");
    assert_eq!(row.secret_hash, k.master.keyed_hash(secret.as_bytes()));
    let dump = format!("{row:?}");
    assert!(!dump.contains(&secret), "the secret is stored: {dump}");
    assert!(!dump.contains(&secret[12..]), "the secret's random part is stored");

    // The pair verifies; a wrong secret, another id, and the secret alone in another realm do not.
    assert_eq!(
        k.verify(&realm, &key.id, &secret, now).map(|k| k.id),
        Some(key.id.clone())
    );
    assert!(k.verify(&realm, &key.id, &format!("{secret}x"), now).is_none());
    assert!(k.verify(&realm, "nope", &secret, now).is_none());
    let by_secret = k.check(&realm, None, &secret, now);
    assert_eq!(by_secret.map(|k| k.id), Some(key.id.clone()));

    // Kinds and environments choose the prefix; a supplied secret is kept as given.
    for (kind, env, prefix) in [
        (KeyKind::Secret, Environment::Test, "nx_test_"),
        (KeyKind::Publishable, Environment::Live, "nx_pk_live_"),
        (KeyKind::Publishable, Environment::Test, "nx_pk_test_"),
    ] {
        let request = NewApiKey {
            kind,
            environment: env,
            ..NewApiKey::default()
        };
        let (_, s) = k.create(&realm, &alice, request, now).expect("api keys test");
        assert!(s.starts_with(prefix), "{s}");
    }
    let supplied = "my-own-secret_0123456789abcdefghijkl".to_owned();
    let request = NewApiKey {
        id: Some("ci".into()),
        secret: Some(supplied.clone()),
        ..NewApiKey::default()
    };
    let (ci, s) = k.create(&realm, &alice, request, now).expect("api keys test");
    assert_eq!(s, supplied);
    assert!(k.verify(&realm, &ci.id, &supplied, now).is_some());
}

#[tokio::test]
async fn api_keys_service_enforces_the_rules() {
    let app = spawn_app().await;
    let (realm, alice) = realm_with_owner(&app, "rules").await;
    let ops = create_role(&app, "rules", "ops").await;
    let admin_role = create_role(&app, "rules", "boss").await;
    grant_role(&app, "rules", &alice, &ops, "ops", Method::POST).await;
    create_scope(&app, "rules", "read:users").await;
    create_scope(&app, "rules", "write:users").await;
    let k = Keys::of(&app);
    let now = app.clock.now();

    // A role the owner holds, by id or name; not one she lacks, nor an unknown one.
    for role in [ops.as_str(), "ops"] {
        let request = NewApiKey {
            role: Some(role.into()),
            ..NewApiKey::default()
        };
        let (key, _) = k.create(&realm, &alice, request, now).expect("api keys test");
        assert_eq!(key.role_id.as_deref(), Some(ops.as_str()));
    }
    for role in [admin_role.as_str(), "boss", "ghost"] {
        let request = NewApiKey {
            role: Some(role.into()),
            ..NewApiKey::default()
        };
        assert!(matches!(
            k.create(&realm, &alice, request, now),
            Err(ApiKeyError::RoleNotHeld(_))
        ));
    }

    // Permissions are client scopes of the realm.
    let request = NewApiKey {
        permissions: Some("profile email read:users write:users".into()),
        ..NewApiKey::default()
    };
    let (key, _) = k.create(&realm, &alice, request, now).expect("api keys test");
    assert_eq!(key.permissions, ["profile", "email", "read:users", "write:users"]);
    let request = NewApiKey {
        permissions: Some("read:users write:payments".into()),
        ..NewApiKey::default()
    };
    assert!(
        matches!(k.create(&realm, &alice, request, now), Err(ApiKeyError::UnknownScope(s)) if s == "write:payments")
    );

    // Publishable keys are read-only.
    let publishable = |perms: &str| NewApiKey {
        kind: KeyKind::Publishable,
        permissions: Some(perms.into()),
        ..NewApiKey::default()
    };
    assert!(k
        .create(&realm, &alice, publishable("read:users profile email"), now)
        .is_ok());
    assert!(matches!(
        k.create(&realm, &alice, publishable("read:users write:users"), now),
        Err(ApiKeyError::Rule(KeyRuleError::NotReadOnly(p))) if p == "write:users"
    ));

    // Duplicate ids, a short or foreign-alphabet secret, an expiry in the past.
    let named = |id: &str| NewApiKey {
        id: Some(id.into()),
        ..NewApiKey::default()
    };
    assert!(k.create(&realm, &alice, named("deploy"), now).is_ok());
    assert!(matches!(
        k.create(&realm, &alice, named("deploy"), now),
        Err(ApiKeyError::DuplicateId(_))
    ));
    for secret in ["short", "0123456789012345678901234567890!"] {
        let request = NewApiKey {
            secret: Some(secret.into()),
            ..NewApiKey::default()
        };
        assert!(matches!(
            k.create(&realm, &alice, request, now),
            Err(ApiKeyError::Rule(KeyRuleError::InvalidSecret))
        ));
    }
    let request = NewApiKey {
        expires_at: Some(now - 1),
        ..NewApiKey::default()
    };
    assert!(matches!(
        k.create(&realm, &alice, request, now),
        Err(ApiKeyError::Rule(KeyRuleError::ExpiryNotInFuture))
    ));
}

#[tokio::test]
async fn api_keys_service_refuses_revoked_expired_and_foreign_keys() {
    let app = spawn_app().await;
    let (realm_a, alice) = realm_with_owner(&app, "ka").await;
    let (realm_b, bob) = realm_with_owner(&app, "kb").await;
    let k = Keys::of(&app);
    let now = app.clock.now();

    // The same id in two realms: two keys.
    let named = || NewApiKey {
        id: Some("shared".into()),
        expires_at: Some(now + 3600),
        ..NewApiKey::default()
    };
    let (_, secret_a) = k.create(&realm_a, &alice, named(), now).expect("api keys test");
    let (_, secret_b) = k.create(&realm_b, &bob, named(), now).expect("api keys test");
    assert!(k.verify(&realm_a, "shared", &secret_a, now).is_some());
    assert!(k.verify(&realm_b, "shared", &secret_b, now).is_some());
    assert!(k.verify(&realm_b, "shared", &secret_a, now).is_none());
    assert!(k.verify(&realm_a, "shared", &secret_b, now).is_none());
    assert!(k.check(&realm_b, None, &secret_a, now).is_none());
    // Bob cannot see, change or delete alice's key through his id.
    assert!(matches!(
        k.db.blocking(|conn| keys::get(conn, &realm_a, &bob, "shared")),
        Err(ApiKeyError::NotFound)
    ));

    // Expired one second after its expiry.
    assert!(k.verify(&realm_a, "shared", &secret_a, now + 3599).is_some());
    assert!(k.verify(&realm_a, "shared", &secret_a, now + 3600).is_none());

    // Revoked.
    k.db.blocking(|conn| db::write_transaction(conn, |conn| keys::revoke(conn, &realm_b, &bob, "shared", &bob, now)))
        .expect("api keys test");
    assert!(k.verify(&realm_b, "shared", &secret_b, now).is_none());

    // Update and delete.
    let updated =
        k.db.blocking(|conn| {
            db::write_transaction(conn, |conn| {
                keys::update(
                    conn,
                    &realm_a,
                    &alice,
                    "shared",
                    Some(Some("ci".into())),
                    Some(now + 7200),
                    &alice,
                    now,
                )
            })
        })
        .expect("api keys test");
    assert_eq!(updated.description.as_deref(), Some("ci"));
    assert!(k.verify(&realm_a, "shared", &secret_a, now + 3600).is_some());
    k.db.blocking(|conn| db::write_transaction(conn, |conn| keys::delete(conn, &realm_a, &alice, "shared")))
        .expect("api keys test");
    assert!(k.verify(&realm_a, "shared", &secret_a, now).is_none());
    assert!(k
        .db
        .blocking(|conn| keys::list(conn, &realm_a, &alice))
        .expect("api keys test")
        .is_empty());
}

#[tokio::test]
async fn api_keys_thousand_keys_verify_fast() {
    let app = spawn_app().await;
    let (realm, alice) = realm_with_owner(&app, "many").await;
    let k = Keys::of(&app);
    let now = app.clock.now();

    let created: Vec<(String, String)> =
        k.db.blocking(|conn| {
            db::write_transaction(conn, |conn| {
                (0..1000)
                    .map(|i| {
                        let request = NewApiKey {
                            id: Some(format!("k{i}")),
                            ..NewApiKey::default()
                        };
                        keys::create(conn, &k.master, &realm, &alice, &alice, request, now).map(|(key, s)| (key.id, s))
                    })
                    .collect::<Result<Vec<_>, ApiKeyError>>()
            })
        })
        .expect("api keys test");
    assert_eq!(created.len(), 1000);

    let started = Instant::now();
    let verified =
        k.db.blocking(|conn| -> Result<usize, ApiKeyError> {
            let mut n = 0;
            for (id, secret) in &created {
                let hash = k.master.keyed_hash(secret.as_bytes());
                let presented = keys::Presented {
                    secret_hash: &hash,
                    key_id: Some(id),
                    realm_id: Some(&realm),
                    address: None,
                };
                if keys::verify_presented(conn, presented, now)?.is_ok() {
                    n += 1;
                }
            }
            Ok(n)
        })
        .expect("api keys test");
    let elapsed = started.elapsed();
    println!(
        "verified 1000 API keys in {elapsed:?} ({} stack)",
        crate::helpers::stack()
    );
    assert_eq!(verified, 1000);
    assert!(elapsed.as_secs_f64() < 5.0, "1000 verifications took {elapsed:?}");
}

// ---- the HTTP API ----------------------------------------------------------------------------

const PASSWORD: &str = "alice-password";

fn keys_path(realm: &str) -> String {
    format!("/realms/{realm}/api/v1/api-keys")
}

async fn call(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.http.request(method, app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request")
}

/// Asserts an RFC 7807 answer with `status`; returns its body.
async fn problem(resp: reqwest::Response, status: u16, path: &str) -> Value {
    assert_eq!(resp.status(), status);
    let content_type = resp.headers()["content-type"].to_str().expect("ascii").to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], status);
    assert_eq!(body["instance"], path);
    assert!(
        body["type"].as_str().is_some_and(|t| t.starts_with("https://")),
        "{body}"
    );
    assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
    body
}

fn is_rfc3339(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 20 && s.ends_with('Z') && &s[10..11] == "T"
}

#[tokio::test]
async fn api_keys_http_owner_manages_keys_and_sees_the_secret_once() {
    let app = spawn_app().await;
    let (_, alice) = realm_with_owner(&app, "own").await;
    let token = app.password_token("own", "admin-cli", "alice", PASSWORD).await;
    let base = keys_path("own");

    let resp = call(
        &app,
        Some(&token),
        Method::POST,
        &base,
        Some(json!({ "id": "ci", "description": "deploys", "permissions": "profile email" })),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
    assert!(location.ends_with("/realms/own/api/v1/api-keys/ci"), "{location}");
    let created: Value = resp.json().await.expect("json");
    let secret = created["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("nx_live_"));
    assert_eq!(created["id"], "ci");
    assert_eq!(created["userId"], alice);
    assert_eq!(created["createdBy"], alice);
    assert_eq!(created["modifiedBy"], alice);
    assert_eq!(created["roleId"], Value::Null);
    assert_eq!(created["permissions"], "profile email");
    assert_eq!(created["description"], "deploys");
    for field in ["created", "modified", "expiresAt"] {
        assert!(is_rfc3339(&created[field]), "{field}: {}", created[field]);
    }
    let year = nexus::domain::dates::parse_rfc3339(created["expiresAt"].as_str().expect("str")).expect("date")
        - nexus::domain::dates::parse_rfc3339(created["created"].as_str().expect("str")).expect("date");
    assert_eq!(year, 365 * 24 * 3600);

    // Generated id and a test publishable key.
    let resp = call(
        &app,
        Some(&token),
        Method::POST,
        &base,
        Some(json!({ "kind": "publishable", "environment": "test", "permissions": "profile" })),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let pk: Value = resp.json().await.expect("json");
    assert!(pk["secret"].as_str().expect("secret").starts_with("nx_pk_test_"));
    assert_eq!(pk["id"].as_str().expect("id").len(), 36);

    // List and get never show the secret.
    let resp = call(&app, Some(&token), Method::GET, &base, None).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("text");
    assert!(!text.contains(&secret) && !text.contains("\"secret\":"), "{text}");
    let list: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(list.as_array().expect("array").len(), 2);
    let resp = call(&app, Some(&token), Method::GET, &format!("{base}/ci"), None).await;
    assert_eq!(resp.status(), 200);
    let got: Value = resp.json().await.expect("json");
    assert_eq!(got["id"], "ci");
    assert!(got.get("secret").is_none());

    // Update description and expiry (PUT and PATCH).
    let resp = call(
        &app,
        Some(&token),
        Method::PUT,
        &format!("{base}/ci"),
        Some(json!({ "description": "nightly", "expiresAt": "2099-01-02T03:04:05Z" })),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let updated: Value = resp.json().await.expect("json");
    assert_eq!(updated["description"], "nightly");
    assert_eq!(updated["expiresAt"], "2099-01-02T03:04:05Z");
    assert!(updated.get("secret").is_none());
    let resp = call(
        &app,
        Some(&token),
        Method::PATCH,
        &format!("{base}/ci"),
        Some(json!({ "description": "x" })),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let patched: Value = resp.json().await.expect("json");
    assert_eq!(patched["description"], "x");
    assert_eq!(patched["expiresAt"], "2099-01-02T03:04:05Z");
    let path = format!("{base}/ci");
    let resp = call(
        &app,
        Some(&token),
        Method::PUT,
        &path,
        Some(json!({ "expiresAt": "2001-01-01T00:00:00Z" })),
    )
    .await;
    problem(resp, 400, &path).await;

    // Delete: 204, then gone.
    let resp = call(&app, Some(&token), Method::DELETE, &path, None).await;
    assert_eq!(resp.status(), 204);
    let resp = call(&app, Some(&token), Method::GET, &path, None).await;
    problem(resp, 404, &path).await;
    let resp = call(&app, Some(&token), Method::DELETE, &path, None).await;
    problem(resp, 404, &path).await;
}

#[tokio::test]
async fn api_keys_http_refusals_are_problems() {
    let app = spawn_app().await;
    let (_, alice) = realm_with_owner(&app, "rf").await;
    let ops = create_role(&app, "rf", "ops").await;
    create_role(&app, "rf", "boss").await;
    grant_role(&app, "rf", &alice, &ops, "ops", Method::POST).await;
    create_scope(&app, "rf", "read:users").await;
    create_scope(&app, "rf", "write:users").await;
    let token = app.password_token("rf", "admin-cli", "alice", PASSWORD).await;
    let base = keys_path("rf");
    let post = |body: Value| call(&app, Some(&token), Method::POST, &base, Some(body));

    // A role she holds (by name) is kept as its id; one she lacks is 403.
    let resp = post(json!({ "roleId": "ops" })).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["roleId"], ops);
    let p = problem(post(json!({ "roleId": "boss" })).await, 403, &base).await;
    assert!(p["type"].as_str().expect("type").ends_with("role-not-held"));

    // Unknown scope 400; realm scopes are fine.
    let p = problem(
        post(json!({ "permissions": "read:users write:payments" })).await,
        400,
        &base,
    )
    .await;
    assert!(p["detail"].as_str().expect("detail").contains("write:payments"));
    assert_eq!(
        post(json!({ "permissions": "read:users write:users profile" }))
            .await
            .status(),
        201
    );

    // Publishable keys are read-only.
    let p = problem(
        post(json!({ "kind": "publishable", "permissions": "read:users write:users" })).await,
        400,
        &base,
    )
    .await;
    assert!(p["type"].as_str().expect("type").ends_with("read-only-key"));
    assert_eq!(
        post(json!({ "kind": "publishable", "permissions": "read:users email" }))
            .await
            .status(),
        201
    );

    // Duplicate id 409; bad secret, past or malformed expiry, bad kind, unknown field, bad JSON 400.
    assert_eq!(post(json!({ "id": "dup" })).await.status(), 201);
    problem(post(json!({ "id": "dup" })).await, 409, &base).await;
    problem(post(json!({ "secret": "too-short" })).await, 400, &base).await;
    problem(post(json!({ "expiresAt": "2001-01-01T00:00:00Z" })).await, 400, &base).await;
    problem(post(json!({ "expiresAt": "tomorrow" })).await, 400, &base).await;
    problem(post(json!({ "kind": "root" })).await, 400, &base).await;
    problem(post(json!({ "owner": "someone" })).await, 400, &base).await;
    let resp = app
        .http
        .post(app.url(&base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    problem(resp, 400, &base).await;

    // No token, a bad token: 401.
    problem(call(&app, None, Method::GET, &base, None).await, 401, &base).await;
    problem(
        call(&app, Some("nope"), Method::POST, &base, Some(json!({}))).await,
        401,
        &base,
    )
    .await;
}

#[tokio::test]
async fn api_keys_http_are_isolated_between_users_and_realms() {
    let app = spawn_app().await;
    realm_with_owner(&app, "ra").await;
    realm_with_owner(&app, "rb").await;
    create_user(&app, "ra", "bob", "bob-password", true).await;
    let alice_a = app.password_token("ra", "admin-cli", "alice", PASSWORD).await;
    let alice_b = app.password_token("rb", "admin-cli", "alice", PASSWORD).await;
    let bob_a = app.password_token("ra", "admin-cli", "bob", "bob-password").await;

    let resp = call(
        &app,
        Some(&alice_a),
        Method::POST,
        &keys_path("ra"),
        Some(json!({ "id": "k" })),
    )
    .await;
    assert_eq!(resp.status(), 201);
    // The same id in another realm is another key.
    let resp = call(
        &app,
        Some(&alice_b),
        Method::POST,
        &keys_path("rb"),
        Some(json!({ "id": "k" })),
    )
    .await;
    assert_eq!(resp.status(), 201);

    // A token of realm A is refused in realm B.
    let path_b = keys_path("rb");
    problem(
        call(&app, Some(&alice_a), Method::GET, &path_b, None).await,
        401,
        &path_b,
    )
    .await;

    // Bob neither sees nor deletes alice's key.
    let resp = call(&app, Some(&bob_a), Method::GET, &keys_path("ra"), None).await;
    let list: Value = resp.json().await.expect("json");
    assert_eq!(list, json!([]));
    let path = format!("{}/k", keys_path("ra"));
    problem(call(&app, Some(&bob_a), Method::GET, &path, None).await, 404, &path).await;
    problem(call(&app, Some(&bob_a), Method::DELETE, &path, None).await, 404, &path).await;
    let resp = call(&app, Some(&alice_a), Method::GET, &path, None).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn api_keys_admin_lists_creates_and_deletes_a_users_keys() {
    let app = spawn_app().await;
    let (_, alice) = realm_with_owner(&app, "adm").await;
    let admin_path = format!("/admin/realms/adm/users/{alice}/api-keys");

    let resp = app
        .admin(
            Method::POST,
            &admin_path,
            Some(json!({ "id": "svc", "permissions": "email" })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.expect("json");
    assert!(created["secret"].as_str().expect("secret").starts_with("nx_live_"));
    assert_eq!(created["userId"], alice);
    assert_ne!(created["createdBy"], alice);
    problem(
        app.admin(Method::POST, &admin_path, Some(json!({ "id": "svc" }))).await,
        409,
        &admin_path,
    )
    .await;

    // The owner sees it; the admin list has no secret.
    let token = app.password_token("adm", "admin-cli", "alice", PASSWORD).await;
    let resp = call(&app, Some(&token), Method::GET, &keys_path("adm"), None).await;
    let own: Value = resp.json().await.expect("json");
    assert_eq!(own[0]["id"], "svc");
    let resp = app.admin(Method::GET, &admin_path, None).await;
    assert_eq!(resp.status(), 200);
    let list: Value = resp.json().await.expect("json");
    assert_eq!(list.as_array().expect("array").len(), 1);
    assert!(list[0].get("secret").is_none());

    // A user's token is no admin token; unknown users are 404.
    let resp = app.admin_as(&token, Method::GET, &admin_path, None).await;
    assert_eq!(resp.status(), 403);
    let resp = app
        .admin(Method::GET, "/admin/realms/adm/users/nobody/api-keys", None)
        .await;
    assert_eq!(resp.status(), 404);

    let resp = app.admin(Method::DELETE, &format!("{admin_path}/svc"), None).await;
    assert_eq!(resp.status(), 204);
    let resp = app.admin(Method::GET, &admin_path, None).await;
    let list: Value = resp.json().await.expect("json");
    assert_eq!(list, json!([]));
}

// ---- key for token ---------------------------------------------------------------------------

async fn key_for_token(app: &TestApp, realm: &str, body: Value) -> reqwest::Response {
    call(
        app,
        None,
        Method::POST,
        &format!("/realms/{realm}/api/v1/oauth/tokens"),
        Some(body),
    )
    .await
}

/// Creates a key through the owner API; (id, secret).
async fn new_key(app: &TestApp, token: &str, realm: &str, body: Value) -> (String, String) {
    let resp = call(app, Some(token), Method::POST, &keys_path(realm), Some(body)).await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.expect("json");
    (
        created["id"].as_str().expect("id").to_owned(),
        created["secret"].as_str().expect("secret").to_owned(),
    )
}

async fn minted(app: &TestApp, realm: &str, id: &str, secret: &str) -> Value {
    let resp = key_for_token(app, realm, json!({ "apiKey": id, "apiSecret": secret })).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    let claims = app
        .verify(realm, body["access_token"].as_str().expect("token"))
        .await
        .expect("a valid RS256 token");
    claims
}

fn realm_roles(claims: &Value) -> Vec<String> {
    let mut roles: Vec<String> = claims["realm_access"]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| r.as_str().expect("str").to_owned())
        .collect();
    roles.sort();
    roles
}

#[tokio::test]
async fn api_keys_key_for_token_mints_a_token_of_the_keys_permissions_and_role() {
    let app = spawn_app().await;
    let (_, alice) = realm_with_owner(&app, "kt").await;
    let ops = create_role(&app, "kt", "ops").await;
    let boss = create_role(&app, "kt", "boss").await;
    grant_role(&app, "kt", &alice, &ops, "ops", Method::POST).await;
    grant_role(&app, "kt", &alice, &boss, "boss", Method::POST).await;
    create_scope(&app, "kt", "read:users").await;
    let token = app.password_token("kt", "admin-cli", "alice", PASSWORD).await;
    let (id, secret) = new_key(
        &app,
        &token,
        "kt",
        json!({ "roleId": "ops", "permissions": "read:users profile", "environment": "test" }),
    )
    .await;

    let resp = key_for_token(&app, "kt", json!({ "apiKey": id, "apiSecret": secret })).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let access = body["access_token"].as_str().expect("token").to_owned();
    let claims = app.verify("kt", &access).await.expect("valid");
    assert_eq!(claims["sub"], alice);
    assert_eq!(claims["scope"], "read:users profile");
    assert_eq!(claims["api_key_id"], id.as_str());
    assert_eq!(claims["nx_env"], "test");
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(realm_roles(&claims), ["ops"]);
    assert!(claims.get("resource_access").is_none());
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        3600
    );

    // The minted token is a bearer token of the owner: it lists her keys, but cannot create,
    // change or delete any (a limited key must not mint a broader one).
    let resp = call(&app, Some(&access), Method::GET, &keys_path("kt"), None).await;
    assert_eq!(resp.status(), 200);
    let base = keys_path("kt");
    let p = problem(
        call(&app, Some(&access), Method::POST, &base, Some(json!({}))).await,
        403,
        &base,
    )
    .await;
    assert!(p["type"].as_str().expect("type").ends_with("api-key-token"));
    let one = format!("{base}/{id}");
    problem(call(&app, Some(&access), Method::DELETE, &one, None).await, 403, &one).await;
    problem(
        call(
            &app,
            Some(&access),
            Method::PUT,
            &one,
            Some(json!({ "description": "x" })),
        )
        .await,
        403,
        &one,
    )
    .await;

    // Lifetimes: asked, capped at 24 h, at least a minute; a realm attribute lowers the cap.
    let ask = |minutes: i64| {
        key_for_token(
            &app,
            "kt",
            json!({ "apiKey": id, "apiSecret": secret, "expirationMinutes": minutes }),
        )
    };
    let body: Value = ask(5).await.json().await.expect("json");
    assert_eq!(body["expires_in"], 300);
    let body: Value = ask(100_000).await.json().await.expect("json");
    assert_eq!(body["expires_in"], 24 * 3600);
    let path = "/realms/kt/api/v1/oauth/tokens";
    problem(ask(0).await, 400, path).await;
    let resp = app
        .admin(
            Method::PUT,
            "/admin/realms/kt",
            Some(json!({ "attributes": { "apiKeyTokenMaxMinutes": "30" } })),
        )
        .await;
    assert!(resp.status().is_success(), "realm update: {}", resp.status());
    let body: Value = ask(100).await.json().await.expect("json");
    assert_eq!(body["expires_in"], 30 * 60);

    // Accept: text/plain answers the bare token.
    let resp = app
        .http
        .post(app.url(path))
        .header("accept", "text/plain")
        .json(&json!({ "apiKey": id, "apiSecret": secret }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/plain"));
    let bare = resp.text().await.expect("text");
    let claims = app.verify("kt", &bare).await.expect("valid");
    assert_eq!(claims["api_key_id"], id.as_str());

    // A key without a role carries the owner's roles; a live key's environment defaults to live.
    let (plain_id, plain_secret) = new_key(&app, &token, "kt", json!({})).await;
    let claims = minted(&app, "kt", &plain_id, &plain_secret).await;
    let roles = realm_roles(&claims);
    assert!(
        roles.contains(&"ops".to_owned()) && roles.contains(&"boss".to_owned()),
        "{roles:?}"
    );
    assert_eq!(claims["nx_env"], "live");
    assert_eq!(claims["scope"], "");

    // The owner loses `ops`: the key's tokens lose it at once.
    grant_role(&app, "kt", &alice, &ops, "ops", Method::DELETE).await;
    let claims = minted(&app, "kt", &id, &secret).await;
    assert!(realm_roles(&claims).is_empty(), "{claims}");
    let claims = minted(&app, "kt", &plain_id, &plain_secret).await;
    assert!(!realm_roles(&claims).contains(&"ops".to_owned()));
}

#[tokio::test]
async fn api_keys_key_for_token_refuses_bad_revoked_expired_and_foreign_keys() {
    let app = spawn_app().await;
    let (realm_a, alice) = realm_with_owner(&app, "ta").await;
    realm_with_owner(&app, "tb").await;
    let token = app.password_token("ta", "admin-cli", "alice", PASSWORD).await;
    let path = "/realms/ta/api/v1/oauth/tokens";
    let soon = nexus::domain::dates::format_rfc3339(app.clock.now() + 120);
    let (id, secret) = new_key(&app, &token, "ta", json!({ "id": "k1", "expiresAt": soon })).await;
    minted(&app, "ta", &id, &secret).await;

    // Wrong secret, unknown id, the pair in another realm, missing fields.
    let wrong = key_for_token(&app, "ta", json!({ "apiKey": id, "apiSecret": format!("{secret}x") })).await;
    let p = problem(wrong, 401, path).await;
    assert_eq!(p["detail"], "invalid API key or secret");
    problem(
        key_for_token(&app, "ta", json!({ "apiKey": "k2", "apiSecret": secret })).await,
        401,
        path,
    )
    .await;
    problem(
        key_for_token(&app, "tb", json!({ "apiKey": id, "apiSecret": secret })).await,
        401,
        "/realms/tb/api/v1/oauth/tokens",
    )
    .await;
    problem(key_for_token(&app, "ta", json!({ "apiKey": id })).await, 400, path).await;
    problem(
        key_for_token(&app, "nowhere", json!({ "apiKey": id, "apiSecret": secret })).await,
        404,
        "/realms/nowhere/api/v1/oauth/tokens",
    )
    .await;

    // Expired: refused once the clock passes expiresAt.
    app.clock.advance(121);
    problem(
        key_for_token(&app, "ta", json!({ "apiKey": id, "apiSecret": secret })).await,
        401,
        path,
    )
    .await;

    // Revoked (through the service) and deleted keys are refused at once.
    let (id2, secret2) = new_key(&app, &token_after(&app).await, "ta", json!({ "id": "k2" })).await;
    minted(&app, "ta", &id2, &secret2).await;
    let k = Keys::of(&app);
    let now = app.clock.now();
    let (realm_for_revoke, owner) = (realm_a.clone(), alice.clone());
    k.db.blocking(move |conn| {
        db::write_transaction(conn, |conn| {
            keys::revoke(conn, &realm_for_revoke, &owner, "k2", &owner, now)
        })
    })
    .expect("revoke");
    // A write behind the API's back reaches the hot-path cache of granted keys (ADR 014) with the
    // realm's next invalidation, which any admin write publishes.
    app.update_realm("ta", json!({})).await;
    problem(
        key_for_token(&app, "ta", json!({ "apiKey": id2, "apiSecret": secret2 })).await,
        401,
        path,
    )
    .await;
    let token = token_after(&app).await;
    let (id3, secret3) = new_key(&app, &token, "ta", json!({ "id": "k3" })).await;
    let resp = call(
        &app,
        Some(&token),
        Method::DELETE,
        &format!("{}/k3", keys_path("ta")),
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    problem(
        key_for_token(&app, "ta", json!({ "apiKey": id3, "apiSecret": secret3 })).await,
        401,
        path,
    )
    .await;

    // A disabled owner's keys are refused.
    let (id4, secret4) = new_key(&app, &token, "ta", json!({ "id": "k4" })).await;
    minted(&app, "ta", &id4, &secret4).await;
    crate::isolation::set_user_enabled(&app, "ta", &alice, false).await;
    problem(
        key_for_token(&app, "ta", json!({ "apiKey": id4, "apiSecret": secret4 })).await,
        401,
        path,
    )
    .await;
}

/// A fresh token of alice in realm `ta` (the first one may have expired with the clock moved).
async fn token_after(app: &TestApp) -> String {
    app.password_token("ta", "admin-cli", "alice", PASSWORD).await
}

async fn mint_access(app: &TestApp, realm: &str, id: &str, secret: &str) -> String {
    let resp = key_for_token(app, realm, json!({ "apiKey": id, "apiSecret": secret })).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    body["access_token"].as_str().expect("token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_tokens_act_with_the_keys_role_in_the_admin_api_and_stop_with_their_key() {
    let app = spawn_app().await;
    let (_, alice) = realm_with_owner(&app, "ka").await;
    crate::isolation::grant_realm_admin(&app, "ka", &alice).await;
    let ops = create_role(&app, "ka", "ops").await;
    grant_role(&app, "ka", &alice, &ops, "ops", Method::POST).await;
    let token = app.password_token("ka", "admin-cli", "alice", "alice-password").await;
    let users = "/admin/realms/ka/users";
    assert_eq!(app.admin_as(&token, Method::GET, users, None).await.status(), 200);

    // A key limited to `ops`: its token cannot use alice's realm-admin rights.
    let (limited, limited_secret) = new_key(&app, &token, "ka", json!({ "roleId": "ops" })).await;
    let limited_access = mint_access(&app, "ka", &limited, &limited_secret).await;
    assert_eq!(
        app.admin_as(&limited_access, Method::GET, users, None).await.status(),
        403
    );

    // A key without a role acts with all of alice's rights...
    let (full, full_secret) = new_key(&app, &token, "ka", json!({})).await;
    let full_access = mint_access(&app, "ka", &full, &full_secret).await;
    assert_eq!(app.admin_as(&full_access, Method::GET, users, None).await.status(), 200);
    // ...until the key is deleted: its tokens stop with it, in the admin and the account API.
    let resp = call(
        &app,
        Some(&token),
        Method::DELETE,
        &format!("{}/{full}", keys_path("ka")),
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(app.admin_as(&full_access, Method::GET, users, None).await.status(), 401);
    let resp = call(&app, Some(&full_access), Method::GET, &keys_path("ka"), None).await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_accepted_as_psk_bearer_and_basic_credentials() {
    use base64::Engine;
    let app = spawn_app().await;
    let (_, alice) = realm_with_owner(&app, "psk").await;
    crate::isolation::grant_realm_admin(&app, "psk", &alice).await;
    let ops = create_role(&app, "psk", "ops").await;
    grant_role(&app, "psk", &alice, &ops, "ops", Method::POST).await;
    app.create_realm("other").await;
    let token = app.password_token("psk", "admin-cli", "alice", "alice-password").await;
    let (id, secret) = new_key(&app, &token, "psk", json!({})).await;
    let (limited, limited_secret) = new_key(&app, &token, "psk", json!({ "roleId": "ops" })).await;
    let users = app.url("/admin/realms/psk/users");
    let basic = |id: &str, secret: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    };
    let status = |req: reqwest::RequestBuilder| async move { req.send().await.expect("request").status().as_u16() };

    // Each way of presenting the key, in the admin API.
    assert_eq!(
        status(app.http.get(&users).header("Authorization-PSK", &secret)).await,
        200
    );
    assert_eq!(status(app.http.get(&users).bearer_auth(&secret)).await, 200);
    assert_eq!(
        status(app.http.get(&users).header("Authorization", basic(&id, &secret))).await,
        200
    );
    // Wrong pairs, and a key limited to a role without admin rights.
    assert_eq!(
        status(app.http.get(&users).header("Authorization-PSK", "nx_live_nope")).await,
        401
    );
    assert_eq!(
        status(app.http.get(&users).header("Authorization", basic(&limited, &secret))).await,
        401
    );
    assert_eq!(
        status(app.http.get(&users).header("Authorization-PSK", &limited_secret)).await,
        403
    );
    // A key of realm psk is nobody in realm other.
    let other_keys = app.url(&keys_path("other"));
    assert_eq!(
        status(app.http.get(&other_keys).header("Authorization-PSK", &secret)).await,
        401
    );

    // The API-key API: a key may list its owner's keys, not create any.
    let own_keys = app.url(&keys_path("psk"));
    let resp = app
        .http
        .get(&own_keys)
        .header("Authorization-PSK", &secret)
        .send()
        .await
        .expect("list");
    assert_eq!(resp.status(), 200);
    let listed: Value = resp.json().await.expect("json");
    assert_eq!(listed.as_array().expect("list").len(), 2);
    assert!(!listed.to_string().contains(&secret), "never the secret");
    let resp = app
        .http
        .post(&own_keys)
        .header("Authorization-PSK", &secret)
        .json(&json!({}))
        .send()
        .await
        .expect("create");
    assert_eq!(resp.status(), 403);

    // Expired and deleted keys stop at once.
    app.clock.advance(366 * 24 * 3600);
    assert_eq!(
        status(app.http.get(&users).header("Authorization-PSK", &secret)).await,
        401
    );
    app.clock.advance(-(366 * 24 * 3600));
    assert_eq!(
        status(app.http.get(&users).header("Authorization-PSK", &secret)).await,
        200
    );
    let resp = call(
        &app,
        Some(&token),
        Method::DELETE,
        &format!("{}/{id}", keys_path("psk")),
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        status(app.http.get(&users).header("Authorization-PSK", &secret)).await,
        401
    );
}
