//! A relying party written with the `openidconnect` crate (discovery, PKCE S256, nonce, ID token
//! verification with `at_hash`, refresh, userinfo) against nexus, with the browser part (login
//! form, consent form) done over plain HTTP by a cookie-keeping reqwest client that reads the HTML
//! forms. Also the authorization endpoint's protocol details a browser test would be slow to cover:
//! response modes, prompt, max_age, login_hint, error pages, code replay, logout confirmation.

use std::collections::HashMap;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde_json::{json, Value};
use url::Url;

use crate::browser::{
    create_client, create_public_client, create_user_with_profile, element_text, pkce_pair, random_token, sso_realm,
    HtmlForm, PublicClient, SCOPE_DESCRIPTION, SCOPE_NAME,
};
use crate::helpers::{spawn_app, TestApp};

const PASSWORD: &str = "alice-password-1";
const REDIRECT: &str = "http://127.0.0.1:1/rp/callback";
const LOGGED_OUT: &str = "http://127.0.0.1:1/rp/logged-out";

/// Where a run of browser-like requests ended.
#[derive(Debug)]
enum Outcome {
    /// A redirect to the relying party (not followed): the `Location`.
    ToRp(Url),
    /// A `form_post` response: the auto-submitting form's action and fields.
    FormPost(String, HashMap<String, String>),
    /// An HTML page of nexus (login, consent, error, logout confirmation).
    Page { url: Url, status: u16, html: String },
}

impl Outcome {
    fn page(self, what: &str) -> (Url, String) {
        match self {
            Outcome::Page { url, status: 200, html } => (url, html),
            other => panic!("{what}: expected a 200 page, got {other:?}"),
        }
    }

    fn redirected(self, what: &str) -> (Url, HashMap<String, String>) {
        match self {
            Outcome::ToRp(url) => {
                let params = response_params(&url);
                (url, params)
            }
            other => panic!("{what}: expected a redirect to the RP, got {other:?}"),
        }
    }
}

/// The parameters of an authorization response in the query or the fragment.
fn response_params(url: &Url) -> HashMap<String, String> {
    let mut params: HashMap<String, String> = url.query_pairs().into_owned().collect();
    if let Some(fragment) = url.fragment() {
        params.extend(url::form_urlencoded::parse(fragment.as_bytes()).into_owned());
    }
    params
}

/// A cookie-keeping HTTP client that plays the browser: follows redirects itself, stopping at the
/// RP (`rp_prefix`), and submits nexus's forms.
struct HttpBrowser {
    http: reqwest::Client,
    rp_prefix: String,
}

impl HttpBrowser {
    fn new(rp_prefix: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            rp_prefix: rp_prefix.to_owned(),
        }
    }

    async fn get(&self, url: &str) -> Outcome {
        let resp = self.http.get(url).send().await.expect("GET");
        self.follow(resp).await
    }

    async fn follow(&self, mut resp: reqwest::Response) -> Outcome {
        for _ in 0..10 {
            let url = resp.url().clone();
            let status = resp.status().as_u16();
            if resp.status().is_redirection() {
                let location = resp
                    .headers()
                    .get("location")
                    .unwrap_or_else(|| panic!("{status} without Location from {url}"))
                    .to_str()
                    .expect("ascii Location");
                let next = url.join(location).expect("Location is a URL");
                if next.as_str().starts_with(&self.rp_prefix) {
                    return Outcome::ToRp(next);
                }
                resp = self.http.get(next).send().await.expect("follow redirect");
                continue;
            }
            let html = resp.text().await.expect("body");
            if let Some(form) = HtmlForm::find(&html, |a| {
                a.get("action")
                    .is_some_and(|action| action.starts_with(&self.rp_prefix))
            }) {
                assert_eq!(form.method.to_ascii_lowercase(), "post", "form_post uses POST");
                return Outcome::FormPost(form.action, form.fields.into_iter().collect());
            }
            return Outcome::Page { url, status, html };
        }
        panic!("more than 10 redirects");
    }

    /// Submits form `form_id` of `html` (found at `page`) with `extra` fields set (the button).
    async fn submit(&self, page: &Url, html: &str, form_id: &str, extra: &[(&str, &str)]) -> Outcome {
        let mut form = HtmlForm::by_id(html, form_id).unwrap_or_else(|| panic!("no form#{form_id} on {page}:\n{html}"));
        for (name, value) in extra {
            form.set(name, value);
        }
        let action = page.join(&form.action).expect("form action");
        assert_eq!(form.method.to_ascii_lowercase(), "post", "form#{form_id} posts");
        let resp = self
            .http
            .post(action)
            .form(&form.fields)
            .send()
            .await
            .expect("POST form");
        self.follow(resp).await
    }

    /// On the login page: submits the credentials.
    async fn login(&self, page: &Url, html: &str, username: &str, password: &str) -> Outcome {
        let form = HtmlForm::by_id(html, "kc-form-login").unwrap_or_else(|| panic!("no login form on {page}:\n{html}"));
        assert!(
            form.fields
                .iter()
                .any(|(n, v)| !["username", "password"].contains(&n.as_str()) && !v.is_empty()),
            "the login form carries a hidden CSRF field: {:?}",
            form.inputs
        );
        self.submit(
            page,
            html,
            "kc-form-login",
            &[("username", username), ("password", password), ("login", "Sign In")],
        )
        .await
    }
}

async fn token_post(app: &TestApp, realm: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = app
        .http
        .post(app.token_url(realm))
        .form(form)
        .send()
        .await
        .expect("token");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openidconnect_rp_discovers_logs_in_verifies_tokens_refreshes_and_reads_userinfo() {
    let app = spawn_app().await;
    let realm = "rp";
    let scope_id = sso_realm(&app, realm, "RP Realm").await;
    let secret = "rp-client-secret-0123456789abcdefghijklmnop";
    create_client(
        &app,
        realm,
        json!({
            "clientId": "rp-app", "name": "RP App", "secret": secret, "publicClient": false,
            "standardFlowEnabled": true, "consentRequired": true,
            "redirectUris": [REDIRECT], "webOrigins": [],
        }),
        Some(&scope_id),
    )
    .await;
    let user_id = create_user_with_profile(&app, realm, "alice", PASSWORD, "alice@example.com").await;

    // An HTTP client that does not follow redirects (openidconnect's advice against SSRF).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    let issuer = IssuerUrl::new(app.issuer(realm)).expect("issuer");
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap_or_else(|e| panic!("discovery: {e:?}"));
    assert!(metadata.userinfo_endpoint().is_some(), "userinfo_endpoint advertised");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("rp-app".into()),
        Some(ClientSecret::new(secret.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("redirect"));

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new(SCOPE_NAME.into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser part over plain HTTP: login page, credentials, consent, redirect back.
    let browser = HttpBrowser::new(REDIRECT);
    let (url, html) = browser.get(auth_url.as_str()).await.page("the login page");
    let outcome = browser.login(&url, &html, "alice", PASSWORD).await;
    let (url, html) = outcome.page("the consent page");
    assert!(html.contains("kc-consent-form"), "consent page expected:\n{html}");
    let scopes = element_text(&html, "kc-oauth").unwrap_or_default();
    assert!(scopes.contains(SCOPE_DESCRIPTION), "consent lists the scope: {scopes}");
    let outcome = browser
        .submit(&url, &html, "kc-consent-form", &[("accept", "Yes")])
        .await;
    let (location, params) = outcome.redirected("after consent");
    assert_eq!(params.get("state"), Some(csrf.secret()), "{location}");
    if let Some(iss) = params.get("iss") {
        assert_eq!(iss, &app.issuer(realm), "RFC 9207 iss");
    }
    let code = params.get("code").unwrap_or_else(|| panic!("no code in {location}"));

    // The code, with the PKCE verifier, for tokens (client_secret_basic).
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .expect("token endpoint known")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("code exchange: {e:?}"));
    let id_token = tokens.id_token().expect("an ID token for scope openid");
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .unwrap_or_else(|e| panic!("ID token verification: {e:?}"));
    assert_eq!(claims.subject().as_str(), user_id);
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some("alice"));
    assert_eq!(claims.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(claims.email_verified(), Some(true));
    assert!(claims.auth_time().is_some(), "auth_time");
    let expected_hash = claims
        .access_token_hash()
        .expect("at_hash in the ID token of the code flow");
    let actual_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&id_verifier).expect("key"),
    )
    .expect("hash");
    assert_eq!(&actual_hash, expected_hash, "at_hash matches the access token");
    let granted: Vec<String> = tokens
        .scopes()
        .expect("scope in the token response")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(
        granted.contains(&"openid".to_owned()) && granted.contains(&SCOPE_NAME.to_owned()),
        "{granted:?}"
    );
    let access = app
        .verify(realm, tokens.access_token().secret())
        .await
        .expect("the access token verifies");
    assert_eq!(access["azp"], "rp-app");
    assert_eq!(access["sub"], user_id.as_str());
    assert!(access["sid"].is_string(), "{access}");

    // Refresh: new tokens for the same user.
    let refresh_token = tokens.refresh_token().expect("refresh token");
    let refreshed = client
        .exchange_refresh_token(refresh_token)
        .expect("token endpoint")
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("refresh: {e:?}"));
    assert_ne!(refreshed.access_token().secret(), tokens.access_token().secret());
    if let Some(new_id) = refreshed.id_token() {
        let new_claims = new_id
            .claims(&id_verifier, |_: Option<&Nonce>| Ok(()))
            .unwrap_or_else(|e| panic!("refreshed ID token: {e:?}"));
        assert_eq!(new_claims.subject(), claims.subject());
    }

    // Userinfo with the refreshed access token, checked against the ID token's subject.
    let info: CoreUserInfoClaims = client
        .user_info(refreshed.access_token().clone(), Some(claims.subject().clone()))
        .expect("userinfo endpoint")
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("userinfo: {e:?}"));
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(
        info.given_name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Alice")
    );

    // The code is spent, and replaying it revokes what it issued (RFC 6749 §4.1.2): the first
    // access token no longer opens userinfo.
    let replay = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .expect("token endpoint")
        .set_pkce_verifier(PkceCodeVerifier::new("x".repeat(43)))
        .request_async(&http)
        .await;
    assert!(replay.is_err(), "a code works once");
    let revoked: Result<CoreUserInfoClaims, _> = client
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo endpoint")
        .request_async(&http)
        .await;
    assert!(revoked.is_err(), "the replayed code's access token is revoked");
}

/// Realm `proto` with alice and a public client `web` (no consent) on REDIRECT.
async fn proto_realm(app: &TestApp) {
    let scope_id = sso_realm(app, "proto", "Protocol Realm").await;
    create_public_client(
        app,
        "proto",
        PublicClient {
            client_id: "web",
            name: "Web",
            redirect_uris: vec![REDIRECT.to_owned()],
            post_logout_redirect_uris: LOGGED_OUT,
            web_origins: vec![],
            consent_required: false,
        },
        Some(&scope_id),
    )
    .await;
    create_client(
        app,
        "proto",
        json!({ "clientId": "other", "publicClient": true, "standardFlowEnabled": true,
                "redirectUris": [REDIRECT] }),
        None,
    )
    .await;
    create_user_with_profile(app, "proto", "alice", PASSWORD, "alice@example.com").await;
}

/// An authorization URL for client `web` in realm `proto`; returns it with the state and verifier.
fn auth_url(app: &TestApp, client_id: &str, extra: &[(&str, &str)]) -> (String, String, String) {
    let (verifier, challenge) = pkce_pair();
    let state = random_token(12);
    let mut url = Url::parse(&format!("{}/protocol/openid-connect/auth", app.issuer("proto"))).expect("url");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid")
        .append_pair("state", &state)
        .append_pair("nonce", &random_token(12))
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    (url.to_string(), state, verifier)
}

async fn redeem(app: &TestApp, client_id: &str, code: &str, verifier: &str) -> (u16, Value) {
    token_post(
        app,
        "proto",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_endpoint_speaks_keycloaks_protocol_to_a_plain_http_client() {
    let app = spawn_app().await;
    proto_realm(&app).await;
    let browser = HttpBrowser::new(REDIRECT);

    // Unknown client, unregistered redirect_uri: an error page, never a redirect.
    let (url, _, _) = auth_url(&app, "nope", &[]);
    match browser.get(&url).await {
        Outcome::Page { status: 400, html, .. } => {
            assert!(
                element_text(&html, "kc-error-message").is_some_and(|m| !m.is_empty()),
                "{html}"
            )
        }
        other => panic!("unknown client: {other:?}"),
    }
    let (url, _, _) = auth_url(&app, "web", &[]);
    let bad = url.replace("rp%2Fcallback", "rp%2Felsewhere");
    match browser.get(&bad).await {
        Outcome::Page { status: 400, html, .. } => {
            assert!(
                element_text(&html, "kc-error-message").is_some_and(|m| !m.is_empty()),
                "{html}"
            )
        }
        other => panic!("unregistered redirect_uri: {other:?}"),
    }

    // prompt=none without a session: login_required, with the state, at the client.
    let (url, state, _) = auth_url(&app, "web", &[("prompt", "none")]);
    let (_, params) = browser.get(&url).await.redirected("prompt=none without session");
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("login_required"),
        "{params:?}"
    );
    assert_eq!(params.get("state"), Some(&state));

    // login_hint fills in the username.
    let (url, state, verifier) = auth_url(&app, "web", &[("login_hint", "alice")]);
    let (page, html) = browser.get(&url).await.page("the login page");
    let form = HtmlForm::by_id(&html, "kc-form-login").expect("login form");
    assert_eq!(
        form.input_by_id("username")
            .and_then(|a| a.get("value"))
            .map(String::as_str),
        Some("alice"),
        "login_hint prefills the username"
    );
    assert_eq!(
        form.input_by_id("password")
            .and_then(|a| a.get("type"))
            .map(String::as_str),
        Some("password")
    );
    // A wrong password: the page again, neutral message, status 200 (Keycloak answers 200 here too).
    match browser.login(&page, &html, "alice", "wrong").await {
        Outcome::Page { html, .. } => assert_eq!(
            element_text(&html, "input-error").as_deref(),
            Some("Invalid username or password.")
        ),
        other => panic!("wrong password: {other:?}"),
    }
    let (page, html) = browser.get(&url).await.page("the login page again");
    let (_, params) = browser.login(&page, &html, "alice", PASSWORD).await.redirected("login");
    assert_eq!(params.get("state"), Some(&state));
    let code = params["code"].clone();
    // Redeemed once; the second time the code is gone.
    let (status, body) = redeem(&app, "web", &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string(), "{body}");
    let id_token = body["id_token"].as_str().expect("id_token").to_owned();
    let (status, body) = redeem(&app, "web", &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "replay: {body}"
    );

    // SSO: prompt=none now issues a code at once; response_mode=fragment puts it in the fragment.
    let (url, state, verifier) = auth_url(&app, "web", &[("prompt", "none"), ("response_mode", "fragment")]);
    let (location, params) = browser.get(&url).await.redirected("prompt=none with a session");
    assert!(location.fragment().is_some_and(|f| f.contains("code=")), "{location}");
    assert!(location.query().is_none_or(|q| !q.contains("code=")), "{location}");
    assert_eq!(params.get("state"), Some(&state));
    // A wrong PKCE verifier is refused.
    let (status, body) = redeem(&app, "web", &params["code"], &format!("{verifier}x")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // form_post: an auto-submitting form to the redirect URI with code and state.
    let (url, state, verifier) = auth_url(&app, "web", &[("response_mode", "form_post")]);
    match browser.get(&url).await {
        Outcome::FormPost(action, fields) => {
            assert_eq!(action, REDIRECT);
            assert_eq!(fields.get("state"), Some(&state));
            let (status, body) = redeem(&app, "web", &fields["code"], &verifier).await;
            assert_eq!(status, 200, "{body}");
        }
        other => panic!("form_post: {other:?}"),
    }

    // A code issued to `web` is worthless to `other`.
    let (url, _, verifier) = auth_url(&app, "web", &[]);
    let (_, params) = browser.get(&url).await.redirected("SSO");
    let (status, body) = redeem(&app, "other", &params["code"], &verifier).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // max_age: a login older than max_age means logging in again; a recent one does not.
    app.clock.advance(120);
    let (url, _, _) = auth_url(&app, "web", &[("max_age", "3600")]);
    browser.get(&url).await.redirected("max_age=3600 after 2 minutes");
    let (url, _, _) = auth_url(&app, "web", &[("max_age", "60")]);
    let (_, html) = browser.get(&url).await.page("max_age=60 after 2 minutes");
    assert!(html.contains("kc-form-login"), "re-authentication for max_age:\n{html}");

    // prompt=login shows the login page despite the session.
    let (url, _, _) = auth_url(&app, "web", &[("prompt", "login")]);
    let (_, html) = browser.get(&url).await.page("prompt=login");
    assert!(html.contains("kc-form-login"));

    // Logout with an unregistered post_logout_redirect_uri does not redirect there.
    let logout = format!("{}/protocol/openid-connect/logout", app.issuer("proto"));
    let mut bad_logout = Url::parse(&logout).expect("url");
    bad_logout
        .query_pairs_mut()
        .append_pair("id_token_hint", &id_token)
        .append_pair("post_logout_redirect_uri", "http://127.0.0.1:1/rp/evil");
    let resp = browser.http.get(bad_logout).send().await.expect("logout");
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap_or("").to_owned());
    assert!(
        !location.as_deref().unwrap_or("").contains("/rp/evil"),
        "never redirects to an unregistered post_logout_redirect_uri: {location:?}"
    );

    // Logout without id_token_hint: a confirmation page; confirming ends the session.
    let (page, html) = browser.get(&logout).await.page("the logout confirmation");
    let form = HtmlForm::by_id(&html, "kc-logout-form").unwrap_or_else(|| panic!("kc-logout-form:\n{html}"));
    assert!(
        form.inputs
            .iter()
            .any(|a| a.get("id").map(String::as_str) == Some("kc-logout")),
        "{:?}",
        form.inputs
    );
    let outcome = browser
        .submit(&page, &html, "kc-logout-form", &[("confirmLogout", "Logout")])
        .await;
    if let Outcome::Page { status, .. } = &outcome {
        assert!(*status < 400, "logout confirmed: {outcome:?}");
    }
    let (url, state, _) = auth_url(&app, "web", &[("prompt", "none")]);
    let (_, params) = browser.get(&url).await.redirected("prompt=none after logout");
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("login_required"),
        "{params:?}"
    );
    assert_eq!(params.get("state"), Some(&state));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_is_asked_once_remembered_and_asked_again_with_prompt_consent() {
    let app = spawn_app().await;
    let scope_id = sso_realm(&app, "consent", "Consent Realm").await;
    for (client_id, name, consent) in [("plain", "Plain", false), ("asks", "Asks First", true)] {
        create_client(
            &app,
            "consent",
            json!({ "clientId": client_id, "name": name, "publicClient": true, "standardFlowEnabled": true,
                    "consentRequired": consent, "redirectUris": [REDIRECT] }),
            Some(&scope_id),
        )
        .await;
    }
    create_user_with_profile(&app, "consent", "alice", PASSWORD, "alice@example.com").await;
    let browser = HttpBrowser::new(REDIRECT);
    let url_for = |client_id: &str, prompt: Option<&str>| {
        let (_, challenge) = pkce_pair();
        let mut url = Url::parse(&format!("{}/protocol/openid-connect/auth", app.issuer("consent"))).expect("url");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", &format!("openid {SCOPE_NAME}"))
            .append_pair("state", "s1")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(p) = prompt {
            url.query_pairs_mut().append_pair("prompt", p);
        }
        url.to_string()
    };

    // A session through the client that asks nothing.
    let (page, html) = browser.get(&url_for("plain", None)).await.page("login");
    let (_, params) = browser
        .login(&page, &html, "alice", PASSWORD)
        .await
        .redirected("login through plain");
    assert!(params.contains_key("code"), "{params:?}");

    // prompt=none for the client that needs consent: consent_required.
    let (_, params) = browser
        .get(&url_for("asks", Some("none")))
        .await
        .redirected("prompt=none before consent");
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("consent_required"),
        "{params:?}"
    );
    assert_eq!(params.get("state").map(String::as_str), Some("s1"));

    // Without prompt: straight to the consent page (SSO), naming the client, listing the scope.
    let (page, html) = browser.get(&url_for("asks", None)).await.page("consent");
    assert!(
        element_text(&html, "kc-page-title").is_some_and(|t| t.contains("Asks First")),
        "{html}"
    );
    assert!(
        element_text(&html, "kc-oauth").is_some_and(|t| t.contains(SCOPE_DESCRIPTION)),
        "{html}"
    );
    let consent = HtmlForm::by_id(&html, "kc-consent-form").expect("consent form");
    assert_eq!(
        consent
            .input_by_id("kc-login")
            .and_then(|a| a.get("name"))
            .map(String::as_str),
        Some("accept")
    );
    assert_eq!(
        consent
            .input_by_id("kc-cancel")
            .and_then(|a| a.get("name"))
            .map(String::as_str),
        Some("cancel")
    );
    let (_, params) = browser
        .submit(&page, &html, "kc-consent-form", &[("accept", "Yes")])
        .await
        .redirected("after consent");
    assert!(params.contains_key("code"), "{params:?}");

    // Remembered: no consent page next time, prompt=none works too.
    let (_, params) = browser
        .get(&url_for("asks", None))
        .await
        .redirected("consent remembered");
    assert!(params.contains_key("code"), "{params:?}");
    let (_, params) = browser
        .get(&url_for("asks", Some("none")))
        .await
        .redirected("prompt=none after consent");
    assert!(params.contains_key("code"), "{params:?}");

    // prompt=consent asks again.
    let (_, html) = browser
        .get(&url_for("asks", Some("consent")))
        .await
        .page("prompt=consent");
    assert!(html.contains("kc-consent-form"), "{html}");
}
