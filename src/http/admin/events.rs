//! `/admin/realms/{realm}/events`: the realm's stored login-type events (API-key uses and
//! refusals, …), newest first, with Keycloak's filters (`type` repeatable, `client`, `user`,
//! `ipAddress`, `dateFrom`/`dateTo` as `yyyy-MM-dd` or epoch milliseconds, `first`, `max`), and
//! `DELETE` to clear them.

use crate::http::openapi::schemas::{AdminEventRepresentation, EventRepresentation, RealmEventsConfigRepresentation};
use crate::http::openapi::Ty;
use crate::http::openapi::{op, Api, Errors};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::{admin_realm, no_content, Paging};
use crate::domain::dates::parse_date;
use crate::domain::events::{attributes_of, EventsConfig};
use crate::error::AppError;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::state::AppState;
use crate::store::db::admin_events::{AdminEventFilter, AdminEventRow};
use crate::store::db::events::{EventFilter, EventRow};
use crate::store::db::{self, DbConnection};

pub fn routes(api: &mut Api) {
    api.section("Events", Errors::Keycloak)
        .get(
            "/admin/realms/{realm}/events",
            list,
            op("List events, newest first")
                .query("type", Ty::Str, "Event type (repeatable)")
                .query("client", Ty::Str, "clientId")
                .query("user", Ty::Str, "User id")
                .query("ipAddress", Ty::Str, "Client IP address")
                .query("dateFrom", Ty::Str, "First day (yyyy-MM-dd) or epoch milliseconds")
                .query("dateTo", Ty::Str, "Last day (yyyy-MM-dd) or epoch milliseconds")
                .query("first", Ty::Int, "Offset")
                .query("max", Ty::Int, "Page size")
                .returns_list::<EventRepresentation>(),
        )
        .delete(
            "/admin/realms/{realm}/events",
            clear,
            op("Delete the realm's events").no_content(),
        )
        .get(
            "/admin/realms/{realm}/events/config",
            get_config,
            op("The realm's event settings").returns::<RealmEventsConfigRepresentation>(),
        )
        .put(
            "/admin/realms/{realm}/events/config",
            put_config,
            op("Change the realm's event settings")
                .body::<RealmEventsConfigRepresentation>()
                .no_content(),
        )
        .get(
            "/admin/realms/{realm}/admin-events",
            list_admin,
            op("List admin events, newest first")
                .query(
                    "operationTypes",
                    Ty::Str,
                    "CREATE, UPDATE, DELETE or ACTION (repeatable)",
                )
                .query(
                    "resourceTypes",
                    Ty::Str,
                    "Resource type, e.g. USER, CLIENT (repeatable)",
                )
                .query(
                    "resourcePath",
                    Ty::Str,
                    "Resource path (`*` matches any run of characters)",
                )
                .query("authRealm", Ty::Str, "Realm id of the acting administrator")
                .query("authClient", Ty::Str, "Client id the administrator used")
                .query("authUser", Ty::Str, "User id of the acting administrator")
                .query("authIpAddress", Ty::Str, "The administrator's address")
                .query("dateFrom", Ty::Str, "First day (yyyy-MM-dd) or epoch milliseconds")
                .query("dateTo", Ty::Str, "Last day (yyyy-MM-dd) or epoch milliseconds")
                .query("first", Ty::Int, "Offset")
                .query("max", Ty::Int, "Page size")
                .returns_list::<AdminEventRepresentation>(),
        )
        .delete(
            "/admin/realms/{realm}/admin-events",
            clear_admin,
            op("Delete the realm's admin events").no_content(),
        );
}

const DAY_MILLIS: i64 = 86_400_000;

/// A date bound in milliseconds: a calendar day (its first millisecond, or with `end_of_day` its
/// last), or a number of epoch milliseconds.
fn date_bound(name: &str, value: &str, end_of_day: bool) -> Result<i64, AppError> {
    if let Some(day) = parse_date(value) {
        let start = day.saturating_mul(1000);
        return Ok(if end_of_day { start + DAY_MILLIS - 1 } else { start });
    }
    value
        .parse::<i64>()
        .ok()
        .filter(|ms| *ms >= 0)
        .ok_or_else(|| AppError::bad_request(format!("Invalid value for '{name}', expected format is yyyy-MM-dd")))
}

/// Keycloak's event filters from a query string (the admin API and the console).
pub fn filter_of(query: &str) -> Result<EventFilter, AppError> {
    let mut filter = EventFilter::default();
    let mut window = Window::default();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "type" => filter.types.push(value.into_owned()),
            "client" => filter.client_id = Some(value.into_owned()),
            "user" => filter.user_id = Some(value.into_owned()),
            "ipAddress" => filter.ip_address = Some(value.into_owned()),
            _ => window.read(&name, &value)?,
        }
    }
    (filter.from, filter.to, filter.first, filter.max) = window.bounds();
    Ok(filter)
}

/// The parameters both event lists share: `dateFrom`, `dateTo`, `first`, `max`.
#[derive(Default)]
struct Window {
    from: Option<i64>,
    to: Option<i64>,
    paging: Paging,
}

impl Window {
    /// Takes `name` if it is one of these; other names are ignored, as Keycloak ignores them.
    fn read(&mut self, name: &str, value: &str) -> Result<(), AppError> {
        let number = || {
            value
                .parse::<i64>()
                .map_err(|_| AppError::bad_request(format!("Invalid value for '{name}'")))
        };
        match name {
            "dateFrom" => self.from = Some(date_bound(name, value, false)?),
            "dateTo" => self.to = Some(date_bound(name, value, true)?),
            "first" => self.paging.first = Some(number()?),
            "max" => self.paging.max = Some(number()?),
            _ => {}
        }
        Ok(())
    }

    /// From, to, first, max.
    fn bounds(&self) -> (Option<i64>, Option<i64>, i64, i64) {
        (self.from, self.to, self.paging.first(), self.paging.max(100))
    }
}

async fn list(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (principal, _) = admin_realm(&state, &req, &path, AdminPermission::ViewEvents).await?;
    let filter = filter_of(req.query_string())?;
    let rows = list_events(&state, &principal, &path, filter).await?;
    let body: Vec<Value> = rows
        .into_iter()
        .map(|e| {
            let details: Value = serde_json::from_str(&e.details).unwrap_or_else(|_| json!({}));
            json!({
                "time": e.time,
                "type": e.event_type,
                "realmId": e.realm_id,
                "clientId": e.client_id,
                "userId": e.user_id,
                "sessionId": e.session_id,
                "ipAddress": e.ip_address,
                "error": e.error,
                "details": details,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// The realm's events matching `filter`, newest first (the admin API and the console).
pub async fn list_events(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    filter: EventFilter,
) -> Result<Vec<EventRow>, AppError> {
    read_in_realm(state, principal, realm_name, move |conn, realm_id| {
        db::events::list(conn, realm_id, &filter)
    })
    .await
}

/// Runs `query` with the realm's id once `principal` may view its events.
async fn read_in_realm<T: Send + 'static>(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    query: impl FnOnce(&mut DbConnection, &str) -> diesel::QueryResult<T> + Send + 'static,
) -> Result<T, AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ViewEvents).await?;
    let realm_id = realm.realm.id.clone();
    state
        .db
        .run(move |conn| query(conn, &realm_id).map_err(AppError::from))
        .await
}

/// `DELETE` of one of the realm's event lists (manage-events).
async fn clear_in_realm(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    clear: fn(&mut DbConnection, &str) -> diesel::QueryResult<usize>,
) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(state, req, realm_name, AdminPermission::ManageEvents).await?;
    let realm_id = realm.realm.id.clone();
    state
        .db
        .transaction(move |conn| clear(conn, &realm_id).map_err(AppError::from))
        .await?;
    Ok(no_content())
}

async fn clear(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    clear_in_realm(&state, &req, &path, db::events::clear).await
}

/// Keycloak's admin-event filters from a query string (`operationTypes` and `resourceTypes`
/// repeatable, `resourcePath` with `*`, `authRealm`, `authClient`, `authUser`, `authIpAddress`,
/// `dateFrom`, `dateTo`, `first`, `max`).
pub fn admin_filter_of(query: &str) -> Result<AdminEventFilter, AppError> {
    let mut filter = AdminEventFilter::default();
    let mut window = Window::default();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "operationTypes" => filter.operation_types.push(value.into_owned()),
            "resourceTypes" => filter.resource_types.push(value.into_owned()),
            "resourcePath" => filter.resource_path = Some(value.into_owned()),
            "authRealm" => filter.auth_realm = Some(value.into_owned()),
            "authClient" => filter.auth_client = Some(value.into_owned()),
            "authUser" => filter.auth_user = Some(value.into_owned()),
            "authIpAddress" => filter.auth_ip_address = Some(value.into_owned()),
            _ => window.read(&name, &value)?,
        }
    }
    (filter.from, filter.to, filter.first, filter.max) = window.bounds();
    Ok(filter)
}

/// `GET /admin/realms/{realm}/admin-events`: Keycloak's `AdminEventRepresentation`s, newest first.
async fn list_admin(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (principal, _) = admin_realm(&state, &req, &path, AdminPermission::ViewEvents).await?;
    let filter = admin_filter_of(req.query_string())?;
    let rows = list_admin_events(&state, &principal, &path, filter).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(admin_event_json).collect::<Vec<_>>()))
}

/// One admin event as Keycloak shows it.
pub fn admin_event_json(e: &AdminEventRow) -> Value {
    let mut event = json!({
        "id": e.id,
        "time": e.time,
        "realmId": e.realm_id,
        "authDetails": {
            "realmId": e.auth_realm_id,
            "clientId": e.auth_client_id,
            "userId": e.auth_user_id,
            "ipAddress": e.auth_ip_address,
        },
        "operationType": e.operation_type,
        "resourceType": e.resource_type,
        "resourcePath": e.resource_path,
    });
    if let Some(representation) = &e.representation {
        event["representation"] = json!(representation);
    }
    if let Some(error) = &e.error {
        event["error"] = json!(error);
    }
    event
}

/// The realm's admin events matching `filter`, newest first (the admin API and the console).
pub async fn list_admin_events(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    filter: AdminEventFilter,
) -> Result<Vec<AdminEventRow>, AppError> {
    read_in_realm(state, principal, realm_name, move |conn, realm_id| {
        db::admin_events::list(conn, realm_id, &filter)
    })
    .await
}

/// `DELETE /admin/realms/{realm}/admin-events`. The clearing itself is the first event after it.
async fn clear_admin(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    clear_in_realm(&state, &req, &path, db::admin_events::clear).await
}

/// `GET /admin/realms/{realm}/events/config`: Keycloak's `RealmEventsConfigRepresentation`.
async fn get_config(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(&state, &req, &path, AdminPermission::ViewEvents).await?;
    Ok(HttpResponse::Ok().json(EventsConfig::of(&realm.realm).to_json()))
}

/// `PUT /admin/realms/{realm}/events/config`: the fields given change, the others stay.
async fn put_config(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (principal, _) = admin_realm(&state, &req, &path, AdminPermission::ManageEvents).await?;
    let body: Map<String, Value> = super::read_json(&req, payload).await?;
    set_events_config(&state, &principal, &path, &body).await?;
    Ok(no_content())
}

/// Changes a realm's event settings (the admin API and the console); refused fields are named.
pub async fn set_events_config(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    body: &Map<String, Value>,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageEvents).await?;
    let changes = attributes_of(body).map_err(|e| AppError::bad_request(e.0))?;
    let realm_id = realm.realm.id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let mut stored =
                db::realms::find(conn, &realm_id)?.ok_or_else(|| AppError::not_found("Realm not found."))?;
            for (name, value) in changes {
                if value.is_null() {
                    stored.attributes.remove(&name);
                } else {
                    stored.attributes.insert(name, value);
                }
            }
            db::realms::update(conn, &stored)?;
            Ok(())
        })
        .await?;
    super::invalidate(state, &realm.realm.name).await;
    Ok(())
}
