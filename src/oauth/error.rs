//! RFC 6749 §5.2 / OIDC error codes, rendered as JSON at the token endpoint.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// Client authentication failed; `basic` says the client tried HTTP Basic (answer 401 with a challenge).
    #[error("invalid_client: {description}")]
    InvalidClient { description: String, basic: bool },
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// Wrong user credentials: Keycloak answers 401 `invalid_grant`.
    #[error("invalid_grant (credentials): {0}")]
    InvalidUserCredentials(String),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    #[error("server_error")]
    ServerError,
    #[error("temporarily_unavailable")]
    TemporarilyUnavailable,
}

impl OAuthError {
    pub fn invalid_request(msg: impl Into<String>) -> Self {
        Self::InvalidRequest(msg.into())
    }

    pub fn invalid_client(msg: impl Into<String>, basic: bool) -> Self {
        Self::InvalidClient {
            description: msg.into(),
            basic,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidGrant(_) | Self::InvalidUserCredentials(_) => "invalid_grant",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidToken(_) => "invalid_token",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    pub fn description(&self) -> String {
        match self {
            Self::InvalidRequest(d)
            | Self::InvalidGrant(d)
            | Self::InvalidUserCredentials(d)
            | Self::UnauthorizedClient(d)
            | Self::UnsupportedGrantType(d)
            | Self::InvalidScope(d)
            | Self::InvalidToken(d) => d.clone(),
            Self::InvalidClient { description, .. } => description.clone(),
            Self::ServerError => "Unexpected server error".to_owned(),
            Self::TemporarilyUnavailable => "Temporarily unavailable".to_owned(),
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidClient { .. } | Self::InvalidUserCredentials(_) | Self::InvalidToken(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status_code());
        builder
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Pragma", "no-cache"));
        match self {
            Self::InvalidClient { basic: true, .. } => {
                builder.insert_header(("WWW-Authenticate", r#"Basic realm="nexus", charset="UTF-8""#));
            }
            Self::InvalidClient { basic: false, .. } => {
                // RFC 6749 §5.2: a 401 must carry a challenge; name the scheme the client may use.
                builder.insert_header(("WWW-Authenticate", r#"Basic realm="nexus""#));
            }
            Self::InvalidToken(_) => {
                builder.insert_header(("WWW-Authenticate", r#"Bearer error="invalid_token""#));
            }
            _ => {}
        }
        builder.json(json!({ "error": self.code(), "error_description": self.description() }))
    }
}
