//! The real Keycloak JavaScript adapter (npm `keycloak-js` 26.x, unmodified) in headless Chromium
//! against nexus: `login-required` with PKCE S256 and `responseMode: 'fragment'`, the session
//! iframe (`login-status-iframe.html`) and the third-party-cookie check (`3p-cookies/step1.html`),
//! `updateToken`, `loadUserInfo` (CORS), a silent `check-sso` on a second page load, and `logout()`.
//!
//! The package comes from `NEXUS_TEST_KEYCLOAK_JS` (the package directory, holding
//! `lib/keycloak.js`; scripts/test.sh installs it with npm), else the directory scripts/test.sh uses.
//!
//! What keycloak-js 26 does, read from its source (lib/keycloak.js), so the server side can be
//! checked against it:
//! - `init`: with `checkLoginIframe` on, an iframe (sandbox "allow-storage-access-by-user-activation
//!   allow-scripts allow-same-origin") loads `{realm}/protocol/openid-connect/3p-cookies/step1.html`
//!   and waits up to 10 s (`messageReceiveTimeout`) for a `postMessage` of `"supported"` or
//!   `"unsupported"` from that iframe's window; no message = init fails with "Timeout when waiting
//!   for 3rd party check iframe message.".
//! - Then an iframe loads `{realm}/protocol/openid-connect/login-status-iframe.html`; keycloak-js
//!   posts `"{clientId} {sessionId}"` to it (target origin = the auth server's origin; sessionId is
//!   the access token's `sid`, empty before login) and accepts only `"unchanged"`, `"changed"` or
//!   `"error"` back from that origin. Anything but "unchanged" clears the tokens (and with
//!   `login-required`, starts a new login). It asks again every `checkLoginIframeInterval` seconds
//!   and before every `updateToken`.
//! - Login: `GET {realm}/protocol/openid-connect/auth?client_id&redirect_uri=<location.href>&state=<uuid>
//!   &response_mode=fragment&response_type=code&scope=openid&nonce=<uuid>[&prompt=none]
//!   &code_challenge=<S256>&code_challenge_method=S256`; the response is read from the fragment
//!   (`code`, `state`, `session_state`, `iss`, `error`, `error_description`).
//! - Token: `fetch(POST {realm}/protocol/openid-connect/token, credentials: 'include')` with
//!   `code, grant_type=authorization_code, client_id, redirect_uri, code_verifier`
//!   (form-encoded, `Accept: application/json`): needs `Access-Control-Allow-Origin: <RP origin>`
//!   and `Access-Control-Allow-Credentials: true`. Refresh: `grant_type=refresh_token,
//!   refresh_token, client_id`, same CORS needs. The ID token's `nonce` must equal the one sent.
//! - `loadUserInfo`: `GET {realm}/protocol/openid-connect/userinfo` with `Authorization: bearer …`
//!   (lower-case scheme) and `Accept: application/json`: a CORS preflight (OPTIONS) first.
//! - `check-sso` (no silentCheckSsoRedirectUri): asks the session iframe; when it does not answer
//!   "unchanged", a top-level redirect with `prompt=none`; `error=login_required` comes back when
//!   there is no session.
//! - `logout()`: `GET {realm}/protocol/openid-connect/logout?client_id&post_logout_redirect_uri=
//!   <location.href>&id_token_hint=<id token>` (no `state`).

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::browser::{create_public_client, create_user_with_profile, html_escape, sso_realm, Browser, PublicClient};
use crate::helpers::{spawn_app, TestApp};

/// The version scripts/test.sh installs (the fallback location below depends on it).
const KEYCLOAK_JS_VERSION: &str = "26.2.4";

fn keycloak_js_dir() -> PathBuf {
    let dir = std::env::var_os("NEXUS_TEST_KEYCLOAK_JS")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| "/root".into());
            home.join(format!(
                ".cache/nexus/npm/keycloak-js-{KEYCLOAK_JS_VERSION}/node_modules/keycloak-js"
            ))
        });
    assert!(
        dir.join("lib/keycloak.js").exists(),
        "keycloak-js not found at {} (NEXUS_TEST_KEYCLOAK_JS unset or wrong). Run the suite through \
         scripts/test.sh, which installs it with npm, or `npm install --prefix ~/.cache/nexus/npm/keycloak-js-{KEYCLOAK_JS_VERSION} keycloak-js@{KEYCLOAK_JS_VERSION}`.",
        dir.display()
    );
    dir
}

struct SpaConfig {
    keycloak_js: String,
    nexus: String,
    realm: String,
    client_id: String,
}

/// The single-page app: `/keycloak.js` (the package's file, unmodified) and `/app/{onLoad}`, a page
/// that runs `keycloak.init({onLoad, pkceMethod: 'S256', responseMode: 'fragment',
/// checkLoginIframe: true})` and writes the outcome into `#status` (class `done` when settled,
/// `data-load` a per-page-load id).
struct Spa {
    base: String,
    handle: actix_web::dev::ServerHandle,
}

impl Spa {
    async fn start(app: &TestApp, realm: &str, client_id: &str) -> Self {
        let dir = keycloak_js_dir();
        let package: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).expect("keycloak-js package.json"))
                .expect("package.json");
        let version = package["version"].as_str().unwrap_or("");
        assert!(version.starts_with("26."), "keycloak-js 26.x expected, found {version}");
        let config = Arc::new(SpaConfig {
            keycloak_js: std::fs::read_to_string(dir.join("lib/keycloak.js")).expect("keycloak.js"),
            nexus: app.address.clone(),
            realm: realm.to_owned(),
            client_id: client_id.to_owned(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind SPA");
        let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let data = web::Data::from(config);
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .route("/keycloak.js", web::get().to(serve_keycloak_js))
                .route("/app/{mode}", web::get().to(serve_app))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen SPA")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { base, handle }
    }

    fn page(&self, mode: &str) -> String {
        format!("{}/app/{mode}", self.base)
    }
}

async fn serve_keycloak_js(config: web::Data<SpaConfig>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(config.keycloak_js.clone())
}

async fn serve_app(config: web::Data<SpaConfig>, mode: web::Path<String>) -> HttpResponse {
    let options = json!({
        "url": config.nexus,
        "realm": config.realm,
        "clientId": config.client_id,
    });
    let init = json!({
        "onLoad": mode.as_str(),
        "pkceMethod": "S256",
        "responseMode": "fragment",
        "checkLoginIframe": true,
        "checkLoginIframeInterval": 1,
        "enableLogging": true,
    });
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(format!(
            r#"<!doctype html>
<html><head><meta charset="utf-8"><title>SPA {mode}</title></head>
<body>
<p id="status">loading</p>
<script type="module">
import Keycloak from '/keycloak.js';
const status = document.getElementById('status');
status.dataset.load = crypto.randomUUID();
window.kcEvents = [];
window.kcLog = [];
for (const level of ['log', 'info', 'warn', 'error']) {{
  const original = console[level].bind(console);
  console[level] = (...args) => {{ window.kcLog.push(level + ': ' + args.join(' ')); original(...args); }};
}}
const keycloak = new Keycloak({options});
window.keycloak = keycloak;
keycloak.onAuthSuccess = () => window.kcEvents.push('authSuccess');
keycloak.onAuthError = (e) => window.kcEvents.push('authError ' + JSON.stringify(e));
keycloak.onAuthRefreshSuccess = () => window.kcEvents.push('refreshSuccess');
keycloak.onAuthRefreshError = () => window.kcEvents.push('refreshError');
keycloak.onAuthLogout = () => window.kcEvents.push('authLogout');
try {{
  const authenticated = await keycloak.init({init});
  status.textContent = authenticated ? 'authenticated' : 'anonymous';
}} catch (e) {{
  status.textContent = 'init failed: ' + ((e && (e.message || e.error)) || e) + ' ' + JSON.stringify(e);
}}
status.classList.add('done');
</script>
</body></html>"#,
            mode = html_escape(&mode),
        ))
}

/// Waits for the page load after `previous_load` (or any) to settle; returns (#status, load id).
async fn settled(browser: &Browser, previous_load: Option<&str>, what: &str) -> (String, String) {
    let css = match previous_load {
        Some(load) => format!("#status.done:not([data-load=\"{load}\"])"),
        None => "#status.done".to_owned(),
    };
    let element = browser.wait_for(&css, what).await;
    let status = element.text().await.expect("text");
    let load = element.attr("data-load").await.expect("attr").unwrap_or_default();
    (status, load)
}

async fn page_log(browser: &Browser) -> String {
    let log = browser
        .client
        .execute("return [window.kcEvents || [], window.kcLog || []];", vec![])
        .await
        .unwrap_or(Value::Null);
    format!("keycloak-js events and console: {log}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_js_logs_in_refreshes_reads_userinfo_checks_sso_and_logs_out() {
    let app = spawn_app().await;
    let realm = "kcjs";
    sso_realm(&app, realm, "Keycloak JS Realm").await;
    let spa = Spa::start(&app, realm, "spa").await;
    // A browser app whose users are not asked for consent (keycloak-js's usual setup); logout may
    // return to any of its redirect URIs ("+").
    create_public_client(
        &app,
        realm,
        PublicClient {
            client_id: "spa",
            name: "Single Page App",
            redirect_uris: vec![spa.page("login-required"), spa.page("check-sso")],
            post_logout_redirect_uris: "+",
            web_origins: vec![spa.base.clone()],
            consent_required: false,
        },
        None,
    )
    .await;
    create_user_with_profile(&app, realm, "alice", "alice-password-1", "alice@example.com").await;
    let browser = Browser::start().await;

    // 1. login-required: keycloak-js checks 3p cookies, sets up the session iframe, then sends
    //    the browser to nexus's login page.
    browser.goto(&spa.page("login-required")).await;
    // Either the login page comes, or init settles on the SPA (a failure, shown at once).
    browser
        .wait_for(
            "form#kc-form-login, #status.done",
            "nexus's login page, reached through keycloak-js",
        )
        .await;
    if !browser.has("form#kc-form-login").await {
        panic!("keycloak-js did not reach the login page: {}", browser.context().await);
    }
    let auth_url = browser.client.current_url().await.expect("url");
    let params: HashMap<String, String> = auth_url.query_pairs().into_owned().collect();
    assert!(
        auth_url
            .as_str()
            .starts_with(&format!("{}/realms/{realm}/protocol/openid-connect/auth", app.address)),
        "{auth_url}"
    );
    assert_eq!(params.get("client_id").map(String::as_str), Some("spa"));
    assert_eq!(params.get("response_mode").map(String::as_str), Some("fragment"));
    assert_eq!(params.get("code_challenge_method").map(String::as_str), Some("S256"));

    // 2. Login: back on the SPA, authenticated, the code read from the fragment and redeemed.
    browser.submit_login("alice", "alice-password-1").await;
    let (status, load) = settled(&browser, None, "the SPA after login").await;
    assert_eq!(status, "authenticated", "{}", page_log(&browser).await);
    let state = browser
        .eval_async(
            "return {
               authenticated: keycloak.authenticated,
               username: keycloak.tokenParsed.preferred_username,
               idUsername: keycloak.idTokenParsed.preferred_username,
               sessionId: keycloak.sessionId || null,
               hasRefresh: !!keycloak.refreshToken,
               url: location.href,
             };",
        )
        .await;
    assert_eq!(state["authenticated"], true, "{state}");
    assert_eq!(state["username"], "alice", "{state}");
    assert_eq!(state["idUsername"], "alice", "{state}");
    assert_eq!(state["hasRefresh"], true, "{state}");
    assert!(state["sessionId"].is_string(), "the access token has `sid`: {state}");
    assert_eq!(
        state["url"],
        spa.page("login-required"),
        "keycloak-js removed the response from the URL"
    );

    // 3. The session iframe, spoken to exactly as keycloak-js does: the live session is
    //    "unchanged", another session id is "changed".
    let answers = browser
        .eval_async(&format!(
            r#"const src = '{}/realms/{realm}/protocol/openid-connect/login-status-iframe.html';
               const origin = new URL(src).origin;
               const iframe = document.createElement('iframe');
               iframe.setAttribute('sandbox', 'allow-storage-access-by-user-activation allow-scripts allow-same-origin');
               iframe.style.display = 'none';
               const loaded = new Promise((resolve) => iframe.addEventListener('load', resolve));
               iframe.src = src;
               document.body.appendChild(iframe);
               await loaded;
               const ask = (message) => new Promise((resolve, reject) => {{
                 const timer = setTimeout(() => reject(new Error('no answer to ' + message)), 5000);
                 const listener = (event) => {{
                   if (event.source !== iframe.contentWindow || event.origin !== origin) return;
                   clearTimeout(timer);
                   window.removeEventListener('message', listener);
                   resolve(event.data);
                 }};
                 window.addEventListener('message', listener);
                 iframe.contentWindow.postMessage(message, origin);
               }});
               const same = await ask('spa ' + keycloak.sessionId);
               const other = await ask('spa 00000000-0000-0000-0000-000000000000');
               iframe.remove();
               return [same, other];"#,
            app.address
        ))
        .await;
    assert_eq!(
        answers,
        json!(["unchanged", "changed"]),
        "the status iframe compares the sid with the KEYCLOAK_SESSION cookie (readable by scripts, \
         on /realms/{realm}/, set at login); {}",
        page_log(&browser).await
    );

    // 4. updateToken(-1) forces a refresh (after asking the session iframe).
    let refreshed = browser
        .eval_async(
            "const before = keycloak.token;
             const refreshed = await keycloak.updateToken(-1);
             return { refreshed, changed: keycloak.token !== before,
                      username: keycloak.tokenParsed.preferred_username, authenticated: keycloak.authenticated };",
        )
        .await;
    assert_eq!(
        refreshed,
        json!({ "refreshed": true, "changed": true, "username": "alice", "authenticated": true }),
        "{}",
        page_log(&browser).await
    );

    // 5. loadUserInfo: a cross-origin fetch with a bearer token (CORS preflight, webOrigins).
    let info = browser
        .eval_async("const info = await keycloak.loadUserInfo(); return { info, subject: keycloak.subject };")
        .await;
    assert_eq!(info["info"]["preferred_username"], "alice", "{info}");
    assert_eq!(info["info"]["email"], "alice@example.com", "{info}");
    assert_eq!(info["info"]["sub"], info["subject"], "{info}");

    // 6. A second page load with check-sso: authenticated silently (the session iframe, then a
    //    prompt=none round trip), never showing the login page.
    browser.goto(&spa.page("check-sso")).await;
    let (status, load) = settled(&browser, Some(&load), "the check-sso page").await;
    assert_eq!(
        status,
        "authenticated",
        "{}\n{}",
        page_log(&browser).await,
        browser.context().await
    );
    let state = browser
        .eval_async(
            "return { username: keycloak.tokenParsed.preferred_username, refreshToken: keycloak.refreshToken };",
        )
        .await;
    assert_eq!(state["username"], "alice");
    let refresh_token = state["refreshToken"].as_str().expect("refresh token").to_owned();

    // The periodic session check (every second here) keeps the session: still authenticated
    // after a forced refresh, which asks the iframe first.
    let still = browser
        .eval_async(
            "await keycloak.updateToken(-1); return [keycloak.authenticated, window.kcEvents.includes('authLogout')];",
        )
        .await;
    assert_eq!(still, json!([true, false]), "{}", page_log(&browser).await);

    // 7. logout(): nexus ends the session and sends the browser back to the page, which is then
    //    anonymous.
    browser.eval_async("await keycloak.logout(); return null;").await;
    let (status, _) = settled(&browser, Some(&load), "the SPA after logout").await;
    assert_eq!(
        status,
        "anonymous",
        "{}\n{}",
        page_log(&browser).await,
        browser.context().await
    );
    assert_eq!(
        browser.client.current_url().await.expect("url").as_str(),
        spa.page("check-sso")
    );

    // The session's refresh tokens died with it.
    let resp = app
        .http
        .post(app.token_url(realm))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("client_id", "spa"),
        ])
        .send()
        .await
        .expect("refresh");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    // 8. login-required again: the login page is back.
    browser.goto(&spa.page("login-required")).await;
    browser
        .wait_for("form#kc-form-login", "the login page after logout")
        .await;

    browser.close().await;
    spa.handle.stop(false).await;
}
