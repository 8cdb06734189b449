//! The authorization code flow over plain HTTP: a cookie-keeping client plays the browser, the
//! test plays the relying party. Every rule of the authorization endpoint, the login and consent
//! pages, codes, PKCE, ID tokens and SSO sessions, with their error paths.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Digest;

use crate::helpers::{location_id, spawn_app, TestApp};
use crate::isolation::create_user;

pub const PASSWORD: &str = "correct horse battery staple";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789";
pub const REDIRECT: &str = "https://app.example/callback";

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// A browser without JavaScript: keeps cookies, does not follow redirects.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
}

/// A page or redirect the browser received.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    /// The value of a hidden or text input, by name.
    pub fn input(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\"");
        let at = self.body.find(&marker)?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = at + self.body[at..].find('>')?;
        let tag = &self.body[tag_start..tag_end];
        let value_at = tag.find("value=\"")? + 7;
        let value_end = value_at + tag[value_at..].find('"')?;
        Some(html_unescape(&tag[value_at..value_end]))
    }

    /// The `action` of the form with this id.
    pub fn form_action(&self, form_id: &str) -> Option<String> {
        let at = self.body.find(&format!("id=\"{form_id}\""))?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag = &self.body[tag_start..tag_start + self.body[tag_start..].find('>')?];
        let value_at = tag.find("action=\"")? + 8;
        let value_end = value_at + tag[value_at..].find('"')?;
        Some(html_unescape(&tag[value_at..value_end]))
    }

    pub fn is_login_page(&self) -> bool {
        self.status == 200 && self.body.contains("id=\"kc-form-login\"")
    }

    pub fn is_consent_page(&self) -> bool {
        self.status == 200 && self.body.contains("id=\"kc-consent-form\"")
    }

    /// The parameters of a redirect to the client (query or fragment).
    pub fn redirect_params(&self) -> Vec<(String, String)> {
        let location = self
            .location
            .as_deref()
            .unwrap_or_else(|| panic!("a redirect: {}", self.body));
        let url = url::Url::parse(location).expect("absolute redirect");
        let mut params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        if let Some(fragment) = url.fragment() {
            params.extend(url::form_urlencoded::parse(fragment.as_bytes()).into_owned());
        }
        params
    }

    pub fn param(&self, name: &str) -> Option<String> {
        self.redirect_params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

fn html_unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            http,
            base: app.address.clone(),
        }
    }

    async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let location = headers
            .get("location")
            .map(|v| v.to_str().expect("ascii location").to_owned());
        let body = resp.text().await.expect("body");
        Answer {
            status,
            location,
            headers,
            body,
        }
    }

    pub async fn get(&self, url: &str) -> Answer {
        Self::answer(self.http.get(url).send().await.expect("GET")).await
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Answer {
        Self::answer(self.http.post(url).form(form).send().await.expect("POST")).await
    }

    pub async fn authorize(&self, realm: &str, params: &[(&str, &str)]) -> Answer {
        let query = serde_urlencoded::to_string(params).expect("query");
        self.get(&format!(
            "{}/realms/{realm}/protocol/openid-connect/auth?{query}",
            self.base
        ))
        .await
    }

    /// Submits the login form of `page`.
    pub async fn login(&self, page: &Answer, username: &str, password: &str) -> Answer {
        assert!(
            page.is_login_page(),
            "expected the login page, got {} {}",
            page.status,
            page.body
        );
        let action = page.form_action("kc-form-login").expect("login form action");
        let csrf = page.input("csrf_token").expect("csrf field");
        self.post_form(
            &format!("{}{action}", self.base),
            &[("username", username), ("password", password), ("csrf_token", &csrf)],
        )
        .await
    }

    /// Answers the consent page: Yes or No.
    pub async fn consent(&self, page: &Answer, accept: bool) -> Answer {
        assert!(
            page.is_consent_page(),
            "expected the consent page, got {} {}",
            page.status,
            page.body
        );
        let action = page.form_action("kc-consent-form").expect("consent form action");
        let csrf = page.input("csrf_token").expect("csrf field");
        let button = if accept { ("accept", "Yes") } else { ("cancel", "No") };
        self.post_form(&format!("{}{action}", self.base), &[button, ("csrf_token", &csrf)])
            .await
    }
}

/// Creates a client for the browser flow; returns its internal id.
pub async fn create_web_client(app: &TestApp, realm: &str, client_id: &str, extra: Value) -> String {
    let mut repr = json!({
        "clientId": client_id,
        "publicClient": true,
        "standardFlowEnabled": true,
        "redirectUris": [REDIRECT],
        "webOrigins": ["https://app.example"],
    });
    for (k, v) in extra.as_object().expect("object") {
        repr[k] = v.clone();
    }
    let resp = app
        .admin(Method::POST, &format!("/admin/realms/{realm}/clients"), Some(repr))
        .await;
    assert_eq!(resp.status(), 201, "create client {client_id}");
    location_id(&resp)
}

/// A realm with a public client `web` and a user `alice` (with email and names).
pub async fn realm_with_web_client(app: &TestApp, realm: &str) -> String {
    app.create_realm(realm).await;
    create_web_client(app, realm, "web", json!({})).await;
    let user_id = create_user(app, realm, "alice", PASSWORD, true).await;
    let resp = app
        .admin(
            Method::PUT,
            &format!("/admin/realms/{realm}/users/{user_id}"),
            Some(json!({ "email": "alice@example.com", "emailVerified": true, "firstName": "Alice", "lastName": "Liddell" })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    user_id
}

pub fn code_request<'a>(client_id: &'a str, challenge: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

pub async fn exchange(app: &TestApp, realm: &str, client_id: &str, code: &str, verifier: &str) -> (u16, Value) {
    let resp = app
        .http
        .post(app.token_url(realm))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .expect("token request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

/// Logs alice in through the pages and returns the code.
pub async fn login_for_code(app: &TestApp, browser: &Browser, realm: &str, client_id: &str) -> String {
    let c = challenge(VERIFIER);
    let page = browser.authorize(realm, &code_request(client_id, &c)).await;
    let answer = browser.login(&page, "alice", PASSWORD).await;
    assert_eq!(answer.status, 302, "{}", answer.body);
    let _ = app;
    answer.param("code").expect("code")
}

fn session_state_of(answer: &Answer) -> String {
    answer.param("session_state").expect("session_state")
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("jwt");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_code_then_tokens_with_an_id_token() {
    let app = spawn_app().await;
    let user_id = realm_with_web_client(&app, "acme").await;
    let browser = Browser::new(&app);
    let c = challenge(VERIFIER);
    let mut request = code_request("web", &c);
    request[3] = ("scope", "openid profile email");
    let page = browser.authorize("acme", &request).await;
    assert!(page.is_login_page(), "{}", page.body);
    assert!(page.body.contains("id=\"kc-header-wrapper\""));
    assert!(page.body.contains("acme"), "realm name on the page");
    assert!(!page.body.contains("<script"), "the login page needs no JavaScript");
    assert_eq!(page.headers["x-frame-options"], "DENY");
    let csp = page.headers["content-security-policy"].to_str().expect("csp");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let set_cookie: Vec<_> = page.headers.get_all("set-cookie").iter().collect();
    assert!(
        set_cookie.iter().any(|c| {
            let c = c.to_str().expect("cookie");
            c.starts_with("AUTH_SESSION_ID=") && c.contains("HttpOnly") && c.contains("SameSite=Lax")
        }),
        "{set_cookie:?}"
    );

    // A wrong password and an unknown user get the same neutral message.
    let wrong = browser.login(&page, "alice", "wrong").await;
    assert!(wrong.is_login_page());
    assert!(wrong.body.contains("Invalid username or password."));
    let unknown = browser.login(&wrong, "nobody", "wrong").await;
    assert!(unknown.is_login_page());
    assert!(unknown.body.contains("Invalid username or password."));
    assert_eq!(
        wrong.body.replace("alice", "X").len() - wrong.input("csrf_token").unwrap_or_default().len(),
        unknown.body.replace("nobody", "X").len() - unknown.input("csrf_token").unwrap_or_default().len(),
        "the two failures render the same page"
    );

    let done = browser.login(&unknown, "alice@example.com", PASSWORD).await;
    assert_eq!(done.status, 302, "{}", done.body);
    let location = done.location.clone().expect("location");
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    assert_eq!(done.param("state").as_deref(), Some("st-123"));
    assert_eq!(done.param("iss"), Some(app.issuer("acme")));
    let session_state = done.param("session_state").expect("session_state");
    let identity = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().expect("cookie").to_owned())
        .find(|c| c.starts_with("KEYCLOAK_IDENTITY="))
        .expect("session cookie");
    assert!(
        identity.contains("HttpOnly") && identity.contains("SameSite=Lax"),
        "{identity}"
    );
    assert!(identity.contains("Path=/realms/acme/"), "{identity}");
    assert!(!identity.contains("Secure"), "http public URL: no Secure flag");
    assert!(!identity.contains(&user_id), "the cookie holds only a random id");
    // keycloak-js's session-status iframe reads KEYCLOAK_SESSION: a hash of the sid, script-readable.
    let status = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().expect("cookie").to_owned())
        .find(|c| c.starts_with("KEYCLOAK_SESSION="))
        .expect("session status cookie");
    assert!(!status.contains("HttpOnly"), "{status}");
    let expected = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(session_state_of(&done).as_bytes()));
    assert!(status.starts_with(&format!("KEYCLOAK_SESSION={expected};")), "{status}");

    let code = done.param("code").expect("code");
    let (status, tokens) = exchange(&app, "acme", "web", &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    for field in [
        "access_token",
        "refresh_token",
        "id_token",
        "session_state",
        "refresh_expires_in",
    ] {
        assert!(!tokens[field].is_null(), "{field} in {tokens}");
    }
    assert_eq!(tokens["session_state"], session_state.as_str());
    assert_eq!(tokens["token_type"], "Bearer");
    let id_token = tokens["id_token"].as_str().expect("id_token");
    let id = app
        .verify("acme", id_token)
        .await
        .expect("ID token verifies against the JWKS");
    assert_eq!(id["typ"], "ID");
    assert_eq!(id["aud"], "web");
    assert_eq!(id["azp"], "web");
    assert_eq!(id["sub"], user_id.as_str());
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["sid"], session_state.as_str());
    assert_eq!(id["acr"], "1");
    assert_eq!(id["preferred_username"], "alice");
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["name"], "Alice Liddell");
    assert_eq!(id["given_name"], "Alice");
    assert_eq!(id["family_name"], "Liddell");
    let now = nexus::clock::Clock::now(&app.clock);
    assert!((id["auth_time"].as_i64().expect("auth_time") - now).abs() < 5);
    let access = tokens["access_token"].as_str().expect("access");
    let digest = sha2::Sha256::digest(access.as_bytes());
    assert_eq!(id["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..16]));
    let access_claims = app.verify("acme", access).await.expect("access token verifies");
    assert_eq!(access_claims["sid"], session_state.as_str());
    assert_eq!(access_claims["azp"], "web");
    assert!(
        access_claims["realm_access"]["roles"].is_array(),
        "roles scope by default"
    );
    assert_eq!(
        claims(tokens["refresh_token"].as_str().expect("refresh"))["sid"],
        session_state.as_str()
    );

    // The refresh grant continues the session and issues a new ID token.
    let resp = app
        .http
        .post(app.token_url("acme"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "web"),
            ("refresh_token", tokens["refresh_token"].as_str().expect("refresh")),
        ])
        .send()
        .await
        .expect("refresh");
    assert_eq!(resp.status(), 200);
    let refreshed: Value = resp.json().await.expect("json");
    assert_eq!(refreshed["session_state"], session_state.as_str());
    let id2 = claims(refreshed["id_token"].as_str().expect("id_token on refresh"));
    assert_eq!(id2["sid"], session_state.as_str());
    assert_eq!(id2["auth_time"], id["auth_time"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_authorization_uses_the_session_unless_login_is_forced() {
    let app = spawn_app().await;
    realm_with_web_client(&app, "sso").await;
    create_web_client(&app, "sso", "other", json!({})).await;
    let browser = Browser::new(&app);
    let first = login_for_code(&app, &browser, "sso", "web").await;
    let (status, _) = exchange(&app, "sso", "web", &first, VERIFIER).await;
    assert_eq!(status, 200);

    // Another client, same browser: straight back with a code, no page.
    let c = challenge(VERIFIER);
    let again = browser.authorize("sso", &code_request("other", &c)).await;
    assert_eq!(again.status, 302, "{}", again.body);
    let code = again.param("code").expect("code");
    let (status, tokens) = exchange(&app, "sso", "other", &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        claims(tokens["id_token"].as_str().expect("id"))["acr"],
        "0",
        "single sign-on"
    );
    assert_eq!(claims(tokens["access_token"].as_str().expect("access"))["acr"], "0");

    // prompt=login asks for the password again, and keeps the session.
    let mut forced = code_request("web", &c);
    forced.push(("prompt", "login"));
    let page = browser.authorize("sso", &forced).await;
    assert!(page.is_login_page());
    let done = browser.login(&page, "alice", PASSWORD).await;
    assert_eq!(done.status, 302);
    assert_eq!(
        done.param("session_state"),
        again.param("session_state"),
        "re-authentication keeps the session"
    );

    // max_age: a login older than max_age asks again.
    app.clock.advance(120);
    let mut aged = code_request("web", &c);
    aged.push(("max_age", "60"));
    assert!(browser.authorize("sso", &aged).await.is_login_page());
    aged[8] = ("max_age", "600");
    assert_eq!(browser.authorize("sso", &aged).await.status, 302);

    // prompt=none with a session: a code; in a browser without one: login_required.
    let mut silent = code_request("web", &c);
    silent.push(("prompt", "none"));
    assert!(browser.authorize("sso", &silent).await.param("code").is_some());
    let stranger = Browser::new(&app);
    let answer = stranger.authorize("sso", &silent).await;
    assert_eq!(answer.status, 302);
    assert_eq!(answer.param("error").as_deref(), Some("login_required"));
    assert_eq!(answer.param("state").as_deref(), Some("st-123"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_after_the_idle_and_the_max_lifespan() {
    let app = spawn_app().await;
    realm_with_web_client(&app, "life").await;
    let resp = app
        .admin(
            Method::PUT,
            "/admin/realms/life",
            Some(json!({ "ssoSessionIdleTimeout": 600, "ssoSessionMaxLifespan": 1500 })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let browser = Browser::new(&app);
    login_for_code(&app, &browser, "life", "web").await;
    let c = challenge(VERIFIER);
    // Activity within the idle lifespan keeps it, up to the max lifespan.
    for _ in 0..2 {
        app.clock.advance(550);
        assert_eq!(browser.authorize("life", &code_request("web", &c)).await.status, 302);
    }
    app.clock.advance(550);
    assert!(
        browser
            .authorize("life", &code_request("web", &c))
            .await
            .is_login_page(),
        "max lifespan reached"
    );
    let page = browser.authorize("life", &code_request("web", &c)).await;
    assert_eq!(browser.login(&page, "alice", PASSWORD).await.status, 302);
    app.clock.advance(601);
    assert!(
        browser
            .authorize("life", &code_request("web", &c))
            .await
            .is_login_page(),
        "idle lifespan passed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_clients_and_redirect_uris_get_an_error_page_never_a_redirect() {
    let app = spawn_app().await;
    realm_with_web_client(&app, "pages").await;
    create_web_client(
        &app,
        "pages",
        "wild",
        json!({ "redirectUris": ["https://spa.example/app/*"] }),
    )
    .await;
    let browser = Browser::new(&app);
    let c = challenge(VERIFIER);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        code_request("nobody", &c),
        vec![("redirect_uri", REDIRECT), ("response_type", "code")],
        code_request("web", &c)
            .into_iter()
            .map(|(k, v)| {
                if k == "redirect_uri" {
                    (k, "https://evil.example/callback")
                } else {
                    (k, v)
                }
            })
            .collect(),
        code_request("web", &c)
            .into_iter()
            .map(|(k, v)| {
                if k == "redirect_uri" {
                    (k, "https://app.example/callback/x")
                } else {
                    (k, v)
                }
            })
            .collect(),
        code_request("web", &c)
            .into_iter()
            .filter(|(k, _)| *k != "redirect_uri")
            .collect(),
        code_request("wild", &c)
            .into_iter()
            .map(|(k, v)| {
                if k == "redirect_uri" {
                    (k, "https://spa.example/other")
                } else {
                    (k, v)
                }
            })
            .collect(),
    ];
    for case in cases {
        let answer = browser.authorize("pages", &case).await;
        assert_eq!(answer.status, 400, "{case:?}: {}", answer.body);
        assert!(answer.location.is_none());
        assert!(answer.body.contains("id=\"kc-error-message\""), "{}", answer.body);
        assert_eq!(answer.headers["x-frame-options"], "DENY");
    }
    // The registered wildcard matches below its prefix.
    let wild: Vec<(&str, &str)> = code_request("wild", &c)
        .into_iter()
        .map(|(k, v)| {
            if k == "redirect_uri" {
                (k, "https://spa.example/app/deep/page?x=1")
            } else {
                (k, v)
            }
        })
        .collect();
    assert!(browser.authorize("pages", &wild).await.is_login_page());
    // An unknown realm is a page too.
    let answer = browser.authorize("nowhere", &code_request("web", &c)).await;
    assert_eq!(answer.status, 404);
    assert!(answer.body.contains("kc-error-message"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_request_errors_go_back_to_the_client_with_state() {
    let app = spawn_app().await;
    realm_with_web_client(&app, "errs").await;
    create_web_client(&app, "errs", "noflow", json!({ "standardFlowEnabled": false })).await;
    let browser = Browser::new(&app);
    let c = challenge(VERIFIER);
    let replace = |key: &'static str, value: &'static str| -> Vec<(&'static str, String)> {
        let mut out: Vec<(&str, String)> = code_request("web", &c)
            .into_iter()
            .filter(|(k, _)| *k != key)
            .map(|(k, v)| (k, v.to_owned()))
            .collect();
        if !value.is_empty() {
            out.push((key, value.to_owned()));
        }
        out
    };
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (replace("response_type", "token"), "unsupported_response_type"),
        (replace("response_type", ""), "invalid_request"),
        (replace("scope", "openid no-such-scope"), "invalid_scope"),
        (replace("code_challenge_method", "plain"), "invalid_request"),
        (replace("code_challenge", ""), "invalid_request"),
        (replace("code_challenge_method", ""), "invalid_request"),
        (replace("code_challenge", "too-short"), "invalid_request"),
        (replace("prompt", "none login"), "invalid_request"),
        (replace("max_age", "-1"), "invalid_request"),
        (replace("request", "eyJhbGciOiJub25lIn0.e30."), "request_not_supported"),
    ];
    for (params, error) in cases {
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = browser.authorize("errs", &pairs).await;
        assert_eq!(answer.status, 302, "{pairs:?}: {}", answer.body);
        assert_eq!(answer.param("error").as_deref(), Some(error), "{pairs:?}");
        assert!(answer.param("error_description").is_some());
        assert_eq!(answer.param("state").as_deref(), Some("st-123"), "{pairs:?}");
        assert!(answer.location.as_deref().expect("loc").starts_with(REDIRECT));
    }
    let mut noflow = code_request("noflow", &c);
    noflow.retain(|(k, _)| *k != "state");
    let answer = browser.authorize("errs", &noflow).await;
    assert_eq!(answer.param("error").as_deref(), Some("unauthorized_client"));
    assert_eq!(answer.param("state"), None);
    // A bad response_mode is reported the default way (query).
    let mut mode = code_request("web", &c);
    mode.push(("response_mode", "jwt"));
    let answer = browser.authorize("errs", &mode).await;
    assert_eq!(answer.param("error").as_deref(), Some("invalid_request"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_modes_fragment_and_form_post() {
    let app = spawn_app().await;
    realm_with_web_client(&app, "modes").await;
    let browser = Browser::new(&app);
    let c = challenge(VERIFIER);
    let mut fragment = code_request("web", &c);
    fragment.push(("response_mode", "fragment"));
    let page = browser.authorize("modes", &fragment).await;
    let done = browser.login(&page, "alice", PASSWORD).await;
    let location = done.location.clone().expect("location");
    assert!(location.starts_with(&format!("{REDIRECT}#code=")), "{location}");
    assert!(done.param("state").is_some());

    let mut post = code_request("web", &c);
    post.push(("response_mode", "form_post"));
    let answer = browser.authorize("modes", &post).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.form_action("kc-form-post").as_deref(), Some(REDIRECT));
    let code = answer.input("code").expect("code field");
    assert_eq!(answer.input("state").as_deref(), Some("st-123"));
    let csp = answer.headers["content-security-policy"].to_str().expect("csp");
    assert!(
        csp.contains("script-src 'sha256-"),
        "only the hashed script runs: {csp}"
    );
    let (status, _) = exchange(&app, "modes", "web", &code, VERIFIER).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_exchange_errors() {
    let app = spawn_app().await;
    realm_with_web_client(&app, "codes").await;
    app.create_realm("elsewhere").await;
    create_web_client(&app, "elsewhere", "web", json!({})).await;
    create_web_client(&app, "codes", "web2", json!({})).await;
    let browser = Browser::new(&app);

    // Bad PKCE verifier, then a missing one: each consumes the code.
    let code = login_for_code(&app, &browser, "codes", "web").await;
    let other_verifier = "x".repeat(50);
    let (status, body) = exchange(&app, "codes", "web", &code, &other_verifier).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let c = challenge(VERIFIER);
    let fresh = browser
        .authorize("codes", &code_request("web", &c))
        .await
        .param("code")
        .expect("code");
    let resp = app
        .http
        .post(app.token_url("codes"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "web"),
            ("code", fresh.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.expect("json")["error"], "invalid_grant");

    // Wrong redirect_uri at the token endpoint.
    let code = browser
        .authorize("codes", &code_request("web", &c))
        .await
        .param("code")
        .expect("code");
    let resp = app
        .http
        .post(app.token_url("codes"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "web"),
            ("code", code.as_str()),
            ("redirect_uri", "https://app.example/other"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.expect("json")["error"], "invalid_grant");

    // Another client, another realm.
    let code = browser
        .authorize("codes", &code_request("web", &c))
        .await
        .param("code")
        .expect("code");
    assert_eq!(
        exchange(&app, "codes", "web2", &code, VERIFIER).await.1["error"],
        "invalid_grant"
    );
    let code = browser
        .authorize("codes", &code_request("web", &c))
        .await
        .param("code")
        .expect("code");
    assert_eq!(
        exchange(&app, "elsewhere", "web", &code, VERIFIER).await.1["error"],
        "invalid_grant"
    );

    // Expired: 60 seconds.
    let code = browser
        .authorize("codes", &code_request("web", &c))
        .await
        .param("code")
        .expect("code");
    app.clock.advance(61);
    assert_eq!(
        exchange(&app, "codes", "web", &code, VERIFIER).await.1["error"],
        "invalid_grant"
    );

    // Garbage.
    assert_eq!(
        exchange(&app, "codes", "web", "garbage", VERIFIER).await.1["error"],
        "invalid_grant"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_code_fails_and_revokes_the_tokens_of_its_first_use() {
    let app = spawn_app().await;
    realm_with_web_client(&app, "replay").await;
    let browser = Browser::new(&app);
    let code = login_for_code(&app, &browser, "replay", "web").await;
    let (status, tokens) = exchange(&app, "replay", "web", &code, VERIFIER).await;
    assert_eq!(status, 200);
    let (status, body) = exchange(&app, "replay", "web", &code, VERIFIER).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let resp = app
        .http
        .post(app.token_url("replay"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "web"),
            ("refresh_token", tokens["refresh_token"].as_str().expect("refresh")),
        ])
        .send()
        .await
        .expect("refresh");
    assert_eq!(resp.status(), 400, "the first exchange's refresh token is revoked");
    assert_eq!(resp.json::<Value>().await.expect("json")["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exchanges_of_one_code_have_one_winner() {
    let app = spawn_app().await;
    realm_with_web_client(&app, "race").await;
    let browser = Browser::new(&app);
    let code = login_for_code(&app, &browser, "race", "web").await;
    let attempts = (0..6).map(|_| exchange(&app, "race", "web", &code, VERIFIER));
    let results = futures_util::future::join_all(attempts).await;
    let winners = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(winners, 1, "{:?}", results.iter().map(|r| r.0).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confidential_clients_authenticate_and_may_skip_pkce() {
    let app = spawn_app().await;
    realm_with_web_client(&app, "conf").await;
    let secret = "conf-secret-0123456789abcdefghijklmnopqrstuvwxyz";
    create_web_client(
        &app,
        "conf",
        "server",
        json!({ "publicClient": false, "secret": secret }),
    )
    .await;
    let browser = Browser::new(&app);
    let request: Vec<(&str, &str)> = code_request("server", "")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let page = browser.authorize("conf", &request).await;
    let code = browser
        .login(&page, "alice", PASSWORD)
        .await
        .param("code")
        .expect("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let resp = app
        .http
        .post(app.token_url("conf"))
        .basic_auth("server", Some("wrong-secret"))
        .form(&form)
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 401);
    let code = browser.authorize("conf", &request).await.param("code").expect("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let resp = app
        .http
        .post(app.token_url("conf"))
        .basic_auth("server", Some(secret))
        .form(&form)
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 200);
    // A verifier for a code without challenge is refused.
    let code = browser.authorize("conf", &request).await.param("code").expect("code");
    let resp = app
        .http
        .post(app.token_url("conf"))
        .basic_auth("server", Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_right_csrf_token_or_browser_are_refused() {
    let app = spawn_app().await;
    realm_with_web_client(&app, "csrf").await;
    let browser = Browser::new(&app);
    let c = challenge(VERIFIER);
    let page = browser.authorize("csrf", &code_request("web", &c)).await;
    let action = format!("{}{}", app.address, page.form_action("kc-form-login").expect("action"));
    let csrf = page.input("csrf_token").expect("csrf");
    for form in [
        vec![("username", "alice"), ("password", PASSWORD)],
        vec![("username", "alice"), ("password", PASSWORD), ("csrf_token", "forged")],
    ] {
        let answer = browser.post_form(&action, &form).await;
        assert_eq!(answer.status, 400, "{form:?}");
        assert!(answer.body.contains("kc-error-message"));
        assert!(answer.location.is_none());
    }
    // The right token from another browser (no AUTH_SESSION_ID cookie) does not work either.
    let other = Browser::new(&app);
    let answer = other
        .post_form(
            &action,
            &[("username", "alice"), ("password", PASSWORD), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(answer.status, 400);
    // The real browser still can.
    assert_eq!(browser.login(&page, "alice", PASSWORD).await.status, 302);
    // And the finished flow cannot be posted again.
    let again = browser
        .post_form(
            &action,
            &[("username", "alice"), ("password", PASSWORD), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(again.status, 400);
}

/// A confidential client that requires consent, with the realm scope `read:users`.
async fn consent_setup(app: &TestApp, realm: &str) {
    realm_with_web_client(app, realm).await;
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/client-scopes"),
            Some(json!({ "name": "read:users", "description": "Read user profiles", "protocol": "openid-connect" })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let scope_id = location_id(&resp);
    let client = create_web_client(
        app,
        realm,
        "needs-consent",
        json!({ "consentRequired": true, "name": "Payroll App" }),
    )
    .await;
    let resp = app
        .admin(
            Method::PUT,
            &format!("/admin/realms/{realm}/clients/{client}/optional-client-scopes/{scope_id}"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_is_asked_once_per_scope_and_denial_is_access_denied() {
    let app = spawn_app().await;
    consent_setup(&app, "consent").await;
    let browser = Browser::new(&app);
    let c = challenge(VERIFIER);
    let request = code_request("needs-consent", &c);
    let page = browser.authorize("consent", &request).await;
    let consent = browser.login(&page, "alice", PASSWORD).await;
    assert!(consent.is_consent_page(), "{}", consent.body);
    assert!(consent.body.contains("Payroll App"));
    assert!(consent.body.contains("User profile"), "{}", consent.body);
    assert!(!consent.body.contains("read:users"), "not requested");
    assert!(!consent.body.contains("web-origins"), "not shown on the consent screen");

    // No: the client hears access_denied, with its state.
    let denied = browser.consent(&consent, false).await;
    assert_eq!(denied.param("error").as_deref(), Some("access_denied"));
    assert_eq!(denied.param("state").as_deref(), Some("st-123"));

    // Asked again (nothing stored), Yes this time.
    let consent = browser.authorize("consent", &request).await;
    assert!(consent.is_consent_page(), "SSO, but consent still missing");
    let done = browser.consent(&consent, true).await;
    let code = done.param("code").expect("code");
    assert_eq!(exchange(&app, "consent", "needs-consent", &code, VERIFIER).await.0, 200);
    // Posting the same consent form again does nothing.
    assert_eq!(browser.consent(&consent, true).await.status, 400);

    // Granted scopes are not asked again...
    assert_eq!(browser.authorize("consent", &request).await.status, 302);
    // ...a new scope is, and only it is listed.
    let mut wider = request.clone();
    wider[3] = ("scope", "openid read:users");
    let consent = browser.authorize("consent", &wider).await;
    assert!(consent.is_consent_page());
    assert!(consent.body.contains("read:users") && consent.body.contains("Read user profiles"));
    assert!(
        !consent.body.contains("User profile<"),
        "already granted: {}",
        consent.body
    );
    let done = browser.consent(&consent, true).await;
    let code = done.param("code").expect("code");
    let (_, tokens) = exchange(&app, "consent", "needs-consent", &code, VERIFIER).await;
    assert!(tokens["scope"].as_str().expect("scope").contains("read:users"));
    // prompt=consent asks even so; prompt=none with missing consent is consent_required.
    let mut again = request.clone();
    again.push(("prompt", "consent"));
    assert!(browser.authorize("consent", &again).await.is_consent_page());
    let mut silent = request.clone();
    silent[3] = ("scope", "openid offline_access");
    silent.push(("prompt", "none"));
    assert_eq!(
        browser.authorize("consent", &silent).await.param("error").as_deref(),
        Some("consent_required")
    );
    // The web client does not require consent: no page.
    assert_eq!(browser.authorize("consent", &code_request("web", &c)).await.status, 302);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_tokens_are_marked_offline() {
    let app = spawn_app().await;
    realm_with_web_client(&app, "offline").await;
    let browser = Browser::new(&app);
    let c = challenge(VERIFIER);
    let mut request = code_request("web", &c);
    request[3] = ("scope", "openid offline_access");
    let page = browser.authorize("offline", &request).await;
    let code = browser
        .login(&page, "alice", PASSWORD)
        .await
        .param("code")
        .expect("code");
    let (status, tokens) = exchange(&app, "offline", "web", &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = claims(tokens["refresh_token"].as_str().expect("refresh"));
    assert_eq!(refresh["typ"], "Offline");
    assert!(tokens["scope"].as_str().expect("scope").contains("offline_access"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_users_cannot_log_in_and_lose_their_session() {
    let app = spawn_app().await;
    let user_id = realm_with_web_client(&app, "disabled").await;
    let browser = Browser::new(&app);
    login_for_code(&app, &browser, "disabled", "web").await;
    crate::isolation::set_user_enabled(&app, "disabled", &user_id, false).await;
    let c = challenge(VERIFIER);
    let page = browser.authorize("disabled", &code_request("web", &c)).await;
    assert!(page.is_login_page(), "the session no longer counts");
    let answer = browser.login(&page, "alice", PASSWORD).await;
    assert!(answer.is_login_page());
    assert!(answer.body.contains("Invalid username or password."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stylesheet_and_method_rules() {
    let app = spawn_app().await;
    let resp = app.http.get(app.url("/resources/nexus.css")).send().await.expect("css");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/css"));
    realm_with_web_client(&app, "post").await;
    // POST to the authorization endpoint works like GET (OIDC Core §3.1.2.1).
    let c = challenge(VERIFIER);
    let browser = Browser::new(&app);
    let page = browser
        .post_form(
            &format!("{}/realms/post/protocol/openid-connect/auth", app.address),
            &code_request("web", &c),
        )
        .await;
    assert!(page.is_login_page(), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_survive_a_restart_of_nexus_and_of_the_ephemeral_store() {
    let app = spawn_app().await;
    realm_with_web_client(&app, "durable").await;
    let browser = Browser::new(&app);
    let code = login_for_code(&app, &browser, "durable", "web").await;
    let (_, tokens) = exchange(&app, "durable", "web", &code, VERIFIER).await;
    let sid = tokens["session_state"].as_str().expect("sid").to_owned();

    let app = crate::restart::restart_in_place_with(app, true).await;
    let resp = app
        .http
        .post(app.token_url("durable"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "web"),
            ("refresh_token", tokens["refresh_token"].as_str().expect("refresh")),
        ])
        .send()
        .await
        .expect("refresh");
    assert_eq!(resp.status(), 200, "the refresh token outlives both stores' restarts");
    let refreshed: Value = resp.json().await.expect("json");
    assert_eq!(refreshed["session_state"], sid.as_str(), "the session is resumed");
    // The browser's session is gone: it must log in again.
    let c = challenge(VERIFIER);
    assert!(browser
        .authorize("durable", &code_request("web", &c))
        .await
        .is_login_page());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let app = crate::helpers::spawn_on(
        crate::helpers::Storage::fresh(),
        nexus::clock::SettableClock::default(),
        |s| s.public_url = Some("https://id.example".into()),
    )
    .await;
    realm_with_web_client(&app, "tls").await;
    let browser = Browser::new(&app);
    let c = challenge(VERIFIER);
    let page = browser.authorize("tls", &code_request("web", &c)).await;
    let cookie = page.headers["set-cookie"].to_str().expect("cookie");
    assert!(
        cookie.starts_with("AUTH_SESSION_ID=") && cookie.contains("Secure"),
        "{cookie}"
    );
    // The browser client speaks plain HTTP to the test server, so it would not send a Secure
    // cookie back: post the form with the cookie set by hand.
    let browser_id = cookie.split(';').next().expect("pair").to_owned();
    let action = format!("{}{}", app.address, page.form_action("kc-form-login").expect("action"));
    let resp = app
        .http
        .post(&action)
        .header("Cookie", browser_id)
        .form(&[
            ("username", "alice"),
            ("password", PASSWORD),
            ("csrf_token", page.input("csrf_token").expect("csrf").as_str()),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 302);
    let identity = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().expect("cookie").to_owned())
        .find(|c| c.starts_with("KEYCLOAK_IDENTITY="))
        .expect("session cookie");
    assert!(
        identity.contains("Secure") && identity.contains("HttpOnly"),
        "{identity}"
    );
}
