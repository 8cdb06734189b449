//! The userinfo endpoint (OIDC Core §5.3, RFC 6750): claims of the token's scopes read fresh from
//! the user, and 401 with a Bearer challenge for every token that is not active.
//!
//! Also home of the fixtures the other OIDC endpoint tests share (`oidc_realm`, `password_grant`,
//! `backchannel_logout`, …).

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{location_id, spawn_app, TestApp};
use crate::isolation::set_user_enabled;
use crate::token_endpoint::{create_client, split, token_form};

pub const REALM: &str = "oidc";
pub const SPA: &str = "spa";
pub const API: &str = "api";
pub const API_SECRET: &str = "api-secret-0123456789abcdefghijklmnop";
pub const ALICE: &str = "alice";
pub const ALICE_PASSWORD: &str = "alice-password-1";
pub const APP_ORIGIN: &str = "https://app.example";

/// What `oidc_realm` created.
pub struct OidcRealm {
    pub spa_id: String,
    pub api_id: String,
    pub alice_id: String,
}

/// A realm with a public SPA client (`spa`: direct grants, web origin `https://app.example`,
/// post-logout URIs), a confidential client (`api`, same, with a secret) and a user `alice` with a
/// name and an email.
pub async fn oidc_realm(app: &TestApp) -> OidcRealm {
    app.create_realm(REALM).await;
    let spa_id = create_client(
        app,
        REALM,
        json!({
            "clientId": SPA,
            "publicClient": true,
            "directAccessGrantsEnabled": true,
            "redirectUris": ["https://app.example/callback", "http://localhost:3000/*"],
            "webOrigins": [APP_ORIGIN],
            "attributes": {
                "post.logout.redirect.uris": "https://app.example/bye##https://app.example/wild/*"
            }
        }),
    )
    .await;
    let api_id = create_client(
        app,
        REALM,
        json!({
            "clientId": API,
            "publicClient": false,
            "secret": API_SECRET,
            "directAccessGrantsEnabled": true,
            "serviceAccountsEnabled": true,
            "redirectUris": ["https://api.example/callback"],
            "webOrigins": ["+"],
            "attributes": { "post.logout.redirect.uris": "+" }
        }),
    )
    .await;
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{REALM}/users"),
            Some(json!({
                "username": ALICE,
                "enabled": true,
                "firstName": "Alice",
                "lastName": "Liddell",
                "email": "alice@example.com",
                "emailVerified": true,
                "credentials": [{ "type": "password", "value": ALICE_PASSWORD, "temporary": false }],
            })),
        )
        .await;
    assert_eq!(resp.status(), 201, "create alice");
    OidcRealm {
        spa_id,
        api_id,
        alice_id: location_id(&resp),
    }
}

/// A password grant of alice as `client_id` (with the api's secret for `api`); the whole body.
pub async fn password_grant(app: &TestApp, client_id: &str, scope: Option<&str>) -> Value {
    let mut form = vec![
        ("grant_type", "password"),
        ("client_id", client_id),
        ("username", ALICE),
        ("password", ALICE_PASSWORD),
    ];
    if client_id == API {
        form.push(("client_secret", API_SECRET));
    }
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let (status, _, body) = token_form(app, REALM, &form).await;
    assert_eq!(status, 200, "password grant: {body}");
    body
}

pub fn field<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name].as_str().unwrap_or_else(|| panic!("{name} in {body}"))
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn oidc_url(app: &TestApp, realm: &str, endpoint: &str) -> String {
    app.url(&format!("/realms/{realm}/protocol/openid-connect/{endpoint}"))
}

pub async fn userinfo(app: &TestApp, realm: &str, token: &str) -> (u16, HeaderMap, Value) {
    let resp = app
        .http
        .get(oidc_url(app, realm, "userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .expect("userinfo");
    split(resp).await
}

/// Keycloak's back-channel logout with a refresh token of `client_id` (public: no secret).
pub async fn backchannel_logout(app: &TestApp, client_id: &str, refresh_token: &str) -> reqwest::Response {
    let mut form = vec![("client_id", client_id), ("refresh_token", refresh_token)];
    if client_id == API {
        form.push(("client_secret", API_SECRET));
    }
    app.http
        .post(oidc_url(app, REALM, "logout"))
        .form(&form)
        .send()
        .await
        .expect("logout")
}

pub async fn introspect(app: &TestApp, realm: &str, token: &str) -> Value {
    let resp = app
        .http
        .post(oidc_url(app, realm, "token/introspect"))
        .basic_auth(API, Some(API_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspect");
    let (status, _, body) = split(resp).await;
    assert_eq!(status, 200, "introspection: {body}");
    body
}

/// Asserts a 401 with RFC 6750's challenge naming the realm and `invalid_token`.
fn assert_invalid_token(status: u16, headers: &HeaderMap, body: &Value, realm: &str) {
    assert_eq!(status, 401, "{body}");
    let challenge = header(headers, "www-authenticate").expect("WWW-Authenticate");
    assert!(
        challenge.starts_with(&format!(
            r#"Bearer realm="{realm}", error="invalid_token", error_description=""#
        )),
        "{challenge}"
    );
    assert_eq!(body["error"], "invalid_token", "{body}");
    assert_eq!(header(headers, "cache-control"), Some("no-store"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_returns_the_claims_of_the_granted_scopes_read_fresh() {
    let app = spawn_app().await;
    let fixture = oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, Some("openid")).await;
    let access = field(&tokens, "access_token");

    let (status, headers, body) = userinfo(&app, REALM, access).await;
    assert_eq!(status, 200, "{body}");
    assert!(header(&headers, "content-type").is_some_and(|v| v.starts_with("application/json")));
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    assert_eq!(
        body,
        json!({
            "sub": fixture.alice_id,
            "name": "Alice Liddell",
            "given_name": "Alice",
            "family_name": "Liddell",
            "preferred_username": "alice",
            "email": "alice@example.com",
            "email_verified": true,
        })
    );

    // The user as the database has it now, not as the token says.
    let resp = app
        .admin(
            Method::PUT,
            &format!("/admin/realms/{REALM}/users/{}", fixture.alice_id),
            Some(json!({ "firstName": "Alicia", "email": "alicia@example.com" })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let (status, _, body) = userinfo(&app, REALM, access).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["given_name"], "Alicia");
    assert_eq!(body["name"], "Alicia Liddell");
    assert_eq!(body["email"], "alicia@example.com");

    // POST with the header, and POST with the token in the form (RFC 6750 §2.2).
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo");
    let (status, _, by_header) = split(resp).await;
    assert_eq!(status, 200, "{by_header}");
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "userinfo"))
        .form(&[("access_token", access)])
        .send()
        .await
        .expect("userinfo");
    let (status, _, by_form) = split(resp).await;
    assert_eq!(status, 200, "{by_form}");
    assert_eq!(by_header, by_form);
    assert_eq!(by_form["sub"], fixture.alice_id);

    // Both at once is refused (RFC 6750 §2: one method per request).
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "userinfo"))
        .bearer_auth(access)
        .form(&[("access_token", access)])
        .send()
        .await
        .expect("userinfo");
    let (status, _, body) = split(resp).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_releases_only_the_claims_of_scopes_the_client_still_has() {
    let app = spawn_app().await;
    let fixture = oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, None).await;
    let access = field(&tokens, "access_token");
    // Unlink the default `email` scope from the client: its claims are no longer released.
    let resp = app
        .admin(Method::GET, &format!("/admin/realms/{REALM}/client-scopes"), None)
        .await;
    let scopes: Value = resp.json().await.expect("scopes");
    let email_scope = scopes
        .as_array()
        .expect("scopes")
        .iter()
        .find(|s| s["name"] == "email")
        .expect("email scope")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let resp = app
        .admin(
            Method::DELETE,
            &format!(
                "/admin/realms/{REALM}/clients/{}/default-client-scopes/{email_scope}",
                fixture.spa_id
            ),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    let (status, _, body) = userinfo(&app, REALM, access).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["preferred_username"], "alice");
    assert!(body.get("email").is_none(), "{body}");
    assert!(body.get("email_verified").is_none(), "{body}");
    assert_eq!(body["given_name"], "Alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_refuses_missing_garbage_expired_revoked_and_foreign_tokens() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, None).await;
    let access = field(&tokens, "access_token").to_owned();

    // No token: 401 with a challenge and no error code (RFC 6750 §3.1).
    let resp = app
        .http
        .get(oidc_url(&app, REALM, "userinfo"))
        .send()
        .await
        .expect("userinfo");
    let (status, headers, _) = split(resp).await;
    assert_eq!(status, 401);
    assert_eq!(header(&headers, "www-authenticate"), Some(r#"Bearer realm="oidc""#));
    // Another scheme is no bearer token either.
    let resp = app
        .http
        .get(oidc_url(&app, REALM, "userinfo"))
        .basic_auth(API, Some(API_SECRET))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(resp.status(), 401);

    for garbage in ["garbage", "a.b.c", &format!("{access}x"), &"x".repeat(20_000)] {
        let (status, headers, body) = userinfo(&app, REALM, garbage).await;
        assert_invalid_token(status, &headers, &body, REALM);
    }

    // A token of realm `other` is not valid in realm `oidc`, and the other way round.
    app.create_realm("other").await;
    let (_, secret) = app.create_service_client("other", "svc").await;
    let (_, _, other) = split(app.client_credentials("other", "svc", &secret).await).await;
    let other_token = field(&other, "access_token");
    let (status, _, body) = userinfo(&app, "other", other_token).await;
    assert_eq!(status, 200, "valid in its own realm: {body}");
    let (status, headers, body) = userinfo(&app, REALM, other_token).await;
    assert_invalid_token(status, &headers, &body, REALM);
    let (status, headers, body) = userinfo(&app, "other", &access).await;
    assert_invalid_token(status, &headers, &body, "other");

    // Revoked (RFC 7009).
    let fresh = password_grant(&app, SPA, None).await;
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "revoke"))
        .form(&[("client_id", SPA), ("token", field(&fresh, "access_token"))])
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 200);
    let (status, headers, body) = userinfo(&app, REALM, field(&fresh, "access_token")).await;
    assert_invalid_token(status, &headers, &body, REALM);

    // Still fine until it expires; then refused.
    let (status, _, body) = userinfo(&app, REALM, &access).await;
    assert_eq!(status, 200, "{body}");
    app.clock.advance(3601);
    let (status, headers, body) = userinfo(&app, REALM, &access).await;
    assert_invalid_token(status, &headers, &body, REALM);

    // Unknown realm.
    let (status, _, _) = userinfo(&app, "nowhere", &access).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_refuses_tokens_of_ended_sessions_and_of_disabled_or_deleted_users() {
    let app = spawn_app().await;
    let fixture = oidc_realm(&app).await;

    // The session ends (back-channel logout with the refresh token): its access tokens die with it.
    let tokens = password_grant(&app, SPA, None).await;
    let other_session = password_grant(&app, SPA, None).await;
    let resp = backchannel_logout(&app, SPA, field(&tokens, "refresh_token")).await;
    assert_eq!(resp.status(), 204);
    let (status, headers, body) = userinfo(&app, REALM, field(&tokens, "access_token")).await;
    assert_invalid_token(status, &headers, &body, REALM);
    let (status, _, body) = userinfo(&app, REALM, field(&other_session, "access_token")).await;
    assert_eq!(status, 200, "another session is untouched: {body}");

    // Disabled user: refused; enabled again: accepted.
    let access = field(&other_session, "access_token");
    set_user_enabled(&app, REALM, &fixture.alice_id, false).await;
    let (status, headers, body) = userinfo(&app, REALM, access).await;
    assert_invalid_token(status, &headers, &body, REALM);
    set_user_enabled(&app, REALM, &fixture.alice_id, true).await;
    let (status, _, body) = userinfo(&app, REALM, access).await;
    assert_eq!(status, 200, "{body}");

    // Deleted user.
    let resp = app
        .admin(
            Method::DELETE,
            &format!("/admin/realms/{REALM}/users/{}", fixture.alice_id),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    let (status, headers, body) = userinfo(&app, REALM, access).await;
    assert_invalid_token(status, &headers, &body, REALM);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_answers_for_service_accounts_and_refuses_tokens_of_disabled_clients() {
    let app = spawn_app().await;
    let fixture = oidc_realm(&app).await;
    let (_, _, body) = split(app.client_credentials(REALM, API, API_SECRET).await).await;
    let access = field(&body, "access_token");
    let (status, _, info) = userinfo(&app, REALM, access).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["preferred_username"], "service-account-api");
    assert!(info["sub"].is_string());

    let user_token = password_grant(&app, API, None).await;
    let resp = app
        .admin(
            Method::PUT,
            &format!("/admin/realms/{REALM}/clients/{}", fixture.api_id),
            Some(json!({ "clientId": API, "enabled": false })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    for token in [access, field(&user_token, "access_token")] {
        let (status, headers, body) = userinfo(&app, REALM, token).await;
        assert_invalid_token(status, &headers, &body, REALM);
    }
}
