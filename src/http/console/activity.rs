//! The console's views of what happens in a realm: its live SSO sessions (sign out one, or
//! everyone after a confirmation) and its stored events with Keycloak's filters.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::common::{checked, field, form_message, respond, Chrome, FormErrors, ListQuery, PAGE_SIZE};
use super::views::{
    AdminEventFilterForm, AdminEventRowView, AdminEventsPage, EventFilterForm, EventRowView, EventSettingsForm,
    EventSettingsPage, EventsPage, Pager, RealmSessionRow, SessionsPage,
};
use super::{failure_page, internal_error, see_other, Admin, Posted, SignedIn};
use crate::domain::dates::format_rfc3339;
use crate::domain::events::EventsConfig;
use crate::error::AppError;
use crate::http::admin::{events as event_api, realm_for, sessions as session_api};
use crate::http::pages::realm_title;
use crate::http::views::page as render;
use crate::service::authz::AdminPermission;
use crate::service::sessions;
use crate::state::AppState;
use crate::store::db;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let at = |p: &str| format!("/admin/{{realm}}/console/r/{{target}}{p}");
    cfg.route(&at("/sessions"), web::get().to(sessions_page))
        .route(&at("/sessions/sign-out-all"), web::get().to(confirm_sign_out_all))
        .route(&at("/sessions/sign-out-all"), web::post().to(sign_out_all))
        .route(&at("/sessions/{session}/end"), web::post().to(end_session))
        .route(&at("/events"), web::get().to(events_page))
        .route(&at("/admin-events"), web::get().to(admin_events_page))
        .route(&at("/events/settings"), web::get().to(event_settings_page))
        .route(&at("/events/settings"), web::post().to(save_event_settings));
}

async fn sessions_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    respond(
        async {
            let runtime = realm_for(&state, &a.principal, &target, AdminPermission::ViewUsers)
                .await
                .map_err(|e| failure_page(&a, e))?;
            let first = query.first();
            let (live, total) = sessions::list_for_realm(&state, &runtime.realm, first as usize, PAGE_SIZE as usize)
                .await
                .map_err(|e| internal_error(realm_title(&a.home), e))?;
            let realm_id = runtime.realm.id.clone();
            let user_ids: Vec<String> = live.iter().map(|s| s.user_id.clone()).collect();
            let names: HashMap<String, String> = state
                .db
                .run(move |conn| -> Result<_, db::DbError> {
                    let mut names = HashMap::new();
                    for id in user_ids {
                        if let Some(user) = db::users::find(conn, &realm_id, &id)? {
                            names.insert(id, user.username);
                        }
                    }
                    Ok(names)
                })
                .await
                .map_err(|e| internal_error(realm_title(&a.home), e))?;
            let rows: Vec<RealmSessionRow> = live
                .iter()
                .map(|s| RealmSessionRow {
                    id: s.id.clone(),
                    user_id: s.user_id.clone(),
                    username: names.get(&s.user_id).cloned().unwrap_or_default(),
                    ip_address: s.ip_address.clone().unwrap_or_default(),
                    started: format_rfc3339(s.started_at),
                    last_access: format_rfc3339(s.last_seen),
                    clients: s.clients.join(", "),
                })
                .collect();
            let chrome = Chrome::new(&state, &a, &target, query.notice.as_deref());
            Ok(render(
                StatusCode::OK,
                &SessionsPage {
                    frame: chrome.frame("sessions"),
                    sessions: &rows,
                    pager: Pager {
                        first,
                        max: PAGE_SIZE,
                        total: total as i64,
                        query: String::new(),
                    },
                },
            ))
        }
        .await,
    )
}

async fn end_session(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, session) = path.into_inner();
    match session_api::end_session_in(&state, &a.principal, &target, &session).await {
        Ok(()) => see_other(&format!("{}/r/{target}/sessions?notice=session-ended", a.base())),
        Err(e) => failure_page(&a, e),
    }
}

async fn confirm_sign_out_all(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    if let Err(e) = realm_for(&state, &a.principal, &target, AdminPermission::ManageUsers).await {
        return failure_page(&a, e);
    }
    let chrome = Chrome::new(&state, &a, &target, None);
    let explanation = format!(
        "Every session of the realm {target} ends now, with its refresh tokens: everyone signs in again. If you are signed in to this realm yourself, that includes you."
    );
    chrome.confirm(
        "sessions",
        "Sign out everyone",
        &explanation,
        "/sessions/sign-out-all",
        "/sessions",
    )
}

async fn sign_out_all(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    match session_api::sign_out_everyone(&state, &a.principal, &target).await {
        Ok(_) => see_other(&format!("{}/r/{target}/sessions?notice=signed-out-all", a.base())),
        Err(e) => failure_page(&a, e),
    }
}

/// The page's filters: Keycloak's names in the query string, so a filtered page is a link.
fn filter_form(req: &HttpRequest) -> EventFilterForm {
    let mut form = EventFilterForm::default();
    for (name, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        let value = value.trim().to_owned();
        match name.as_ref() {
            "type" => form.kind = value,
            "client" => form.client = value,
            "user" => form.user = value,
            "ipAddress" => form.ip_address = value,
            "dateFrom" => form.date_from = value,
            "dateTo" => form.date_to = value,
            _ => {}
        }
    }
    form
}

/// The filters as a query string without `first` (empty ones left out, as the API reads them).
fn filter_query(form: &EventFilterForm) -> String {
    let pairs = [
        ("type", &form.kind),
        ("client", &form.client),
        ("user", &form.user),
        ("ipAddress", &form.ip_address),
        ("dateFrom", &form.date_from),
        ("dateTo", &form.date_to),
    ];
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        if !value.is_empty() {
            out.append_pair(name, value);
        }
    }
    out.finish()
}

async fn events_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    let form = filter_form(&req);
    let query_string = filter_query(&form);
    let first = query.first();
    // One more than a page tells whether there is a next one.
    let filter = event_api::filter_of(&format!("{query_string}&first={first}&max={}", PAGE_SIZE + 1));
    let (mut rows, error) = match filter {
        Err(AppError::BadRequest(message)) => (Vec::new(), Some(message)),
        Err(e) => return failure_page(&a, e),
        Ok(filter) => match event_api::list_events(&state, &a.principal, &target, filter).await {
            Ok(rows) => (rows, None),
            Err(e) => return failure_page(&a, e),
        },
    };
    let has_next = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let events: Vec<EventRowView> = rows
        .into_iter()
        .map(|e| EventRowView {
            time: format_rfc3339(e.time / 1000),
            kind: e.event_type,
            client_id: e.client_id.unwrap_or_default(),
            user_id: e.user_id.unwrap_or_default(),
            ip_address: e.ip_address.unwrap_or_default(),
            error: e.error.unwrap_or_default(),
            details: e.details,
        })
        .collect();
    let chrome = Chrome::new(&state, &a, &target, None);
    render(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        &EventsPage {
            frame: chrome.frame("events"),
            events: &events,
            filter: &form,
            error: error.as_deref(),
            first,
            has_next,
            query: &query_string,
        },
    )
}

/// `…/admin-events`: what administrators changed in the realm, newest first, with Keycloak's
/// filters (operation, resource type, resource path with `*`, acting user).
async fn admin_events_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    let mut form = AdminEventFilterForm::default();
    for (name, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        let value = value.trim().to_owned();
        match name.as_ref() {
            "operationTypes" => form.operation = value,
            "resourceTypes" => form.resource_type = value,
            "resourcePath" => form.resource_path = value,
            "authUser" => form.auth_user = value,
            _ => {}
        }
    }
    let mut filters = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("operationTypes", &form.operation),
        ("resourceTypes", &form.resource_type),
        ("resourcePath", &form.resource_path),
        ("authUser", &form.auth_user),
    ] {
        if !value.is_empty() {
            filters.append_pair(name, value);
        }
    }
    let query_string = filters.finish();
    let first = query.first();
    let filter = event_api::admin_filter_of(&format!("{query_string}&first={first}&max={}", PAGE_SIZE + 1));
    let rows = match filter {
        Err(e) => return failure_page(&a, e),
        Ok(filter) => match event_api::list_admin_events(&state, &a.principal, &target, filter).await {
            Ok(rows) => rows,
            Err(e) => return failure_page(&a, e),
        },
    };
    let has_next = rows.len() as i64 > PAGE_SIZE;
    let events: Vec<AdminEventRowView> = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|e| AdminEventRowView {
            time: format_rfc3339(e.time / 1000),
            operation: e.operation_type,
            resource_type: e.resource_type,
            resource_path: e.resource_path,
            auth_user_id: e.auth_user_id.unwrap_or_default(),
            auth_client_id: e.auth_client_id.unwrap_or_default(),
            ip_address: e.auth_ip_address.unwrap_or_default(),
            representation: e.representation.unwrap_or_default(),
        })
        .collect();
    let chrome = Chrome::new(&state, &a, &target, None);
    render(
        StatusCode::OK,
        &AdminEventsPage {
            frame: chrome.frame("events"),
            events: &events,
            filter: &form,
            first,
            has_next,
            query: &query_string,
        },
    )
}

const EVENT_SETTING_FIELDS: &[(&str, &[&str])] = &[
    ("eventsExpiration", &["eventsExpiration"]),
    ("enabledEventTypes", &["enabledEventTypes"]),
];

fn render_event_settings(
    state: &AppState,
    a: &Admin,
    target: &str,
    notice: Option<&str>,
    status: StatusCode,
    form: &EventSettingsForm,
    errors: &FormErrors,
) -> HttpResponse {
    let chrome = Chrome::new(state, a, target, notice);
    render(
        status,
        &EventSettingsPage {
            frame: chrome.frame("events"),
            form,
            errors,
        },
    )
}

async fn event_settings_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    let runtime = match realm_for(&state, &a.principal, &target, AdminPermission::ViewEvents).await {
        Ok(r) => r,
        Err(e) => return failure_page(&a, e),
    };
    let config = EventsConfig::of(&runtime.realm);
    let form = EventSettingsForm {
        events_enabled: config.events_enabled,
        expiration: config.expiration.map(|s| s.to_string()).unwrap_or_default(),
        types: config.enabled_types.join(" "),
        admin_events_enabled: config.admin_events_enabled,
        admin_events_details_enabled: config.admin_events_details_enabled,
    };
    render_event_settings(
        &state,
        &a,
        &target,
        query.notice.as_deref(),
        StatusCode::OK,
        &form,
        &FormErrors::default(),
    )
}

async fn save_event_settings(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    let typed = EventSettingsForm {
        events_enabled: checked(&form, "eventsEnabled"),
        expiration: field(&form, "eventsExpiration"),
        types: field(&form, "enabledEventTypes"),
        admin_events_enabled: checked(&form, "adminEventsEnabled"),
        admin_events_details_enabled: checked(&form, "adminEventsDetailsEnabled"),
    };
    let expiration = if typed.expiration.is_empty() {
        Ok(Value::Null)
    } else {
        typed.expiration.parse::<i64>().map(|n| json!(n)).map_err(|_| {
            FormErrors::at(
                "eventsExpiration",
                "Keep events for a whole number of seconds, or leave it empty.",
            )
        })
    };
    let result = match expiration {
        Err(errors) => Err((StatusCode::BAD_REQUEST, errors)),
        Ok(expiration) => {
            let types: Vec<&str> = typed.types.split([' ', ',', '\n']).filter(|t| !t.is_empty()).collect();
            let body = json!({
                "eventsEnabled": typed.events_enabled,
                "eventsExpiration": expiration,
                "enabledEventTypes": types,
                "adminEventsEnabled": typed.admin_events_enabled,
                "adminEventsDetailsEnabled": typed.admin_events_details_enabled,
            });
            let body = body.as_object().cloned().unwrap_or_default();
            match event_api::set_events_config(&state, &a.principal, &target, &body).await {
                Ok(()) => Ok(()),
                Err(e) => match form_message(&e) {
                    Some((status, message)) => Err((status, FormErrors::placed(message, EVENT_SETTING_FIELDS))),
                    None => return failure_page(&a, e),
                },
            }
        }
    };
    match result {
        Ok(()) => see_other(&format!("{}/r/{target}/events/settings?notice=saved", a.base())),
        Err((status, errors)) => render_event_settings(&state, &a, &target, None, status, &typed, &errors),
    }
}
