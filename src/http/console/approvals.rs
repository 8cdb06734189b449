//! The console's page of dual control's pending requests (ADR 016): the list an administrator may
//! see, with approve / reject buttons for those who may decide. Every decision goes through the
//! admin API's own functions (`http::admin::approvals`), so the console refuses exactly what the
//! REST API refuses — the requester's own approval above all.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::common::{Chrome, ListQuery};
use super::views::Frame;
use super::{failure_page, see_other, Admin, Posted, SignedIn};
use crate::error::AppError;
use crate::http::admin::approvals::{self as api, ApprovalError, ApprovalView};
use crate::http::pages::realm_title;
use crate::http::views::{error_page, page as render};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let at = |p: &str| format!("/admin/{{realm}}/console/r/{{target}}/approvals{p}");
    cfg.route(&at(""), web::get().to(approvals_page))
        .route(&at("/{id}/approve"), web::post().to(approve))
        .route(&at("/{id}/reject"), web::post().to(reject));
}

/// One row of the page.
pub struct ApprovalRow {
    pub id: String,
    pub kind: &'static str,
    pub summary: String,
    pub subject: String,
    pub requested_by: String,
    pub requested_at: String,
    pub may_approve: bool,
    pub may_reject: bool,
    pub own: bool,
}

impl From<&ApprovalView> for ApprovalRow {
    fn from(v: &ApprovalView) -> Self {
        let r = &v.request;
        let subject = match (&v.client_client_id, &r.api_key_id) {
            (Some(client), _) => format!("client {client}"),
            (None, Some(key)) => format!("key {key}"),
            (None, None) => String::new(),
        };
        Self {
            id: r.id.clone(),
            kind: r.kind.as_str(),
            summary: r.summary.clone(),
            subject,
            requested_by: r.requested_by_username.clone(),
            requested_at: crate::domain::dates::format_rfc3339(r.requested_at),
            may_approve: v.may_approve,
            may_reject: v.may_reject,
            own: v.own,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/approvals.html")]
pub struct ApprovalsPage<'a> {
    pub frame: Frame<'a>,
    pub requests: &'a [ApprovalRow],
}

/// The page for a failed decision.
fn decision_failure(admin: &Admin, e: ApprovalError) -> HttpResponse {
    let title = realm_title(&admin.home);
    match e {
        ApprovalError::Admin(e) => failure_page(admin, e),
        ApprovalError::NotFound => failure_page(admin, AppError::not_found("no such pending approval")),
        ApprovalError::OwnRequest => error_page(
            StatusCode::FORBIDDEN,
            title,
            "You made this request: another administrator must approve it.",
        ),
        ApprovalError::Conflict(m) => error_page(StatusCode::CONFLICT, title, &m),
    }
}

/// `GET …/r/{target}/approvals`.
async fn approvals_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    let views = match api::list_approvals(&state, &a.principal, &target).await {
        Ok(views) => views,
        Err(e) => return decision_failure(&a, e),
    };
    let rows: Vec<ApprovalRow> = views.iter().map(ApprovalRow::from).collect();
    let chrome = Chrome::new(&state, &a, &target, query.notice.as_deref());
    render(
        StatusCode::OK,
        &ApprovalsPage {
            frame: chrome.frame("approvals"),
            requests: &rows,
        },
    )
}

async fn decide(state: &AppState, a: &Admin, target: &str, id: String, approve: bool) -> HttpResponse {
    let decided = if approve {
        api::approve_request(state, &a.principal, target, id).await
    } else {
        api::reject_request(state, &a.principal, target, id).await
    };
    let notice = if approve { "approved" } else { "rejected" };
    match decided {
        Ok(_) => see_other(&format!("{}/r/{target}/approvals?notice={notice}", a.base())),
        Err(e) => decision_failure(a, e),
    }
}

/// `POST …/r/{target}/approvals/{id}/approve`.
async fn approve(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    decide(&state, &a, &target, id, true).await
}

/// `POST …/r/{target}/approvals/{id}/reject` (the requester withdraws with it too).
async fn reject(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    decide(&state, &a, &target, id, false).await
}
