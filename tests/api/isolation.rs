//! Realm isolation: nothing of realm A (tokens, clients, secrets, users, refresh tokens, admins)
//! is valid or visible in realm B.
//!
//! Also home of the user fixtures the protocol tests need (`create_user`, `set_user_enabled`,
//! `grant_realm_admin`): they use the Keycloak admin API when the server has it, and write through
//! the storage layer otherwise, so these tests do not depend on the users API being finished.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{location_id, spawn_app, TestApp};
use crate::token_endpoint::{split, token_form};
use nexus::store::db::{self, DatabaseLocation, Db, DbError};

/// A direct handle on the app's database (for fixtures only).
pub fn direct_db(app: &TestApp) -> Db {
    let url = app.storage.settings().effective_database_url();
    Db::connect(DatabaseLocation::parse(&url).expect("database url")).expect("database")
}

async fn blocking<T: Send + 'static>(
    app: &TestApp,
    f: impl FnOnce(&mut db::DbConnection) -> Result<T, DbError> + Send + 'static,
) -> T {
    let database = direct_db(app);
    tokio::task::spawn_blocking(move || database.blocking(f))
        .await
        .expect("join")
        .expect("database work")
}

/// A route the server does not have answers the default 404 `{"error":"Not Found"}`.
async fn route_missing(resp: reqwest::Response) -> bool {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (status == 404 && body["error"] == "Not Found") || status == 405
}

/// Creates an enabled/disabled user with a password; returns the user's id.
pub async fn create_user(app: &TestApp, realm: &str, username: &str, password: &str, enabled: bool) -> String {
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/users"),
            Some(json!({
                "username": username,
                "enabled": enabled,
                "credentials": [{ "type": "password", "value": password, "temporary": false }],
            })),
        )
        .await;
    if resp.status() == 201 {
        return location_id(&resp);
    }
    assert!(route_missing(resp).await, "user creation failed");
    let (realm, username, password) = (realm.to_owned(), username.to_owned(), password.to_owned());
    let now = nexus::clock::Clock::now(&app.clock);
    blocking(app, move |conn| {
        let realm = db::realms::find_by_name(conn, &realm)?.expect("realm exists");
        let mut user = nexus::service::users::blank_user(&realm.id, &username, now);
        user.enabled = enabled;
        nexus::service::users::insert_with_default_roles(conn, &realm, &user)?;
        let hash = nexus::crypto::password::hash_password(&password);
        nexus::service::users::set_password_hash(conn, &user.id, hash, false, now)?;
        Ok(user.id)
    })
    .await
}

pub async fn set_user_enabled(app: &TestApp, realm: &str, user_id: &str, enabled: bool) {
    let resp = app
        .admin(
            Method::PUT,
            &format!("/admin/realms/{realm}/users/{user_id}"),
            Some(json!({ "enabled": enabled })),
        )
        .await;
    if resp.status() == 204 {
        return;
    }
    assert!(route_missing(resp).await, "user update failed");
    let (realm, user_id) = (realm.to_owned(), user_id.to_owned());
    blocking(app, move |conn| {
        let realm = db::realms::find_by_name(conn, &realm)?.expect("realm exists");
        let mut user = db::users::find(conn, &realm.id, &user_id)?.expect("user exists");
        user.enabled = enabled;
        db::users::update(conn, &user)?;
        Ok(())
    })
    .await
}

/// Gives the user `realm-management`'s `realm-admin` role: full rights over their own realm.
pub async fn grant_realm_admin(app: &TestApp, realm: &str, user_id: &str) {
    let resp = app
        .admin(
            Method::GET,
            &format!("/admin/realms/{realm}/clients?clientId=realm-management"),
            None,
        )
        .await;
    let clients: Value = resp.json().await.expect("clients");
    let management_id = clients[0]["id"].as_str().expect("realm-management id").to_owned();
    let resp = app
        .admin(
            Method::GET,
            &format!("/admin/realms/{realm}/clients/{management_id}/roles/realm-admin"),
            None,
        )
        .await;
    if resp.status() == 200 {
        let role: Value = resp.json().await.expect("role");
        let resp = app
            .admin(
                Method::POST,
                &format!("/admin/realms/{realm}/users/{user_id}/role-mappings/clients/{management_id}"),
                Some(json!([role])),
            )
            .await;
        if resp.status() == 204 {
            return;
        }
        assert!(route_missing(resp).await, "role mapping failed");
    }
    let (realm, user_id) = (realm.to_owned(), user_id.to_owned());
    blocking(app, move |conn| {
        let realm = db::realms::find_by_name(conn, &realm)?.expect("realm exists");
        let client = db::clients::find_by_client_id(conn, &realm.id, "realm-management")?.expect("realm-management");
        let role = db::roles::find_by_name(conn, &client.id, "realm-admin")?.expect("realm-admin role");
        db::roles::grant_to_user(conn, &user_id, &role.id)?;
        Ok(())
    })
    .await
}

async fn password_login(app: &TestApp, realm: &str, username: &str, password: &str) -> Value {
    let (status, _, body) = token_form(
        app,
        realm,
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", username),
            ("password", password),
        ],
    )
    .await;
    assert_eq!(status, 200, "login of {username} in {realm}: {body}");
    body
}

/// Replaces the payload of a JWT, keeping its header and (now wrong) signature.
fn with_payload(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    edit(&mut payload);
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_secrets_tokens_and_users_of_one_realm_mean_nothing_in_another() {
    let app = spawn_app().await;
    app.create_realm("alpha").await;
    app.create_realm("beta").await;
    // The same clientId in both realms, with different secrets.
    let (_, alpha_secret) = app.create_service_client("alpha", "app").await;
    let beta_secret = "beta-app-secret-0123456789abcdefghijklmn".to_owned();
    let resp = app
        .admin(
            Method::POST,
            "/admin/realms/beta/clients",
            Some(json!({ "clientId": "app", "secret": beta_secret, "serviceAccountsEnabled": true })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    assert_ne!(alpha_secret, beta_secret);

    // A's secret does not authenticate B's client of the same name (Basic and post).
    let (status, _, body) = split(app.client_credentials("beta", "app", &alpha_secret).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    let (status, _, body) = token_form(
        &app,
        "beta",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", &alpha_secret),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    // A client that exists only in A is unknown in B.
    app.create_service_client("alpha", "only-alpha").await;
    let (status, _, _) = split(
        app.client_credentials("beta", "only-alpha", "only-alpha-secret-0123456789abcdefghijklmnop")
            .await,
    )
    .await;
    assert_eq!(status, 401);

    let (status, _, alpha_body) = split(app.client_credentials("alpha", "app", &alpha_secret).await).await;
    assert_eq!(status, 200);
    let (status, _, beta_body) = split(app.client_credentials("beta", "app", &beta_secret).await).await;
    assert_eq!(status, 200);
    let alpha_token = alpha_body["access_token"].as_str().expect("token").to_owned();
    let beta_token = beta_body["access_token"].as_str().expect("token").to_owned();

    // Independent verification: each realm's JWKS accepts only its own tokens.
    app.verify("alpha", &alpha_token)
        .await
        .expect("alpha token verifies in alpha");
    app.verify("beta", &beta_token)
        .await
        .expect("beta token verifies in beta");
    assert!(
        app.verify("alpha", &beta_token).await.is_err(),
        "beta token must not verify against alpha's JWKS"
    );
    assert!(
        app.verify("beta", &alpha_token).await.is_err(),
        "alpha token must not verify against beta's JWKS"
    );
    let alpha_kids: Vec<Value> = app.jwks("alpha").await["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    let beta_kids: Vec<Value> = app.jwks("beta").await["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert!(alpha_kids.iter().all(|k| !beta_kids.contains(k)), "realms share no key");

    // A's token on B's admin API, and on A's own (no admin role there either).
    for path in [
        "/admin/realms/beta",
        "/admin/realms/beta/clients",
        "/admin/realms/beta/keys",
        "/admin/realms/alpha/clients",
    ] {
        let resp = app.admin_as(&alpha_token, Method::GET, path, None).await;
        assert!(matches!(resp.status().as_u16(), 401 | 403), "{path}: {}", resp.status());
    }
    // A token of A whose payload claims to be B's: the signature no longer matches anything.
    let forged = with_payload(&alpha_token, |p| p["iss"] = json!(app.issuer("beta")));
    let resp = app
        .admin_as(&forged, Method::GET, "/admin/realms/beta/clients", None)
        .await;
    assert_eq!(resp.status(), 401);
    let forged = with_payload(&alpha_token, |p| p["iss"] = json!(app.issuer("master")));
    let resp = app.admin_as(&forged, Method::GET, "/admin/realms", None).await;
    assert_eq!(resp.status(), 401);

    // Users of A do not exist in B; A's refresh tokens are invalid in B.
    create_user(&app, "alpha", "carol", "carol-password-1234", true).await;
    let login = password_login(&app, "alpha", "carol", "carol-password-1234").await;
    let (status, _, body) = token_form(
        &app,
        "beta",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "carol"),
            ("password", "carol-password-1234"),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_grant")), "{body}");
    let rt = login["refresh_token"].as_str().expect("refresh token");
    let (status, _, body) = token_form(
        &app,
        "beta",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "admin-cli"),
            ("refresh_token", rt),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // …and still fine in A.
    let (status, _, body) = token_form(
        &app,
        "alpha",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "admin-cli"),
            ("refresh_token", rt),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_of_one_realm_neither_sees_nor_touches_another() {
    let app = spawn_app().await;
    app.create_realm("alpha").await;
    app.create_realm("beta").await;
    let boss = create_user(&app, "alpha", "boss", "boss-password-12345", true).await;
    grant_realm_admin(&app, "alpha", &boss).await;
    let token = password_login(&app, "alpha", "boss", "boss-password-12345").await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    // Their own realm: full rights.
    let resp = app
        .admin_as(&token, Method::GET, "/admin/realms/alpha/clients", None)
        .await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .admin_as(
            &token,
            Method::POST,
            "/admin/realms/alpha/clients",
            Some(json!({ "clientId": "made-by-boss" })),
        )
        .await;
    assert_eq!(resp.status(), 201);

    // The realm list shows only their realm.
    let resp = app.admin_as(&token, Method::GET, "/admin/realms", None).await;
    assert_eq!(resp.status(), 200);
    let realms: Value = resp.json().await.expect("json");
    let names: Vec<&str> = realms
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["realm"].as_str())
        .collect();
    assert_eq!(names, ["alpha"]);
    let resp = app
        .admin_as(&token, Method::GET, "/admin/realms?briefRepresentation=true", None)
        .await;
    let realms: Value = resp.json().await.expect("json");
    assert_eq!(realms.as_array().expect("list").len(), 1);

    // Any other realm, existing or not, is forbidden (not 404: existence does not leak).
    for (method, path, body) in [
        (Method::GET, "/admin/realms/beta", None),
        (Method::GET, "/admin/realms/master", None),
        (Method::GET, "/admin/realms/no-such-realm", None),
        (Method::GET, "/admin/realms/beta/clients", None),
        (Method::GET, "/admin/realms/beta/keys", None),
        (Method::POST, "/admin/realms/beta/keys/rotate", None),
        (Method::PUT, "/admin/realms/beta", Some(json!({ "enabled": false }))),
        (Method::DELETE, "/admin/realms/beta", None),
        (
            Method::POST,
            "/admin/realms/beta/clients",
            Some(json!({ "clientId": "intruder" })),
        ),
        (Method::POST, "/admin/realms", Some(json!({ "realm": "gamma" }))),
    ] {
        let resp = app.admin_as(&token, method.clone(), path, body).await;
        assert_eq!(resp.status(), 403, "{method} {path}");
    }
    // Nothing of that happened.
    let resp = app.admin(Method::GET, "/admin/realms/beta", None).await;
    assert_eq!(resp.status(), 200);
    let beta: Value = resp.json().await.expect("json");
    assert_eq!(beta["enabled"], true);
    let resp = app
        .admin(Method::GET, "/admin/realms/beta/clients?clientId=intruder", None)
        .await;
    assert_eq!(resp.json::<Value>().await.expect("json"), json!([]));
    let resp = app.admin(Method::GET, "/admin/realms/gamma", None).await;
    assert_eq!(resp.status(), 404);

    // A user of alpha without admin roles sees no realm at all.
    create_user(&app, "alpha", "pleb", "pleb-password-12345", true).await;
    let pleb = password_login(&app, "alpha", "pleb", "pleb-password-12345").await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let resp = app.admin_as(&pleb, Method::GET, "/admin/realms", None).await;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(
        status == 403 || body == json!([]),
        "a non-admin must not see the realm: {status} {body}"
    );
    let resp = app.admin_as(&pleb, Method::GET, "/admin/realms/alpha", None).await;
    assert_eq!(resp.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recreated_realm_accepts_nothing_of_its_predecessor() {
    let app = spawn_app().await;
    app.create_realm("phoenix").await;
    let (_, secret) = app.create_service_client("phoenix", "svc").await;
    let boss = create_user(&app, "phoenix", "boss", "boss-password-12345", true).await;
    grant_realm_admin(&app, "phoenix", &boss).await;
    let login = password_login(&app, "phoenix", "boss", "boss-password-12345").await;
    let admin = login["access_token"].as_str().expect("token").to_owned();
    let rt = login["refresh_token"].as_str().expect("rt").to_owned();
    let (_, _, body) = split(app.client_credentials("phoenix", "svc", &secret).await).await;
    let service_token = body["access_token"].as_str().expect("token").to_owned();
    assert_eq!(
        app.admin_as(&admin, Method::GET, "/admin/realms/phoenix/clients", None)
            .await
            .status(),
        200
    );

    // Deleting a realm with users, sessions' refresh tokens and clients works…
    let resp = app.admin(Method::DELETE, "/admin/realms/phoenix", None).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        app.http
            .get(app.url("/realms/phoenix"))
            .send()
            .await
            .expect("realm")
            .status(),
        404
    );
    assert_eq!(
        app.admin_as(&admin, Method::GET, "/admin/realms/phoenix/clients", None)
            .await
            .status(),
        401
    );

    // …and a new realm of the same name, with a client of the same id and secret, is a stranger.
    app.create_realm("phoenix").await;
    let resp = app
        .admin(
            Method::POST,
            "/admin/realms/phoenix/clients",
            Some(json!({ "clientId": "svc", "secret": secret, "serviceAccountsEnabled": true })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    assert!(
        app.verify("phoenix", &service_token).await.is_err(),
        "old token must not verify against the new realm's keys"
    );
    assert_eq!(
        app.admin_as(&admin, Method::GET, "/admin/realms/phoenix/clients", None)
            .await
            .status(),
        401
    );
    let (status, _, body) = token_form(
        &app,
        "phoenix",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "admin-cli"),
            ("refresh_token", &rt),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, _, body) = token_form(
        &app,
        "phoenix",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "boss"),
            ("password", "boss-password-12345"),
        ],
    )
    .await;
    assert_eq!(status, 401, "{body}");
}
