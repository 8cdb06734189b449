//! The pages keycloak-js frames: the session-status iframe (OIDC Session Management's
//! `check_session_iframe`) and the two-step third-party-cookie check.
//!
//! The messages are keycloak-js 26's: the app posts `"{clientId} {sid}"` to the status iframe and
//! gets back `"unchanged"`, `"changed"` or `"error"`; the iframe asks `…/init` once whether the
//! client registered the app's origin, then compares the base64url SHA-256 of the `sid` with the
//! `KEYCLOAK_SESSION` cookie (see `http::cookies`). The cookie check posts `"supported"` or
//! `"unsupported"` to its parent.
//!
//! These pages must be framed by apps on other origins and run an inline script: each answers with
//! its own Content-Security-Policy (the script allowed by its hash, `frame-ancestors *`), which the
//! security-headers middleware leaves alone (and then sends no `X-Frame-Options`).

use std::sync::OnceLock;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::cors::{origin_of, WebOrigins};
use super::protocol::resolve_realm;
use crate::oauth::params::FormParams;
use crate::state::AppState;

const STATUS_SCRIPT: &str = r#"
const SESSION_COOKIE = "KEYCLOAK_SESSION";
// The client and origin the server accepted, after the one check this page makes.
let accepted = null;
let checked = false;

window.addEventListener("message", async (event) => {
  if (typeof event.data !== "string") return;
  const parts = event.data.split(" ");
  if (parts.length !== 2) return;
  let status;
  try {
    status = await sessionStatus(parts[0], event.origin, parts[1]);
  } catch (e) {
    status = "error";
  }
  event.source.postMessage(status, event.origin);
});

async function storageAccess() {
  if (!("hasStorageAccess" in document)) return true;
  if (await document.hasStorageAccess()) return true;
  try {
    await document.requestStorageAccess();
    return true;
  } catch (e) {
    return false;
  }
}

async function sessionStatus(clientId, origin, sid) {
  if (!(await storageAccess())) return "error";
  if (accepted === null) {
    // One question to the server per page: a page that keeps asking gets errors.
    if (checked) return "error";
    checked = true;
    const url = new URL(location.origin + location.pathname + "/init");
    url.searchParams.set("client_id", clientId);
    url.searchParams.set("origin", origin);
    const answer = await fetch(url, { credentials: "omit" });
    if (!answer.ok) return "error";
    accepted = { clientId, origin };
  }
  if (clientId !== accepted.clientId || origin !== accepted.origin) return "error";
  const cookie = readCookie(SESSION_COOKIE);
  if (cookie === null) return sid === "" ? "unchanged" : "changed";
  if (sid === "") return "changed";
  return (await sha256Base64Url(sid)) === cookie ? "unchanged" : "changed";
}

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value;
  }
  return null;
}

async function sha256Base64Url(text) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
"#;

const COOKIE_STEP1_SCRIPT: &str = r#"
async function storageAccess() {
  if (!("hasStorageAccess" in document)) return true;
  if (await document.hasStorageAccess()) return true;
  try {
    await document.requestStorageAccess();
    return true;
  } catch (e) {
    return false;
  }
}

storageAccess().then((granted) => {
  if (!granted) {
    window.parent.postMessage("unsupported", "*");
    return;
  }
  // Set test cookies from inside the frame, then read them back on the next page.
  document.cookie = "KEYCLOAK_3P_COOKIE_SAMESITE=supported; Max-Age=60; SameSite=None; Secure";
  document.cookie = "KEYCLOAK_3P_COOKIE=supported; Max-Age=60";
  window.location.href = "step2.html";
});
"#;

const COOKIE_STEP2_SCRIPT: &str = r#"
const found = document.cookie.split(";").some((c) => c.trim().startsWith("KEYCLOAK_3P_COOKIE"));
if (found) {
  document.cookie = "KEYCLOAK_3P_COOKIE_SAMESITE=; Max-Age=0; SameSite=None; Secure";
  document.cookie = "KEYCLOAK_3P_COOKIE=; Max-Age=0";
}
window.parent.postMessage(found ? "supported" : "unsupported", "*");
"#;

/// A framed page: the HTML around its inline script and the policy that allows exactly that script.
struct FramedPage {
    html: String,
    csp: String,
}

impl FramedPage {
    fn new(script: &str) -> Self {
        let hash = STANDARD.encode(Sha256::digest(script.as_bytes()));
        Self {
            html: format!(
                "<!doctype html>\n<html>\n<head><meta charset=\"utf-8\"></head>\n<body>\n<script type=\"module\">{script}</script>\n</body>\n</html>\n"
            ),
            csp: format!(
                "default-src 'none'; script-src 'sha256-{hash}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors *"
            ),
        }
    }

    fn respond(&self) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((CONTENT_SECURITY_POLICY, self.csp.as_str()))
            .insert_header((CACHE_CONTROL, "no-cache"))
            .body(self.html.clone())
    }
}

fn status_page() -> &'static FramedPage {
    static PAGE: OnceLock<FramedPage> = OnceLock::new();
    PAGE.get_or_init(|| FramedPage::new(STATUS_SCRIPT))
}

fn cookie_step1_page() -> &'static FramedPage {
    static PAGE: OnceLock<FramedPage> = OnceLock::new();
    PAGE.get_or_init(|| FramedPage::new(COOKIE_STEP1_SCRIPT))
}

fn cookie_step2_page() -> &'static FramedPage {
    static PAGE: OnceLock<FramedPage> = OnceLock::new();
    PAGE.get_or_init(|| FramedPage::new(COOKIE_STEP2_SCRIPT))
}

/// `GET …/login-status-iframe.html` (keycloak-js may add `?version=`; any is served).
pub async fn login_status_iframe(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    match resolve_realm(&state, &path).await {
        Ok(_) => status_page().respond(),
        Err(resp) => resp,
    }
}

/// `GET …/login-status-iframe.html/init?client_id=…&origin=…`: 204 when the client exists, is
/// enabled and registered that origin (or `*`, or the origin is nexus's own), else 403.
pub async fn login_status_iframe_init(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let realm = match resolve_realm(&state, &path).await {
        Ok(realm) => realm,
        Err(resp) => return resp,
    };
    let forbidden = || {
        HttpResponse::Forbidden()
            .insert_header((CACHE_CONTROL, "no-store"))
            .finish()
    };
    let Ok(params) = FormParams::parse(req.query_string().as_bytes()) else {
        return forbidden();
    };
    let (Some(client_id), Some(origin)) = (params.get("client_id"), params.get("origin")) else {
        return forbidden();
    };
    let client = match state.realms.client(&realm, client_id).await {
        Ok(Some(client)) if client.client.enabled => client,
        Ok(_) => return forbidden(),
        Err(e) => {
            tracing::error!(error = ?e, "client lookup for the status iframe failed");
            return forbidden();
        }
    };
    let allowed = WebOrigins::of(&client.client);
    let own_origin = origin_of(&state.public_url);
    if allowed.any() || allowed.contains(origin) || own_origin.as_deref() == Some(origin) {
        HttpResponse::NoContent()
            .insert_header((CACHE_CONTROL, "no-store"))
            .finish()
    } else {
        forbidden()
    }
}

/// `GET …/3p-cookies/step1.html`
pub async fn third_party_cookies_step1(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    match resolve_realm(&state, &path).await {
        Ok(_) => cookie_step1_page().respond(),
        Err(resp) => resp,
    }
}

/// `GET …/3p-cookies/step2.html`
pub async fn third_party_cookies_step2(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    match resolve_realm(&state, &path).await {
        Ok(_) => cookie_step2_page().respond(),
        Err(resp) => resp,
    }
}
