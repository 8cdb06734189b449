//! What the console's pages share: the frame of a page, list queries, reading forms, notices and
//! the messages of refused forms.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Deserialize;

use super::views::{Frame, Rights};
use super::Admin;
use crate::error::AppError;
use crate::oauth::params::FormParams;
use crate::state::AppState;

/// Rows per page of every list (paged in the database).
pub const PAGE_SIZE: i64 = 20;

/// What every page's frame needs, owned, so the templates can borrow it.
pub struct Chrome {
    pub base: String,
    username: String,
    logout_url: String,
    csrf_token: String,
    target: String,
    pub rights: Rights,
    notice: Option<&'static str>,
}

impl Chrome {
    pub fn new(state: &AppState, admin: &Admin, target: &str, notice: Option<&str>) -> Self {
        Self {
            base: admin.base(),
            username: admin.principal.user.username.clone(),
            logout_url: format!("/realms/{}/protocol/openid-connect/logout", admin.home.realm.name),
            csrf_token: admin.csrf_token(state),
            target: target.to_owned(),
            rights: Rights::of(&admin.principal, target),
            notice: notice.and_then(notice_text),
        }
    }

    pub fn frame<'a>(&'a self, section: &'a str) -> Frame<'a> {
        Frame {
            base: &self.base,
            username: &self.username,
            logout_url: &self.logout_url,
            csrf_token: &self.csrf_token,
            target: &self.target,
            section,
            notice: self.notice,
            rights: self.rights,
        }
    }

    /// The "are you sure?" page before something destructive: posting its form to
    /// `{realm path}{action}` does it, the cancel link goes back to `{realm path}{cancel}`.
    pub fn confirm(&self, section: &str, title: &str, explanation: &str, action: &str, cancel: &str) -> HttpResponse {
        crate::http::views::page(
            StatusCode::OK,
            &super::views::ConfirmPage {
                frame: self.frame(section),
                title,
                explanation,
                action: &self.realm_path(action),
                button: if title.starts_with("Delete") { "Delete" } else { title },
                cancel: &self.realm_path(cancel),
            },
        )
    }

    /// `{base}/r/{target}{rest}`.
    pub fn realm_path(&self, rest: &str) -> String {
        format!("{}/r/{}{rest}", self.base, self.target)
    }
}

/// What the page before a deletion says and where its buttons lead (paths below the realm).
pub struct Deletion<'a> {
    pub section: &'a str,
    pub title: &'a str,
    pub action: String,
    pub cancel: String,
}

/// The "are you sure?" page before deleting something of the realm `target` that `name_of` names
/// (read in the database: an unknown one gives the not-found page), for an admin holding
/// `permission`; `explain` words the consequences for that name.
pub async fn confirm_deletion<F>(
    state: &AppState,
    a: &Admin,
    target: &str,
    permission: crate::service::authz::AdminPermission,
    name_of: F,
    explain: impl FnOnce(&str) -> String,
    page: Deletion<'_>,
) -> HttpResponse
where
    F: FnOnce(&mut crate::store::db::DbConnection, &str) -> Result<String, AppError> + Send + 'static,
{
    let runtime = match crate::http::admin::realm_for(state, &a.principal, target, permission).await {
        Ok(runtime) => runtime,
        Err(e) => return super::failure_page(a, e),
    };
    let realm_id = runtime.realm.id.clone();
    let name = match state.db.run(move |conn| name_of(conn, &realm_id)).await {
        Ok(name) => name,
        Err(e) => return super::failure_page(a, e),
    };
    let chrome = Chrome::new(state, a, target, None);
    chrome.confirm(page.section, page.title, &explain(&name), &page.action, &page.cancel)
}

/// Notices are named in the redirect's query and worded here, so no page repeats text from a URL.
pub fn notice_text(notice: &str) -> Option<&'static str> {
    Some(match notice {
        "realm-created" => "The realm was created.",
        "saved" => "Your changes were saved.",
        "user-created" => "The user was created.",
        "user-deleted" => "The user was deleted.",
        "password-set" => "The password was set.",
        "roles-changed" => "The role mappings were changed.",
        "groups-changed" => "The group memberships were changed.",
        "api-key-created" => "The API key was created. Copy its secret now: it is shown only once.",
        "api-key-created-pending-approval" => {
            "The API key was created; it works once a second administrator approves it. Copy its secret now: it is shown only once."
        }
        "api-key-deleted" => "The API key was deleted.",
        "consent-revoked" => "The consent was revoked, with the tokens the client held for the user.",
        "session-ended" => "The session was signed out.",
        "signed-out-all" => "Every session of the realm was signed out.",
        "role-created" => "The role was created.",
        "group-created" => "The group was created.",
        "scope-created" => "The client scope was created.",
        "scope-deleted" => "The client scope was deleted.",
        "group-deleted" => "The group was deleted.",
        "role-deleted" => "The role was deleted.",
        "client-created" => "The client was created.",
        "client-deleted" => "The client was deleted.",
        "client-created-pending-approval" => {
            "The client was created. Its service account waits for a second administrator's approval."
        }
        "saved-pending-approval" => {
            "Your changes were saved. The service account waits for a second administrator's approval."
        }
        "approved" => "The request was approved: what it asked for is active now.",
        "rejected" => "The request was rejected: what it created was removed.",
        "key-rotated" => {
            "A new signing key is active. The old one keeps verifying the tokens it signed until they expire."
        }
        _ => return None,
    })
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    pub search: Option<String>,
    pub first: Option<i64>,
    pub notice: Option<String>,
    pub shown: Option<String>,
}

impl ListQuery {
    pub fn first(&self) -> i64 {
        self.first.unwrap_or(0).clamp(0, i64::MAX / 2)
    }
}

pub fn field(form: &FormParams, name: &str) -> String {
    form.get(name).unwrap_or_default().trim().to_owned()
}

pub fn checked(form: &FormParams, name: &str) -> bool {
    form.get(name).is_some_and(|v| v == "on" || v == "true")
}

/// The status and message of an admin-API error that belongs next to the form (bad input, a
/// conflict); `None` for the others, which get a page of their own (`failure_page`).
pub fn form_message(e: &AppError) -> Option<(StatusCode, String)> {
    match e {
        AppError::BadRequest(m) => Some((StatusCode::BAD_REQUEST, m.clone())),
        AppError::Conflict(m) => Some((StatusCode::CONFLICT, m.clone())),
        _ => None,
    }
}

pub fn respond(result: Result<HttpResponse, HttpResponse>) -> HttpResponse {
    result.unwrap_or_else(|resp| resp)
}

/// The message of a refused form and the field it belongs beside (`None`: the form as a whole).
#[derive(Default, Clone)]
pub struct FormErrors {
    field: Option<&'static str>,
    message: Option<String>,
}

impl FormErrors {
    /// A message beside `field`.
    pub fn at(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            message: Some(message.into()),
        }
    }

    /// The admin API's message placed beside the first field whose clues it contains (the API
    /// names the field in its words: "clientId is required", "User exists with same email"), else
    /// above the form.
    pub fn placed(message: String, fields: &[(&'static str, &[&str])]) -> Self {
        let lower = message.to_lowercase();
        let field = fields
            .iter()
            .find(|(_, clues)| clues.iter().any(|c| lower.contains(&c.to_lowercase())))
            .map(|(f, _)| *f);
        Self {
            field,
            message: Some(message),
        }
    }

    /// The message for `field`, if it is the one refused.
    pub fn on(&self, field: &str) -> Option<&str> {
        (self.field == Some(field)).then_some(self.message.as_deref()).flatten()
    }

    /// A message that belongs to no single field.
    pub fn general(&self) -> Option<&str> {
        self.field.is_none().then_some(self.message.as_deref()).flatten()
    }
}
