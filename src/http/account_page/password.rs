//! Password (`/realms/{realm}/account/password`): change one's own password. The current password
//! is checked by `service::login::verify_password_login` (the login page's check: brute-force
//! detection counts a wrong one, a locked account is refused the same way, and the login page's
//! rate limit counts the form's posts and failures); the new one passes the
//! admin API's set-password rules and is stored as argon2id. Other sessions stay signed in unless
//! the person ticks "Sign out my other sessions" (Keycloak keeps them by default; ADR 012).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{base_path, csrf_token, frame, internal_error, logout_url, posted, record_event, viewer, Viewer};
use crate::error::AppError;
use crate::http::admin::users::{check_new_password, hash};
use crate::http::views::{self, see_other, AccountFrame};
use crate::service::events;
use crate::service::login::{verify_password_login, LoginAttempt, LoginError};
use crate::service::{sessions, users as user_rules};
use crate::state::AppState;
use crate::store::db;

const SECTION: &str = "password";

/// The form is behind the login page's rate limit (ADR 010): its POSTs count as login requests, and
/// a wrong current password as a failed authentication of the address.
pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/realms/{realm}/account/password")
            .route(web::get().to(page))
            .route(web::post().to(change))
            .wrap(actix_web::middleware::from_fn(crate::http::rate_limit::login)),
    );
}

/// The form's messages; passwords are never shown again, only the checkbox is kept.
#[derive(Default)]
pub(super) struct PasswordForm {
    pub sign_out_others: bool,
    pub current_password_error: Option<String>,
    pub new_password_error: Option<String>,
    pub confirm_password_error: Option<String>,
}

impl PasswordForm {
    fn has_errors(&self) -> bool {
        self.current_password_error.is_some()
            || self.new_password_error.is_some()
            || self.confirm_password_error.is_some()
    }
}

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage<'a> {
    frame: AccountFrame<'a>,
    csrf_token: &'a str,
    form: &'a PasswordForm,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct PageQuery {
    notice: Option<String>,
}

fn notice_text(notice: Option<&str>) -> Option<&'static str> {
    match notice? {
        "changed" => Some("Your password was changed. Your other sessions are still signed in."),
        "changed-signed-out" => Some("Your password was changed, and your other sessions were signed out."),
        _ => None,
    }
}

fn render(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    form: &PasswordForm,
    notice: Option<&'static str>,
) -> HttpResponse {
    let base = base_path(&viewer.realm);
    let logout = logout_url(&viewer.realm);
    let csrf = csrf_token(state, viewer);
    views::account_page(
        status,
        &PasswordPage {
            frame: frame(viewer, &base, &logout, SECTION),
            csrf_token: &csrf,
            form,
            notice,
        },
    )
}

/// `GET /realms/{realm}/account/password[?notice=…]`
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
    render(
        &state,
        &viewer,
        StatusCode::OK,
        &PasswordForm::default(),
        notice_text(query.notice.as_deref()),
    )
}

/// `POST /realms/{realm}/account/password`: the form's own rules first (no hash computed for a
/// form that cannot succeed), then the current password, then the new hash in one transaction.
async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let (viewer, form) = match posted(&state, &req, &path, payload).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let current = form.get("current_password").unwrap_or("");
    let new = form.get("new_password").unwrap_or("");
    let confirm = form.get("confirm_password").unwrap_or("");
    let mut typed = PasswordForm {
        sign_out_others: form.get("sign_out_others").is_some(),
        ..PasswordForm::default()
    };
    if current.is_empty() {
        typed.current_password_error = Some("Enter your current password.".to_owned());
    }
    if let Err(e) = check_new_password(new) {
        typed.new_password_error = Some(format!("{e}."));
    } else if new != confirm {
        typed.confirm_password_error = Some("Passwords don't match.".to_owned());
    }
    if typed.has_errors() {
        return render(&state, &viewer, StatusCode::BAD_REQUEST, &typed, None);
    }

    let attempt = LoginAttempt {
        username: &viewer.user.username,
        password: current,
        ip: crate::http::client_address::client_ip(&req, &state),
    };
    match verify_password_login(&state, &viewer.realm, &attempt).await {
        // A temporary password is still the person's password: changing it is what it asks for.
        Ok(user) if user.id == viewer.user.id => {}
        Err(LoginError::NotFullySetUp) => {}
        Ok(_) | Err(LoginError::InvalidCredentials) => {
            crate::http::rate_limit::failed(&req);
            let event = record_event(
                &state,
                &req,
                &viewer,
                events::UPDATE_PASSWORD_ERROR,
                Some("invalid_user_credentials"),
            );
            state.events.record(event);
            typed.current_password_error = Some("Invalid existing password.".to_owned());
            return render(&state, &viewer, StatusCode::BAD_REQUEST, &typed, None);
        }
        Err(LoginError::Disabled) => return disabled(&viewer),
        Err(LoginError::Internal) => return internal_error(&viewer.realm, "current password check failed"),
    }

    let phc = match hash(Some((new.to_owned(), false))).await {
        Ok(Some((phc, _))) => phc,
        Ok(None) => return internal_error(&viewer.realm, "password hashing returned nothing"),
        Err(e) => return internal_error(&viewer.realm, e),
    };
    let (realm_id, user_id, now) = (viewer.realm.realm.id.clone(), viewer.user.id.clone(), state.now());
    let stored = state
        .db
        .transaction(move |conn| -> Result<bool, AppError> {
            match db::users::find(conn, &realm_id, &user_id)? {
                Some(u) if u.enabled && u.service_account_client_id.is_none() => {
                    user_rules::set_password_hash(conn, &u.id, phc, false, now)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await;
    match stored {
        Ok(true) => {}
        Ok(false) => return disabled(&viewer),
        Err(e) => return internal_error(&viewer.realm, e),
    }
    tracing::info!(realm = %viewer.realm.realm.name, user_id = %viewer.user.id, "password changed by the user");
    state
        .events
        .record(record_event(&state, &req, &viewer, events::UPDATE_PASSWORD, None));
    let notice = if typed.sign_out_others {
        if let Err(e) =
            sessions::end_others_for_user(&state, &viewer.realm.realm, &viewer.user.id, &viewer.session.id).await
        {
            return internal_error(&viewer.realm, e);
        }
        "changed-signed-out"
    } else {
        "changed"
    };
    see_other(&format!("{}/password?notice={notice}", base_path(&viewer.realm)))
}

fn disabled(viewer: &Viewer) -> HttpResponse {
    views::error_page(
        StatusCode::FORBIDDEN,
        crate::http::pages::realm_title(&viewer.realm),
        "Your account is disabled.",
    )
}
