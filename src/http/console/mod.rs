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

mod pages;
mod views;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::page_sign_in::{hmac_hex, CallbackQuery, SignInClient};
use super::pages::{page_realm, read_form, realm_title};
use crate::crypto::secrets::constant_time_eq;
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
}

fn base_path(realm: &RealmRuntime) -> String {
    format!("/admin/{}/console", realm.realm.name)
}

fn sign_in_client(realm: &RealmRuntime) -> SignInClient {
    SignInClient {
        client_id: CLIENT_ADMIN_CONSOLE,
        base: base_path(realm),
        cookie: LOGIN_COOKIE,
        purpose: "admin-console pkce",
        session_cookie: Some(SESSION_COOKIE),
    }
}

/// A 303 to a path of nexus, never stored.
fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location.to_owned()))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

fn internal_error(title: &str, e: impl std::fmt::Debug) -> HttpResponse {
    tracing::error!(error = ?e, "admin console failure");
    super::views::error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        title,
        "An internal error occurred. Please try again.",
    )
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

    /// The CSRF token of the console's forms: bound to the SSO session.
    pub fn csrf_token(&self, state: &AppState) -> String {
        hmac_hex(
            state,
            "admin-console csrf",
            &format!("{}:{}", self.home.realm.id, self.session.id),
        )
    }

    fn csrf_ok(&self, state: &AppState, form: &FormParams) -> bool {
        let expected = self.csrf_token(state);
        form.get("csrf_token")
            .is_some_and(|given| constant_time_eq(given.as_bytes(), expected.as_bytes()))
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
    let (mut session, user) = match sign_in_client(&home).page_session(state, &home, req).await {
        Ok(Some(found)) => found,
        Ok(None) if sign_in_if_needed => return Err(start_sign_in(state, &home).await),
        // A form posted after the session ended: back to the console, which signs in again.
        Ok(None) => return Err(see_other(&base_path(&home))),
        Err(e) => return Err(internal_error(&title, e)),
    };
    if let Err(e) = sessions::touch(state, &home.realm, &mut session).await {
        return Err(internal_error(&title, e));
    }
    // The user's roles now, not those of their sign-in: a revoked admin loses the console at once.
    let roles = match crate::service::roles::user_with_roles(&state.db, &home.realm.id, &user.id).await {
        Ok(Some((user, roles))) if user.enabled => roles,
        Ok(_) => return Err(see_other(&base_path(&home))),
        Err(e) => return Err(internal_error(&title, e)),
    };
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
    if !admin.csrf_ok(state, &form) {
        return Err(super::views::error_page(
            StatusCode::FORBIDDEN,
            &title,
            "This form has expired or did not come from this console. Please go back, reload the page and try again.",
        ));
    }
    Ok((admin, form))
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
        AppError::Internal(e) => internal_error(title, e),
    }
}

/// `GET /admin/{realm}/console/callback`: the end of signing in.
async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    let realm = match page_realm(&state, &path).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    sign_in_client(&realm)
        .complete(&state, &req, &realm, &query, &format!("{}/", base_path(&realm)))
        .await
}
