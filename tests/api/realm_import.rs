//! Realm import and export in Keycloak's format (issue 6, ADR 019): a full round trip through the
//! admin API and through the `nexus export` / `nexus import` commands, migration of users with
//! Keycloak's PBKDF2 and argon2 hashes (re-hashed to argon2id at their first sign-in), all-or-nothing
//! imports naming the first bad field, partial export/import, and dual control on import.

use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::authorization_code::{challenge, Browser, REDIRECT, VERIFIER};
use crate::helpers::{location_id, spawn_app, spawn_on, Storage, TestApp};
use crate::isolation::direct_db;
use nexus::clock::SettableClock;

const PASSWORD: &str = "import-password-1";
const KC_PASSWORD: &str = "keycloak-Pässword-7";

async fn admin_call(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let resp = app.admin_as(token, method, path, body).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn created_id(app: &TestApp, token: &str, path: &str, body: Value) -> String {
    let resp = app.admin_as(token, Method::POST, path, Some(body.clone())).await;
    assert_eq!(resp.status(), 201, "POST {path} {body}");
    location_id(&resp)
}

/// A realm with a bit of everything, built through the admin API.
async fn build_realm(app: &TestApp, realm: &str) {
    app.create_realm(realm).await;
    let token = app.admin_token().await;
    let base = format!("/admin/realms/{realm}");
    created_id(
        app,
        &token,
        &format!("{base}/client-scopes"),
        json!({ "name": "api-read", "protocol": "openid-connect", "attributes": { "include.in.token.scope": "true" } }),
    )
    .await;
    let svc = created_id(
        app,
        &token,
        &format!("{base}/clients"),
        json!({ "clientId": "svc", "secret": "svc-secret-0123456789abcdefghijklmnop", "serviceAccountsEnabled": true,
                "optionalClientScopes": ["api-read"], "defaultClientScopes": ["profile", "email"] }),
    )
    .await;
    created_id(
        app,
        &token,
        &format!("{base}/clients"),
        json!({ "clientId": "web", "publicClient": true, "redirectUris": [REDIRECT], "webOrigins": ["https://app.example"],
                "directAccessGrantsEnabled": true, "attributes": { "pkce.code.challenge.method": "S256" } }),
    )
    .await;
    created_id(
        app,
        &token,
        &format!("{base}/clients/{svc}/roles"),
        json!({ "name": "reader", "description": "reads" }),
    )
    .await;
    created_id(app, &token, &format!("{base}/roles"), json!({ "name": "viewer" })).await;
    created_id(
        app,
        &token,
        &format!("{base}/roles"),
        json!({ "name": "editor", "attributes": { "level": ["2"] } }),
    )
    .await;
    let (_, viewer) = admin_call(app, &token, Method::GET, &format!("{base}/roles/viewer"), None).await;
    let (_, reader) = admin_call(
        app,
        &token,
        Method::GET,
        &format!("{base}/clients/{svc}/roles/reader"),
        None,
    )
    .await;
    let (status, _) = admin_call(
        app,
        &token,
        Method::POST,
        &format!("{base}/roles/editor/composites"),
        Some(json!([viewer, reader])),
    )
    .await;
    assert_eq!(status, 204);
    let staff = created_id(
        app,
        &token,
        &format!("{base}/groups"),
        json!({ "name": "staff", "attributes": { "floor": ["3"] } }),
    )
    .await;
    let ops = created_id(
        app,
        &token,
        &format!("{base}/groups/{staff}/children"),
        json!({ "name": "ops" }),
    )
    .await;
    let (status, _) = admin_call(
        app,
        &token,
        Method::POST,
        &format!("{base}/groups/{staff}/role-mappings/realm"),
        Some(json!([viewer])),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = admin_call(
        app,
        &token,
        Method::POST,
        &format!("{base}/groups/{ops}/role-mappings/clients/{svc}"),
        Some(json!([reader])),
    )
    .await;
    assert_eq!(status, 204);
    let alice = created_id(
        app,
        &token,
        &format!("{base}/users"),
        json!({ "username": "alice", "email": "alice@example.com", "firstName": "Alice", "enabled": true,
                "attributes": { "team": ["blue"] }, "groups": ["/staff/ops"], "realmRoles": ["editor"],
                "credentials": [{ "type": "password", "value": PASSWORD }] }),
    )
    .await;
    let (status, _) = admin_call(
        app,
        &token,
        Method::POST,
        &format!("{base}/users/{alice}/role-mappings/clients/{svc}"),
        Some(json!([reader])),
    )
    .await;
    assert_eq!(status, 204);
    // The service account holds a role too.
    let (_, sa) = admin_call(
        app,
        &token,
        Method::GET,
        &format!("{base}/clients/{svc}/service-account-user"),
        None,
    )
    .await;
    let sa_id = sa["id"].as_str().expect("service account id");
    let (status, _) = admin_call(
        app,
        &token,
        Method::POST,
        &format!("{base}/users/{sa_id}/role-mappings/realm"),
        Some(json!([viewer])),
    )
    .await;
    assert_eq!(status, 204);
}

/// The full export (what `nexus export` writes), read straight from the app's storage.
async fn export(app: &TestApp, realm: &str) -> Value {
    let database = direct_db(app);
    let settings = app.storage.settings();
    let realm = realm.to_owned();
    tokio::task::spawn_blocking(move || {
        let master = nexus::startup::load_master_key(&settings).expect("master key");
        database
            .blocking(|conn| -> Result<Value, nexus::error::AppError> {
                let realm = nexus::store::db::realms::find_by_name(conn, &realm)?.expect("realm");
                nexus::http::admin::transfer::export_realm(
                    conn,
                    &master,
                    &realm,
                    nexus::http::admin::transfer::ExportOptions::FULL,
                )
            })
            .expect("export")
    })
    .await
    .expect("join")
}

#[tokio::test]
async fn an_exported_realm_imported_into_an_empty_nexus_is_the_same_realm() {
    let source = spawn_app().await;
    build_realm(&source, "roundtrip").await;
    let first = export(&source, "roundtrip").await;
    // Secrets and password hashes are in the full export (Keycloak's format).
    let svc = first["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .find(|c| c["clientId"] == "svc")
        .expect("svc");
    assert_eq!(svc["secret"], "svc-secret-0123456789abcdefghijklmnop");
    let alice = first["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == "alice")
        .expect("alice");
    let credential = &alice["credentials"][0];
    assert_eq!(credential["type"], "password");
    let data: Value = serde_json::from_str(credential["credentialData"].as_str().expect("string")).expect("json");
    assert_eq!(data["algorithm"], "argon2");
    assert_eq!(alice["groups"], json!(["/staff/ops"]));
    assert_eq!(alice["clientRoles"], json!({ "svc": ["reader"] }));
    assert!(first["users"]
        .as_array()
        .expect("users")
        .iter()
        .any(|u| u["serviceAccountClientId"] == "svc"));

    let target = spawn_app().await;
    let resp = target.admin(Method::POST, "/admin/realms", Some(first.clone())).await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());
    let second = export(&target, "roundtrip").await;
    // Ids are kept, as Keycloak keeps them: nothing needs to be ignored. (Signing keys are not
    // part of an export: the new realm has its own.)
    assert_eq!(first, second);

    // The imported confidential client's secret works, and so does an imported user's password.
    let resp = target
        .client_credentials("roundtrip", "svc", "svc-secret-0123456789abcdefghijklmnop")
        .await;
    assert_eq!(resp.status(), 200);
    let (status, body) = target.password_grant("roundtrip", "web", "alice", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let claims = target
        .verify("roundtrip", body["access_token"].as_str().expect("token"))
        .await
        .expect("valid token");
    let roles = claims["realm_access"]["roles"].as_array().expect("roles");
    assert!(
        roles.contains(&json!("editor")) && roles.contains(&json!("viewer")),
        "{claims}"
    );

    // The same realm again is a conflict, and changes nothing.
    let resp = target.admin(Method::POST, "/admin/realms", Some(first.clone())).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(export(&target, "roundtrip").await, second);
}

// ---------- Keycloak migration ----------

fn pbkdf2_credential(algorithm: &str, iterations: u32, password: &str) -> Value {
    let salt: [u8; 16] = rand::random();
    let mut hash = [0u8; 64];
    match algorithm {
        "pbkdf2" => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password.as_bytes(), &salt, iterations, &mut hash),
        "pbkdf2-sha256" => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), &salt, iterations, &mut hash),
        _ => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password.as_bytes(), &salt, iterations, &mut hash),
    }
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "type": "password",
        "userLabel": "My password",
        "createdDate": 1_700_000_000_000_i64,
        "secretData": json!({ "value": STANDARD.encode(hash), "salt": STANDARD.encode(salt), "additionalParameters": {} }).to_string(),
        "credentialData": json!({ "hashIterations": iterations, "algorithm": algorithm, "additionalParameters": {} }).to_string(),
    })
}

/// Keycloak 24's argon2 defaults: argon2id 1.3, 7168 KiB, 5 iterations, 1 lane, 32 bytes.
fn argon2_credential(password: &str) -> Value {
    use argon2::{Algorithm, Argon2, Params, Version};
    let salt: [u8; 16] = rand::random();
    let mut hash = [0u8; 32];
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(7168, 5, 1, Some(32)).expect("params"),
    )
    .hash_password_into(password.as_bytes(), &salt, &mut hash)
    .expect("argon2");
    json!({
        "type": "password",
        "createdDate": 1_700_000_000_000_i64,
        "secretData": json!({ "value": STANDARD.encode(hash), "salt": STANDARD.encode(salt), "additionalParameters": {} }).to_string(),
        "credentialData": json!({ "hashIterations": 5, "algorithm": "argon2", "additionalParameters": {
            "hashLength": ["32"], "memory": ["7168"], "type": ["id"], "version": ["1.3"], "parallelism": ["1"] } }).to_string(),
    })
}

/// A realm as Keycloak exports it (a subset, with structures nexus ignores).
fn keycloak_realm(name: &str) -> Value {
    let user = |username: &str, credential: Value| {
        json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "createdTimestamp": 1_700_000_000_000_i64,
            "username": username,
            "enabled": true,
            "totp": false,
            "emailVerified": false,
            "credentials": [credential],
            "disableableCredentialTypes": [],
            "requiredActions": [],
            "realmRoles": [format!("default-roles-{name}")],
            "notBefore": 0,
            "groups": [],
        })
    };
    json!({
        "id": name,
        "realm": name,
        "enabled": true,
        "sslRequired": "external",
        "bruteForceProtected": true,
        "failureFactor": 5,
        "registrationAllowed": false,
        "browserFlow": "browser",
        "authenticationFlows": [{ "alias": "browser", "topLevel": true }],
        "requiredActions": [{ "alias": "CONFIGURE_TOTP", "enabled": true }],
        "components": { "org.keycloak.keys.KeyProvider": [] },
        "clientScopes": [
            { "name": "role_list", "protocol": "saml", "attributes": { "consent.screen.text": "${samlRoleListScopeConsentText}" },
              "protocolMappers": [{ "name": "role list", "protocol": "saml", "protocolMapper": "saml-role-list-mapper" }] },
            { "name": "profile", "protocol": "openid-connect", "description": "OpenID Connect built-in scope: profile",
              "attributes": { "include.in.token.scope": "true", "display.on.consent.screen": "true", "consent.screen.text": "${profileScopeConsentText}" },
              "protocolMappers": [{ "name": "family name", "protocol": "openid-connect", "protocolMapper": "oidc-usermodel-attribute-mapper" }] },
        ],
        "defaultDefaultClientScopes": ["role_list", "profile", "email", "roles", "web-origins"],
        "defaultOptionalClientScopes": ["offline_access"],
        "roles": { "realm": [
            { "name": format!("default-roles-{name}"), "composite": true, "clientRole": false, "containerId": name,
              "composites": { "realm": ["offline_access", "uma_authorization"], "client": { "account": ["view-profile", "manage-account"] } } },
            { "name": "offline_access", "composite": false, "clientRole": false, "containerId": name },
            { "name": "uma_authorization", "composite": false, "clientRole": false, "containerId": name },
        ], "client": {} },
        "clients": [{
            "clientId": "app",
            "enabled": true,
            "publicClient": true,
            "standardFlowEnabled": true,
            "directAccessGrantsEnabled": true,
            "redirectUris": [REDIRECT],
            "webOrigins": ["+"],
            "protocol": "openid-connect",
            "attributes": { "pkce.code.challenge.method": "S256" },
            "protocolMappers": [{ "name": "audience", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper" }],
            "authenticationFlowBindingOverrides": {},
            "defaultClientScopes": ["profile", "email", "roles", "web-origins"],
            "optionalClientScopes": ["offline_access"],
        }],
        "users": [
            user("sha512", pbkdf2_credential("pbkdf2-sha512", 10_000, KC_PASSWORD)),
            user("sha256", pbkdf2_credential("pbkdf2-sha256", 27_500, KC_PASSWORD)),
            user("sha1", pbkdf2_credential("pbkdf2", 20_000, KC_PASSWORD)),
            user("argon", argon2_credential(KC_PASSWORD)),
        ],
    })
}

async fn stored_password(app: &TestApp, realm: &str, username: &str) -> (String, String) {
    let database = direct_db(app);
    let (realm, username) = (realm.to_owned(), username.to_owned());
    tokio::task::spawn_blocking(move || {
        database
            .blocking(|conn| -> Result<(String, String), nexus::store::db::DbError> {
                let realm = nexus::store::db::realms::find_by_name(conn, &realm)?.expect("realm");
                let user = nexus::store::db::users::find_by_username(conn, &realm.id, &username)?.expect("user");
                let c = nexus::store::db::users::password_of(conn, &user.id)?.expect("password");
                Ok((c.secret_data, c.credential_data))
            })
            .expect("read")
    })
    .await
    .expect("join")
}

async fn user_id(app: &TestApp, token: &str, realm: &str, username: &str) -> String {
    let (_, users) = admin_call(
        app,
        token,
        Method::GET,
        &format!("/admin/realms/{realm}/users?username={username}&exact=true"),
        None,
    )
    .await;
    users[0]["id"].as_str().expect("user id").to_owned()
}

#[tokio::test]
async fn keycloak_users_sign_in_with_their_passwords_which_are_then_rehashed_to_argon2id() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let resp = app
        .admin_as(&token, Method::POST, "/admin/realms", Some(keycloak_realm("kc")))
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());

    for username in ["sha512", "sha256", "sha1", "argon"] {
        let (before, data) = stored_password(&app, "kc", username).await;
        assert!(!before.starts_with("$argon2id$v=19$m=19456"), "{username}: {before}");
        assert!(data.contains("keycloak"), "{data}");
        // Wrong password: refused, and counted by brute-force detection as for any user.
        let (status, body) = app.password_grant("kc", "app", username, "wrong-password").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_grant")),
            "{username}"
        );
        let id = user_id(&app, &token, "kc", username).await;
        let (_, attack) = admin_call(
            &app,
            &token,
            Method::GET,
            &format!("/admin/realms/kc/attack-detection/brute-force/users/{id}"),
            None,
        )
        .await;
        assert_eq!(attack["numFailures"], 1, "{username}: {attack}");
        assert_eq!(
            stored_password(&app, "kc", username).await.0,
            before,
            "a failure changes nothing"
        );

        // The old password works, and the stored hash becomes nexus's argon2id.
        if username == "sha256" {
            // Through the login page (the other path into `verify_password_login`).
            let browser = Browser::new(&app);
            let c = challenge(VERIFIER);
            let page = browser
                .authorize(
                    "kc",
                    &[
                        ("client_id", "app"),
                        ("redirect_uri", REDIRECT),
                        ("response_type", "code"),
                        ("scope", "openid"),
                        ("state", "s"),
                        ("code_challenge", c.as_str()),
                        ("code_challenge_method", "S256"),
                    ],
                )
                .await;
            let answer = browser.login(&page, username, KC_PASSWORD).await;
            assert_eq!(answer.status, 302, "{}", answer.body);
            assert!(answer.param("code").is_some());
        } else {
            let (status, body) = app.password_grant("kc", "app", username, KC_PASSWORD).await;
            assert_eq!(status, 200, "{username}: {body}");
        }
        let (after, data) = stored_password(&app, "kc", username).await;
        assert!(
            after.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{username}: {after}"
        );
        assert_eq!(data, r#"{"algorithm":"argon2id"}"#);
        // What the admin API shows of it.
        let (_, credentials) = admin_call(
            &app,
            &token,
            Method::GET,
            &format!("/admin/realms/kc/users/{id}/credentials"),
            None,
        )
        .await;
        assert_eq!(credentials[0]["credentialData"], r#"{"algorithm":"argon2id"}"#);
        assert_eq!(credentials[0]["createdDate"], 1_700_000_000_000_i64);

        // A second sign-in uses the new hash.
        let (status, _) = app.password_grant("kc", "app", username, KC_PASSWORD).await;
        assert_eq!(status, 200, "{username}");
        let (status, _) = app.password_grant("kc", "app", username, "wrong-again").await;
        assert_eq!(status, 401);
    }

    // Keycloak's settings nexus has were kept; the structures it does not have were not stored.
    let (_, realm) = admin_call(&app, &token, Method::GET, "/admin/realms/kc", None).await;
    assert_eq!(realm["bruteForceProtected"], true);
    assert_eq!(realm["failureFactor"], 5);
    assert!(realm.get("authenticationFlows").is_none() && realm.get("components").is_none());
}

// ---------- bad files ----------

fn three_clients(bad_uri: &str) -> Value {
    json!({
        "realm": "broken",
        "clients": [
            { "clientId": "one", "publicClient": true, "redirectUris": ["https://one.example/cb"] },
            { "clientId": "two", "publicClient": true, "redirectUris": ["https://two.example/cb"] },
            { "clientId": "three", "publicClient": true, "redirectUris": [bad_uri] },
        ],
    })
}

async fn refused(app: &TestApp, token: &str, path: &str, body: Value, field: &str) {
    let (status, answer) = admin_call(app, token, Method::POST, path, Some(body)).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["errorMessage"].as_str().expect("Keycloak's errorMessage");
    assert!(
        message.starts_with(&format!("{field}: ")),
        "expected {field}, got {message}"
    );
    assert_eq!(
        (answer["error"].as_str(), answer["field"].as_str()),
        (Some("invalid_field"), Some(field))
    );
}

#[tokio::test]
async fn a_bad_file_names_its_first_bad_field_and_changes_nothing() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    refused(
        &app,
        &token,
        "/admin/realms",
        three_clients("https://ok.example/\u{7}"),
        "clients[2].redirectUris[0]",
    )
    .await;

    let mut unknown_group = keycloak_realm("broken");
    unknown_group["users"][1]["groups"] = json!(["/nowhere"]);
    refused(&app, &token, "/admin/realms", unknown_group, "users[1].groups[0]").await;

    let mut unknown_role = keycloak_realm("broken");
    unknown_role["users"][0]["realmRoles"] = json!(["default-roles-broken", "ghost"]);
    refused(&app, &token, "/admin/realms", unknown_role, "users[0].realmRoles[1]").await;

    let mut own_composite = keycloak_realm("broken");
    own_composite["roles"]["realm"][1]["composites"] = json!({ "realm": ["offline_access"] });
    refused(
        &app,
        &token,
        "/admin/realms",
        own_composite,
        "roles.realm[1].composites",
    )
    .await;

    let mut bad_hash = keycloak_realm("broken");
    bad_hash["users"][2]["credentials"][0]["credentialData"] =
        json!(json!({ "hashIterations": -1, "algorithm": "pbkdf2", "additionalParameters": {} }).to_string());
    refused(
        &app,
        &token,
        "/admin/realms",
        bad_hash,
        "users[2].credentials[0].credentialData.hashIterations",
    )
    .await;

    // Nothing of any of them was stored: no realm, so no client, user or role either.
    let (status, _) = admin_call(&app, &token, Method::GET, "/admin/realms/broken", None).await;
    assert_eq!(status, 404);
    let (_, realms) = admin_call(&app, &token, Method::GET, "/admin/realms", None).await;
    assert_eq!(realms.as_array().map(Vec::len), Some(1), "{realms}");

    // A partial import with a bad user leaves the realm as it was.
    app.create_realm("target").await;
    let body = json!({
        "ifResourceExists": "FAIL",
        "users": [
            { "username": "fine", "credentials": [{ "type": "password", "value": "pw-1" }] },
            { "username": "bad", "clientRoles": { "no-such-client": ["x"] } },
        ],
        "groups": [{ "name": "g" }],
    });
    refused(
        &app,
        &token,
        "/admin/realms/target/partialImport",
        body,
        "users[1].clientRoles.no-such-client",
    )
    .await;
    let (_, users) = admin_call(&app, &token, Method::GET, "/admin/realms/target/users", None).await;
    assert_eq!(users, json!([]));
    let (_, groups) = admin_call(&app, &token, Method::GET, "/admin/realms/target/groups", None).await;
    assert_eq!(groups, json!([]));
}

// ---------- partial export and import ----------

#[tokio::test]
async fn partial_export_masks_secrets_and_partial_import_counts_what_it_did() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    app.create_realm("part").await;
    let (_, secret) = app.create_service_client("part", "svc").await;

    let (status, exported) = admin_call(
        &app,
        &token,
        Method::POST,
        "/admin/realms/part/partial-export?exportClients=true&exportGroupsAndRoles=true",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let svc = exported["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .find(|c| c["clientId"] == "svc")
        .expect("svc");
    assert_eq!(svc["secret"], "**********");
    assert!(exported.get("users").is_none());
    assert!(exported["roles"]["realm"].is_array());
    assert!(!exported.to_string().contains(&secret));

    let body = |policy: &str| {
        json!({
            "ifResourceExists": policy,
            "users": [{ "username": "bob", "firstName": "Robert" }],
            "clients": [svc.clone()],
            "roles": { "realm": [{ "name": "auditor" }] },
            "groups": [{ "name": "team", "realmRoles": ["auditor"] }],
        })
    };
    // FAIL: the client exists, so nothing is imported.
    let (status, answer) = admin_call(
        &app,
        &token,
        Method::POST,
        "/admin/realms/part/partialImport",
        Some(body("FAIL")),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["errorMessage"]
            .as_str()
            .expect("message")
            .starts_with("clients[0]: "),
        "{answer}"
    );
    let (_, users) = admin_call(&app, &token, Method::GET, "/admin/realms/part/users?username=bob", None).await;
    assert_eq!(users, json!([]));

    // SKIP: what exists is left alone.
    let (status, answer) = admin_call(
        &app,
        &token,
        Method::POST,
        "/admin/realms/part/partialImport",
        Some(body("SKIP")),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (
            answer["added"].as_i64(),
            answer["skipped"].as_i64(),
            answer["overwritten"].as_i64()
        ),
        (Some(3), Some(1), Some(0)),
        "{answer}"
    );
    let results = answer["results"].as_array().expect("results");
    assert!(results
        .iter()
        .any(|r| r["action"] == "SKIPPED" && r["resourceType"] == "CLIENT" && r["resourceName"] == "svc"));
    for kind in ["USER", "REALM_ROLE", "GROUP"] {
        assert!(
            results
                .iter()
                .any(|r| r["action"] == "ADDED" && r["resourceType"] == kind && r["id"].is_string()),
            "{kind}"
        );
    }

    // OVERWRITE: everything named is replaced; the masked secret keeps the client's secret.
    let (status, answer) = admin_call(
        &app,
        &token,
        Method::POST,
        "/admin/realms/part/partialImport",
        Some(body("OVERWRITE")),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (
            answer["added"].as_i64(),
            answer["skipped"].as_i64(),
            answer["overwritten"].as_i64()
        ),
        (Some(0), Some(0), Some(4)),
        "{answer}"
    );
    assert_eq!(app.client_credentials("part", "svc", &secret).await.status(), 200);
    let (_, users) = admin_call(&app, &token, Method::GET, "/admin/realms/part/users?username=bob", None).await;
    assert_eq!(users[0]["firstName"], "Robert");

    // Partial import needs manage-realm.
    let viewer = crate::isolation::create_user(&app, "part", "viewer", PASSWORD, true).await;
    let _ = viewer;
    let viewer_token = app.password_token("part", "admin-cli", "viewer", PASSWORD).await;
    let (status, _) = admin_call(
        &app,
        &viewer_token,
        Method::POST,
        "/admin/realms/part/partialImport",
        Some(body("SKIP")),
    )
    .await;
    assert_eq!(status, 403);
}

// ---------- dual control ----------

#[tokio::test]
async fn an_import_into_a_realm_with_dual_control_leaves_service_accounts_awaiting_approval() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let secret = "imported-secret-0123456789abcdefghijklmnop";
    let doc = json!({
        "realm": "dual",
        "dualControl": true,
        "clients": [{ "clientId": "robot", "secret": secret, "serviceAccountsEnabled": true }],
    });
    let resp = app.admin_as(&token, Method::POST, "/admin/realms", Some(doc)).await;
    assert_eq!(resp.status(), 201);
    let resp = app.client_credentials("dual", "robot", secret).await;
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "unauthorized_client", "{body}");
    let (_, pending) = admin_call(&app, &token, Method::GET, "/admin/realms/dual/pending-approvals", None).await;
    let pending = pending.as_array().expect("list");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["kind"], "service-account");
    assert_eq!(pending[0]["client"]["clientId"], "robot");
    assert_eq!(pending[0]["requestedBy"]["username"], "admin");

    // The same through partialImport.
    let body = json!({ "clients": [{ "clientId": "robot2", "secret": secret, "serviceAccountsEnabled": true }] });
    let (status, _) = admin_call(
        &app,
        &token,
        Method::POST,
        "/admin/realms/dual/partialImport",
        Some(body),
    )
    .await;
    assert_eq!(status, 200);
    let resp = app.client_credentials("dual", "robot2", secret).await;
    assert_eq!(resp.status(), 400);
}

// ---------- the commands ----------

fn nexus(storage: &Storage) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nexus"));
    for (name, _) in std::env::vars() {
        if name.starts_with("NEXUS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("NEXUS_DATA_DIR", storage.data_dir.path())
        .env("NEXUS_BOOTSTRAP_ADMIN_USERNAME", crate::helpers::ADMIN_USER)
        .env("NEXUS_BOOTSTRAP_ADMIN_PASSWORD", crate::helpers::ADMIN_PASSWORD)
        .env("NEXUS_KEY_POOL_SIZE", "0");
    if let Some(url) = &storage.database_url {
        cmd.env("NEXUS_DATABASE_URL", url);
    }
    cmd
}

fn run(mut cmd: Command) -> (bool, String, String) {
    let out = cmd.output().expect("nexus runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_export_and_import_commands_move_a_realm_between_databases() {
    let source = spawn_app().await;
    build_realm(&source, "moved").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("moved.json");
    let mut cmd = nexus(&source.storage);
    cmd.args(["export", "--realm", "moved", "--file"]).arg(&file);
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || run(cmd)).await.expect("join");
    assert!(ok, "{stderr}");
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("file")).expect("json");

    // Into a new database (the target node is not running: the command opens the database itself),
    // with a Keycloak structure nexus ignores and says so.
    let target = Storage::fresh();
    let mut with_flows = exported.clone();
    with_flows["authenticationFlows"] = json!([{ "alias": "browser" }]);
    with_flows["clients"][0]["protocolMappers"] = json!([]);
    let import_file = dir.path().join("import.json");
    std::fs::write(&import_file, with_flows.to_string()).expect("write");
    let mut cmd = nexus(&target);
    cmd.args(["import", "--file"]).arg(&import_file);
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || run(cmd)).await.expect("join");
    assert!(ok, "{stderr}");
    assert!(stdout.contains("realm moved imported"), "{stdout}");
    assert!(stderr.contains("warning: authenticationFlows ignored"), "{stderr}");
    assert!(
        stderr.contains("warning: clients[].protocolMappers ignored"),
        "{stderr}"
    );

    // Importing it again fails with a message and a non-zero exit, and so does a bad file.
    let mut cmd = nexus(&target);
    cmd.args(["import", "--file"]).arg(&import_file);
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || run(cmd)).await.expect("join");
    assert!(!ok);
    assert!(stderr.contains("realm `moved` already exists"), "{stderr}");
    let mut bad = exported.clone();
    bad["realm"] = json!("other");
    bad["id"] = json!("other-id");
    bad["users"][0]["groups"] = json!(["/missing"]);
    let bad_file = dir.path().join("bad.json");
    std::fs::write(&bad_file, bad.to_string()).expect("write");
    // (into another database: ids are kept, so the same ids under another realm name collide)
    let elsewhere = Storage::fresh();
    let mut cmd = nexus(&elsewhere);
    cmd.args(["import", "--file"]).arg(&bad_file);
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || run(cmd)).await.expect("join");
    assert!(!ok);
    assert!(
        stderr.contains("users[0].groups[0]: Group /missing not found"),
        "{stderr}"
    );
    let mut cmd = nexus(&elsewhere);
    cmd.args(["export", "--realm", "other"]);
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || run(cmd)).await.expect("join");
    assert!(!ok, "nothing of the bad file was stored");
    assert!(stderr.contains("realm `other` does not exist"), "{stderr}");

    // The command line does not skip dual control (ADR 016, 019): the service account waits.
    let dual_file = dir.path().join("dual.json");
    let robot_secret = "robot-secret-0123456789abcdefghijklmnop";
    let dual = json!({ "realm": "dual-cli", "dualControl": true,
        "clients": [{ "clientId": "robot", "secret": robot_secret, "serviceAccountsEnabled": true }] });
    std::fs::write(&dual_file, dual.to_string()).expect("write");
    let mut cmd = nexus(&target);
    cmd.args(["import", "--file"]).arg(&dual_file);
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || run(cmd)).await.expect("join");
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("service account of client robot awaits approval"),
        "{stderr}"
    );

    // The imported realm serves, and exports as it was exported.
    let app = spawn_on(target, SettableClock::default(), |_| {}).await;
    let body: Value = app
        .client_credentials("dual-cli", "robot", robot_secret)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["error"], "unauthorized_client", "{body}");
    let token = app.admin_token().await;
    let (_, pending) = admin_call(
        &app,
        &token,
        Method::GET,
        "/admin/realms/dual-cli/pending-approvals",
        None,
    )
    .await;
    assert_eq!(
        pending[0]["requestedBy"]["username"], "nexus import (command line)",
        "{pending}"
    );
    let request = pending[0]["id"].as_str().expect("request id");
    let (status, _) = admin_call(
        &app,
        &token,
        Method::POST,
        &format!("/admin/realms/dual-cli/pending-approvals/{request}/approve"),
        None,
    )
    .await;
    assert_eq!(status, 204, "an administrator approves what the command line imported");
    assert_eq!(
        app.client_credentials("dual-cli", "robot", robot_secret).await.status(),
        200
    );
    assert_eq!(
        app.client_credentials("moved", "svc", "svc-secret-0123456789abcdefghijklmnop")
            .await
            .status(),
        200
    );
    let (status, body) = app.password_grant("moved", "web", "alice", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(export(&app, "moved").await, exported);
}
