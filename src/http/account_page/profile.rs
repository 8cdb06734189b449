//! Personal info (`/realms/{realm}/account/personal-info`): the signed-in person's first name, last
//! name and email, validated as the admin API validates users; the username is shown, not editable.
//! A new email is unverified (Keycloak does the same).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{base_path, csrf_token, frame, internal_error, logout_url, posted, record_event, viewer, Viewer};
use crate::error::AppError;
use crate::http::admin::users::{email_taken, parse_email, parse_person_name};
use crate::http::views::{self, see_other, AccountFrame};
use crate::oauth::params::FormParams;
use crate::service::events;
use crate::store::db;

const SECTION: &str = "personal-info";

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/realms/{realm}/account/personal-info", web::get().to(page))
        .route("/realms/{realm}/account/personal-info", web::post().to(save));
}

/// The form as shown: the stored values, or what was typed with a message per refused field.
#[derive(Default)]
pub(super) struct ProfileForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub first_name_error: Option<String>,
    pub last_name_error: Option<String>,
    pub email_error: Option<String>,
}

impl ProfileForm {
    fn has_errors(&self) -> bool {
        self.first_name_error.is_some() || self.last_name_error.is_some() || self.email_error.is_some()
    }
}

#[derive(Template)]
#[template(path = "account/personal_info.html")]
struct PersonalInfoPage<'a> {
    frame: AccountFrame<'a>,
    csrf_token: &'a str,
    form: &'a ProfileForm,
    email_verified: bool,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct PageQuery {
    notice: Option<String>,
}

fn notice_text(notice: Option<&str>) -> Option<&'static str> {
    match notice? {
        "saved" => Some("Your personal info was saved."),
        "saved-unverified" => Some("Your personal info was saved. Your new email address is not verified yet."),
        _ => None,
    }
}

fn render(
    state: &crate::state::AppState,
    viewer: &Viewer,
    status: StatusCode,
    form: &ProfileForm,
    notice: Option<&'static str>,
) -> HttpResponse {
    let base = base_path(&viewer.realm);
    let logout = logout_url(&viewer.realm);
    let csrf = csrf_token(state, viewer);
    views::account_page(
        status,
        &PersonalInfoPage {
            frame: frame(viewer, &base, &logout, SECTION),
            csrf_token: &csrf,
            form,
            email_verified: viewer.user.email_verified,
            notice,
        },
    )
}

/// `GET /realms/{realm}/account/personal-info[?notice=…]`
async fn page(
    state: web::Data<crate::state::AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let viewer = match viewer(&state, &req, &path, true).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let form = ProfileForm {
        first_name: viewer.user.first_name.clone().unwrap_or_default(),
        last_name: viewer.user.last_name.clone().unwrap_or_default(),
        email: viewer.user.email.clone().unwrap_or_default(),
        ..ProfileForm::default()
    };
    render(
        &state,
        &viewer,
        StatusCode::OK,
        &form,
        notice_text(query.notice.as_deref()),
    )
}

/// The profile as the form asks for it.
struct Changes {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
}

/// The typed form and, when every field passes the admin API's rules, the changes.
fn parse(form: &FormParams) -> (ProfileForm, Option<Changes>) {
    let mut typed = ProfileForm {
        first_name: form.get("firstName").unwrap_or("").to_owned(),
        last_name: form.get("lastName").unwrap_or("").to_owned(),
        email: form.get("email").unwrap_or("").trim().to_owned(),
        ..ProfileForm::default()
    };
    let name_error = |_: AppError| Some("Use at most 255 printable characters.".to_owned());
    let first_name = parse_person_name(&typed.first_name, "firstName").unwrap_or_else(|e| {
        typed.first_name_error = name_error(e);
        None
    });
    let last_name = parse_person_name(&typed.last_name, "lastName").unwrap_or_else(|e| {
        typed.last_name_error = name_error(e);
        None
    });
    let email = parse_email(&typed.email).unwrap_or_else(|_| {
        typed.email_error = Some("Invalid email address.".to_owned());
        None
    });
    if typed.has_errors() {
        return (typed, None);
    }
    (
        typed,
        Some(Changes {
            first_name,
            last_name,
            email,
        }),
    )
}

/// Why a valid form was not saved.
#[derive(Debug)]
enum Refused {
    EmailTaken,
    /// The user went away or was disabled meanwhile.
    Gone,
    Internal(AppError),
}

impl From<db::DbError> for Refused {
    fn from(e: db::DbError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<diesel::result::Error> for Refused {
    fn from(e: diesel::result::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<AppError> for Refused {
    fn from(e: AppError) -> Self {
        Self::Internal(e)
    }
}

/// `POST /realms/{realm}/account/personal-info`: saves the three fields in one transaction (all or
/// nothing); a changed email loses its verification.
async fn save(
    state: web::Data<crate::state::AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let (viewer, form) = match posted(&state, &req, &path, payload).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let (mut typed, changes) = parse(&form);
    let Some(changes) = changes else {
        return render(&state, &viewer, StatusCode::BAD_REQUEST, &typed, None);
    };
    let (realm_id, user_id) = (viewer.realm.realm.id.clone(), viewer.user.id.clone());
    let saved = state
        .db
        .transaction(move |conn| -> Result<bool, Refused> {
            let mut user = match db::users::find(conn, &realm_id, &user_id)? {
                Some(u) if u.enabled => u,
                _ => return Err(Refused::Gone),
            };
            let email_changed = changes.email != user.email;
            if email_changed {
                if let Some(email) = changes.email.as_deref() {
                    if email_taken(conn, &realm_id, email, Some(&user.id))? {
                        return Err(Refused::EmailTaken);
                    }
                }
                user.email = changes.email;
                user.email_verified = false;
            }
            user.first_name = changes.first_name;
            user.last_name = changes.last_name;
            db::users::update(conn, &user)?;
            Ok(email_changed && user.email.is_some())
        })
        .await;
    match saved {
        Ok(unverified) => {
            state
                .events
                .record(record_event(&state, &req, &viewer, events::UPDATE_PROFILE, None));
            // Keys' grants cache their owner (ADR 014): drop them with the rest of the realm's cache.
            crate::http::admin::invalidate(&state, &viewer.realm.realm.name).await;
            let notice = if unverified { "saved-unverified" } else { "saved" };
            see_other(&format!("{}/personal-info?notice={notice}", base_path(&viewer.realm)))
        }
        Err(Refused::EmailTaken) => {
            typed.email_error = Some("Email already exists.".to_owned());
            render(&state, &viewer, StatusCode::CONFLICT, &typed, None)
        }
        Err(Refused::Gone) => views::error_page(
            StatusCode::FORBIDDEN,
            crate::http::pages::realm_title(&viewer.realm),
            "Your account is disabled.",
        ),
        Err(Refused::Internal(e)) => internal_error(&viewer.realm, e),
    }
}
