//! The token endpoint as Keycloak clients see it: client authentication, grants, Keycloak's response
//! and claims, RFC 6749 errors, scopes, lifespans and refresh-token rotation.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{location_id, spawn_app, TestApp, ADMIN_PASSWORD, ADMIN_USER};

/// Posts a raw form to the realm's token endpoint; returns status, headers and the JSON body.
pub async fn token_form(app: &TestApp, realm: &str, form: &[(&str, &str)]) -> (u16, HeaderMap, Value) {
    let resp = app
        .http
        .post(app.token_url(realm))
        .form(form)
        .send()
        .await
        .expect("token request");
    split(resp).await
}

pub async fn split(resp: reqwest::Response) -> (u16, HeaderMap, Value) {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body expected, got {status}: {text}"));
    (status, headers, body)
}

/// Creates a client from a Keycloak representation; returns its internal id.
pub async fn create_client(app: &TestApp, realm: &str, repr: Value) -> String {
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/clients"),
            Some(repr.clone()),
        )
        .await;
    assert_eq!(resp.status(), 201, "create client {repr}");
    location_id(&resp)
}

fn assert_oauth_error(status: u16, headers: &HeaderMap, body: &Value, want_status: u16, want_error: &str) {
    assert_eq!(status, want_status, "status for {body}");
    assert_eq!(body["error"], want_error, "error code in {body}");
    assert!(body["error_description"].is_string(), "error_description in {body}");
    assert_eq!(
        header(headers, "cache-control"),
        Some("no-store"),
        "no-store on errors too"
    );
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn keys_of(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_with_basic_and_post_give_keycloaks_response_and_claims() {
    let app = spawn_app().await;
    app.create_realm("tokens").await;
    let (_, secret) = app.create_service_client("tokens", "reporting").await;

    // client_secret_basic
    let (status, headers, body) = split(app.client_credentials("tokens", "reporting", &secret).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    assert!(header(&headers, "content-type").is_some_and(|v| v.starts_with("application/json")));
    assert_eq!(
        keys_of(&body),
        [
            "access_token",
            "expires_in",
            "not-before-policy",
            "refresh_expires_in",
            "scope",
            "token_type"
        ],
        "exactly Keycloak's client_credentials fields, no refresh_token: {body}"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["refresh_expires_in"], 0);
    assert_eq!(body["not-before-policy"], 0);
    assert_eq!(body["scope"], "email profile");

    let token = body["access_token"].as_str().expect("token");
    let claims = app.verify("tokens", token).await.expect("verifies against the JWKS");
    for claim in [
        "exp",
        "iat",
        "jti",
        "iss",
        "aud",
        "sub",
        "typ",
        "azp",
        "scope",
        "realm_access",
        "resource_access",
        "preferred_username",
        "client_id",
    ] {
        assert!(claims.get(claim).is_some(), "claim {claim} missing from {claims}");
    }
    assert_eq!(claims["iss"], app.issuer("tokens"));
    assert_eq!(claims["typ"], "Bearer");
    assert_eq!(claims["azp"], "reporting");
    assert_eq!(claims["client_id"], "reporting");
    assert_eq!(claims["preferred_username"], "service-account-reporting");
    assert_eq!(claims["scope"], "email profile");
    assert_eq!(
        claims["aud"], "account",
        "Keycloak's service account has the account client's roles"
    );
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        3600
    );
    let realm_roles = claims["realm_access"]["roles"].as_array().expect("realm roles");
    for role in ["default-roles-tokens", "offline_access", "uma_authorization"] {
        assert!(realm_roles.iter().any(|r| r == role), "{role} in {realm_roles:?}");
    }
    assert!(claims["resource_access"]["account"]["roles"]
        .as_array()
        .expect("account roles")
        .iter()
        .any(|r| r == "manage-account"));
    let jose = jsonwebtoken::decode_header(token).expect("header");
    assert_eq!(jose.alg, jsonwebtoken::Algorithm::RS256);
    assert!(jose.kid.is_some());

    // client_secret_post
    let (status, headers, body) = token_form(
        &app,
        "tokens",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "reporting"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    let claims = app
        .verify("tokens", body["access_token"].as_str().expect("token"))
        .await
        .expect("verifies");
    assert_eq!(claims["azp"], "reporting");
    // Each token is distinct.
    assert_ne!(
        claims["jti"],
        app.verify("tokens", token).await.expect("verifies")["jti"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_and_foreign_parameters_are_ignored_but_duplicates_refused() {
    let app = spawn_app().await;
    app.create_realm("params").await;
    let (_, secret) = app.create_service_client("params", "svc").await;

    // What Keycloak's own Java and Node adapters send with every client_credentials request.
    let (status, _, body) = token_form(
        &app,
        "params",
        &[
            ("username", ""),
            ("password", ""),
            ("code", ""),
            ("redirect_uri", ""),
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // An empty scope is no scope.
    let (status, _, body) = token_form(
        &app,
        "params",
        &[
            ("grant_type", "client_credentials"),
            ("scope", ""),
            ("client_id", "svc"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "email profile");

    // Parameters of other grants carry no meaning here.
    let (status, _, body) = token_form(
        &app,
        "params",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", &secret),
            ("username", "admin"),
            ("password", "wrong"),
            ("code", "not-a-code"),
            ("refresh_token", "not-a-token"),
            ("redirect_uri", "https://elsewhere.example/cb"),
            ("code_verifier", "x"),
            ("nonsense", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A parameter given twice is refused, even when both values agree.
    for form in [
        vec![
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", secret.as_str()),
        ],
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_id", "other"),
            ("client_secret", secret.as_str()),
        ],
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", secret.as_str()),
            ("scope", "email"),
            ("scope", "profile"),
        ],
    ] {
        let (status, headers, body) = token_form(&app, "params", &form).await;
        assert_oauth_error(status, &headers, &body, 400, "invalid_request");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_client_authentication_is_401_invalid_client_with_a_challenge() {
    let app = spawn_app().await;
    app.create_realm("authn").await;
    let (_, secret) = app.create_service_client("authn", "svc").await;

    // Wrong secret, Basic.
    let (status, headers, body) = split(
        app.client_credentials("authn", "svc", "wrong-secret-wrong-secret-wrong-secret")
            .await,
    )
    .await;
    assert_oauth_error(status, &headers, &body, 401, "invalid_client");
    assert!(
        header(&headers, "www-authenticate").is_some_and(|v| v.starts_with("Basic")),
        "{headers:?}"
    );

    // Wrong secret, post.
    let (status, headers, body) = token_form(
        &app,
        "authn",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_oauth_error(status, &headers, &body, 401, "invalid_client");
    assert!(header(&headers, "www-authenticate").is_some(), "{headers:?}");

    // A confidential client without any secret.
    let (status, headers, body) = token_form(
        &app,
        "authn",
        &[("grant_type", "client_credentials"), ("client_id", "svc")],
    )
    .await;
    assert_oauth_error(status, &headers, &body, 401, "invalid_client");

    // Unknown client, both ways.
    let (status, headers, body) = split(app.client_credentials("authn", "nobody", &secret).await).await;
    assert_oauth_error(status, &headers, &body, 401, "invalid_client");
    let (status, headers, body) = token_form(
        &app,
        "authn",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_oauth_error(status, &headers, &body, 401, "invalid_client");

    // Two authentication methods at once.
    let resp = app
        .http
        .post(app.token_url("authn"))
        .basic_auth("svc", Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("client_secret", secret.as_str())])
        .send()
        .await
        .expect("request");
    let (status, _, body) = split(resp).await;
    assert!(status == 400 || status == 401, "{status} {body}");

    // Secrets are compared whole: a prefix or a longer string fails.
    let (status, _, _) = split(
        app.client_credentials("authn", "svc", &secret[..secret.len() - 1])
            .await,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, _) = split(app.client_credentials("authn", "svc", &format!("{secret}x")).await).await;
    assert_eq!(status, 401);

    // Still works with the right one.
    let (status, _, body) = split(app.client_credentials("authn", "svc", &secret).await).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_may_not_use_client_credentials_get_unauthorized_client() {
    let app = spawn_app().await;
    app.create_realm("cc").await;
    create_client(&app, "cc", json!({ "clientId": "spa", "publicClient": true })).await;
    create_client(
        &app,
        "cc",
        json!({ "clientId": "web", "publicClient": false, "secret": "web-secret-0123456789abcdefghijklmnopq" }),
    )
    .await;

    // A public client has no service account.
    let (status, headers, body) = token_form(
        &app,
        "cc",
        &[("grant_type", "client_credentials"), ("client_id", "spa")],
    )
    .await;
    assert_oauth_error(status, &headers, &body, 400, "unauthorized_client");
    // admin-cli is public as well.
    let (status, headers, body) = token_form(
        &app,
        "cc",
        &[("grant_type", "client_credentials"), ("client_id", "admin-cli")],
    )
    .await;
    assert_oauth_error(status, &headers, &body, 400, "unauthorized_client");

    // A confidential client without serviceAccountsEnabled.
    let (status, headers, body) = split(
        app.client_credentials("cc", "web", "web-secret-0123456789abcdefghijklmnopq")
            .await,
    )
    .await;
    assert_oauth_error(status, &headers, &body, 400, "unauthorized_client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_grant_of_admin_cli_in_master() {
    let app = spawn_app().await;
    let (status, headers, body) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", ADMIN_USER),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    for field in [
        "access_token",
        "expires_in",
        "refresh_expires_in",
        "refresh_token",
        "token_type",
        "not-before-policy",
        "scope",
    ] {
        assert!(body.get(field).is_some(), "{field} missing from {body}");
    }
    assert_eq!(body["token_type"], "Bearer");
    let refresh_expires_in = body["refresh_expires_in"].as_i64().expect("refresh_expires_in");
    assert!(refresh_expires_in > 0);
    let claims = app
        .verify("master", body["access_token"].as_str().expect("token"))
        .await
        .expect("verifies");
    assert_eq!(claims["preferred_username"], ADMIN_USER);
    assert_eq!(claims["azp"], "admin-cli");
    assert!(
        claims.get("client_id").is_none(),
        "client_id is for service accounts only: {claims}"
    );
    assert!(claims["realm_access"]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .any(|r| r == "admin"));
    // The refresh token is a JWT of the same issuer whose lifetime matches refresh_expires_in. It is
    // signed for nexus alone (HS512, as Keycloak), so only its claims are read here.
    let refresh = body["refresh_token"].as_str().expect("refresh_token");
    assert!(
        app.verify("master", refresh).await.is_err(),
        "not verifiable with the JWKS"
    );
    let refresh_claims: Value = {
        use base64::Engine;
        let payload = refresh.split('.').nth(1).expect("payload");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64");
        serde_json::from_slice(&bytes).expect("json")
    };
    assert_eq!(refresh_claims["iss"], app.issuer("master").as_str());
    assert_eq!(refresh_claims["typ"], "Refresh");
    assert_eq!(
        refresh_claims["exp"].as_i64().expect("exp") - refresh_claims["iat"].as_i64().expect("iat"),
        refresh_expires_in
    );

    // The username is case-insensitive, as in Keycloak.
    let (status, _, body) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", &ADMIN_USER.to_uppercase()),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_user_credentials_are_401_invalid_grant() {
    let app = spawn_app().await;
    for (username, password) in [
        (ADMIN_USER, "not-the-password"),
        ("nobody", ADMIN_PASSWORD),
        (ADMIN_USER, &ADMIN_PASSWORD[1..]),
    ] {
        let (status, headers, body) = token_form(
            &app,
            "master",
            &[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", username),
                ("password", password),
            ],
        )
        .await;
        assert_oauth_error(status, &headers, &body, 401, "invalid_grant");
        assert_eq!(body["error_description"], "Invalid user credentials");
    }
    // Missing username or password is a malformed request, not a failed login.
    let (status, headers, body) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", ADMIN_USER),
        ],
    )
    .await;
    assert_oauth_error(status, &headers, &body, 400, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_grant_needs_direct_access_grants_enabled() {
    let app = spawn_app().await;
    let secret = "no-direct-secret-0123456789abcdefghijkl";
    create_client(
        &app,
        "master",
        json!({ "clientId": "no-direct", "publicClient": false, "secret": secret, "directAccessGrantsEnabled": false }),
    )
    .await;
    let (status, headers, body) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "password"),
            ("client_id", "no-direct"),
            ("client_secret", secret),
            ("username", ADMIN_USER),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_oauth_error(status, &headers, &body, 400, "unauthorized_client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_gets_400() {
    let app = spawn_app().await;
    app.create_realm("people").await;
    let user_id = crate::isolation::create_user(&app, "people", "dora", "dora-password-123", true).await;
    let (status, _, body) = token_form(
        &app,
        "people",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "dora"),
            ("password", "dora-password-123"),
        ],
    )
    .await;
    assert_eq!(status, 200, "enabled user logs in: {body}");

    crate::isolation::set_user_enabled(&app, "people", &user_id, false).await;
    let (status, headers, body) = token_form(
        &app,
        "people",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "dora"),
            ("password", "dora-password-123"),
        ],
    )
    .await;
    assert_oauth_error(status, &headers, &body, 400, "invalid_grant");
    // A wrong password for a disabled user is still just wrong credentials (no enumeration).
    let (status, _, body) = token_form(
        &app,
        "people",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "dora"),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_are_negotiated_against_the_client() {
    let app = spawn_app().await;
    app.create_realm("scopes").await;
    let (_, secret) = app.create_service_client("scopes", "svc").await;
    async fn send(app: &TestApp, secret: &str, scope: &str) -> (u16, HeaderMap, Value) {
        token_form(
            app,
            "scopes",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "svc"),
                ("client_secret", secret),
                ("scope", scope),
            ],
        )
        .await
    }

    // An optional scope of the client is granted when asked for.
    let (status, _, body) = send(&app, &secret, "offline_access").await;
    assert_eq!(status, 200, "{body}");
    let scope: Vec<&str> = body["scope"].as_str().expect("scope").split(' ').collect();
    assert!(scope.contains(&"offline_access"), "{scope:?}");
    let claims = app
        .verify("scopes", body["access_token"].as_str().expect("token"))
        .await
        .expect("verifies");
    assert!(claims["scope"]
        .as_str()
        .expect("scope")
        .split(' ')
        .any(|s| s == "offline_access"));

    // `openid` is always allowed; default scopes asked for again are fine.
    let (status, _, body) = send(&app, &secret, "openid email").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["scope"].as_str().expect("scope").split(' ').any(|s| s == "openid"));

    // A scope the client does not have, or one that does not exist.
    for scope in ["admin", "email admin", "read:users"] {
        let (status, headers, body) = send(&app, &secret, scope).await;
        assert_oauth_error(status, &headers, &body, 400, "invalid_scope");
    }

    // Password grant: the same rule.
    let (status, headers, body) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", ADMIN_USER),
            ("password", ADMIN_PASSWORD),
            ("scope", "not-a-scope"),
        ],
    )
    .await;
    assert_oauth_error(status, &headers, &body, 400, "invalid_scope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_and_realm_lifespans_set_expires_in_and_exp() {
    let app = spawn_app().await;
    app.create_realm("life").await;
    let (_, default_secret) = app.create_service_client("life", "default-life").await;
    let short_secret = "short-life-secret-0123456789abcdefghijk";
    create_client(
        &app,
        "life",
        json!({
            "clientId": "short-life",
            "secret": short_secret,
            "serviceAccountsEnabled": true,
            "attributes": { "access.token.lifespan": "120" }
        }),
    )
    .await;

    async fn lifespan(app: &TestApp, client: &str, secret: &str) -> (i64, i64) {
        let (status, _, body) = split(app.client_credentials("life", client, secret).await).await;
        assert_eq!(status, 200, "{body}");
        let claims = app
            .verify("life", body["access_token"].as_str().expect("token"))
            .await
            .expect("verifies");
        let exp = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
        (body["expires_in"].as_i64().expect("expires_in"), exp)
    }

    assert_eq!(lifespan(&app, "default-life", &default_secret).await, (3600, 3600));
    assert_eq!(lifespan(&app, "short-life", short_secret).await, (120, 120));

    let resp = app
        .admin(
            Method::PUT,
            "/admin/realms/life",
            Some(json!({ "accessTokenLifespan": 600 })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        lifespan(&app, "default-life", &default_secret).await,
        (600, 600),
        "realm lifespan applies at once"
    );
    assert_eq!(
        lifespan(&app, "short-life", short_secret).await,
        (120, 120),
        "the client's own lifespan wins"
    );

    // Removing the client's attribute falls back to the realm's.
    let resp = app
        .admin(Method::GET, "/admin/realms/life/clients?clientId=short-life", None)
        .await;
    let list: Value = resp.json().await.expect("json");
    let id = list[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(list[0]["attributes"]["access.token.lifespan"], "120");
    let resp = app
        .admin(
            Method::PUT,
            &format!("/admin/realms/life/clients/{id}"),
            Some(json!({ "attributes": { "access.token.lifespan": "" } })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(lifespan(&app, "short-life", short_secret).await, (600, 600));
}

async fn refresh(app: &TestApp, realm: &str, client: &[(&str, &str)], token: &str) -> (u16, HeaderMap, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(client);
    token_form(app, realm, &form).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let cli = [("client_id", "admin-cli")];
    let (status, _, first) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", ADMIN_USER),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let rt1 = first["refresh_token"].as_str().expect("refresh token").to_owned();

    let (status, headers, second) = refresh(&app, "master", &cli, &rt1).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    let rt2 = second["refresh_token"]
        .as_str()
        .expect("rotated refresh token")
        .to_owned();
    assert_ne!(rt1, rt2);
    let claims = app
        .verify("master", second["access_token"].as_str().expect("access"))
        .await
        .expect("verifies");
    assert_eq!(claims["preferred_username"], ADMIN_USER);
    assert_eq!(second["scope"], first["scope"]);

    // The newest token of the family works once more.
    let (status, _, third) = refresh(&app, "master", &cli, &rt2).await;
    assert_eq!(status, 200, "{third}");
    let rt3 = third["refresh_token"].as_str().expect("rotated again").to_owned();

    // Presenting a rotated-out token: refused, and the whole family dies with it.
    let (status, headers, body) = refresh(&app, "master", &cli, &rt1).await;
    assert_oauth_error(status, &headers, &body, 400, "invalid_grant");
    let (status, headers, body) = refresh(&app, "master", &cli, &rt3).await;
    assert_oauth_error(status, &headers, &body, 400, "invalid_grant");

    // Another login starts a fresh, unaffected family.
    let (_, _, other) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", ADMIN_USER),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    let (status, _, body) = refresh(&app, "master", &cli, other["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(status, 200, "{body}");

    // Garbage, and a missing token.
    let (status, headers, body) = refresh(&app, "master", &cli, "not.a.token").await;
    assert_oauth_error(status, &headers, &body, 400, "invalid_grant");
    let (status, headers, body) = token_form(
        &app,
        "master",
        &[("grant_type", "refresh_token"), ("client_id", "admin-cli")],
    )
    .await;
    assert_oauth_error(status, &headers, &body, 400, "invalid_request");
    // An access token is not a refresh token.
    let (status, _, body) = refresh(&app, "master", &cli, first["access_token"].as_str().expect("access")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_only_works_for_the_client_it_was_issued_to() {
    let app = spawn_app().await;
    let secret = "other-client-secret-0123456789abcdefghij";
    create_client(
        &app,
        "master",
        json!({ "clientId": "other", "publicClient": false, "secret": secret, "directAccessGrantsEnabled": true }),
    )
    .await;
    let (status, _, body) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", ADMIN_USER),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let rt_of_cli = body["refresh_token"].as_str().expect("rt").to_owned();

    let other = [("client_id", "other"), ("client_secret", secret)];
    let (status, headers, body) = refresh(&app, "master", &other, &rt_of_cli).await;
    assert_oauth_error(status, &headers, &body, 400, "invalid_grant");

    // The failed attempt did not consume the token for its own client.
    let (status, _, body) = refresh(&app, "master", &[("client_id", "admin-cli")], &rt_of_cli).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_use_of_one_refresh_token_lets_exactly_one_through() {
    let app = spawn_app().await;
    let (status, _, login) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", ADMIN_USER),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let rt = login["refresh_token"].as_str().expect("rt").to_owned();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let http = app.http.clone();
        let url = app.token_url("master");
        let rt = rt.clone();
        tasks.push(tokio::spawn(async move {
            let resp = http
                .post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", "admin-cli"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .expect("refresh");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("json"))
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (status, body) = task.await.expect("join");
        match status {
            200 => winners.push(body["refresh_token"].as_str().expect("rt").to_owned()),
            400 => assert_eq!(body["error"], "invalid_grant"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent refresh wins");
    // The losers were replays: the family, the winner's new token included, is revoked.
    let (status, _, body) = refresh(&app, "master", &[("client_id", "admin-cli")], &winners[0]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_clients_and_service_accounts_get_no_tokens() {
    let app = spawn_app().await;
    app.create_realm("off").await;
    let (id, secret) = app.create_service_client("off", "svc").await;
    let path = format!("/admin/realms/off/clients/{id}");
    assert_eq!(split(app.client_credentials("off", "svc", &secret).await).await.0, 200);

    let resp = app.admin(Method::PUT, &path, Some(json!({ "enabled": false }))).await;
    assert_eq!(resp.status(), 204);
    let (status, headers, body) = split(app.client_credentials("off", "svc", &secret).await).await;
    assert_oauth_error(status, &headers, &body, 401, "invalid_client");

    let resp = app
        .admin(
            Method::PUT,
            &path,
            Some(json!({ "enabled": true, "serviceAccountsEnabled": false })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let (status, headers, body) = split(app.client_credentials("off", "svc", &secret).await).await;
    assert_oauth_error(status, &headers, &body, 400, "unauthorized_client");

    let resp = app
        .admin(Method::PUT, &path, Some(json!({ "serviceAccountsEnabled": true })))
        .await;
    assert_eq!(resp.status(), 204);
    let (status, _, body) = split(app.client_credentials("off", "svc", &secret).await).await;
    assert_eq!(status, 200, "{body}");
    let claims = app
        .verify("off", body["access_token"].as_str().expect("token"))
        .await
        .expect("verifies");
    assert_eq!(claims["preferred_username"], "service-account-svc");
}
