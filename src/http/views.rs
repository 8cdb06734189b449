//! The pages people see (askama templates in `templates/`), and the headers every page carries.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;

/// Pages load only the stylesheet from nexus itself; nothing may frame them.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub realm_title: &'a str,
    pub action: &'a str,
    pub csrf_token: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

pub struct ConsentItem {
    pub name: String,
    pub text: Option<String>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub realm_title: &'a str,
    pub client_name: &'a str,
    pub scopes: &'a [ConsentItem],
    pub action: &'a str,
    pub csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub realm_title: &'a str,
    pub message: &'a str,
}

/// What the account pages' layout shows around a section: who is signed in, where the links go.
pub struct AccountFrame<'a> {
    pub realm_title: &'a str,
    /// `/realms/{realm}/account`.
    pub base: &'a str,
    pub username: &'a str,
    pub logout_url: &'a str,
    /// The section shown, for the navigation's `aria-current` (`api-keys`, `personal-info`,
    /// `password`, `sessions`, `consents`).
    pub section: &'a str,
}

/// A key in the account page's list.
pub struct ApiKeyRow {
    pub id: String,
    pub prefix: String,
    pub description: String,
    pub kind: &'static str,
    pub environment: &'static str,
    pub permissions: String,
    pub created: String,
    pub created_iso: String,
    pub expires: String,
    pub expires_iso: String,
    pub last_used: Option<(String, String)>,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
}

/// A secret shown once, right after it was made.
pub struct ShownSecret {
    pub key_id: String,
    pub secret: String,
    /// `created`, `rotated` or `regenerated`.
    pub action: String,
}

/// The "Generate New" form as typed, with a message per field when it was refused.
#[derive(Default)]
pub struct KeyForm {
    pub description: String,
    pub expires: String,
    pub permissions: String,
    pub kind: String,
    pub environment: String,
    pub description_error: Option<String>,
    pub expires_error: Option<String>,
    pub permissions_error: Option<String>,
    pub kind_error: Option<String>,
    pub general_error: Option<String>,
}

impl KeyForm {
    pub fn has_errors(&self) -> bool {
        self.description_error.is_some()
            || self.expires_error.is_some()
            || self.permissions_error.is_some()
            || self.kind_error.is_some()
            || self.general_error.is_some()
    }
}

#[derive(Template)]
#[template(path = "account/api_keys.html")]
pub struct ApiKeysPage<'a> {
    pub frame: AccountFrame<'a>,
    pub csrf_token: &'a str,
    pub keys: &'a [ApiKeyRow],
    pub shown: Option<&'a ShownSecret>,
    pub notice: Option<&'a str>,
    pub form: &'a KeyForm,
    /// The realm's client scope names, offered as permissions.
    pub scopes: &'a [String],
    /// Whether Rotate is offered, and the old secret's grace period in words.
    pub rotation_grace: &'a str,
}

/// "Are you sure?" for Delete, Rotate or Regenerate: works without JavaScript.
#[derive(Template)]
#[template(path = "account/confirm.html")]
pub struct ConfirmKeyActionPage<'a> {
    pub frame: AccountFrame<'a>,
    pub csrf_token: &'a str,
    pub key: &'a ApiKeyRow,
    /// `delete`, `rotate` or `regenerate`.
    pub action: &'a str,
    pub title: &'a str,
    pub explanation: &'a str,
    pub button: &'a str,
    pub danger: bool,
}

/// OAuth 2.0 Form Post Response Mode: a form the browser submits to the client at once.
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage<'a> {
    pub action: &'a str,
    pub fields: &'a [(&'a str, &'a str)],
    pub script: &'a str,
}

const FORM_POST_SCRIPT: &str = "document.getElementById('kc-form-post').submit();";

/// The account pages also run nexus's own script (`/resources/account.js`, the copy button) and post
/// forms only to nexus.
const ACCOUNT_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// An account page: the page headers, its CSP with nexus's script.
pub fn account_page(status: StatusCode, template: &impl Template) -> HttpResponse {
    page_with_csp(status, template, ACCOUNT_CSP)
}

/// An HTML page with nexus's page headers; a template that fails to render is a logged 500.
pub fn page(status: StatusCode, template: &impl Template) -> HttpResponse {
    page_with_csp(status, template, PAGE_CSP)
}

pub(crate) fn page_with_csp(status: StatusCode, template: &impl Template, csp: &str) -> HttpResponse {
    match template.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store, must-revalidate, max-age=0"))
            .insert_header(("Content-Security-Policy", csp.to_owned()))
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Internal error")
        }
    }
}

/// A 303 to a path of nexus (a form's POST, then a GET), never stored.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location.to_owned()))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// The page for an unexpected failure; the cause goes only to the log, under `context`.
pub fn internal_error_page(title: &str, context: &'static str, e: impl std::fmt::Debug) -> HttpResponse {
    tracing::error!(error = ?e, "{context}");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        title,
        "An internal error occurred. Please try again.",
    )
}

/// The error page (never a redirect to an untrusted URI).
pub fn error_page(status: StatusCode, realm_title: &str, message: &str) -> HttpResponse {
    page(status, &ErrorPage { realm_title, message })
}

/// The form-post response: its one inline script is allowed by hash, nothing else.
pub fn form_post(action: &str, fields: &[(&str, &str)]) -> HttpResponse {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use sha2::Digest;
    let hash = STANDARD.encode(sha2::Sha256::digest(FORM_POST_SCRIPT.as_bytes()));
    let csp = format!("default-src 'none'; script-src 'sha256-{hash}'; base-uri 'none'; frame-ancestors 'none'");
    page_with_csp(
        StatusCode::OK,
        &FormPostPage {
            action,
            fields,
            script: FORM_POST_SCRIPT,
        },
        &csp,
    )
}

/// The stylesheet of the pages, built into the binary.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/nexus.css"))
}

/// The account pages' script (the copy button), built into the binary.
pub async fn account_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/account.js"))
}
