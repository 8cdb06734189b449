//! Keycloak's protocol endpoints under `/realms/{realm}`: token, discovery, JWKS, realm info.

use std::sync::Arc;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::body::{self, BodyError};
use crate::oauth::params::FormParams;
use crate::oauth::{discovery, grants, OAuthError};
use crate::service::realm_cache::RealmRuntime;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    super::oidc_endpoints::routes(cfg);
    cfg.service(
        web::resource("/realms/{realm}")
            .route(web::get().to(realm_info))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource("/realms/{realm}/.well-known/openid-configuration")
            .route(web::get().to(openid_configuration))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource("/realms/{realm}/protocol/openid-connect/certs")
            .route(web::get().to(certs))
            .wrap(actix_web::middleware::from_fn(super::cors::any_origin))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource("/realms/{realm}/protocol/openid-connect/token")
            .route(web::post().to(token))
            .wrap(actix_web::middleware::from_fn(super::rate_limit::token))
            .wrap(actix_web::middleware::from_fn(super::cors::token_endpoint))
            .default_service(web::to(method_not_allowed("POST"))),
    );
}

/// 405 with `Allow` for a known protocol path used with another method (not the app's 404), in
/// the protocol's JSON error shape.
pub(crate) fn method_not_allowed(allow: &'static str) -> impl Fn() -> std::future::Ready<HttpResponse> + Clone {
    move || {
        std::future::ready(
            HttpResponse::MethodNotAllowed()
                .insert_header(("Allow", allow))
                .json(json!({ "error": "invalid_request", "error_description": "HTTP 405 Method Not Allowed" })),
        )
    }
}

/// 404 in Keycloak's shape for a realm that does not exist.
pub fn realm_not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "error": "Realm does not exist" }))
}

/// Resolves the path's realm; `Err` is the response to send.
pub async fn resolve_realm(state: &AppState, name: &str) -> Result<Arc<RealmRuntime>, HttpResponse> {
    if name.len() > crate::domain::names::MAX_NAME_LEN {
        return Err(realm_not_found());
    }
    match state.realms.realm(name).await {
        Ok(Some(realm)) if realm.realm.enabled => Ok(realm),
        Ok(Some(_)) => Err(HttpResponse::Forbidden().json(json!({ "error": "Realm not enabled" }))),
        Ok(None) => Err(realm_not_found()),
        Err(e) => {
            tracing::error!(error = ?e, "realm lookup failed");
            Err(HttpResponse::InternalServerError().json(json!({ "error": "unknown_error" })))
        }
    }
}

async fn realm_info(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let realm = match resolve_realm(&state, &path).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let public_key = realm.signing_key().map(|k| k.public_key_b64.clone());
    HttpResponse::Ok().json(json!({
        "realm": realm.realm.name,
        "public_key": public_key,
        "token-service": format!("{}/protocol/openid-connect", realm.issuer),
        "account-service": format!("{}/account", realm.issuer),
        "tokens-not-before": realm.realm.not_before,
    }))
}

async fn openid_configuration(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    match resolve_realm(&state, &path).await {
        Ok(realm) => HttpResponse::Ok().json(discovery::provider_metadata(&realm.issuer)),
        Err(resp) => resp,
    }
}

async fn certs(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    match resolve_realm(&state, &path).await {
        Ok(realm) => HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("Cache-Control", "no-cache"))
            .body(realm.jwks.clone()),
        Err(resp) => resp,
    }
}

#[tracing::instrument(skip_all, fields(realm = %path.as_str(), grant_type))]
async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let realm = match resolve_realm(&state, &path).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    match token_inner(&state, &realm, &req, payload).await {
        Ok((response, grant)) => {
            tracing::Span::current().record("grant_type", grant);
            state
                .metrics
                .tokens_issued
                .with_label_values(&[grant, &realm.realm.name])
                .inc();
            HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .insert_header(("Pragma", "no-cache"))
                .json(response)
        }
        Err(e) => {
            tracing::info!(error = e.code(), "token request refused");
            super::rate_limit::failed_if_refused_credential(&req, &e);
            actix_web::ResponseError::error_response(&e)
        }
    }
}

async fn token_inner(
    state: &AppState,
    realm: &RealmRuntime,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(crate::oauth::tokens::TokenResponse, &'static str), OAuthError> {
    if body::media_type(req).as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let bytes = body::read_limited(payload).await.map_err(|e| match e {
        BodyError::TooLarge => OAuthError::invalid_request("Request body too large"),
        BodyError::Broken => OAuthError::invalid_request("Unreadable request body"),
    })?;
    let params = FormParams::parse(&bytes)?;
    let authorization = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let ip = super::client_address::client_ip(req, state);
    grants::token(state, realm, &params, authorization, ip).await
}
