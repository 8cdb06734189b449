//! RFC 7807 problem details (`application/problem+json`), the error shape of nexus's own APIs
//! (API keys): `{type, title, detail, status, instance}`.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::json;

/// Where the problem types are documented; `type` is this plus a slug.
pub const PROBLEM_TYPE_BASE: &str = "https://nexus.dev/problems/";

#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    /// Slug of the problem type (`invalid-request`, `role-not-held`, …).
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            title,
            detail: detail.into(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid-request", "Invalid request", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", detail)
    }

    pub fn forbidden(kind: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, kind, "Forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    /// A 500 whose cause is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal server error",
            "the server could not complete the request",
        )
    }

    /// The response; `instance` is the request path.
    pub fn response(&self, instance: &str) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            builder.insert_header(("WWW-Authenticate", "Bearer"));
        }
        builder
            .insert_header(("Cache-Control", "no-store"))
            .content_type("application/problem+json")
            .body(
                json!({
                    "type": format!("{PROBLEM_TYPE_BASE}{}", self.kind),
                    "title": self.title,
                    "detail": self.detail,
                    "status": self.status.as_u16(),
                    "instance": instance,
                })
                .to_string(),
            )
    }
}

/// The response of a handler's result: its success, or its problem at the request's path.
pub fn respond(req: &actix_web::HttpRequest, result: Result<HttpResponse, Problem>) -> HttpResponse {
    result.unwrap_or_else(|p| p.response(req.path()))
}
