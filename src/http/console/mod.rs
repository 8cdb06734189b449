//! The admin console (`/admin/{realm}/console`, issue 5): server-rendered pages over the same
//! operations and the same authorization layer as the admin REST API (docs/adr/015-admin-console.md).
//!
//! - Signing in: as the realm's built-in public client `security-admin-console` (PKCE S256,
//!   `http::page_sign_in`); the pages trust only the SSO session. The signed-in user's *current*
//!   roles make an `AdminPrincipal`, and every page and form asks `AdminPrincipal::may` — through
//!   the admin API's own functions (`http::admin::*::create_user`, …) for every write — so the
//!   console can do exactly what the REST API lets the same person do. A master-realm admin manages
//!   every realm from `/admin/master/console`; a realm's admin only that realm.
//! - Every form carries a CSRF token bound to the SSO session; POST, then redirect to a GET.
//! - Pages show only the controls the viewer may use; a crafted POST is refused all the same.

mod activity;
mod approvals;
mod clients;
mod common;
mod groups;
mod mappings;
mod pages;
mod roles;
mod scopes;
mod service_accounts;
mod views;

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;

use super::page_sign_in::{self, CallbackQuery, SignInClient};
use super::pages::{page_realm, read_form, realm_title};
use super::views::see_other;
use crate::domain::defaults::CLIENT_ADMIN_CONSOLE;
use crate::error::AppError;
use crate::oauth::params::FormParams;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::service::realm_cache::RealmRuntime;
use crate::service::sessions::{self, SsoSession};
use crate::state::AppState;
use crate::store::db;

const LOGIN_COOKIE: &str = "NEXUS_CONSOLE_LOGIN";
/// Names the SSO session for the console's path, which the SSO cookie's path does not cover.
const SESSION_COOKIE: &str = "NEXUS_CONSOLE_SESSION";

pub fn routes(cfg: &mut web::ServiceConfig) {
    pages::routes(cfg);
    clients::routes(cfg);
    roles::routes(cfg);
    groups::routes(cfg);
    scopes::routes(cfg);
    activity::routes(cfg);
    service_accounts::routes(cfg);
    approvals::routes(cfg);
}

fn base_path(realm: &RealmRuntime) -> String {
    format!("/admin/{}/console", realm.realm.name)
}

fn sign_in_client(realm: &RealmRuntime) -> SignInClient {
    SignInClient {
        client_id: CLIENT_ADMIN_CONSOLE,
        base: base_path(realm),
        landing: format!("{}/", base_path(realm)),
        cookie: LOGIN_COOKIE,
        name: "admin-console",
        session_cookie: Some(SESSION_COOKIE),
    }
}

fn internal_error(title: &str, e: impl std::fmt::Debug) -> HttpResponse {
    super::views::internal_error_page(title, "admin console failure", e)
}

/// The signed-in administrator of a console request.
pub struct Admin {
    /// The realm they signed in to (the console's own realm).
    pub home: Arc<RealmRuntime>,
    pub session: SsoSession,
    pub principal: AdminPrincipal,
}

impl Admin {
    pub fn base(&self) -> String {
        base_path(&self.home)
    }

    /// The CSRF token of the console's forms (`SignInClient::csrf_token`).
    pub fn csrf_token(&self, state: &AppState) -> String {
        sign_in_client(&self.home).csrf_token(state, &self.home, &self.session.id)
    }

    /// Whether this admin may do anything at all in some realm.
    fn administers_anything(&self) -> bool {
        self.principal.is_master_admin()
            || self.principal.may_create_realms()
            || [
                AdminPermission::ViewRealm,
                AdminPermission::ViewUsers,
                AdminPermission::ViewClients,
                AdminPermission::ViewEvents,
            ]
            .iter()
            .any(|p| self.principal.may(&self.principal.realm_name, *p))
    }
}

/// The console's realm and signed-in administrator; `Err` is the response to send: an error page,
/// or for a GET without a session the start of signing in.
async fn admin(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    sign_in_if_needed: bool,
) -> Result<Admin, HttpResponse> {
    let home = page_realm(state, realm_name).await?;
    let title = realm_title(&home).to_owned();
    let session = match sign_in_client(&home).page_session(state, &home, req).await {
        Ok(session) => session,
        Err(e) => return Err(internal_error(&title, e)),
    };
    // The user's roles now, not those of their sign-in: a revoked admin loses the console at once.
    let signed_in = match session {
        Some(session) => {
            match crate::service::roles::user_with_roles(&state.db, &home.realm.id, &session.user_id).await {
                Ok(found) => found
                    .filter(|(user, _)| user.enabled)
                    .map(|(user, roles)| (session, user, roles)),
                Err(e) => return Err(internal_error(&title, e)),
            }
        }
        None => None,
    };
    let Some((mut session, user, roles)) = signed_in else {
        return Err(if sign_in_if_needed {
            start_sign_in(state, &home).await
        } else {
            // A form posted after the session ended: back to the console, which signs in again.
            see_other(&base_path(&home))
        });
    };
    if let Err(e) = sessions::touch(state, &home.realm, &mut session).await {
        return Err(internal_error(&title, e));
    }
    let admin = Admin {
        principal: AdminPrincipal {
            realm_name: home.realm.name.clone(),
            user,
            roles,
        },
        home,
        session,
    };
    if !admin.administers_anything() {
        return Err(super::views::error_page(
            StatusCode::FORBIDDEN,
            &title,
            "You are signed in, but your account has no administrative rights in this realm.",
        ));
    }
    Ok(admin)
}

/// Signs in through the realm's authorization endpoint, first giving realms stored before the
/// console existed its client (ADR 015).
async fn start_sign_in(state: &AppState, realm: &RealmRuntime) -> HttpResponse {
    match state.realms.client(realm, CLIENT_ADMIN_CONSOLE).await {
        Ok(Some(_)) => return sign_in_client(realm).start(state, realm),
        Ok(None) => {}
        Err(e) => return internal_error(realm_title(realm), e),
    }
    let realm_row = realm.realm.clone();
    let now = state.now();
    let ensured = state
        .db
        .transaction(move |conn| {
            crate::service::provisioning::ensure_admin_console_client(conn, &realm_row, now).map_err(db::DbError::from)
        })
        .await;
    match ensured {
        Ok(true) => state.realms.invalidate(&state.ephemeral, &realm.realm.name).await,
        Ok(false) => {}
        Err(e) => return internal_error(realm_title(realm), e),
    }
    sign_in_client(realm).start(state, realm)
}

/// A console form post: the administrator and the form, with its CSRF token checked.
async fn posted(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    payload: web::Payload,
) -> Result<(Admin, FormParams), HttpResponse> {
    let admin = admin(state, req, realm_name, false).await?;
    let title = realm_title(&admin.home).to_owned();
    let Some(form) = read_form(req, payload).await else {
        return Err(super::views::error_page(
            StatusCode::BAD_REQUEST,
            &title,
            "Invalid request.",
        ));
    };
    if !sign_in_client(&admin.home).csrf_ok(state, &admin.home, &admin.session.id, &form) {
        return Err(super::views::error_page(
            StatusCode::FORBIDDEN,
            &title,
            "This form has expired or did not come from this console. Please go back, reload the page and try again.",
        ));
    }
    crate::http::admin_events::note_actor(req, &admin.principal, Some(CLIENT_ADMIN_CONSOLE));
    Ok((admin, form))
}

/// The answer a console extractor gives instead of running the handler (a sign-in, an error page).
fn early_answer(resp: HttpResponse) -> actix_web::Error {
    actix_web::error::InternalError::from_response("admin console", resp).into()
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, actix_web::Error> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| actix_web::error::ErrorInternalServerError("no application state"))
}

/// The signed-in administrator of a console page (`/admin/{realm}/console/…`); without a session
/// the browser is sent to sign in, and the handler does not run.
pub struct SignedIn(pub Admin);

impl FromRequest for SignedIn {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let realm = req.match_info().get("realm").unwrap_or_default().to_owned();
            admin(&state, &req, &realm, true)
                .await
                .map(SignedIn)
                .map_err(early_answer)
        })
    }
}

/// A console form post: the administrator and the form, its CSRF token checked; otherwise the
/// handler does not run (see `posted`).
pub struct Posted(pub Admin, pub FormParams);

impl FromRequest for Posted {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = web::Payload::from_request(&req, payload);
        Box::pin(async move {
            let state = state_of(&req)?;
            let payload = payload.await?;
            let realm = req.match_info().get("realm").unwrap_or_default().to_owned();
            posted(&state, &req, &realm, payload)
                .await
                .map(|(admin, form)| Posted(admin, form))
                .map_err(early_answer)
        })
    }
}

/// The page for an error of an admin operation that is not about a form field.
fn failure_page(admin: &Admin, e: AppError) -> HttpResponse {
    let title = realm_title(&admin.home);
    match e {
        AppError::Forbidden | AppError::Unauthorized => {
            super::views::error_page(StatusCode::FORBIDDEN, title, "You do not have the rights to do this.")
        }
        AppError::NotFound(_) => super::views::error_page(StatusCode::NOT_FOUND, title, "Not found."),
        AppError::BadRequest(m) | AppError::Conflict(m) | AppError::UnsupportedMediaType(m) => {
            super::views::error_page(StatusCode::BAD_REQUEST, title, &m)
        }
        e @ AppError::InvalidField { .. } => super::views::error_page(StatusCode::BAD_REQUEST, title, &e.to_string()),
        AppError::Internal(e) => internal_error(title, e),
    }
}

/// `GET /admin/{realm}/console/callback`: the end of signing in (`page_sign_in::callback`).
async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    page_sign_in::callback(&state, &req, &path, &query, sign_in_client).await
}
