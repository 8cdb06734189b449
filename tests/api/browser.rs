//! Browser single sign-on end to end: headless Chromium, driven through WebDriver (chromedriver +
//! fantoccini), logs in on nexus's login page, consents, and lands on a small relying party that
//! runs inside the test (an actix-web server) and redeems the code with PKCE at the token endpoint.
//!
//! Also home of what the other browser-flow tests share (`oidc_rp.rs`, `keycloak_js.rs`): the
//! chromedriver harness (`Browser`), the realm fixture (`sso_realm`, `create_public_client`,
//! `create_user_with_profile`), PKCE helpers and a tiny HTML form reader.
//!
//! chromedriver and chromium come from `NEXUS_TEST_CHROMEDRIVER` / `NEXUS_TEST_CHROMIUM` (set by
//! scripts/test.sh), else `/usr/bin/chromedriver` / `/usr/bin/chromium`. A missing driver fails the
//! test with a message: it is never skipped.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fantoccini::{Client, ClientBuilder, Locator};
use rand::RngCore;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{location_id, spawn_app, verify_with_jwks, TestApp};

/// How long a page may take to appear after a navigation or a click.
pub const PAGE_WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// chromedriver + Chromium
// ---------------------------------------------------------------------------------------------

fn tool_path(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.exists(),
        "{} not found ({var} unset or wrong, default {default}). The browser tests need Chromium and \
         chromedriver: run the suite through scripts/test.sh (it installs the Debian packages chromium and \
         chromium-driver), or `apt-get install chromium chromium-driver`.",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A chromedriver process; dropping it kills it (Browser's Drop has ended Chromium before).
struct Chromedriver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Chromedriver {
    fn start(dir: &std::path::Path) -> Self {
        let driver = tool_path("NEXUS_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = free_port();
        let log = dir.join("chromedriver.log");
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        Self { child, port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The end of chromedriver's log (it lives in the profile directory, removed with the test).
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("<no log: {e}>"));
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Waits until chromedriver answers `/status` with `ready: true`.
    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver exited at start ({status}); its log:\n{}", self.log_tail());
            }
            if let Ok(resp) = http.get(format!("{}/status", self.url())).send().await {
                if let Ok(body) = resp.json::<Value>().await {
                    if body["value"]["ready"] == true {
                        return;
                    }
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "chromedriver not ready after 15 s; its log:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Processes whose command line mentions `needle` (our unique profile directory): the Chromium
/// processes of this test, which chromedriver starts in a process group of their own.
fn pids_mentioning(needle: &str) -> Vec<u32> {
    assert!(
        needle.len() > 16 && needle.contains("user-data"),
        "unsafe needle {needle:?}"
    );
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// Sends `sig` to each of `pids`, one positive process id at a time (never a group, never -1).
fn signal(pids: &[u32], sig: &str) {
    let me = std::process::id();
    for pid in pids.iter().filter(|&&pid| pid > 1 && pid != me) {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// `DELETE /session/{id}` with a blocking socket (usable from Drop, while the runtime unwinds).
fn delete_session_blocking(port: u16, session: &str) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
}

/// A headless Chromium with a fresh profile. Dropping it (also when a test panics) ends the
/// WebDriver session, kills whatever Chromium process is left of this profile, then chromedriver.
pub struct Browser {
    pub client: Client,
    session: Option<String>,
    user_data: String,
    driver: Chromedriver,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            delete_session_blocking(self.driver.port, &session);
        }
        let started = Instant::now();
        let mut left = pids_mentioning(&self.user_data);
        signal(&left, "TERM");
        while !left.is_empty() && started.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(50));
            left = pids_mentioning(&self.user_data);
        }
        signal(&left, "KILL");
        // `driver` is dropped after this: chromedriver is killed.
    }
}

impl Browser {
    pub async fn start() -> Self {
        let profile = tempfile::tempdir().expect("profile dir");
        let chromium = tool_path("NEXUS_TEST_CHROMIUM", "/usr/bin/chromium");
        let mut driver = Chromedriver::start(profile.path());
        driver.wait_ready().await;
        let user_data = profile.path().join("user-data").display().to_string();
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-crash-reporter",
                    "--password-store=basic",
                    "--window-size=1024,768",
                    format!("--user-data-dir={user_data}"),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "WebDriver session with Chromium failed: {e}; chromedriver's log:\n{}",
                    driver.log_tail()
                )
            });
        let session = client.session_id().await.ok().flatten();
        Self {
            client,
            session,
            user_data,
            driver,
            _profile: profile,
        }
    }

    /// Ends the WebDriver session (Chromium exits); Drop then cleans up whatever is left.
    pub async fn close(mut self) {
        if tokio::time::timeout(Duration::from_secs(10), self.client.clone().close())
            .await
            .is_ok_and(|r| r.is_ok())
        {
            self.session = None;
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    /// The current URL and the page's HTML (cut), for failure messages.
    pub async fn context(&self) -> String {
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|e| format!("<no url: {e}>"));
        let mut source = self
            .client
            .source()
            .await
            .unwrap_or_else(|e| format!("<no source: {e}>"));
        if source.len() > 6000 {
            let mut cut = 6000;
            while !source.is_char_boundary(cut) {
                cut -= 1;
            }
            source.truncate(cut);
            source.push('…');
        }
        // Pages that keep a log for tests (the keycloak-js page does) add it.
        let log = self
            .client
            .execute("return window.kcLog ? [window.kcEvents, window.kcLog] : null;", vec![])
            .await
            .unwrap_or(Value::Null);
        let log = if log.is_null() {
            String::new()
        } else {
            format!("\n--- page log ---\n{log}")
        };
        format!("at {url}\n--- page ---\n{source}\n--- end of page ---{log}")
    }

    /// Waits (explicitly, up to PAGE_WAIT) for an element; fails with the page it is on.
    pub async fn wait_for(&self, css: &str, what: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(PAGE_WAIT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("{what}: `{css}` did not appear ({e}) {}", self.context().await),
        }
    }

    pub async fn has(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
            .is_empty()
    }

    pub async fn text_of(&self, css: &str, what: &str) -> String {
        let element = self.wait_for(css, what).await;
        element.text().await.expect("text").trim().to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.wait_for(css, "input field").await;
        element.clear().await.expect("clear");
        element.send_keys(text).await.expect("send_keys");
    }

    pub async fn click(&self, css: &str, what: &str) {
        let element = self.wait_for(css, what).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {what} (`{css}`): {e}"));
    }

    /// Fills nexus's login form (`#kc-form-login`) and submits it.
    pub async fn submit_login(&self, username: &str, password: &str) {
        let form = self.wait_for("form#kc-form-login", "the login page").await;
        self.type_into("#username", username).await;
        self.type_into("#password", password).await;
        self.click("#kc-login", "the login button").await;
        self.wait_until_gone(form, "the submitted login page").await;
    }

    /// Waits until `element`'s page has been replaced (the element is stale), so that what is
    /// looked up next is on the new page, even when the new page has the same ids.
    pub async fn wait_until_gone(&self, element: fantoccini::elements::Element, what: &str) {
        let deadline = std::time::Instant::now() + PAGE_WAIT;
        loop {
            match element.is_displayed().await {
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference =>
                {
                    return
                }
                Err(_) => return,
                Ok(_) if std::time::Instant::now() > deadline => {
                    panic!("{what}: the page was not replaced {}", self.context().await)
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Saves a screenshot of the page as `{dir}/{name}.png`; returns its path.
    pub async fn save_screenshot(&self, dir: &std::path::Path, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Runs `script` (an async function body: it may `await`; its value is returned) in the page.
    pub async fn eval_async(&self, script: &str) -> Value {
        let wrapped = format!(
            "const done = arguments[arguments.length - 1];
             (async () => {{ {script} }})().then(
               (value) => done({{ ok: value === undefined ? null : value }}),
               (e) => done({{ err: String((e && (e.message || e.error)) || e) + ' ' + JSON.stringify(e) }}));"
        );
        let out = self
            .client
            .execute_async(&wrapped, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"));
        if let Some(err) = out.get("err") {
            panic!("script threw {err}\n{script}\n{}", self.context().await);
        }
        out["ok"].clone()
    }
}

/// Where the browser tests leave screenshots for a person to look at: `NEXUS_TEST_SCREENSHOTS`,
/// else `$TMPDIR/nexus-screenshots` (created).
pub fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("NEXUS_TEST_SCREENSHOTS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("nexus-screenshots"));
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// A folder of `screenshot_dir()` for one test's series, per storage stack (`{name}-{stack}`), so
/// the two runs of `scripts/test.sh` do not overwrite each other.
pub fn screenshot_series(name: &str) -> PathBuf {
    let dir = screenshot_dir().join(format!("{name}-{}", crate::helpers::stack()));
    std::fs::create_dir_all(&dir).expect("screenshot series dir");
    dir
}

// ---------------------------------------------------------------------------------------------
// Fixtures shared by the browser-flow tests
// ---------------------------------------------------------------------------------------------

pub const SCOPE_NAME: &str = "read:users";
pub const SCOPE_DESCRIPTION: &str = "Read user profiles";

/// A realm with a display name and the optional client scope `read:users` ("Read user profiles");
/// returns the scope's id.
pub async fn sso_realm(app: &TestApp, realm: &str, display_name: &str) -> String {
    let resp = app
        .admin(
            Method::POST,
            "/admin/realms",
            Some(json!({ "realm": realm, "enabled": true, "displayName": display_name })),
        )
        .await;
    assert_eq!(resp.status(), 201, "create realm {realm}");
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/client-scopes"),
            Some(json!({
                "name": SCOPE_NAME,
                "description": SCOPE_DESCRIPTION,
                "protocol": "openid-connect",
                "attributes": { "include.in.token.scope": "true", "display.on.consent.screen": "true" },
            })),
        )
        .await;
    assert_eq!(resp.status(), 201, "create client scope {SCOPE_NAME}");
    location_id(&resp)
}

/// Creates a client from `repr` (Keycloak's ClientRepresentation), links the optional scope
/// `scope_id` to it when given; returns the client's internal id.
pub async fn create_client(app: &TestApp, realm: &str, repr: Value, scope_id: Option<&str>) -> String {
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/clients"),
            Some(repr.clone()),
        )
        .await;
    assert_eq!(resp.status(), 201, "create client {repr}");
    let id = location_id(&resp);
    if let Some(scope_id) = scope_id {
        let resp = app
            .admin(
                Method::PUT,
                &format!("/admin/realms/{realm}/clients/{id}/optional-client-scopes/{scope_id}"),
                None,
            )
            .await;
        assert_eq!(resp.status(), 204, "link {SCOPE_NAME} to {repr}");
    }
    id
}

/// A public browser client (standard flow, PKCE S256), as Keycloak's ClientRepresentation puts it.
pub struct PublicClient<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub redirect_uris: Vec<String>,
    /// Keycloak's `post.logout.redirect.uris` attribute (`##`-separated, `+` = the redirect URIs).
    pub post_logout_redirect_uris: &'a str,
    pub web_origins: Vec<String>,
    pub consent_required: bool,
}

/// Creates `client`, linking the optional scope `scope_id` when given; returns its internal id.
pub async fn create_public_client(
    app: &TestApp,
    realm: &str,
    client: PublicClient<'_>,
    scope_id: Option<&str>,
) -> String {
    create_client(
        app,
        realm,
        json!({
            "clientId": client.client_id,
            "name": client.name,
            "enabled": true,
            "publicClient": true,
            "standardFlowEnabled": true,
            "directAccessGrantsEnabled": false,
            "consentRequired": client.consent_required,
            "redirectUris": client.redirect_uris,
            "webOrigins": client.web_origins,
            "attributes": {
                "post.logout.redirect.uris": client.post_logout_redirect_uris,
                "pkce.code.challenge.method": "S256",
            },
        }),
        scope_id,
    )
    .await
}

/// A user with a password, an email and a name; returns the user's id.
pub async fn create_user_with_profile(
    app: &TestApp,
    realm: &str,
    username: &str,
    password: &str,
    email: &str,
) -> String {
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/users"),
            Some(json!({
                "username": username,
                "enabled": true,
                "email": email,
                "emailVerified": true,
                "firstName": "Alice",
                "lastName": "Liddell",
                "credentials": [{ "type": "password", "value": password, "temporary": false }],
            })),
        )
        .await;
    assert_eq!(resp.status(), 201, "create user {username}");
    location_id(&resp)
}

// ---------------------------------------------------------------------------------------------
// PKCE, randomness, HTML
// ---------------------------------------------------------------------------------------------

pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// (verifier, S256 challenge) as RFC 7636 defines them.
pub fn pkce_pair() -> (String, String) {
    let verifier = random_token(48);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Decodes the character references askama and friends produce (`&amp;`, `&#x2f;`, `&#39;`, …).
pub fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|&e| e <= 12) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if entity.starts_with("#x") || entity.starts_with("#X") => {
                u32::from_str_radix(&entity[2..], 16).ok().and_then(char::from_u32)
            }
            _ if entity.starts_with('#') => entity[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The attributes of one start tag (`<input a="b" c='d' e>`), names lower-cased, values unescaped.
fn tag_attributes(tag: &str) -> HashMap<String, String> {
    let mut attrs = HashMap::new();
    let inner = tag.trim_start_matches('<');
    let inner = inner.trim_end_matches('>').trim_end_matches('/');
    // Skip the tag name.
    let mut rest = inner.trim_start();
    rest = rest.trim_start_matches(|c: char| !c.is_whitespace());
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let name_end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        if let Some(after_eq) = rest.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let (value, remaining) = match after_eq.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after_eq[1..];
                    let end = body.find(q).unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after_eq.find(char::is_whitespace).unwrap_or(after_eq.len());
                    (&after_eq[..end], &after_eq[end..])
                }
            };
            attrs.insert(name, html_unescape(value));
            rest = remaining;
        } else {
            attrs.insert(name, String::new());
        }
    }
    attrs
}

/// A form found in an HTML page: its action and the fields a browser would send (inputs with a
/// name, except unchecked boxes and submit buttons: the caller adds the button it "clicks").
#[derive(Debug, Clone)]
pub struct HtmlForm {
    pub action: String,
    pub method: String,
    pub fields: Vec<(String, String)>,
    /// Every `<input>`'s attributes, in order (for assertions on types and ids).
    pub inputs: Vec<HashMap<String, String>>,
}

impl HtmlForm {
    /// The first `<form>` whose start tag satisfies `pick` (e.g. has `id="kc-form-login"`).
    pub fn find(html: &str, pick: impl Fn(&HashMap<String, String>) -> bool) -> Option<HtmlForm> {
        let lower = html.to_ascii_lowercase();
        let mut from = 0;
        while let Some(start) = lower[from..].find("<form").map(|i| i + from) {
            let tag_end = lower[start..].find('>').map(|i| i + start)?;
            let attrs = tag_attributes(&html[start..=tag_end]);
            let body_end = lower[tag_end..]
                .find("</form")
                .map(|i| i + tag_end)
                .unwrap_or(html.len());
            if pick(&attrs) {
                let body = &html[tag_end + 1..body_end];
                let body_lower = &lower[tag_end + 1..body_end];
                let mut inputs = Vec::new();
                let mut at = 0;
                while let Some(i) = body_lower[at..].find("<input").map(|i| i + at) {
                    let end = body_lower[i..].find('>').map(|e| e + i).unwrap_or(body.len() - 1);
                    inputs.push(tag_attributes(&body[i..=end]));
                    at = end + 1;
                }
                let mut fields: Vec<(String, String)> = inputs
                    .iter()
                    .filter(|a| a.contains_key("name"))
                    .filter(|a| match a.get("type").map(|t| t.to_ascii_lowercase()).as_deref() {
                        Some("submit" | "button" | "image" | "reset") => false,
                        Some("checkbox" | "radio") => a.contains_key("checked"),
                        _ => true,
                    })
                    .map(|a| (a["name"].clone(), a.get("value").cloned().unwrap_or_default()))
                    .collect();
                fields.extend(textareas_and_selects(body, body_lower));
                return Some(HtmlForm {
                    action: attrs.get("action").cloned().unwrap_or_default(),
                    method: attrs.get("method").cloned().unwrap_or_else(|| "get".into()),
                    fields,
                    inputs,
                });
            }
            from = tag_end + 1;
        }
        None
    }

    pub fn by_id(html: &str, id: &str) -> Option<HtmlForm> {
        Self::find(html, |a| a.get("id").map(String::as_str) == Some(id))
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.fields.retain(|(n, _)| n != name);
        self.fields.push((name.to_owned(), value.to_owned()));
    }

    pub fn input_by_id(&self, id: &str) -> Option<&HashMap<String, String>> {
        self.inputs.iter().find(|a| a.get("id").map(String::as_str) == Some(id))
    }
}

/// What a browser sends for a form's `<textarea>`s (their text) and `<select>`s (the selected
/// option, else the first), by name.
fn textareas_and_selects(body: &str, body_lower: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = body_lower[at..].find("<textarea").map(|i| i + at) {
        let Some(open_end) = body_lower[i..].find('>').map(|e| e + i) else {
            break;
        };
        let close = body_lower[open_end..]
            .find("</textarea")
            .map(|c| c + open_end)
            .unwrap_or(body.len());
        let attrs = tag_attributes(&body[i..=open_end]);
        if let Some(name) = attrs.get("name") {
            out.push((name.clone(), html_unescape(&body[open_end + 1..close])));
        }
        at = close;
    }
    at = 0;
    while let Some(i) = body_lower[at..].find("<select").map(|i| i + at) {
        let Some(open_end) = body_lower[i..].find('>').map(|e| e + i) else {
            break;
        };
        let close = body_lower[open_end..]
            .find("</select")
            .map(|c| c + open_end)
            .unwrap_or(body.len());
        let attrs = tag_attributes(&body[i..=open_end]);
        let mut first = None;
        let mut selected = None;
        let mut o = open_end;
        while let Some(j) = body_lower[o..close].find("<option").map(|j| j + o) {
            let Some(end) = body_lower[j..].find('>').map(|e| e + j) else {
                break;
            };
            let option = tag_attributes(&body[j..=end]);
            let value = option.get("value").cloned().unwrap_or_default();
            if first.is_none() {
                first = Some(value.clone());
            }
            if option.contains_key("selected") && selected.is_none() {
                selected = Some(value);
            }
            o = end + 1;
        }
        if let (Some(name), Some(value)) = (attrs.get("name"), selected.or(first)) {
            out.push((name.clone(), value));
        }
        at = close;
    }
    out
}

/// The text inside the element with `id` (tags stripped, entities decoded, whitespace collapsed).
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let needle = format!("id=\"{id}\"");
    let at = html.find(&needle)?;
    let open_end = html[at..].find('>')? + at + 1;
    let tag_start = html[..at].rfind('<')?;
    let tag_name: String = html[tag_start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let close = html[open_end..].find(&format!("</{tag_name}"))? + open_end;
    let inner = &html[open_end..close];
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(html_unescape(&text).split_whitespace().collect::<Vec<_>>().join(" "))
}

// ---------------------------------------------------------------------------------------------
// The relying party inside the test
// ---------------------------------------------------------------------------------------------

struct Pending {
    client_id: String,
    verifier: String,
    nonce: String,
}

#[derive(Default)]
struct RpMemory {
    pending: HashMap<String, Pending>,
    last_id_token: Option<String>,
    logout_state: Option<String>,
    sent_states: Vec<String>,
}

struct RpConfig {
    base: String,
    issuer: String,
    memory: Mutex<RpMemory>,
    http: reqwest::Client,
}

/// A relying party on 127.0.0.1:random: `/login/{client}` starts an authorization request (PKCE
/// S256, nonce, state; `?response_mode=` and `?prompt=` are passed on), `/callback` (GET or
/// form_post) redeems the code and shows `#rp-user` (the ID token's `preferred_username`, after
/// checking its signature, issuer, audience and nonce) or `#rp-error` + `#rp-state`, `/logout`
/// starts RP-initiated logout with the last ID token and `/logged-out` shows `#rp-logged-out`.
pub struct RelyingParty {
    pub base: String,
    config: Arc<RpConfig>,
    handle: actix_web::dev::ServerHandle,
}

impl RelyingParty {
    pub async fn start(app: &TestApp, realm: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind RP");
        let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let config = Arc::new(RpConfig {
            base: base.clone(),
            issuer: app.issuer(realm),
            memory: Mutex::new(RpMemory::default()),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
        });
        let data = web::Data::from(config.clone());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .route("/login/{client}", web::get().to(rp_login))
                .route("/callback", web::get().to(rp_callback_query))
                .route("/callback", web::post().to(rp_callback_form))
                .route("/logout", web::get().to(rp_logout))
                .route("/logged-out", web::get().to(rp_logged_out))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen RP")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { base, config, handle }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn callback(&self) -> String {
        self.url("/callback")
    }

    /// The `state` the RP sent with its last RP-initiated logout.
    pub fn logout_state(&self) -> Option<String> {
        self.config.memory.lock().expect("lock").logout_state.clone()
    }

    /// The `state` of the last authorization request the RP sent.
    pub fn last_state(&self) -> Option<String> {
        self.config.memory.lock().expect("lock").sent_states.last().cloned()
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

fn page(body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>RP</title></head><body>{body}</body></html>"
        ))
}

fn rp_error(message: &str, state: &str) -> HttpResponse {
    page(&format!(
        "<p id=\"rp-error\">{}</p><p id=\"rp-state\">{}</p>",
        html_escape(message),
        html_escape(state)
    ))
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::Found().insert_header(("Location", to)).finish()
}

async fn rp_login(
    rp: web::Data<RpConfig>,
    client: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let client_id = client.into_inner();
    let (verifier, challenge) = pkce_pair();
    let state = random_token(16);
    let nonce = random_token(16);
    let mut url = url::Url::parse(&format!("{}/protocol/openid-connect/auth", rp.issuer)).expect("auth url");
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &client_id)
            .append_pair("redirect_uri", &format!("{}/callback", rp.base))
            .append_pair("scope", &format!("openid {SCOPE_NAME}"))
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        for extra in ["response_mode", "prompt", "login_hint", "max_age"] {
            if let Some(v) = query.get(extra) {
                q.append_pair(extra, v);
            }
        }
    }
    let mut memory = rp.memory.lock().expect("lock");
    memory.sent_states.push(state.clone());
    memory.pending.insert(
        state,
        Pending {
            client_id,
            verifier,
            nonce,
        },
    );
    redirect(url.as_str())
}

async fn rp_callback_query(rp: web::Data<RpConfig>, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    rp_callback(rp, query.into_inner()).await
}

async fn rp_callback_form(rp: web::Data<RpConfig>, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    rp_callback(rp, form.into_inner()).await
}

async fn rp_callback(rp: web::Data<RpConfig>, params: HashMap<String, String>) -> HttpResponse {
    let state = params.get("state").cloned().unwrap_or_default();
    let pending = rp.memory.lock().expect("lock").pending.remove(&state);
    let Some(pending) = pending else {
        return rp_error(&format!("unknown state {state:?}; params {params:?}"), &state);
    };
    if let Some(error) = params.get("error") {
        return rp_error(error, &state);
    }
    if params.get("iss").is_some_and(|iss| iss != &rp.issuer) {
        return rp_error(&format!("iss {:?} is not {}", params.get("iss"), rp.issuer), &state);
    }
    let Some(code) = params.get("code") else {
        return rp_error(&format!("no code: {params:?}"), &state);
    };
    let redirect_uri = format!("{}/callback", rp.base);
    let resp = rp
        .http
        .post(format!("{}/protocol/openid-connect/token", rp.issuer))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("client_id", pending.client_id.as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ])
        .send()
        .await;
    let resp = match resp {
        Ok(r) => r,
        Err(e) => return rp_error(&format!("token request: {e}"), &state),
    };
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status != 200 {
        return rp_error(&format!("token endpoint answered {status}: {body}"), &state);
    }
    let Some(id_token) = body["id_token"].as_str() else {
        return rp_error(&format!("no id_token: {body}"), &state);
    };
    let jwks: Value = match rp
        .http
        .get(format!("{}/protocol/openid-connect/certs", rp.issuer))
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(e) => return rp_error(&format!("jwks: {e}"), &state),
    };
    let claims = match verify_with_jwks(&jwks, id_token, &rp.issuer) {
        Ok(c) => c,
        Err(e) => return rp_error(&format!("ID token does not verify: {e}"), &state),
    };
    let aud_ok = match &claims["aud"] {
        Value::String(a) => a == &pending.client_id,
        Value::Array(list) => list.iter().any(|a| a == pending.client_id.as_str()),
        _ => false,
    };
    if !aud_ok || claims["nonce"] != pending.nonce.as_str() || claims["typ"] != "ID" {
        return rp_error(&format!("bad ID token claims: {claims}"), &state);
    }
    rp.memory.lock().expect("lock").last_id_token = Some(id_token.to_owned());
    page(&format!(
        "<p id=\"rp-user\">{}</p><p id=\"rp-client\">{}</p><p id=\"rp-sid\">{}</p>",
        html_escape(claims["preferred_username"].as_str().unwrap_or("")),
        html_escape(&pending.client_id),
        html_escape(claims["sid"].as_str().unwrap_or("")),
    ))
}

async fn rp_logout(rp: web::Data<RpConfig>) -> HttpResponse {
    let state = random_token(12);
    let mut memory = rp.memory.lock().expect("lock");
    let Some(id_token) = memory.last_id_token.clone() else {
        return rp_error("no ID token to log out with", "");
    };
    memory.logout_state = Some(state.clone());
    let mut url = url::Url::parse(&format!("{}/protocol/openid-connect/logout", rp.issuer)).expect("logout url");
    url.query_pairs_mut()
        .append_pair("id_token_hint", &id_token)
        .append_pair("post_logout_redirect_uri", &format!("{}/logged-out", rp.base))
        .append_pair("state", &state);
    redirect(url.as_str())
}

async fn rp_logged_out(query: web::Query<HashMap<String, String>>) -> HttpResponse {
    page(&format!(
        "<p id=\"rp-logged-out\">{}</p>",
        html_escape(query.get("state").map(String::as_str).unwrap_or("<no state>"))
    ))
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

const REALM: &str = "browser";
const DISPLAY_NAME: &str = "Browser Test Realm";
const PASSWORD: &str = "correct horse battery staple";

/// Realm, scope, two consent-requiring public clients on `rp`'s callback, and alice.
async fn two_clients(app: &TestApp, rp: &RelyingParty) {
    let scope_id = sso_realm(app, REALM, DISPLAY_NAME).await;
    for (client_id, name) in [("app-one", "App One"), ("app-two", "App Two")] {
        create_public_client(
            app,
            REALM,
            PublicClient {
                client_id,
                name,
                redirect_uris: vec![rp.callback()],
                post_logout_redirect_uris: &rp.url("/logged-out"),
                web_origins: vec![rp.base.clone()],
                consent_required: true,
            },
            Some(&scope_id),
        )
        .await;
    }
    create_user_with_profile(app, REALM, "alice", PASSWORD, "alice@example.com").await;
}

/// The consent page for `client_name` lists the requested scope by its description.
async fn assert_consent_page(browser: &Browser, client_name: &str) {
    browser.wait_for("form#kc-consent-form", "the consent page").await;
    let title = browser.text_of("#kc-page-title", "the consent title").await;
    assert!(
        title.contains(client_name),
        "consent title {title:?} names {client_name}"
    );
    let items = browser
        .client
        .find_all(Locator::Css("ul#kc-oauth li"))
        .await
        .expect("scope list");
    let mut listed = Vec::new();
    for item in items {
        listed.push(item.text().await.expect("text").trim().to_owned());
    }
    assert!(
        listed.iter().any(|t| t.contains(SCOPE_DESCRIPTION)),
        "the consent page lists {SCOPE_DESCRIPTION:?}: {listed:?}\n{}",
        browser.context().await
    );
    assert!(
        !listed.iter().any(|t| t == SCOPE_NAME),
        "a scope with a description is shown by its description, not its name: {listed:?}"
    );
    let no = browser.wait_for("input#kc-cancel", "the No button").await;
    assert_eq!(no.attr("name").await.expect("attr").as_deref(), Some("cancel"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_logs_in_consents_uses_sso_and_logs_out() {
    let app = spawn_app().await;
    let rp = RelyingParty::start(&app, REALM).await;
    two_clients(&app, &rp).await;
    let browser = Browser::start().await;

    // 1. The RP sends the browser to nexus: the login page, with the realm's display name.
    browser.goto(&rp.url("/login/app-one")).await;
    browser.wait_for("form#kc-form-login", "the login page").await;
    let header = browser.text_of("#kc-header-wrapper", "the realm header").await;
    // (The theme may upper-case it with CSS, as Keycloak's does: WebDriver returns the rendered text.)
    assert!(
        header.to_lowercase().contains(&DISPLAY_NAME.to_lowercase()),
        "header {header:?}"
    );
    let password = browser.wait_for("input#password", "the password field").await;
    assert_eq!(password.attr("type").await.expect("attr").as_deref(), Some("password"));

    // A wrong password: the page again, with the neutral message (no hint whether alice exists).
    browser.submit_login("alice", "wrong password").await;
    let error = browser.text_of("#input-error", "the login error").await;
    assert_eq!(error, "Invalid username or password.");
    assert!(browser.has("form#kc-form-login").await, "the login form is shown again");

    // An unknown user gets exactly the same message.
    browser.submit_login("nobody", "wrong password").await;
    assert_eq!(
        browser.text_of("#input-error", "the login error").await,
        "Invalid username or password."
    );

    // 2. The right password: consent for App One, listing the scope's description; Yes.
    browser.submit_login("alice", PASSWORD).await;
    assert_consent_page(&browser, "App One").await;
    browser.click("input#kc-login[name=accept]", "the Yes button").await;

    // 3. The RP redeemed the code (PKCE) and verified the ID token.
    assert_eq!(browser.text_of("#rp-user", "the RP's user page").await, "alice");
    assert_eq!(browser.text_of("#rp-client", "the RP page").await, "app-one");
    let first_sid = browser.text_of("#rp-sid", "the RP page").await;

    // 4. Another client in the same browser: no login page (SSO), but its own consent. Its
    //    response comes back by form_post.
    browser.goto(&rp.url("/login/app-two?response_mode=form_post")).await;
    browser
        .wait_for("form#kc-consent-form", "the consent page of app-two (SSO: no login)")
        .await;
    assert!(
        !browser.has("form#kc-form-login").await,
        "SSO: no login page for the second client"
    );
    assert_consent_page(&browser, "App Two").await;
    browser.click("input#kc-login[name=accept]", "the Yes button").await;
    assert_eq!(
        browser.text_of("#rp-user", "the RP's user page (app-two)").await,
        "alice"
    );
    assert_eq!(browser.text_of("#rp-client", "the RP page").await, "app-two");
    let second_sid = browser.text_of("#rp-sid", "the RP page").await;
    if !first_sid.is_empty() || !second_sid.is_empty() {
        assert_eq!(first_sid, second_sid, "both ID tokens belong to the one SSO session");
    }

    // 5. Consent is remembered: app-one again goes straight back to the RP.
    browser.goto(&rp.url("/login/app-one")).await;
    assert_eq!(
        browser
            .text_of("#rp-user", "the RP page (SSO + remembered consent)")
            .await,
        "alice"
    );

    // 6. RP-initiated logout with id_token_hint: back on the RP with the state it sent.
    browser.goto(&rp.url("/logout")).await;
    let state = browser.text_of("#rp-logged-out", "the RP's logged-out page").await;
    assert_eq!(
        Some(state),
        rp.logout_state(),
        "post_logout_redirect_uri carries the state"
    );

    // 7. The session is over: the next authorization request shows the login page again.
    browser.goto(&rp.url("/login/app-one")).await;
    browser
        .wait_for("form#kc-form-login", "the login page after logout")
        .await;
    // And logging in again works (the consent is still remembered).
    browser.submit_login("alice", PASSWORD).await;
    assert_eq!(browser.text_of("#rp-user", "the RP page after re-login").await, "alice");

    // 8. prompt=login forces the login page even with a live session.
    browser.goto(&rp.url("/login/app-one?prompt=login")).await;
    browser
        .wait_for("form#kc-form-login", "the login page (prompt=login)")
        .await;

    browser.close().await;
    rp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denying_consent_sends_access_denied_and_the_state_back() {
    let app = spawn_app().await;
    let rp = RelyingParty::start(&app, REALM).await;
    two_clients(&app, &rp).await;
    let browser = Browser::start().await;

    browser.goto(&rp.url("/login/app-one")).await;
    browser.submit_login("alice", PASSWORD).await;
    assert_consent_page(&browser, "App One").await;
    browser.click("input#kc-cancel", "the No button").await;

    let error = browser.text_of("#rp-error", "the RP's error page").await;
    assert_eq!(error, "access_denied");
    let state = browser.text_of("#rp-state", "the RP's error page").await;
    assert_eq!(
        Some(state),
        rp.last_state(),
        "the error response carries the request's state"
    );

    // Nothing was remembered: the next request asks again (and SSO skips the login page).
    browser.goto(&rp.url("/login/app-one")).await;
    browser.wait_for("form#kc-consent-form", "the consent page again").await;
    assert!(!browser.has("form#kc-form-login").await);

    browser.close().await;
    rp.stop().await;
}

#[test]
fn the_html_form_reader_reads_what_a_browser_would_send() {
    let html = r#"<html><body><div id="kc-header-wrapper">Acme &amp; Co</div>
      <form id="other" action="/x"><input name="a" value="1"></form>
      <FORM id="kc-form-login" method="post" action="http://h/realms/r/login-actions/authenticate?session_code=a&amp;tab_id=b&#x2f;c">
        <input type="hidden" name="csrf_token" value='tok&quot;en'>
        <input name="username" id="username" value="alice" autofocus>
        <input name="password" id="password" type="password">
        <input type="checkbox" name="rememberMe">
        <input type="checkbox" name="checked" value="on" checked>
        <input type="submit" id="kc-login" name="login" value="Sign In"/>
      </form>
      <span id="input-error">Invalid username or password.</span></body></html>"#;
    let mut form = HtmlForm::by_id(html, "kc-form-login").expect("form");
    assert_eq!(
        form.action,
        "http://h/realms/r/login-actions/authenticate?session_code=a&tab_id=b/c"
    );
    assert_eq!(form.method, "post");
    form.set("password", "pw");
    assert_eq!(
        form.fields,
        [
            ("csrf_token".to_owned(), "tok\"en".to_owned()),
            ("username".to_owned(), "alice".to_owned()),
            ("checked".to_owned(), "on".to_owned()),
            ("password".to_owned(), "pw".to_owned()),
        ]
    );
    assert_eq!(
        form.input_by_id("password")
            .and_then(|a| a.get("type"))
            .map(String::as_str),
        Some("password")
    );
    assert!(form
        .input_by_id("username")
        .is_some_and(|a| a.contains_key("autofocus")));
    assert_eq!(element_text(html, "kc-header-wrapper").as_deref(), Some("Acme & Co"));
    assert_eq!(
        element_text(html, "input-error").as_deref(),
        Some("Invalid username or password.")
    );
    assert!(HtmlForm::by_id(html, "missing").is_none());
    assert_eq!(
        html_unescape("a &lt;b&gt; &#39;c&#39; &unknown; & d"),
        "a <b> 'c' &unknown; & d"
    );
}
