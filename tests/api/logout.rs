//! Logout: OpenID Connect RP-Initiated Logout 1.0 (id_token_hint, registered
//! post_logout_redirect_uri, state, confirmation page) and Keycloak's back-channel logout with a
//! refresh token. Sessions come from the password grant (no browser needed); logouts through the
//! browser's cookie are covered once the login pages exist.

use reqwest::header::HeaderMap;
use serde_json::json;

use crate::helpers::{spawn_app, TestApp};
use crate::token_endpoint::{split, token_form};
use crate::userinfo::{
    backchannel_logout, field, header, introspect, oidc_realm, oidc_url, password_grant, userinfo, API, API_SECRET,
    REALM, SPA,
};

async fn get_logout(app: &TestApp, query: &[(&str, &str)]) -> (u16, HeaderMap, String) {
    let resp = app
        .http
        .get(oidc_url(app, REALM, "logout"))
        .query(query)
        .send()
        .await
        .expect("logout");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

async fn post_logout(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, HeaderMap, String) {
    let resp = app
        .http
        .post(oidc_url(app, REALM, path))
        .form(form)
        .send()
        .await
        .expect("logout");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

/// Asserts the response clears both SSO cookies on the realm's path.
fn assert_clears_sso_cookies(headers: &HeaderMap) {
    let cookies: Vec<&str> = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    for name in ["KEYCLOAK_IDENTITY", "KEYCLOAK_SESSION"] {
        let cookie = cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=;")))
            .unwrap_or_else(|| panic!("{name} cleared in {cookies:?}"));
        assert!(cookie.contains("Path=/realms/oidc/"), "{cookie}");
        assert!(cookie.contains("Max-Age=0"), "{cookie}");
    }
}

fn assert_html_error(status: u16, headers: &HeaderMap, body: &str, message: &str) {
    assert_eq!(status, 400, "{body}");
    assert!(header(headers, "location").is_none(), "never a redirect");
    assert!(header(headers, "content-type").is_some_and(|v| v.starts_with("text/html")));
    assert!(body.contains(message), "{message} in {body}");
}

/// The `session_code` of a confirmation page, after checking the form Keycloak's tests look for.
fn confirmation_code(body: &str) -> String {
    assert!(body.contains(r#"<form id="kc-logout-form" method="post""#), "{body}");
    assert!(body.contains(r#"id="kc-logout""#), "{body}");
    let marker = r#"name="session_code" value=""#;
    let start = body.find(marker).expect("session_code") + marker.len();
    let end = start + body[start..].find('"').expect("end of value");
    body[start..end].to_owned()
}

async fn session_is_over(app: &TestApp, tokens: &serde_json::Value, client_id: &str) {
    assert_eq!(userinfo(app, REALM, field(tokens, "access_token")).await.0, 401);
    assert_eq!(
        introspect(app, REALM, field(tokens, "access_token")).await,
        json!({ "active": false })
    );
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", field(tokens, "refresh_token")),
    ];
    if client_id == API {
        form.push(("client_secret", API_SECRET));
    }
    let (status, _, body) = token_form(app, REALM, &form).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backchannel_logout_with_a_refresh_token_ends_the_session() {
    let app = spawn_app().await;
    oidc_realm(&app).await;

    // A public client names itself.
    let tokens = password_grant(&app, SPA, None).await;
    let other = password_grant(&app, SPA, None).await;
    let resp = backchannel_logout(&app, SPA, field(&tokens, "refresh_token")).await;
    assert_eq!(resp.status(), 204);
    session_is_over(&app, &tokens, SPA).await;
    assert_eq!(userinfo(&app, REALM, field(&other, "access_token")).await.0, 200);
    // Logging out twice is not an error (Keycloak answers 204 too).
    let resp = backchannel_logout(&app, SPA, field(&tokens, "refresh_token")).await;
    assert_eq!(resp.status(), 204);

    // A confidential client authenticates (python-keycloak's `logout(refresh_token)`).
    let tokens = password_grant(&app, API, None).await;
    let (status, _, body) = split(
        app.http
            .post(oidc_url(&app, REALM, "logout"))
            .form(&[("client_id", API), ("refresh_token", field(&tokens, "refresh_token"))])
            .send()
            .await
            .expect("logout"),
    )
    .await;
    assert_eq!(status, 401, "no secret: {body}");
    assert_eq!(body["error"], "invalid_client");
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "logout"))
        .basic_auth(API, Some(API_SECRET))
        .form(&[("refresh_token", field(&tokens, "refresh_token"))])
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 204);
    session_is_over(&app, &tokens, API).await;

    // An offline token's logout ends its family as well.
    let offline = password_grant(&app, SPA, Some("offline_access")).await;
    assert_eq!(
        backchannel_logout(&app, SPA, field(&offline, "refresh_token"))
            .await
            .status(),
        204
    );
    session_is_over(&app, &offline, SPA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backchannel_logout_refuses_what_is_not_a_refresh_token_of_the_client() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, Some("openid")).await;
    for bad in ["garbage", field(&tokens, "access_token"), field(&tokens, "id_token")] {
        let resp = backchannel_logout(&app, SPA, bad).await;
        let (status, headers, body) = split(resp).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    }
    // Another client's refresh token.
    let (status, _, body) = split(backchannel_logout(&app, API, field(&tokens, "refresh_token")).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // Nothing was ended.
    assert_eq!(userinfo(&app, REALM, field(&tokens, "access_token")).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_hint_and_a_registered_uri_log_out_and_redirect_with_state() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, Some("openid")).await;
    let other = password_grant(&app, SPA, Some("openid")).await;
    let (status, headers, body) = get_logout(
        &app,
        &[
            ("id_token_hint", field(&tokens, "id_token")),
            ("post_logout_redirect_uri", "https://app.example/bye"),
            ("state", "s t&a"),
        ],
    )
    .await;
    assert_eq!(status, 302, "{body}");
    assert_eq!(
        header(&headers, "location"),
        Some("https://app.example/bye?state=s+t%26a")
    );
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    assert_clears_sso_cookies(&headers);
    session_is_over(&app, &tokens, SPA).await;
    assert_eq!(userinfo(&app, REALM, field(&other, "access_token")).await.0, 200);

    // keycloak-js's `logoutMethod: "POST"`: the same parameters in a form, with client_id; the
    // registered wildcard matches; an expired ID token is still a hint.
    app.clock.advance(3700);
    let (status, headers, body) = post_logout(
        &app,
        "logout",
        &[
            ("id_token_hint", field(&other, "id_token")),
            ("client_id", SPA),
            ("post_logout_redirect_uri", "https://app.example/wild/page?x=1"),
        ],
    )
    .await;
    assert_eq!(status, 302, "{body}");
    assert_eq!(header(&headers, "location"), Some("https://app.example/wild/page?x=1"));
    assert_clears_sso_cookies(&headers);
    let (status, _, body) = token_form(
        &app,
        REALM,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", SPA),
            ("refresh_token", field(&other, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // `+` means the client's redirect URIs.
    let api_tokens = password_grant(&app, API, Some("openid")).await;
    let (status, headers, body) = get_logout(
        &app,
        &[
            ("id_token_hint", field(&api_tokens, "id_token")),
            ("post_logout_redirect_uri", "https://api.example/callback"),
        ],
    )
    .await;
    assert_eq!(status, 302, "{body}");
    assert_eq!(header(&headers, "location"), Some("https://api.example/callback"));

    // A valid hint without a redirect URI: logged out, and told so.
    let tokens = password_grant(&app, SPA, Some("openid")).await;
    let (status, headers, body) = get_logout(&app, &[("id_token_hint", field(&tokens, "id_token"))]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("You are logged out"), "{body}");
    assert_clears_sso_cookies(&headers);
    session_is_over(&app, &tokens, SPA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregistered_redirects_and_bad_hints_get_an_error_page_never_a_redirect() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, Some("openid")).await;
    let id_token = field(&tokens, "id_token").to_owned();

    for uri in [
        "https://evil.example/bye",
        "https://app.example/bye/",
        "https://app.example/byebye",
        "https://app.example/callback", // a redirect URI, but not registered for logout
        "https://app.example.evil/wild/",
        "not a uri",
    ] {
        let (status, headers, body) =
            get_logout(&app, &[("id_token_hint", &id_token), ("post_logout_redirect_uri", uri)]).await;
        assert_html_error(status, &headers, &body, "Invalid redirect uri");
    }
    // The same with client_id instead of a hint.
    let (status, headers, body) = get_logout(
        &app,
        &[
            ("client_id", SPA),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ],
    )
    .await;
    assert_html_error(status, &headers, &body, "Invalid redirect uri");
    // An unknown client has no registered URIs.
    let (status, headers, body) = get_logout(
        &app,
        &[
            ("client_id", "nobody"),
            ("post_logout_redirect_uri", "https://app.example/bye"),
        ],
    )
    .await;
    assert_html_error(status, &headers, &body, "Invalid redirect uri");
    // A client without the attribute has none either.
    app.create_service_client(REALM, "plain").await;
    let (status, headers, body) = get_logout(
        &app,
        &[
            ("client_id", "plain"),
            ("post_logout_redirect_uri", "https://app.example/bye"),
        ],
    )
    .await;
    assert_html_error(status, &headers, &body, "Invalid redirect uri");

    // A redirect URI needs a hint or a client_id; the pre-18 `redirect_uri` is refused.
    let (status, headers, body) = get_logout(&app, &[("post_logout_redirect_uri", "https://app.example/bye")]).await;
    assert_html_error(status, &headers, &body, "Missing parameter: id_token_hint");
    let (status, headers, body) = get_logout(&app, &[("redirect_uri", "https://app.example/bye")]).await;
    assert_html_error(status, &headers, &body, "Invalid parameter: redirect_uri");

    // Hints that are not ID tokens of this realm, or name another client than client_id.
    app.create_realm("other").await;
    let (_, secret) = app.create_service_client("other", "svc").await;
    let (_, _, other) = split(app.client_credentials("other", "svc", &secret).await).await;
    for hint in ["garbage", field(&tokens, "access_token"), field(&other, "access_token")] {
        let (status, headers, body) = get_logout(&app, &[("id_token_hint", hint)]).await;
        assert_html_error(status, &headers, &body, "Invalid parameter: id_token_hint");
    }
    let (status, headers, body) = get_logout(&app, &[("id_token_hint", &id_token), ("client_id", API)]).await;
    assert_html_error(status, &headers, &body, "Invalid parameter: id_token_hint");

    // Nothing of that logged anyone out.
    assert_eq!(userinfo(&app, REALM, field(&tokens, "access_token")).await.0, 200);
    // The pages get the strict default headers.
    let (_, headers, _) = get_logout(&app, &[("redirect_uri", "x")]).await;
    assert_eq!(header(&headers, "x-frame-options"), Some("DENY"));
    assert!(header(&headers, "cache-control").is_some_and(|v| v.starts_with("no-store")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_hint_the_user_confirms_first() {
    let app = spawn_app().await;
    oidc_realm(&app).await;

    // Nothing but the endpoint: a confirmation page whose form is single use.
    let (status, headers, body) = get_logout(&app, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(header(&headers, "content-type").is_some_and(|v| v.starts_with("text/html")));
    assert!(
        body.contains(r#"action="/realms/oidc/protocol/openid-connect/logout/logout-confirm""#),
        "{body}"
    );
    let code = confirmation_code(&body);
    let (status, headers, body) = post_logout(&app, "logout/logout-confirm", &[("session_code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("You are logged out"), "{body}");
    assert_clears_sso_cookies(&headers);
    // Posting it again (a double click) changes nothing and is no error.
    let (status, _, body) = post_logout(&app, "logout/logout-confirm", &[("session_code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    // Made-up, tampered, missing or expired codes are refused.
    let (payload, mac) = code.rsplit_once('.').expect("signed code");
    let tampered = format!("{}A.{mac}", payload);
    for bad in ["made-up", "a.b", tampered.as_str(), ""] {
        let (status, headers, body) = post_logout(&app, "logout/logout-confirm", &[("session_code", bad)]).await;
        assert_html_error(status, &headers, &body, "Logout failed");
    }
    app.clock.advance(601);
    let (status, headers, body) = post_logout(&app, "logout/logout-confirm", &[("session_code", &code)]).await;
    assert_html_error(status, &headers, &body, "Logout failed");

    // client_id and a registered URI, nobody logged in in this browser: straight back to the app.
    let (status, headers, body) = get_logout(
        &app,
        &[
            ("client_id", SPA),
            ("post_logout_redirect_uri", "https://app.example/bye"),
            ("state", "42"),
        ],
    )
    .await;
    assert_eq!(status, 302, "{body}");
    assert_eq!(header(&headers, "location"), Some("https://app.example/bye?state=42"));

    // A hint naming a client that no longer exists: the user confirms first.
    let tokens = password_grant(&app, SPA, Some("openid")).await;
    let spa = app
        .admin(
            reqwest::Method::GET,
            &format!("/admin/realms/{REALM}/clients?clientId={SPA}"),
            None,
        )
        .await
        .json::<serde_json::Value>()
        .await
        .expect("clients");
    let spa_id = spa[0]["id"].as_str().expect("id").to_owned();
    let resp = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/realms/{REALM}/clients/{spa_id}"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    let (status, _, body) = get_logout(&app, &[("id_token_hint", field(&tokens, "id_token"))]).await;
    assert_eq!(status, 200, "{body}");
    let code = confirmation_code(&body);
    let (status, headers, body) = post_logout(&app, "logout/logout-confirm", &[("session_code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("You are logged out"), "{body}");
    assert_clears_sso_cookies(&headers);
}

// ---- through the browser's SSO cookie (the login pages) ------------------------------------------

mod browser {
    use serde_json::{json, Value};

    use crate::authorization_code::{
        challenge, code_request, create_web_client, exchange, login_for_code, realm_with_web_client, Answer, Browser,
        VERIFIER,
    };
    use crate::helpers::{spawn_app, TestApp};
    use crate::userinfo::{field, userinfo};

    const SSO: &str = "sso";
    const BYE: &str = "https://app.example/bye";

    /// A realm with the public client `webapp` (post-logout URI `https://app.example/bye`) and alice.
    async fn sso_realm(app: &TestApp) {
        realm_with_web_client(app, SSO).await;
        create_web_client(
            app,
            SSO,
            "webapp",
            json!({ "attributes": { "post.logout.redirect.uris": BYE } }),
        )
        .await;
    }

    /// Logs alice in through the pages in `browser`; the tokens of the code.
    async fn login(app: &TestApp, browser: &Browser) -> Value {
        let code = login_for_code(app, browser, SSO, "webapp").await;
        let (status, tokens) = exchange(app, SSO, "webapp", &code, VERIFIER).await;
        assert_eq!(status, 200, "{tokens}");
        tokens
    }

    /// Whether the browser still has a session: an authorization request is answered without the
    /// login page.
    async fn has_sso(browser: &Browser) -> bool {
        let c = challenge(VERIFIER);
        let answer = browser.authorize(SSO, &code_request("webapp", &c)).await;
        if answer.is_login_page() {
            return false;
        }
        assert_eq!(answer.status, 302, "{}", answer.body);
        true
    }

    fn logout_url(browser: &Browser, params: &[(&str, &str)]) -> String {
        let query = serde_urlencoded::to_string(params).expect("query");
        format!("{}/realms/{SSO}/protocol/openid-connect/logout?{query}", browser.base)
    }

    /// Confirms the logout page `page` in `browser`.
    async fn confirm(browser: &Browser, page: &Answer) -> Answer {
        assert_eq!(page.status, 200, "{}", page.body);
        let action = page.form_action("kc-logout-form").expect("confirmation form");
        let code = page.input("session_code").expect("session_code");
        assert!(page.body.contains(r#"id="kc-logout""#));
        browser
            .post_form(&format!("{}{action}", browser.base), &[("session_code", &code)])
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_id_token_hint_of_the_browsers_session_logs_it_out_at_once() {
        let app = spawn_app().await;
        sso_realm(&app).await;
        let browser = Browser::new(&app);
        let tokens = login(&app, &browser).await;
        assert!(has_sso(&browser).await);

        let answer = browser
            .get(&logout_url(
                &browser,
                &[
                    ("id_token_hint", field(&tokens, "id_token")),
                    ("post_logout_redirect_uri", BYE),
                    ("state", "st"),
                ],
            ))
            .await;
        assert_eq!(answer.status, 302, "{}", answer.body);
        assert_eq!(answer.location.as_deref(), Some("https://app.example/bye?state=st"));
        assert!(!has_sso(&browser).await, "the SSO session is over");
        assert_eq!(userinfo(&app, SSO, field(&tokens, "access_token")).await.0, 401);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_a_hint_the_browsers_session_ends_once_confirmed() {
        let app = spawn_app().await;
        sso_realm(&app).await;
        let browser = Browser::new(&app);
        let tokens = login(&app, &browser).await;

        let page = browser.get(&logout_url(&browser, &[])).await;
        assert!(has_sso(&browser).await, "showing the page logs nobody out");
        let done = confirm(&browser, &page).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("You are logged out"));
        assert!(!has_sso(&browser).await);
        assert_eq!(userinfo(&app, SSO, field(&tokens, "access_token")).await.0, 401);

        // With client_id and a registered URI but a session in the browser, the user confirms too,
        // then goes back to the app.
        let tokens = login(&app, &browser).await;
        let page = browser
            .get(&logout_url(
                &browser,
                &[
                    ("client_id", "webapp"),
                    ("post_logout_redirect_uri", BYE),
                    ("state", "9"),
                ],
            ))
            .await;
        let answer = confirm(&browser, &page).await;
        assert_eq!(answer.status, 302, "{}", answer.body);
        assert_eq!(answer.location.as_deref(), Some("https://app.example/bye?state=9"));
        assert!(!has_sso(&browser).await);
        assert_eq!(userinfo(&app, SSO, field(&tokens, "access_token")).await.0, 401);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hint_of_another_session_than_the_browsers_asks_first_then_ends_both() {
        let app = spawn_app().await;
        sso_realm(&app).await;
        let browser = Browser::new(&app);
        let mine = login(&app, &browser).await;
        let elsewhere = Browser::new(&app);
        let theirs = login(&app, &elsewhere).await;

        let page = browser
            .get(&logout_url(&browser, &[("id_token_hint", field(&theirs, "id_token"))]))
            .await;
        assert_eq!(page.status, 200, "a confirmation, not a silent logout: {}", page.body);
        assert!(has_sso(&browser).await && has_sso(&elsewhere).await);
        let done = confirm(&browser, &page).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(!has_sso(&browser).await);
        assert!(!has_sso(&elsewhere).await);
        for tokens in [&mine, &theirs] {
            assert_eq!(userinfo(&app, SSO, field(tokens, "access_token")).await.0, 401);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_confirmation_obtained_elsewhere_cannot_log_a_browser_out() {
        let app = spawn_app().await;
        sso_realm(&app).await;
        let victim = Browser::new(&app);
        let tokens = login(&app, &victim).await;

        // The attacker loads the page in their own browser and has the victim post its form (CSRF).
        let attacker = Browser::new(&app);
        let page = attacker.get(&logout_url(&attacker, &[])).await;
        let answer = confirm(&victim, &page).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let cleared = answer
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|c| c.starts_with("KEYCLOAK_IDENTITY=;"));
        assert!(!cleared, "the victim's cookie stays");
        assert!(has_sso(&victim).await, "the victim is still logged in");
        assert_eq!(userinfo(&app, SSO, field(&tokens, "access_token")).await.0, 200);
    }
}
