//! Keycloak's admin REST API under `/admin/realms`: Keycloak's paths, JSON field names, status codes
//! and error shapes, so that Keycloak admin clients (python-keycloak, …) work unmodified.

pub mod approvals;
pub mod attack_detection;
pub mod auth;
pub mod clients;
pub mod consents;
pub mod events;
pub mod groups;
pub mod realms;
pub mod repr;
pub mod roles;
pub mod scopes;
pub mod sessions;
pub mod transfer;
pub mod users;

use std::sync::Arc;

use actix_web::http::header::LOCATION;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::body::{self, BodyError};
use crate::error::AppError;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::service::realm_cache::RealmRuntime;
use crate::state::AppState;

pub fn routes(cfg: &mut crate::http::openapi::Api) {
    realms::routes(cfg);
    clients::routes(cfg);
    users::routes(cfg);
    roles::routes(cfg);
    groups::routes(cfg);
    scopes::routes(cfg);
    sessions::routes(cfg);
    attack_detection::routes(cfg);
    consents::routes(cfg);
    events::routes(cfg);
    approvals::routes(cfg);
    transfer::routes(cfg);
}

/// Parses a JSON body (≤ 64 KiB) into `T`, with Keycloak-style 400s naming what is wrong.
pub async fn read_json<T: DeserializeOwned>(req: &HttpRequest, payload: web::Payload) -> Result<T, AppError> {
    let bytes = read_json_bytes(req, payload).await?;
    serde_json::from_slice(&bytes).map_err(|e| AppError::bad_request(format!("Invalid JSON body: {e}")))
}

/// Largest realm representation an import accepts over the admin API (16 MiB).
pub const MAX_IMPORT_BODY: usize = 16 * 1024 * 1024;

/// A JSON body of up to [`MAX_IMPORT_BODY`] (realm imports), as a `serde_json::Value`, with its
/// size in bytes (a body that turns out not to be an import keeps the 64 KiB limit).
pub async fn read_import_json(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(serde_json::Value, usize), AppError> {
    check_json_type(req)?;
    let bytes = body::read_limited_to(payload, MAX_IMPORT_BODY)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => AppError::bad_request("Request body too large (limit 16 MiB)"),
            BodyError::Broken => AppError::bad_request("Unreadable request body"),
        })?;
    let value = serde_json::from_slice(&bytes).map_err(|e| AppError::bad_request(format!("Invalid JSON body: {e}")))?;
    Ok((value, bytes.len()))
}

/// The 64 KiB limit of every other admin body, for a body read with [`read_import_json`].
pub fn check_body_size(size: usize) -> Result<(), AppError> {
    if size > body::MAX_BODY {
        return Err(body_error(BodyError::TooLarge));
    }
    Ok(())
}

/// Like `read_json` but an empty body is `None` (for endpoints whose body is optional).
pub async fn read_optional_json<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Option<T>, AppError> {
    let bytes = body::read_limited(payload).await.map_err(body_error)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    check_json_type(req)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| AppError::bad_request(format!("Invalid JSON body: {e}")))
}

async fn read_json_bytes(req: &HttpRequest, payload: web::Payload) -> Result<web::Bytes, AppError> {
    check_json_type(req)?;
    body::read_limited(payload).await.map_err(body_error)
}

fn check_json_type(req: &HttpRequest) -> Result<(), AppError> {
    match body::media_type(req).as_deref() {
        Some("application/json") => Ok(()),
        Some(t) if t.ends_with("+json") => Ok(()),
        _ => Err(AppError::UnsupportedMediaType(
            "Content-Type must be application/json".into(),
        )),
    }
}

fn body_error(e: BodyError) -> AppError {
    match e {
        BodyError::TooLarge => AppError::bad_request("Request body too large (limit 64 KiB)"),
        BodyError::Broken => AppError::bad_request("Unreadable request body"),
    }
}

/// 201 with an empty body and a `Location` ending in the new object's id (Keycloak clients read it).
pub fn created(req: &HttpRequest, id: &str) -> HttpResponse {
    let base = req.connection_info();
    let location = format!(
        "{}://{}{}/{}",
        base.scheme(),
        base.host(),
        req.path().trim_end_matches('/'),
        urlencode(id)
    );
    HttpResponse::Created().insert_header((LOCATION, location)).finish()
}

pub fn urlencode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// Keycloak's paging parameters.
#[derive(Deserialize, Debug, Default)]
pub struct Paging {
    pub first: Option<i64>,
    pub max: Option<i64>,
}

impl Paging {
    pub fn new(first: Option<i64>, max: Option<i64>) -> Self {
        Self { first, max }
    }

    /// How many items of an in-memory list to skip.
    pub fn offset(&self) -> usize {
        usize::try_from(self.first()).unwrap_or(0)
    }

    /// How many items of an in-memory list to keep (`default` when `max` is absent).
    pub fn limit(&self, default: usize) -> usize {
        usize::try_from(self.max(i64::try_from(default).unwrap_or(i64::MAX))).unwrap_or(default)
    }

    pub fn first(&self) -> i64 {
        self.first.unwrap_or(0).max(0)
    }

    /// At most 1000 rows a page; Keycloak's default page for users is 100.
    pub fn max(&self, default: i64) -> i64 {
        match self.max {
            Some(m) if m >= 0 => m.min(1000),
            _ => default,
        }
    }
}

/// Authenticates the admin and resolves `realm_name` if they may `permission` in it. An admin who
/// may not even view the realm gets 404 would leak existence; Keycloak answers 403, so do we.
pub async fn admin_realm(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    permission: AdminPermission,
) -> Result<(AdminPrincipal, Arc<RealmRuntime>), AppError> {
    let principal = auth::authenticate(state, req).await?;
    let realm = realm_for(state, &principal, realm_name, permission).await?;
    Ok((principal, realm))
}

/// Resolves `realm_name` if `principal` may `permission` in it: the one authorization check that
/// the admin API (bearer tokens, API keys) and the admin console (SSO sessions) share.
pub async fn realm_for(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    permission: AdminPermission,
) -> Result<Arc<RealmRuntime>, AppError> {
    if !principal.may(realm_name, permission) {
        return Err(AppError::Forbidden);
    }
    state
        .realms
        .realm(realm_name)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(|| AppError::not_found("Realm not found."))
}

/// After a write in a realm: drop every node's cached view of it.
pub async fn invalidate(state: &AppState, realm_name: &str) {
    state.realms.invalidate(&state.ephemeral, realm_name).await;
}

/// Maps a unique violation to 409 with Keycloak's message; anything else is internal.
pub fn conflict_or_internal(e: diesel::result::Error, message: &str) -> AppError {
    if crate::store::db::is_unique_violation(&e) {
        AppError::conflict(message)
    } else {
        AppError::internal(e)
    }
}
