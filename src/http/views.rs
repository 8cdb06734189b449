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

/// OAuth 2.0 Form Post Response Mode: a form the browser submits to the client at once.
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage<'a> {
    pub action: &'a str,
    pub fields: &'a [(&'a str, &'a str)],
    pub script: &'a str,
}

const FORM_POST_SCRIPT: &str = "document.getElementById('kc-form-post').submit();";

/// An HTML page with nexus's page headers; a template that fails to render is a logged 500.
pub fn page(status: StatusCode, template: &impl Template) -> HttpResponse {
    page_with_csp(status, template, PAGE_CSP)
}

fn page_with_csp(status: StatusCode, template: &impl Template, csp: &str) -> HttpResponse {
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
