//! `/admin/realms`: create, list (paged), get, update, delete; signing keys and their rotation.

use crate::http::openapi::schemas::KeysMetadataRepresentation;
use crate::http::openapi::{op, Api, Errors};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::repr::{realm_brief_json, realm_json, RealmRepr, REALM_TRANSIENT_FIELDS};
use super::{admin_realm, created, invalidate, no_content, read_json, Paging};
use crate::domain::defaults::{CLIENT_REALM_MANAGEMENT, MASTER_REALM};
use crate::domain::names::parse_realm_name;
use crate::domain::KeyStatus;
use crate::error::AppError;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::service::provisioning::{self, NewRealm};
use crate::service::rate_limits;
use crate::state::AppState;
use crate::store::db::{self, DbError};

/// python-keycloak accepts exactly this 409 body for realms (it is Keycloak's).
pub(crate) const REALM_CONFLICT: &str = "Conflict detected. See logs for details";

pub fn routes(api: &mut Api) {
    api.section("Realms", Errors::Keycloak)
        .get(
            "/admin/realms",
            list,
            op("List the realms the caller may see")
                .params::<ListQuery>()
                .returns_list::<RealmRepr>(),
        )
        .post(
            "/admin/realms",
            create,
            op("Create a realm")
                .body::<RealmRepr>()
                .created()
                .status(409, "A realm of that name exists"),
        )
        .get("/admin/realms/{realm}", get, op("Get a realm").returns::<RealmRepr>())
        .put(
            "/admin/realms/{realm}",
            update,
            op("Update a realm")
                .describe("Changes only the fields named; other fields are kept as realm attributes.")
                .body::<RealmRepr>()
                .no_content(),
        )
        .delete("/admin/realms/{realm}", delete, op("Delete a realm").no_content())
        .get(
            "/admin/realms/{realm}/keys",
            keys,
            op("The realm's signing keys").returns::<KeysMetadataRepresentation>(),
        )
        .post(
            "/admin/realms/{realm}/keys/rotate",
            rotate_keys,
            op("Rotate the realm's signing key")
                .describe("nexus extension: a new active key; the previous one keeps verifying tokens.")
                .returns_json("The new key: `{kid, algorithm, status}`"),
        );
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    brief_representation: Option<String>,
    // Not `#[serde(flatten)] Paging`: flattened numbers fail to parse from a query string.
    first: Option<i64>,
    max: Option<i64>,
}

impl ListQuery {
    fn paging(&self) -> Paging {
        Paging::new(self.first, self.max)
    }
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let principal = super::auth::authenticate(&state, &req).await?;
    let brief = query
        .brief_representation
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let first = query.paging().first();
    let max = query.paging().max(10_000);
    let realms = if principal.is_master_admin() {
        state
            .db
            .run(move |conn| db::realms::list(conn, first, max).map_err(DbError::from))
            .await?
    } else {
        let own = principal.realm_name.clone();
        state
            .db
            .run(move |conn| db::realms::find_by_name(conn, &own).map_err(DbError::from))
            .await?
            .into_iter()
            .skip(first as usize)
            .collect()
    };
    // Keycloak: the full (or brief) representation where the admin may view the realm, only the
    // name where they hold some other admin role, nothing elsewhere; 403 when nothing is left.
    let any_admin_role = principal
        .roles
        .clients
        .get(CLIENT_REALM_MANAGEMENT)
        .is_some_and(|roles| !roles.is_empty());
    let body: Vec<Value> = realms
        .iter()
        .filter(|r| principal.sees_realm(&r.name))
        .filter_map(|r| {
            if principal.may(&r.name, AdminPermission::ViewRealm) {
                Some(if brief { realm_brief_json(r) } else { realm_json(r) })
            } else if any_admin_role {
                Some(json!({ "realm": r.name }))
            } else {
                None
            }
        })
        .collect();
    if body.is_empty() && !principal.may_create_realms() {
        return Err(AppError::Forbidden);
    }
    Ok(HttpResponse::Ok().json(body))
}

/// A realm name usable as the `/realms/{realm}` path segment: `.` and `..` are dot-segments that
/// URL normalization removes, so a realm of that name could never be reached.
pub(crate) fn realm_name(raw: &str) -> Result<String, AppError> {
    let name = parse_realm_name(raw).map_err(|e| AppError::bad_request(e.to_string()))?;
    if name.chars().all(|c| c == '.') {
        return Err(AppError::bad_request("realm name must not consist of dots only"));
    }
    Ok(name)
}

fn check_lifespans(repr: &RealmRepr) -> Result<(), AppError> {
    for (name, value) in [
        ("accessTokenLifespan", repr.access_token_lifespan),
        ("ssoSessionIdleTimeout", repr.sso_session_idle_timeout),
        ("ssoSessionMaxLifespan", repr.sso_session_max_lifespan),
        ("refreshTokenLifespan", repr.refresh_token_lifespan),
    ] {
        if value.is_some_and(|v| v <= 0 || v > 10 * 365 * 24 * 3600) {
            return Err(AppError::bad_request(format!(
                "{name} must be a positive number of seconds"
            )));
        }
    }
    Ok(())
}

/// The rate limits (`service::rate_limits`) are whole numbers from 0 (no limit).
fn check_rate_limits(repr: &RealmRepr) -> Result<(), AppError> {
    for name in rate_limits::SETTINGS {
        if repr.other.get(name).is_some_and(|v| !rate_limits::valid_setting(v)) {
            return Err(AppError::bad_request(format!(
                "{name} must be a whole number, 0 or more (0: no limit)"
            )));
        }
    }
    check_api_key_settings(repr)
}

/// `apiKeyEnvironments`: a list of `live` / `test`; `apiKeyRotationGraceSeconds`: 0 to a year.
fn check_api_key_settings(repr: &RealmRepr) -> Result<(), AppError> {
    use crate::domain::api_keys::{Environment, DEFAULT_KEY_LIFETIME};
    if let Some(value) = repr.other.get("apiKeyEnvironments").filter(|v| !v.is_null()) {
        let valid = value
            .as_array()
            .is_some_and(|items| items.iter().all(|i| i.as_str().and_then(Environment::parse).is_some()));
        if !valid {
            return Err(AppError::bad_request(
                "apiKeyEnvironments must be a list of \"live\" and \"test\"",
            ));
        }
    }
    if let Some(value) = repr.other.get("apiKeyRotationGraceSeconds").filter(|v| !v.is_null()) {
        if !value.as_i64().is_some_and(|n| (0..=DEFAULT_KEY_LIFETIME).contains(&n)) {
            return Err(AppError::bad_request(
                "apiKeyRotationGraceSeconds must be a whole number of seconds from 0 to 31536000",
            ));
        }
    }
    check_dual_control(repr)
}

/// `dualControl` (ADR 016): a boolean (`"true"`/`"false"` too, as Keycloak imports carry them).
fn check_dual_control(repr: &RealmRepr) -> Result<(), AppError> {
    use crate::domain::approvals::DUAL_CONTROL_SETTING;
    let valid = match repr.other.get(DUAL_CONTROL_SETTING) {
        None | Some(Value::Null | Value::Bool(_)) => true,
        Some(Value::String(s)) => matches!(s.trim(), "true" | "false"),
        Some(_) => false,
    };
    if valid {
        Ok(())
    } else {
        Err(AppError::bad_request(format!(
            "{DUAL_CONTROL_SETTING} must be true or false"
        )))
    }
}

fn settings_attributes(repr: &RealmRepr) -> serde_json::Map<String, Value> {
    repr.other
        .iter()
        .filter(|(k, _)| !REALM_TRANSIENT_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

async fn create(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> Result<HttpResponse, AppError> {
    let principal = super::auth::authenticate(&state, &req).await?;
    if !principal.may_create_realms() {
        return Err(AppError::Forbidden);
    }
    // A full representation (clients, users, …) is an import (ADR 019), hence the larger body.
    let (doc, size) = super::read_import_json(&req, payload).await?;
    if super::transfer::is_full_representation(&doc) {
        return super::transfer::create_realm_response(&state, &req, &principal, doc).await;
    }
    super::check_body_size(size)?;
    let repr: RealmRepr =
        serde_json::from_value(doc).map_err(|e| AppError::bad_request(format!("Invalid JSON body: {e}")))?;
    let realm = create_realm(&state, &principal, repr).await?;
    Ok(created(&req, &realm.name))
}

/// The realm a representation asks for, checked (name, lifespans, rate limits, settings); an import
/// (ADR 019) adds the ids to keep.
pub(crate) fn new_realm_spec(repr: &RealmRepr) -> Result<NewRealm, AppError> {
    let name = realm_name(repr.realm.as_deref().unwrap_or(""))?;
    check_lifespans(repr)?;
    check_rate_limits(repr)?;
    Ok(NewRealm {
        name,
        display_name: repr.display_name.clone(),
        enabled: repr.enabled.unwrap_or(true),
        access_token_lifespan: repr.access_token_lifespan,
        sso_session_idle_timeout: repr.sso_session_idle_timeout,
        sso_session_max_lifespan: repr.sso_session_max_lifespan,
        refresh_token_lifespan: repr.refresh_token_lifespan,
        attributes: settings_attributes(repr),
        preset_ids: Default::default(),
    })
}

/// Creates a realm from Keycloak's representation (the admin API's POST, the console's form).
pub async fn create_realm(
    state: &AppState,
    principal: &AdminPrincipal,
    repr: RealmRepr,
) -> Result<crate::domain::Realm, AppError> {
    if !principal.may_create_realms() {
        return Err(AppError::Forbidden);
    }
    let spec = new_realm_spec(&repr)?;
    // Key generation is CPU work: off the async workers, and outside the transaction.
    let master = state.master_key.clone();
    let key = crate::service::keys::fresh_key(&state.key_pool, master)
        .await
        .map_err(AppError::internal)?;
    let now = state.now();
    let realm = state
        .db
        .transaction(move |conn| {
            provisioning::create_realm(conn, spec, key, now).map_err(|e| super::conflict_or_internal(e, REALM_CONFLICT))
        })
        .await?;
    invalidate(state, &realm.name).await;
    tracing::info!(realm = %realm.name, "realm created");
    Ok(realm)
}

async fn get(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(&state, &req, &path, AdminPermission::ViewRealm).await?;
    Ok(HttpResponse::Ok().json(realm_json(&realm.realm)))
}

async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let principal = super::auth::authenticate(&state, &req).await?;
    let repr: RealmRepr = read_json(&req, payload).await?;
    update_realm(&state, &principal, &path, repr).await?;
    Ok(no_content())
}

/// Changes the fields present in `repr` (the admin API's PUT, the console's settings form).
pub async fn update_realm(
    state: &AppState,
    principal: &AdminPrincipal,
    target: &str,
    repr: RealmRepr,
) -> Result<(), AppError> {
    let runtime = super::realm_for(state, principal, target, AdminPermission::ManageRealm).await?;
    check_lifespans(&repr)?;
    check_rate_limits(&repr)?;
    let mut realm = runtime.realm.clone();
    let old_name = realm.name.clone();
    if let Some(new_name) = &repr.realm {
        let new_name = realm_name(new_name)?;
        if new_name != realm.name && realm.name == MASTER_REALM {
            return Err(AppError::bad_request("The master realm cannot be renamed"));
        }
        realm.name = new_name;
    }
    if let Some(v) = repr.display_name.clone() {
        realm.display_name = Some(v);
    }
    if let Some(v) = repr.enabled {
        if !v && realm.name == MASTER_REALM {
            return Err(AppError::bad_request("The master realm cannot be disabled"));
        }
        realm.enabled = v;
    }
    if let Some(v) = repr.access_token_lifespan {
        realm.access_token_lifespan = v;
    }
    if let Some(v) = repr.sso_session_idle_timeout {
        realm.sso_session_idle_timeout = v;
    }
    if let Some(v) = repr.sso_session_max_lifespan {
        realm.sso_session_max_lifespan = v;
    }
    if let Some(v) = repr.refresh_token_lifespan {
        realm.refresh_token_lifespan = v;
    }
    if let Some(v) = repr.not_before {
        realm.not_before = v.max(0);
    }
    realm.attributes.extend(settings_attributes(&repr));
    let to_store = realm.clone();
    let result = state
        .db
        .run(move |conn| Ok::<_, DbError>(db::realms::update(conn, &to_store)))
        .await?;
    result.map_err(|e| super::conflict_or_internal(e, REALM_CONFLICT))?;
    invalidate(state, &old_name).await;
    if realm.name != old_name {
        invalidate(state, &realm.name).await;
    }
    Ok(())
}

async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, runtime) = admin_realm(&state, &req, &path, AdminPermission::ManageRealm).await?;
    if runtime.realm.name == MASTER_REALM {
        return Err(AppError::bad_request("The master realm cannot be deleted"));
    }
    let id = runtime.realm.id.clone();
    state
        .db
        .transaction(move |conn| db::realms::delete(conn, &id).map_err(DbError::from))
        .await?;
    invalidate(&state, &runtime.realm.name).await;
    Ok(no_content())
}

/// Keycloak's `KeysMetadataRepresentation`.
async fn keys(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, runtime) = admin_realm(&state, &req, &path, AdminPermission::ViewRealm).await?;
    let realm_id = runtime.realm.id.clone();
    let records = state
        .db
        .run(move |conn| db::keys::list_for_realm(conn, &realm_id).map_err(DbError::from))
        .await?;
    let now = state.now();
    let active = records
        .iter()
        .find(|k| k.status == KeyStatus::Active)
        .map(|k| k.kid.clone());
    let keys: Vec<Value> = records
        .iter()
        .filter(|k| k.status == KeyStatus::Active || k.verify_until.is_none_or(|u| u > now))
        .map(|k| {
            json!({
                "kid": k.kid,
                "algorithm": k.algorithm,
                "type": "RSA",
                "use": "SIG",
                "status": if k.status == KeyStatus::Active { "ACTIVE" } else { "PASSIVE" },
                "publicKey": k.public_key_pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>(),
                "validTo": k.verify_until.map(|u| u * 1000),
                "createdAt": k.created_at * 1000,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "active": { "RS256": active }, "keys": keys })))
}

/// Nexus extension: rotate the realm's signing key now.
async fn rotate_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let principal = super::auth::authenticate(&state, &req).await?;
    let record = rotate_realm_key(&state, &principal, &path).await?;
    Ok(HttpResponse::Ok().json(json!({ "kid": record.kid, "algorithm": record.algorithm, "status": "ACTIVE" })))
}

/// A new active signing key; the old one keeps verifying until its tokens expire (ADR 006).
pub async fn rotate_realm_key(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
) -> Result<crate::domain::SigningKeyRecord, AppError> {
    let runtime = super::realm_for(state, principal, realm_name, AdminPermission::ManageRealm).await?;
    let master = state.master_key.clone();
    let key = crate::service::keys::fresh_key(&state.key_pool, master)
        .await
        .map_err(AppError::internal)?;
    let realm = runtime.realm.clone();
    let now = state.now();
    let record = state
        .db
        .transaction(move |conn| crate::service::keys::rotate(conn, &realm, key, now).map_err(DbError::from))
        .await?;
    invalidate(state, &runtime.realm.name).await;
    Ok(record)
}
