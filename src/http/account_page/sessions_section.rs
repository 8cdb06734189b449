//! Sessions (`/realms/{realm}/account/sessions`): the person's live SSO sessions (Keycloak's
//! "Device activity") with when they started, were last used, from where and for which
//! applications; the browser's own session is marked. Signing out one session, or all but this
//! one, goes through `service::sessions` (the session leaves the store, its online refresh tokens
//! are revoked), and only ever reaches the person's own sessions of this realm.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{base_path, csrf_token, frame, internal_error, logout_url, posted, viewer};
use crate::domain::dates::format_rfc3339;
use crate::http::views::{self, see_other, AccountFrame};
use crate::service::sessions::{self, SsoSession};
use crate::state::AppState;

const SECTION: &str = "sessions";

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/realms/{realm}/account/sessions", web::get().to(page))
        .route(
            "/realms/{realm}/account/sessions/sign-out-others",
            web::post().to(sign_out_others),
        )
        .route(
            "/realms/{realm}/account/sessions/{id}/sign-out",
            web::post().to(sign_out_one),
        );
}

/// An application a session signed in to.
pub(super) struct SessionClient {
    pub client_id: String,
    /// The client's name when it has one.
    pub name: Option<String>,
}

/// A session in the list.
pub(super) struct SessionRow {
    pub id: String,
    pub current: bool,
    pub started: String,
    pub started_iso: String,
    pub last_access: String,
    pub last_access_iso: String,
    pub ip_address: String,
    pub clients: Vec<SessionClient>,
}

#[derive(Template)]
#[template(path = "account/sessions.html")]
struct SessionsPage<'a> {
    frame: AccountFrame<'a>,
    csrf_token: &'a str,
    sessions: &'a [SessionRow],
    /// Whether any session besides the current one is listed.
    others: bool,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct PageQuery {
    notice: Option<String>,
}

fn notice_text(notice: Option<&str>) -> Option<&'static str> {
    match notice? {
        "signed-out" => Some("The session was signed out."),
        "signed-out-others" => Some("Your other sessions were signed out."),
        _ => None,
    }
}

/// `2026-12-06 14:03 UTC` for a person, the RFC 3339 form for `<time datetime>`.
fn when(at: i64) -> (String, String) {
    let iso = format_rfc3339(at);
    let shown = format!("{} {} UTC", &iso[..10], &iso[11..16]);
    (shown, iso)
}

async fn row(
    state: &AppState,
    realm: &crate::service::realm_cache::RealmRuntime,
    s: &SsoSession,
    current: &str,
) -> SessionRow {
    let mut clients = Vec::with_capacity(s.clients.len());
    for client_id in &s.clients {
        // A client deleted since is still named by its clientId.
        let name = match state.realms.client(realm, client_id).await {
            Ok(Some(c)) => c.client.name.clone().filter(|n| !n.is_empty()),
            _ => None,
        };
        clients.push(SessionClient {
            client_id: client_id.clone(),
            name,
        });
    }
    let (started, started_iso) = when(s.started_at);
    let (last_access, last_access_iso) = when(s.last_seen);
    SessionRow {
        id: s.id.clone(),
        current: s.id == current,
        started,
        started_iso,
        last_access,
        last_access_iso,
        ip_address: s.ip_address.clone().unwrap_or_default(),
        clients,
    }
}

/// `GET /realms/{realm}/account/sessions[?notice=…]`: the current session first, then the newest.
async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let viewer = match viewer(&state, &req, &path, true).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let mut live = match sessions::list_for_user(&state, &viewer.realm.realm, &viewer.user.id).await {
        Ok(l) => l,
        Err(e) => return internal_error(&viewer.realm, e),
    };
    live.sort_by_key(|s| (s.id != viewer.session.id, std::cmp::Reverse(s.started_at)));
    let mut rows = Vec::with_capacity(live.len());
    for s in &live {
        rows.push(row(&state, &viewer.realm, s, &viewer.session.id).await);
    }
    let others = rows.iter().any(|r| !r.current);
    let base = base_path(&viewer.realm);
    let logout = logout_url(&viewer.realm);
    let csrf = csrf_token(&state, &viewer);
    views::account_page(
        StatusCode::OK,
        &SessionsPage {
            frame: frame(&viewer, &base, &logout, SECTION),
            csrf_token: &csrf,
            sessions: &rows,
            others,
            notice: notice_text(query.notice.as_deref()),
        },
    )
}

/// `POST /realms/{realm}/account/sessions/{id}/sign-out`: ends one of the person's sessions (the
/// current one too: the page then signs in again). Another person's session id, or one of another
/// realm, is "No such session".
async fn sign_out_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> HttpResponse {
    let (realm_name, id) = path.into_inner();
    let (viewer, _form) = match posted(&state, &req, &realm_name, payload).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    match sessions::end_own(&state, &viewer.realm.realm, &viewer.user.id, &id).await {
        Ok(true) => see_other(&format!("{}/sessions?notice=signed-out", base_path(&viewer.realm))),
        Ok(false) => views::error_page(
            StatusCode::NOT_FOUND,
            crate::http::pages::realm_title(&viewer.realm),
            "No such session.",
        ),
        Err(e) => internal_error(&viewer.realm, e),
    }
}

/// `POST /realms/{realm}/account/sessions/sign-out-others`: ends every session of the person but
/// the browser's own.
async fn sign_out_others(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let (viewer, _form) = match posted(&state, &req, &path, payload).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    match sessions::end_others_for_user(&state, &viewer.realm.realm, &viewer.user.id, &viewer.session.id).await {
        Ok(_) => see_other(&format!(
            "{}/sessions?notice=signed-out-others",
            base_path(&viewer.realm)
        )),
        Err(e) => internal_error(&viewer.realm, e),
    }
}
