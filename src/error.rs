//! Errors of the admin API and pages, rendered in Keycloak's shapes. Protocol errors live in
//! `oauth::error` and are rendered as RFC 6749 JSON.
//!
//! Policy: a handler returns `AppError`; client mistakes carry a message the caller may read;
//! everything unexpected becomes an opaque 500 whose cause chain goes only to the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::store::db::DbError;
use crate::store::ephemeral::EphemeralError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400 `{"errorMessage": …}` (Keycloak's shape for invalid representations).
    #[error("{0}")]
    BadRequest(String),
    /// 400 for one field of an imported document (ADR 019): `{"error": "invalid_field",
    /// "errorMessage": "<field>: <message>", "field": "<field>"}` (Keycloak's `ErrorRepresentation`
    /// names the field too). `field` is the JSON path, e.g. `clients[2].redirectUris[0]`.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// 401 (no or invalid bearer token).
    #[error("HTTP 401 Unauthorized")]
    Unauthorized,
    /// 403 (authenticated but not allowed).
    #[error("HTTP 403 Forbidden")]
    Forbidden,
    /// 404 `{"error": …}`.
    #[error("{0}")]
    NotFound(String),
    /// 409 `{"errorMessage": …}`.
    #[error("{0}")]
    Conflict(String),
    /// 415 for a body that is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 500; the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }

    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::Conflict(msg.into())
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<EphemeralError> for AppError {
    fn from(e: EphemeralError) -> Self {
        Self::Internal(e.into())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::InvalidField { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            Self::BadRequest(m) | Self::Conflict(m) | Self::UnsupportedMediaType(m) => json!({ "errorMessage": m }),
            Self::InvalidField { field, .. } => {
                json!({ "error": "invalid_field", "errorMessage": self.to_string(), "field": field })
            }
            Self::NotFound(m) => json!({ "error": m }),
            Self::Unauthorized => json!({ "error": "HTTP 401 Unauthorized" }),
            Self::Forbidden => json!({ "error": "HTTP 403 Forbidden" }),
            Self::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                json!({ "error": "unknown_error" })
            }
        };
        let mut builder = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthorized) {
            builder.insert_header(("WWW-Authenticate", "Bearer"));
        }
        builder.insert_header(("Cache-Control", "no-store")).json(body)
    }
}
