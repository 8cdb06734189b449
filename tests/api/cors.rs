//! CORS on the endpoints apps call from browsers (token, userinfo, revoke, logout, certs), and the
//! pages keycloak-js frames (session-status iframe and its `init` check, third-party-cookie check).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{spawn_app, TestApp};
use crate::token_endpoint::create_client;
use crate::userinfo::{
    field, header, oidc_realm, oidc_url, password_grant, ALICE, ALICE_PASSWORD, API, API_SECRET, APP_ORIGIN, REALM, SPA,
};

const EVIL: &str = "https://evil.example";

/// Asserts `origin` may read the response with credentials.
fn assert_allowed(headers: &HeaderMap, origin: &str) {
    assert_eq!(
        header(headers, "access-control-allow-origin"),
        Some(origin),
        "{headers:?}"
    );
    assert_eq!(header(headers, "access-control-allow-credentials"), Some("true"));
    assert!(
        header(headers, "vary").is_some_and(|v| v.contains("Origin")),
        "{headers:?}"
    );
}

fn assert_denied(headers: &HeaderMap) {
    assert!(header(headers, "access-control-allow-origin").is_none(), "{headers:?}");
    assert!(
        header(headers, "access-control-allow-credentials").is_none(),
        "{headers:?}"
    );
}

async fn token_request(app: &TestApp, origin: Option<&str>, form: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.http.post(app.token_url(REALM)).form(form);
    if let Some(origin) = origin {
        req = req.header("Origin", origin);
    }
    req.send().await.expect("token")
}

async fn preflight(app: &TestApp, endpoint: &str, origin: &str, method: &str) -> reqwest::Response {
    app.http
        .request(Method::OPTIONS, oidc_url(app, REALM, endpoint))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .expect("preflight")
}

fn password_form(client_id: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "password"),
        ("client_id", client_id),
        ("username", ALICE),
        ("password", ALICE_PASSWORD),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_answers_the_origins_of_the_requesting_client() {
    let app = spawn_app().await;
    oidc_realm(&app).await;

    let resp = token_request(&app, Some(APP_ORIGIN), &password_form(SPA)).await;
    assert_eq!(resp.status(), 200, "the body still reaches the handler");
    assert_allowed(resp.headers(), APP_ORIGIN);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert!(body["access_token"].is_string());

    // Errors are readable by the app too (a wrong password is the app's to show).
    let mut form = password_form(SPA);
    form[3] = ("password", "wrong");
    let resp = token_request(&app, Some(APP_ORIGIN), &form).await;
    assert_eq!(resp.status(), 401);
    assert_allowed(resp.headers(), APP_ORIGIN);

    // Unknown origin, no origin, unknown client: no CORS headers.
    let resp = token_request(&app, Some(EVIL), &password_form(SPA)).await;
    assert_eq!(resp.status(), 200);
    assert_denied(resp.headers());
    assert!(header(resp.headers(), "vary").is_some_and(|v| v.contains("Origin")));
    let resp = token_request(&app, None, &password_form(SPA)).await;
    assert_denied(resp.headers());
    let resp = token_request(&app, Some(APP_ORIGIN), &password_form("nobody")).await;
    assert_eq!(resp.status(), 401);
    assert_denied(resp.headers());

    // `+`: the origins of the redirect URIs; the client is named by HTTP Basic here.
    let resp = app
        .http
        .post(app.token_url(REALM))
        .header("Origin", "https://api.example")
        .basic_auth(API, Some(API_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 200);
    assert_allowed(resp.headers(), "https://api.example");

    // `*`: any origin may read, never with credentials.
    create_client(
        &app,
        REALM,
        json!({ "clientId": "anyone", "publicClient": true, "directAccessGrantsEnabled": true, "webOrigins": ["*"] }),
    )
    .await;
    let resp = token_request(&app, Some(EVIL), &password_form("anyone")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(resp.headers(), "access-control-allow-origin"), Some("*"));
    assert!(header(resp.headers(), "access-control-allow-credentials").is_none());

    // An oversized body is still refused by the handler.
    let big = "x".repeat(70 * 1024);
    let resp = token_request(
        &app,
        Some(APP_ORIGIN),
        &[("grant_type", "password"), ("client_id", SPA), ("pad", &big)],
    )
    .await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflights_are_answered_for_origins_a_client_of_the_realm_registered() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    for endpoint in ["token", "userinfo", "revoke", "logout"] {
        let resp = preflight(&app, endpoint, APP_ORIGIN, "POST").await;
        assert_eq!(resp.status(), 200, "{endpoint}");
        assert_allowed(resp.headers(), APP_ORIGIN);
        let methods = header(resp.headers(), "access-control-allow-methods").expect("methods");
        assert!(methods.contains("POST"), "{endpoint}: {methods}");
        let allowed = header(resp.headers(), "access-control-allow-headers").expect("headers");
        assert!(allowed.contains("Authorization"), "{allowed}");
        assert_eq!(header(resp.headers(), "access-control-max-age"), Some("3600"));

        let resp = preflight(&app, endpoint, EVIL, "POST").await;
        assert_eq!(resp.status(), 200, "{endpoint}");
        assert_denied(resp.headers());
    }
    // `+` origins count; an origin of another realm's client does not.
    let resp = preflight(&app, "userinfo", "https://api.example", "GET").await;
    assert_allowed(resp.headers(), "https://api.example");
    app.create_realm("other").await;
    create_client(
        &app,
        "other",
        json!({ "clientId": "elsewhere", "publicClient": true, "webOrigins": ["https://elsewhere.example"] }),
    )
    .await;
    let resp = preflight(&app, "userinfo", "https://elsewhere.example", "GET").await;
    assert_denied(resp.headers());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_revoke_and_logout_answer_the_origins_of_their_client() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, None).await;
    let access = field(&tokens, "access_token");

    // userinfo: the client the token was issued to.
    for (origin, allowed) in [(APP_ORIGIN, true), (EVIL, false)] {
        let resp = app
            .http
            .get(oidc_url(&app, REALM, "userinfo"))
            .header("Origin", origin)
            .bearer_auth(access)
            .send()
            .await
            .expect("userinfo");
        assert_eq!(resp.status(), 200);
        if allowed {
            assert_allowed(resp.headers(), origin);
        } else {
            assert_denied(resp.headers());
        }
    }
    // …also on a 401, so that the app can see it.
    let resp = app
        .http
        .get(oidc_url(&app, REALM, "userinfo"))
        .header("Origin", APP_ORIGIN)
        .bearer_auth(format!("{access}x"))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(resp.status(), 401);
    assert_allowed(resp.headers(), APP_ORIGIN);

    // revoke and back-channel logout: the client in the form.
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "revoke"))
        .header("Origin", APP_ORIGIN)
        .form(&[("client_id", SPA), ("token", access)])
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 200);
    assert_allowed(resp.headers(), APP_ORIGIN);
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "logout"))
        .header("Origin", EVIL)
        .form(&[("client_id", SPA), ("refresh_token", field(&tokens, "refresh_token"))])
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 204);
    assert_denied(resp.headers());
    let other = password_grant(&app, SPA, None).await;
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "logout"))
        .header("Origin", APP_ORIGIN)
        .form(&[("client_id", SPA), ("refresh_token", field(&other, "refresh_token"))])
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 204);
    assert_allowed(resp.headers(), APP_ORIGIN);

    // Introspection is for servers: no CORS.
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "token/introspect"))
        .header("Origin", "https://api.example")
        .basic_auth(API, Some(API_SECRET))
        .form(&[("token", access)])
        .send()
        .await
        .expect("introspect");
    assert_denied(resp.headers());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_is_readable_by_any_origin_without_credentials() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let resp = app
        .http
        .get(oidc_url(&app, REALM, "certs"))
        .header("Origin", EVIL)
        .send()
        .await
        .expect("certs");
    assert_eq!(resp.status(), 200);
    assert_eq!(header(resp.headers(), "access-control-allow-origin"), Some("*"));
    assert!(header(resp.headers(), "access-control-allow-credentials").is_none());
    let resp = app
        .http
        .get(oidc_url(&app, REALM, "certs"))
        .send()
        .await
        .expect("certs");
    assert_denied(resp.headers());
    assert_eq!(resp.status(), 200);
}

/// The inline script of a framed page and its CSP: the policy must allow exactly that script.
fn assert_framed_page(headers: &HeaderMap, body: &str) {
    assert!(header(headers, "content-type").is_some_and(|v| v.starts_with("text/html")));
    assert!(
        header(headers, "x-frame-options").is_none(),
        "apps frame this page: {headers:?}"
    );
    let csp = header(headers, "content-security-policy").expect("CSP");
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let open = r#"<script type="module">"#;
    let start = body.find(open).expect("inline script") + open.len();
    let end = start + body[start..].find("</script>").expect("end of script");
    let hash = STANDARD.encode(Sha256::digest(&body.as_bytes()[start..end]));
    assert!(csp.contains(&format!("script-src 'sha256-{hash}'")), "{csp}");
}

async fn get_page(app: &TestApp, realm: &str, path: &str) -> (u16, HeaderMap, String) {
    let resp = app.http.get(oidc_url(app, realm, path)).send().await.expect("page");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_js_iframe_pages_are_served_frameable_with_their_script_allowed() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    for path in [
        "login-status-iframe.html",
        "3p-cookies/step1.html",
        "3p-cookies/step2.html",
    ] {
        let (status, headers, body) = get_page(&app, REALM, path).await;
        assert_eq!(status, 200, "{path}");
        assert_framed_page(&headers, &body);
    }
    let (_, _, body) = get_page(&app, REALM, "login-status-iframe.html").await;
    for needle in ["KEYCLOAK_SESSION", "/init", "unchanged", "changed", "error", "SHA-256"] {
        assert!(body.contains(needle), "{needle}");
    }
    let (_, _, body) = get_page(&app, REALM, "3p-cookies/step1.html").await;
    assert!(body.contains("step2.html") && body.contains("KEYCLOAK_3P_COOKIE"));
    let (status, _, _) = get_page(&app, "nowhere", "login-status-iframe.html").await;
    assert_eq!(status, 404);
    // Other pages keep the strict defaults.
    let (_, headers, _) = get_page(&app, REALM, "logout").await;
    assert_eq!(header(&headers, "x-frame-options"), Some("DENY"));
    assert!(header(&headers, "content-security-policy").is_some_and(|v| v.contains("frame-ancestors 'none'")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_iframe_init_accepts_only_registered_origins() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    create_client(
        &app,
        REALM,
        json!({ "clientId": "anyone", "publicClient": true, "webOrigins": ["*"] }),
    )
    .await;
    let init = |client_id: &'static str, origin: String| {
        let url = oidc_url(&app, REALM, "login-status-iframe.html/init");
        let http = app.http.clone();
        async move {
            http.get(url)
                .query(&[("client_id", client_id), ("origin", origin.as_str())])
                .send()
                .await
                .expect("init")
                .status()
                .as_u16()
        }
    };
    assert_eq!(init(SPA, APP_ORIGIN.into()).await, 204);
    assert_eq!(init(SPA, EVIL.into()).await, 403);
    assert_eq!(
        init(API, "https://api.example".into()).await,
        204,
        "+ = redirect URIs' origins"
    );
    assert_eq!(init("anyone", EVIL.into()).await, 204, "*");
    assert_eq!(init("nobody", APP_ORIGIN.into()).await, 403);
    assert_eq!(init(SPA, app.address.clone()).await, 204, "nexus's own origin");
    let resp = app
        .http
        .get(oidc_url(&app, REALM, "login-status-iframe.html/init"))
        .send()
        .await
        .expect("init");
    assert_eq!(resp.status(), 403);
}

/// The browser to drive, when this machine has one (`scripts/test.sh` installs it).
fn chromium() -> Option<String> {
    std::env::var("NEXUS_TEST_CHROMIUM").ok().or_else(|| {
        std::path::Path::new("/usr/bin/chromium")
            .exists()
            .then(|| "/usr/bin/chromium".to_owned())
    })
}

/// Serves `html` at `/app` from another origin (another port of 127.0.0.1), setting `cookie`.
async fn serve_app_page(html: String, cookie: String) -> (String, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let server = actix_web::HttpServer::new(move || {
        let (html, cookie) = (html.clone(), cookie.clone());
        actix_web::App::new().route(
            "/app",
            actix_web::web::get().to(move || {
                let (html, cookie) = (html.clone(), cookie.clone());
                async move {
                    actix_web::HttpResponse::Ok()
                        .insert_header(("Set-Cookie", cookie))
                        .content_type("text/html; charset=utf-8")
                        .body(html)
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}"), handle)
}

/// Loads `url` in headless Chromium and returns the text of `<pre id="out">` once scripts ran.
async fn browser_output(browser: String, url: String) -> String {
    tokio::task::spawn_blocking(move || {
        let profile = tempfile::tempdir().expect("profile dir");
        let output = std::process::Command::new("timeout")
            .arg("90")
            .arg(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--virtual-time-budget=15000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--dump-dom", &url])
            .output()
            .expect("run chromium");
        let dom = String::from_utf8_lossy(&output.stdout).into_owned();
        let start = dom.find(r#"<pre id="out">"#).map(|i| i + r#"<pre id="out">"#.len());
        let end = dom.find("</pre>");
        match (start, end) {
            (Some(start), Some(end)) if start <= end => dom[start..end].to_owned(),
            _ => panic!("no output in {dom}\n{}", String::from_utf8_lossy(&output.stderr)),
        }
    })
    .await
    .expect("join")
}

/// keycloak-js's conversation with the status iframe and the cookie check, in a real browser: an app
/// on another origin frames the pages and posts the messages keycloak-js posts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_app_gets_keycloak_js_answers_from_the_framed_pages() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no Chromium (scripts/test.sh installs it)");
        return;
    };
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, None).await;
    let claims = app.verify(REALM, field(&tokens, "access_token")).await.expect("claims");
    let sid = claims["sid"].as_str().expect("sid").to_owned();
    let user = claims["sub"].as_str().expect("sub").to_owned();
    // The cookie the login sets, through the function the login pages call.
    let cookie_value = nexus::http::cookies::session_status_cookie_value(REALM, &user, &sid);

    let script = r#"
const out = [];
const base = NEXUS + "/realms/oidc/protocol/openid-connect/";
function frame(path) {
  const f = document.createElement("iframe");
  f.src = base + path;
  document.body.appendChild(f);
  return f;
}
function next(f) {
  return new Promise((resolve) => {
    const listener = (e) => {
      if (e.source !== f.contentWindow) return;
      window.removeEventListener("message", listener);
      resolve(e.data);
    };
    window.addEventListener("message", listener);
  });
}
function loaded(f) { return new Promise((resolve) => f.addEventListener("load", resolve)); }
async function ask(f, message) {
  const answer = next(f);
  f.contentWindow.postMessage(message, NEXUS);
  return answer;
}
(async () => {
  const status = frame("login-status-iframe.html");
  await loaded(status);
  out.push(await ask(status, "browser-app " + SID));
  out.push(await ask(status, "browser-app another-session"));
  out.push(await ask(status, "browser-app "));
  out.push(await ask(status, "spa " + SID));
  document.cookie = "KEYCLOAK_SESSION=; Path=/realms/oidc/; Max-Age=0";
  out.push(await ask(status, "browser-app " + SID));
  out.push(await ask(status, "browser-app "));
  const refused = frame("login-status-iframe.html");
  await loaded(refused);
  out.push(await ask(refused, "spa " + SID));
  const cookies = frame("3p-cookies/step1.html");
  out.push(await next(cookies));
  document.getElementById("out").textContent = out.join(",");
})().catch((e) => { document.getElementById("out").textContent = "failed: " + e; });
"#;
    let html = format!(
        "<!doctype html><html><body><pre id=\"out\">pending</pre><script>const NEXUS = {nexus:?}; const SID = {sid:?};{script}</script></body></html>",
        nexus = app.address,
    );
    let cookie = format!("KEYCLOAK_SESSION={cookie_value}; Path=/realms/oidc/");
    let (origin, server) = serve_app_page(html, cookie).await;
    create_client(
        &app,
        REALM,
        json!({ "clientId": "browser-app", "publicClient": true, "webOrigins": [origin] }),
    )
    .await;

    let output = browser_output(browser, format!("{origin}/app")).await;
    server.stop(true).await;
    assert_eq!(
        output,
        [
            "unchanged", // the cookie is the hash of the token's sid
            "changed",   // another session
            "changed",   // the app has no session, the browser has one
            "error",     // another client than the one the iframe checked
            "changed",   // logged out: no cookie, but the app still has a session
            "unchanged", // neither has one
            "error",     // spa did not register the app's origin: init answers 403
            "supported", // the cookie check, same-site here
        ]
        .join(",")
    );
}
