//! The API-key API (issue 4, seed 004): a user manages their own keys at
//! `/realms/{realm}/api/v1/api-keys` with an access token of the realm; an admin manages any user's
//! at `/admin/realms/{realm}/users/{id}/api-keys`. Errors are RFC 7807 problems (`http::problem`),
//! except the admin API's own authentication errors, which keep the admin API's shapes.

use actix_web::http::header::{ACCEPT, LOCATION};
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};

use super::account::{authenticate, AccountError, AccountUser};
use super::admin::users::{load_managed_user, load_user};
use super::admin::{admin_realm, urlencode};
use super::key_auth::check_key;
use super::openapi::schemas::{ApiKeyRepresentation, ApiKeyTokenResponse};
use super::openapi::{op, Api, Errors};
use super::problem::{respond, Problem};
use crate::domain::api_keys::{self as rules, ApiKey, Environment, KeyKind, KeyRuleError};
use crate::domain::dates::{format_rfc3339, parse_rfc3339};
use crate::error::AppError;
use crate::oauth::tokens::issue_api_key_token;
use crate::service::api_keys::{self as keys, ApiKeyError, NewApiKey};
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::state::AppState;
use crate::store::db::DbError;

pub fn routes(api: &mut Api) {
    let own = "/realms/{realm}/api/v1/api-keys";
    let one = "/realms/{realm}/api/v1/api-keys/{id}";
    let update = || {
        op("Change a key's description, expiry or allowlist")
            .optional_body::<UpdateBody>()
            .returns::<ApiKeyRepresentation>()
    };
    api.section("API keys", Errors::Problem)
        .post(
            own,
            create_own,
            op("Create a key for yourself")
                .describe("The answer carries the secret, shown this once.")
                .optional_body::<CreateBody>()
                .created_with::<ApiKeyRepresentation>(),
        )
        .get(
            own,
            list_own,
            op("List your keys").returns_list::<ApiKeyRepresentation>(),
        )
        .get(
            one,
            get_own,
            op("Get one of your keys").returns::<ApiKeyRepresentation>(),
        )
        .put(one, update_own, update())
        .patch(one, update_own, update())
        .delete(one, delete_own, op("Revoke and delete one of your keys").no_content())
        .post(
            "/realms/{realm}/api/v1/api-keys/{id}/rotate",
            rotate_own,
            op("Rotate a key's secret")
                .describe("A new secret; the previous one keeps working for the realm's grace period.")
                .returns::<ApiKeyRepresentation>(),
        )
        .post(
            "/realms/{realm}/api/v1/api-keys/{id}/regenerate",
            regenerate_own,
            op("Regenerate a key's secret")
                .describe("A new secret; the previous one stops working at once.")
                .returns::<ApiKeyRepresentation>(),
        )
        .route(
            Method::POST,
            "/realms/{realm}/api/v1/oauth/tokens",
            web::post()
                .to(key_for_token)
                .wrap(actix_web::middleware::from_fn(super::rate_limit::key_for_token)),
            op("Exchange a key and its secret for an access token")
                .describe("Authenticated by the key in the body, not by a bearer token. Rate limited.")
                .body::<KeyForTokenBody>()
                .returns::<ApiKeyTokenResponse>()
                .status(401, "Invalid API key or secret")
                .public(),
        );
    let admin_all = "/admin/realms/{realm}/users/{user}/api-keys";
    let admin_one = "/admin/realms/{realm}/users/{user}/api-keys/{id}";
    api.section("API keys (admin)", Errors::Problem)
        .get(
            admin_all,
            admin_list,
            op("List a user's keys").returns_list::<ApiKeyRepresentation>(),
        )
        .post(
            admin_all,
            admin_create,
            op("Create a key for a user")
                .describe("For a service account under dual control the key waits for approval (202).")
                .optional_body::<CreateBody>()
                .created_with::<ApiKeyRepresentation>()
                .status(202, "Waiting for a second administrator's approval"),
        )
        .get(
            admin_one,
            admin_get,
            op("Get a user's key").returns::<ApiKeyRepresentation>(),
        )
        .put(
            admin_one,
            admin_update,
            op("Change a user's key")
                .optional_body::<UpdateBody>()
                .returns::<ApiKeyRepresentation>(),
        )
        .delete(
            admin_one,
            admin_delete,
            op("Revoke and delete a user's key").no_content(),
        )
        .post(
            "/admin/realms/{realm}/users/{user}/api-keys/{id}/rotate",
            admin_rotate,
            op("Rotate a user's key").returns::<ApiKeyRepresentation>(),
        )
        .post(
            "/admin/realms/{realm}/users/{user}/api-keys/{id}/regenerate",
            admin_regenerate,
            op("Regenerate a user's key").returns::<ApiKeyRepresentation>(),
        );
}

impl From<ApiKeyError> for Problem {
    fn from(e: ApiKeyError) -> Self {
        use actix_web::http::StatusCode;
        match e {
            ApiKeyError::Rule(KeyRuleError::NotReadOnly(p)) => Problem::new(
                StatusCode::BAD_REQUEST,
                "read-only-key",
                "Invalid request",
                KeyRuleError::NotReadOnly(p).to_string(),
            ),
            ApiKeyError::Rule(rule) => Problem::bad_request(rule.to_string()),
            e @ ApiKeyError::UnknownScope(_) => Problem::new(
                StatusCode::BAD_REQUEST,
                "unknown-scope",
                "Invalid request",
                e.to_string(),
            ),
            e @ ApiKeyError::RoleNotHeld(_) => Problem::forbidden("role-not-held", e.to_string()),
            e @ (ApiKeyError::DuplicateId(_) | ApiKeyError::DuplicateSecret) => Problem::conflict(e.to_string()),
            ApiKeyError::NotFound => Problem::not_found("no such API key"),
            e @ ApiKeyError::NotUsable => Problem::conflict(e.to_string()),
            ApiKeyError::Database(e) => Problem::internal(e),
        }
    }
}

impl From<DbError> for Problem {
    fn from(e: DbError) -> Self {
        Problem::internal(e)
    }
}

impl From<AccountError> for Problem {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::RealmNotFound => Problem::not_found("realm not found"),
            AccountError::Unauthorized => Problem::unauthorized("a valid access token of the realm's user is required"),
            AccountError::Forbidden => Problem::forbidden("forbidden", "forbidden"),
            AccountError::NotFound(m) => Problem::not_found(m),
            AccountError::Internal(cause) => Problem::internal(cause),
        }
    }
}

/// The JSON of a key, as seed 004 names the fields; `secret` only in the answer to its creation.
fn key_json(key: &ApiKey, secret: Option<&str>) -> Value {
    let mut body = json!({
        "id": key.id,
        "roleId": key.role_id,
        "userId": key.user_id,
        "created": format_rfc3339(key.created_at),
        "modified": format_rfc3339(key.modified_at),
        "createdBy": key.created_by,
        "modifiedBy": key.modified_by,
        "expiresAt": format_rfc3339(key.expires_at),
        "description": key.description,
        "permissions": key.permissions.join(" "),
        "kind": key.kind.as_str(),
        "environment": key.environment.as_str(),
        "displayPrefix": key.display_prefix,
        "revoked": key.revoked,
        "allowedIps": key.allowed_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "lastUsedAt": key.last_used_at.map(format_rfc3339),
        "lastUsedIp": key.last_used_ip,
        "previousSecretExpiresAt": key.previous_secret_until.map(format_rfc3339),
        // Dual control (ADR 016): a service account's key waits for a second administrator.
        "pendingApproval": key.pending_approval.is_some(),
        "pendingApprovalId": key.pending_approval,
    });
    if let Some(secret) = secret {
        body["secret"] = json!(secret);
    }
    body
}

/// Seed 004's request, plus nexus's `kind` and `environment`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ApiKeyCreateRequest)]
struct CreateBody {
    id: Option<String>,
    role_id: Option<String>,
    secret: Option<String>,
    expires_at: Option<String>,
    description: Option<String>,
    permissions: Option<String>,
    kind: Option<String>,
    environment: Option<String>,
    allowed_ips: Option<Vec<String>>,
}

/// What may change on a key: description, expiry, allowlist (an empty list clears it).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ApiKeyUpdateRequest)]
struct UpdateBody {
    description: Option<String>,
    expires_at: Option<String>,
    allowed_ips: Option<Vec<String>>,
}

/// A JSON body (an empty one is `{}`); 400 otherwise.
fn parse_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| Problem::bad_request(format!("invalid JSON body: {e}")))
}

fn parse_date(field: &str, value: Option<&str>) -> Result<Option<i64>, Problem> {
    match value {
        None => Ok(None),
        Some(v) => parse_rfc3339(v)
            .map(Some)
            .ok_or_else(|| Problem::bad_request(format!("{field} must be an RFC 3339 date-time"))),
    }
}

fn parse_ranges(entries: Option<&[String]>) -> Result<Option<Vec<ipnet::IpNet>>, Problem> {
    entries
        .map(rules::parse_allowed_ips)
        .transpose()
        .map_err(|e| Problem::bad_request(e.to_string()))
}

/// A change to one key, the same for its owner and for an admin.
enum KeyChange {
    Update(UpdateBody),
    Rotate,
    Regenerate,
    Delete,
}

impl KeyChange {
    /// Checks the request before any database work (400s come before 404s, nothing half-done).
    fn parse_update(body: &[u8]) -> Result<Self, Problem> {
        let body: UpdateBody = parse_body(body)?;
        parse_date("expiresAt", body.expires_at.as_deref())?;
        parse_ranges(body.allowed_ips.as_deref())?;
        Ok(Self::Update(body))
    }
}

/// Applies `change` to the key `id` of `user_id` inside a write transaction; the key as it is now
/// (`None` once deleted) and, for a rotation or regeneration, its new secret.
#[allow(clippy::too_many_arguments)]
fn apply_change(
    conn: &mut crate::store::db::DbConnection,
    master: &crate::crypto::secrets::MasterKey,
    realm: &crate::domain::Realm,
    user_id: &str,
    id: &str,
    actor: &str,
    change: KeyChange,
    now: i64,
) -> Result<(Option<ApiKey>, Option<String>), ApiKeyError> {
    match change {
        KeyChange::Update(body) => {
            // Both checked by `parse_update`; parsed again here to keep one source of truth.
            let expires_at = body.expires_at.as_deref().and_then(parse_rfc3339);
            let ranges = body.allowed_ips.as_deref().map(rules::parse_allowed_ips).transpose()?;
            let mut key = keys::update(
                conn,
                &realm.id,
                user_id,
                id,
                body.description.map(Some),
                expires_at,
                actor,
                now,
            )?;
            if let Some(ranges) = ranges {
                key = keys::set_allowed_ips(conn, &realm.id, user_id, id, &ranges, actor, now)?;
            }
            Ok((Some(key), None))
        }
        KeyChange::Rotate => {
            let grace = keys::rotation_grace_seconds(realm);
            let (key, secret) = keys::rotate(conn, master, &realm.id, user_id, id, actor, now, grace)?;
            Ok((Some(key), Some(secret)))
        }
        KeyChange::Regenerate => {
            let (key, secret) = keys::regenerate(conn, master, &realm.id, user_id, id, actor, now)?;
            Ok((Some(key), Some(secret)))
        }
        KeyChange::Delete => {
            keys::delete(conn, &realm.id, user_id, id)?;
            Ok((None, None))
        }
    }
}

/// The answer to a change: 204 after a delete, else the key (with its new secret, not cached).
fn changed(key: Option<ApiKey>, secret: Option<String>) -> HttpResponse {
    match key {
        None => HttpResponse::NoContent().finish(),
        Some(key) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(key_json(&key, secret.as_deref())),
    }
}

fn new_key_request(body: CreateBody) -> Result<NewApiKey, Problem> {
    let kind = match body.kind.as_deref() {
        None => KeyKind::Secret,
        Some(k) => KeyKind::parse(k).ok_or_else(|| Problem::bad_request("kind must be secret or publishable"))?,
    };
    let environment = match body.environment.as_deref() {
        None => Environment::Live,
        Some(e) => Environment::parse(e).ok_or_else(|| Problem::bad_request("environment must be live or test"))?,
    };
    Ok(NewApiKey {
        allowed_ips: parse_ranges(body.allowed_ips.as_deref())?.unwrap_or_default(),
        expires_at: parse_date("expiresAt", body.expires_at.as_deref())?,
        id: body.id,
        role: body.role_id,
        secret: body.secret,
        description: body.description,
        permissions: body.permissions,
        kind,
        environment,
    })
}

/// The caller, refused (403) when the token was minted from an API key: a key limited to a role or
/// to some permissions must not create, change or delete keys, which could carry more.
async fn key_manager(state: &AppState, req: &HttpRequest, realm_name: &str) -> Result<AccountUser, Problem> {
    let caller = authenticate(state, req, realm_name).await?;
    if caller.api_key_id.is_some() {
        return Err(Problem::forbidden(
            "api-key-token",
            "a token minted from an API key cannot create, change or delete API keys",
        ));
    }
    Ok(caller)
}

fn created(req: &HttpRequest, key: &ApiKey, secret: &str) -> HttpResponse {
    let info = req.connection_info();
    let location = format!(
        "{}://{}{}/{}",
        info.scheme(),
        info.host(),
        req.path().trim_end_matches('/'),
        urlencode(&key.id)
    );
    HttpResponse::Created()
        .insert_header((LOCATION, location))
        .insert_header(("Cache-Control", "no-store"))
        .json(key_json(key, Some(secret)))
}

async fn create_key(
    state: &AppState,
    realm_id: String,
    owner_id: String,
    actor_id: String,
    request: NewApiKey,
) -> Result<(ApiKey, String), Problem> {
    let master = state.master_key.clone();
    let now = state.now();
    Ok(state
        .db
        .transaction(move |conn| keys::create(conn, &master, &realm_id, &owner_id, &actor_id, request, now))
        .await?)
}

async fn create_own(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let caller = key_manager(&state, &req, &path).await?;
        let request = new_key_request(parse_body(&body)?)?;
        let user_id = caller.user.id.clone();
        let (key, secret) =
            create_key(&state, caller.realm.realm.id.clone(), user_id.clone(), user_id, request).await?;
        Ok::<HttpResponse, Problem>(created(&req, &key, &secret))
    }
    .await;
    respond(&req, result)
}

async fn list_own(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let caller = authenticate(&state, &req, &path).await?;
        let (realm_id, user_id) = (caller.realm.realm.id.clone(), caller.user.id.clone());
        let list = state.db.run(move |conn| keys::list(conn, &realm_id, &user_id)).await?;
        Ok::<HttpResponse, Problem>(HttpResponse::Ok().json(list.iter().map(|k| key_json(k, None)).collect::<Vec<_>>()))
    }
    .await;
    respond(&req, result)
}

async fn get_own(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let result = async {
        let (realm_name, id) = path.into_inner();
        let caller = authenticate(&state, &req, &realm_name).await?;
        let (realm_id, user_id) = (caller.realm.realm.id.clone(), caller.user.id.clone());
        let key = state
            .db
            .run(move |conn| keys::get(conn, &realm_id, &user_id, &id))
            .await?;
        Ok::<HttpResponse, Problem>(HttpResponse::Ok().json(key_json(&key, None)))
    }
    .await;
    respond(&req, result)
}

/// A change by the key's owner (not with a token minted from a key: see `key_manager`).
async fn change_own(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    change: Result<KeyChange, Problem>,
) -> HttpResponse {
    let result = async {
        let (realm_name, id) = path.into_inner();
        let caller = key_manager(&state, &req, &realm_name).await?;
        let change = change?;
        let realm = caller.realm.realm.clone();
        let user_id = caller.user.id.clone();
        let master = state.master_key.clone();
        let now = state.now();
        let (key, secret) = state
            .db
            .transaction(move |conn| apply_change(conn, &master, &realm, &user_id, &id, &user_id, change, now))
            .await?;
        // Every node drops its cached grants of the realm's keys (ADR 014).
        super::admin::invalidate(&state, &realm_name).await;
        Ok::<HttpResponse, Problem>(changed(key, secret))
    }
    .await;
    respond(&req, result)
}

async fn update_own(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    change_own(state, req, path, KeyChange::parse_update(&body)).await
}

async fn rotate_own(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    change_own(state, req, path, Ok(KeyChange::Rotate)).await
}

async fn regenerate_own(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    change_own(state, req, path, Ok(KeyChange::Regenerate)).await
}

async fn delete_own(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    change_own(state, req, path, Ok(KeyChange::Delete)).await
}

/// Seed 000's request: a key id and its secret for a token.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = KeyForTokenRequest)]
struct KeyForTokenBody {
    api_key: String,
    api_secret: String,
    expiration_minutes: Option<i64>,
}

/// The realm's cap on minted tokens (minutes), from its `apiKeyTokenMaxMinutes` attribute (in the
/// representation's `attributes` map, as Keycloak keeps realm attributes, or at its top level).
fn realm_token_cap(realm: &crate::domain::Realm) -> Option<i64> {
    let key = rules::REALM_MAX_TOKEN_MINUTES_ATTRIBUTE;
    let value = realm
        .attributes
        .get("attributes")
        .and_then(|a| a.get(key))
        .or_else(|| realm.attributes.get(key))?;
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// `POST /realms/{realm}/api/v1/oauth/tokens`: an access token for a key's owner. Every refusal of
/// the pair (wrong, revoked, expired, of another realm, owner disabled) is the same 401.
async fn key_for_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let realm = match state.realms.realm(&path).await {
            Ok(Some(realm)) if realm.realm.enabled => realm,
            Ok(_) => return Err(Problem::not_found("realm not found")),
            Err(e) => return Err(Problem::internal(format!("{e:#}"))),
        };
        let body: KeyForTokenBody =
            serde_json::from_slice(&body).map_err(|e| Problem::bad_request(format!("invalid request: {e}")))?;
        let lifespan = rules::token_lifetime(body.expiration_minutes, realm_token_cap(&realm.realm))
            .map_err(|e| Problem::bad_request(e.to_string()))?;
        let now = state.now();
        let grant = check_key(
            &state,
            &req,
            &body.api_secret,
            Some(&body.api_key),
            Some(&realm),
            "key_for_token",
        )
        .await?
        .ok_or_else(|| {
            super::rate_limit::failed(&req);
            Problem::unauthorized("invalid API key or secret")
        })?
        .grant;
        let issued = issue_api_key_token(&realm, &grant, lifespan, now)
            .map_err(|e| Problem::internal(format!("signing an API-key token: {e:?}")))?;
        let wants_text = req
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/plain") && !a.contains("application/json"));
        let mut response = HttpResponse::Ok();
        response
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Pragma", "no-cache"));
        Ok::<HttpResponse, Problem>(if wants_text {
            response.content_type("text/plain; charset=utf-8").body(issued.token)
        } else {
            response.json(json!({
                "access_token": issued.token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
            }))
        })
    }
    .await;
    respond(&req, result)
}

/// The admin API's errors keep its shapes; the key rules' errors are problems.
pub enum AdminFailure {
    Admin(AppError),
    Problem(Problem),
}

impl AdminFailure {
    /// For a page: the status and words of a refused request (a key rule's problem, bad input, a
    /// conflict), or the admin API's error that gets a page of its own.
    pub fn form_message(self) -> Result<(actix_web::http::StatusCode, String), AppError> {
        match self {
            Self::Problem(p) if p.status.is_client_error() && p.status.as_u16() != 403 && p.status.as_u16() != 404 => {
                Ok((p.status, p.detail))
            }
            Self::Problem(p) if p.status.as_u16() == 403 => Err(AppError::Forbidden),
            Self::Problem(p) if p.status.as_u16() == 404 => Err(AppError::not_found(p.detail)),
            Self::Problem(p) => Err(AppError::Internal(anyhow::anyhow!(p.detail))),
            Self::Admin(AppError::BadRequest(m)) => Ok((actix_web::http::StatusCode::BAD_REQUEST, m)),
            Self::Admin(AppError::Conflict(m)) => Ok((actix_web::http::StatusCode::CONFLICT, m)),
            Self::Admin(e) => Err(e),
        }
    }
}

impl From<AppError> for AdminFailure {
    fn from(e: AppError) -> Self {
        Self::Admin(e)
    }
}

impl From<Problem> for AdminFailure {
    fn from(p: Problem) -> Self {
        Self::Problem(p)
    }
}

impl From<ApiKeyError> for AdminFailure {
    fn from(e: ApiKeyError) -> Self {
        Self::Problem(e.into())
    }
}

impl From<DbError> for AdminFailure {
    fn from(e: DbError) -> Self {
        Self::Admin(AppError::internal(e))
    }
}

impl From<diesel::result::Error> for AdminFailure {
    fn from(e: diesel::result::Error) -> Self {
        Self::Admin(AppError::internal(e))
    }
}

fn admin_respond(req: &HttpRequest, result: Result<HttpResponse, AdminFailure>) -> HttpResponse {
    match result {
        Ok(r) => r,
        Err(AdminFailure::Admin(e)) => e.error_response(),
        Err(AdminFailure::Problem(p)) => p.response(req.path()),
    }
}

async fn admin_list(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let result = async {
        let (realm_name, user_id) = path.into_inner();
        let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewUsers).await?;
        let realm_id = realm.realm.id.clone();
        let list = state
            .db
            .run(move |conn| -> Result<Vec<ApiKey>, AdminFailure> {
                let user = load_user(conn, &realm_id, &user_id)?;
                Ok(keys::list(conn, &realm_id, &user.id)?)
            })
            .await?;
        Ok::<HttpResponse, AdminFailure>(
            HttpResponse::Ok().json(list.iter().map(|k| key_json(k, None)).collect::<Vec<_>>()),
        )
    }
    .await;
    admin_respond(&req, result)
}

async fn admin_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let (realm_name, user_id) = path.into_inner();
        let (principal, _) = admin_realm(&state, &req, &realm_name, AdminPermission::ManageUsers).await?;
        let (key, secret) = create_key_as_admin(&state, &principal, &realm_name, user_id, &body).await?;
        Ok::<HttpResponse, AdminFailure>(created(&req, &key, &secret))
    }
    .await;
    admin_respond(&req, result)
}

/// Creates a key of `user_id` for an admin who may manage that user (the admin API's POST and the
/// console): `body` is seed 004's JSON request. The key and its secret, shown once.
pub async fn create_key_as_admin(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    user_id: String,
    body: &[u8],
) -> Result<(ApiKey, String), AdminFailure> {
    let realm = super::admin::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    let request = new_key_request(parse_body(body)?)?;
    let master = state.master_key.clone();
    let now = state.now();
    let realm_row = realm.realm.clone();
    let principal = principal.clone();
    let actor = principal.user.id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(ApiKey, String), AdminFailure> {
            // A key acts as its owner: the admin may not mint one for someone above them.
            let user = load_managed_user(conn, &principal, &realm_row, &user_id)?;
            Ok(keys::create(
                conn,
                &master,
                &realm_row.id,
                &user.id,
                &actor,
                request,
                now,
            )?)
        })
        .await
}

/// Deletes a key of `user_id` for an admin who may manage that user (the console; the admin API's
/// DELETE goes through `admin_change`, which this shares).
pub async fn delete_key_as_admin(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    user_id: String,
    id: String,
) -> Result<(), AdminFailure> {
    change_key_as_admin(state, principal, realm_name, user_id, id, KeyChange::Delete)
        .await
        .map(|_| ())
}

async fn admin_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let result = async {
        let (realm_name, user_id, id) = path.into_inner();
        let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewUsers).await?;
        let realm_id = realm.realm.id.clone();
        let key = state
            .db
            .run(move |conn| -> Result<ApiKey, AdminFailure> {
                let user = load_user(conn, &realm_id, &user_id)?;
                Ok(keys::get(conn, &realm_id, &user.id, &id)?)
            })
            .await?;
        Ok::<HttpResponse, AdminFailure>(HttpResponse::Ok().json(key_json(&key, None)))
    }
    .await;
    admin_respond(&req, result)
}

/// A change by an admin who may manage the owner (never above the admin's own rights).
async fn admin_change(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    change: Result<KeyChange, Problem>,
) -> HttpResponse {
    let result = async {
        let (realm_name, user_id, id) = path.into_inner();
        let (principal, _) = admin_realm(&state, &req, &realm_name, AdminPermission::ManageUsers).await?;
        let (key, secret) = change_key_as_admin(&state, &principal, &realm_name, user_id, id, change?).await?;
        Ok::<HttpResponse, AdminFailure>(changed(key, secret))
    }
    .await;
    admin_respond(&req, result)
}

async fn change_key_as_admin(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    user_id: String,
    id: String,
    change: KeyChange,
) -> Result<(Option<ApiKey>, Option<String>), AdminFailure> {
    let realm = super::admin::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    let realm_row = realm.realm.clone();
    let master = state.master_key.clone();
    let now = state.now();
    let principal = principal.clone();
    let changed = state
        .db
        .transaction(move |conn| -> Result<_, AdminFailure> {
            let user = load_managed_user(conn, &principal, &realm_row, &user_id)?;
            let actor = principal.user.id.clone();
            Ok(apply_change(
                conn, &master, &realm_row, &user.id, &id, &actor, change, now,
            )?)
        })
        .await?;
    super::admin::invalidate(state, realm_name).await;
    Ok(changed)
}

async fn admin_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    admin_change(state, req, path, KeyChange::parse_update(&body)).await
}

async fn admin_rotate(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    admin_change(state, req, path, Ok(KeyChange::Rotate)).await
}

async fn admin_regenerate(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    admin_change(state, req, path, Ok(KeyChange::Regenerate)).await
}

async fn admin_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    admin_change(state, req, path, Ok(KeyChange::Delete)).await
}
