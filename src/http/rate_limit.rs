//! The rate limits of `service::rate_limits` around the three authentication routes: a middleware
//! per route that admits or refuses with 429 and `Retry-After` (each in its endpoint's error
//! shape), and `failed`, the marker a handler sets on a failed authentication so the middleware
//! counts it.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::json;

use super::problem::Problem;
use crate::oauth::OAuthError;
use crate::service::rate_limits::{self, Endpoint, Reason, Refusal};
use crate::state::AppState;

/// Request extension: this request failed to authenticate.
#[derive(Clone, Copy)]
struct AuthFailed;

/// Marks the request as a failed authentication (counted once the handler has answered).
pub fn failed(req: &HttpRequest) {
    req.extensions_mut().insert(AuthFailed);
}

/// The token endpoint's errors that are failed authentications (see `service::rate_limits`).
pub fn failed_if_refused_credential(req: &HttpRequest, error: &OAuthError) {
    if matches!(
        error,
        OAuthError::InvalidClient { .. } | OAuthError::InvalidGrant(_) | OAuthError::InvalidUserCredentials(_)
    ) {
        failed(req);
    }
}

pub async fn token<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    limit(Endpoint::Token, req, next).await
}

pub async fn key_for_token<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    limit(Endpoint::KeyForToken, req, next).await
}

pub async fn login<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    limit(Endpoint::Login, req, next).await
}

async fn limit<B: MessageBody + 'static>(
    endpoint: Endpoint,
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let name = req.match_info().get("realm").unwrap_or_default();
    // Only POSTs count. An unknown, disabled or unreadable realm: the handler gives its answer,
    // nothing to count.
    let realm = if req.method() != Method::POST || name.len() > crate::domain::names::MAX_NAME_LEN {
        None
    } else {
        match state.realms.realm(name).await {
            Ok(Some(realm)) if realm.realm.enabled => Some(realm),
            _ => None,
        }
    };
    let Some(realm) = realm else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let ip = super::client_address::client_ip(req.request(), &state);
    if let Err(refusal) = rate_limits::admit(&state, &realm.realm, ip, endpoint).await {
        state
            .metrics
            .rate_limited
            .with_label_values(&[endpoint.as_str(), refusal.reason.as_str(), &realm.realm.name])
            .inc();
        tracing::info!(realm = %realm.realm.name, endpoint = endpoint.as_str(), reason = refusal.reason.as_str(), "rate limited");
        let title = realm.realm.display_name.as_deref().unwrap_or(&realm.realm.name);
        let response = refused(endpoint, &refusal, title, req.path());
        return Ok(req.into_response(response));
    }
    let response = next.call(req).await?;
    if response.request().extensions().contains::<AuthFailed>() {
        rate_limits::record_failure(&state, &realm.realm, ip).await;
    }
    Ok(response.map_into_boxed_body())
}

/// The 429 in the endpoint's own error shape, with `Retry-After` in seconds.
fn refused(endpoint: Endpoint, refusal: &Refusal, realm_title: &str, path: &str) -> HttpResponse {
    let wait = refusal.retry_after;
    let what = match refusal.reason {
        Reason::Requests => "Too many requests",
        Reason::Failures => "Too many failed authentications",
    };
    let mut response = match endpoint {
        Endpoint::Token => HttpResponse::TooManyRequests()
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Pragma", "no-cache"))
            .json(json!({
                "error": "too_many_requests",
                "error_description": format!("{what} from this address; retry in {wait} seconds"),
            })),
        Endpoint::KeyForToken => Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            "Too many requests",
            format!("{what} from this address; retry in {wait} seconds"),
        )
        .response(path),
        Endpoint::Login => super::views::error_page(
            StatusCode::TOO_MANY_REQUESTS,
            realm_title,
            &format!("{what} from your address. Please wait {wait} seconds and try again."),
        ),
    };
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait));
    response
}
