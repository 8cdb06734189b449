//! `/admin/realms/{realm}/pending-approvals`: dual control's requests (ADR 016) — a service account
//! or a service account's API key created in a realm with `dualControl`, waiting for a second
//! administrator. Nexus's own endpoints: authentication and rights fail in the admin API's shapes,
//! the rest are RFC 7807 problems (as the admin API-key endpoints do).
//!
//! The console calls the same functions (`list_approvals`, `approve_request`, `reject_request`)
//! with its signed-in administrator, so both enforce the same rules (ADR 015).

use crate::http::openapi::schemas::ApprovalRequest;
use crate::http::openapi::{op, Api, Errors};
use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde_json::{json, Value};

use super::users::load_managed_user;
use super::{invalidate, no_content, realm_for};
use crate::domain::approvals::{may_approve, ApprovalKind, PendingApproval};
use crate::domain::dates::format_rfc3339;
use crate::error::AppError;
use crate::http::problem::Problem;
use crate::service::approvals as rules;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::service::events::Event;
use crate::service::realm_cache::RealmRuntime;
use crate::state::AppState;
use crate::store::db::{self, DbConnection, DbError};

/// Event types recording a decision (the request row itself is removed).
pub const EVENT_APPROVED: &str = "PENDING_APPROVAL_APPROVED";
pub const EVENT_REJECTED: &str = "PENDING_APPROVAL_REJECTED";

pub fn routes(api: &mut Api) {
    let all = "/admin/realms/{realm}/pending-approvals";
    let one = "/admin/realms/{realm}/pending-approvals/{id}";
    api.section("Approvals", Errors::Keycloak)
        .get(
            all,
            list,
            op("Changes waiting for approval").returns_list::<ApprovalRequest>(),
        )
        .get(
            one,
            get_one,
            op("One change waiting for approval").returns::<ApprovalRequest>(),
        )
        .post(
            "/admin/realms/{realm}/pending-approvals/{id}/approve",
            approve,
            op("Approve a change (by an administrator other than its requester)").no_content(),
        )
        .post(
            "/admin/realms/{realm}/pending-approvals/{id}/reject",
            reject,
            op("Reject a change").no_content(),
        );
}

/// Why a dual-control operation failed.
#[derive(Debug)]
pub enum ApprovalError {
    /// Authentication, rights (403), an unknown realm, an internal error: the admin API's shapes.
    Admin(AppError),
    /// No such request in the realm.
    NotFound,
    /// The requester tried to approve their own request.
    OwnRequest,
    /// Something else must be approved first (a key of a service account that still waits).
    Conflict(String),
}

impl From<AppError> for ApprovalError {
    fn from(e: AppError) -> Self {
        Self::Admin(e)
    }
}

impl From<DbError> for ApprovalError {
    fn from(e: DbError) -> Self {
        Self::Admin(AppError::internal(e))
    }
}

impl From<diesel::result::Error> for ApprovalError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Admin(AppError::internal(e))
    }
}

impl ApprovalError {
    pub fn response(&self, req: &HttpRequest) -> HttpResponse {
        match self {
            Self::Admin(e) => e.error_response(),
            Self::NotFound => Problem::not_found("no such pending approval").response(req.path()),
            Self::OwnRequest => Problem::forbidden(
                "own-request",
                "a request cannot be approved by the administrator who made it",
            )
            .response(req.path()),
            Self::Conflict(m) => Problem::conflict(m.clone()).response(req.path()),
        }
    }
}

fn respond(req: &HttpRequest, result: Result<HttpResponse, ApprovalError>) -> HttpResponse {
    result.unwrap_or_else(|e| e.response(req))
}

/// The right a request's creation needed, and so the right deciding it needs.
pub fn manage_permission(kind: ApprovalKind) -> AdminPermission {
    match kind {
        ApprovalKind::ServiceAccount => AdminPermission::ManageClients,
        ApprovalKind::ServiceAccountApiKey => AdminPermission::ManageUsers,
    }
}

fn view_permission(kind: ApprovalKind) -> AdminPermission {
    match kind {
        ApprovalKind::ServiceAccount => AdminPermission::ViewClients,
        ApprovalKind::ServiceAccountApiKey => AdminPermission::ViewUsers,
    }
}

/// A request as one administrator sees it: with the client's public id and what they may do.
#[derive(Clone, Debug)]
pub struct ApprovalView {
    pub request: PendingApproval,
    /// The public `clientId` of a service account's client.
    pub client_client_id: Option<String>,
    pub may_approve: bool,
    pub may_reject: bool,
    /// The viewer made this request.
    pub own: bool,
}

impl ApprovalView {
    fn of(
        conn: &mut DbConnection,
        principal: &AdminPrincipal,
        realm_name: &str,
        request: PendingApproval,
    ) -> Result<Self, DbError> {
        let client_client_id = match &request.client_id {
            Some(id) => db::clients::find(conn, &request.realm_id, id)?.map(|c| c.client_id),
            None => None,
        };
        let manages = principal.may(realm_name, manage_permission(request.kind));
        let own = may_approve(&request, &principal.user.id).is_err();
        Ok(Self {
            client_client_id,
            may_approve: manages && !own,
            may_reject: manages,
            own,
            request,
        })
    }

    pub fn json(&self) -> Value {
        let r = &self.request;
        json!({
            "id": r.id,
            "kind": r.kind.as_str(),
            "summary": r.summary,
            "client": r.client_id.as_ref().map(|id| json!({ "id": id, "clientId": self.client_client_id })),
            "apiKey": r.api_key_id.as_ref().map(|id| json!({ "id": id, "userId": r.owner_id })),
            "newSubject": r.new_subject,
            "requestedBy": { "id": r.requested_by, "username": r.requested_by_username },
            "requestedAt": format_rfc3339(r.requested_at),
            "access": { "approve": self.may_approve, "reject": self.may_reject },
        })
    }
}

/// The realm, if the admin may see some kind of request in it (clients or users).
async fn visible_realm(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
) -> Result<Arc<RealmRuntime>, AppError> {
    let permission = if principal.may(realm_name, AdminPermission::ViewClients) {
        AdminPermission::ViewClients
    } else {
        AdminPermission::ViewUsers
    };
    realm_for(state, principal, realm_name, permission).await
}

/// Ids are UUIDs: anything else (a NUL byte PostgreSQL would refuse, say) cannot exist.
fn storable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && !id.chars().any(char::is_control)
}

/// The requests of the realm the admin may see (service accounts with view-clients, keys with
/// view-users), oldest first.
pub async fn list_approvals(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
) -> Result<Vec<ApprovalView>, ApprovalError> {
    let realm = visible_realm(state, principal, realm_name).await?;
    let realm_id = realm.realm.id.clone();
    let principal = principal.clone();
    let realm_name = realm_name.to_owned();
    state
        .db
        .run(move |conn| -> Result<Vec<ApprovalView>, ApprovalError> {
            let mut views = Vec::new();
            for request in db::approvals::list(conn, &realm_id)? {
                if principal.may(&realm_name, view_permission(request.kind)) {
                    views.push(ApprovalView::of(conn, &principal, &realm_name, request)?);
                }
            }
            Ok(views)
        })
        .await
}

/// One request (403 when the admin may not see its kind).
pub async fn get_approval(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
) -> Result<ApprovalView, ApprovalError> {
    let realm = visible_realm(state, principal, realm_name).await?;
    if !storable(&id) {
        return Err(ApprovalError::NotFound);
    }
    let realm_id = realm.realm.id.clone();
    let principal = principal.clone();
    let realm_name = realm_name.to_owned();
    state
        .db
        .run(move |conn| -> Result<ApprovalView, ApprovalError> {
            let request = db::approvals::find(conn, &realm_id, &id)?.ok_or(ApprovalError::NotFound)?;
            if !principal.may(&realm_name, view_permission(request.kind)) {
                return Err(AppError::Forbidden.into());
            }
            Ok(ApprovalView::of(conn, &principal, &realm_name, request)?)
        })
        .await
}

/// Approves a request: only an admin holding the right its creation needed, and not the one who
/// asked. The subject becomes usable at once on every node (cache invalidation).
pub async fn approve_request(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
) -> Result<ApprovalView, ApprovalError> {
    decide(state, principal, realm_name, id, true).await
}

/// Rejects a request (the requester may withdraw their own): what it created is removed.
pub async fn reject_request(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
) -> Result<ApprovalView, ApprovalError> {
    decide(state, principal, realm_name, id, false).await
}

async fn decide(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
    approve: bool,
) -> Result<ApprovalView, ApprovalError> {
    let realm = visible_realm(state, principal, realm_name).await?;
    if !storable(&id) {
        return Err(ApprovalError::NotFound);
    }
    let realm_row = realm.realm.clone();
    let decider = principal.clone();
    let name = realm_name.to_owned();
    let view = state
        .db
        .transaction(move |conn| -> Result<ApprovalView, ApprovalError> {
            let request = db::approvals::find(conn, &realm_row.id, &id)?.ok_or(ApprovalError::NotFound)?;
            if !decider.may(&name, view_permission(request.kind))
                || !decider.may(&name, manage_permission(request.kind))
            {
                return Err(AppError::Forbidden.into());
            }
            let view = ApprovalView::of(conn, &decider, &name, request)?;
            let request = &view.request;
            if approve {
                may_approve(request, &decider.user.id).map_err(|_| ApprovalError::OwnRequest)?;
                if let Some(owner_id) = &request.owner_id {
                    // The key acts as its owner: the approver must be able to manage them too.
                    let owner = load_managed_user(conn, &decider, &realm_row, owner_id)?;
                    let client = match &owner.service_account_client_id {
                        Some(client_id) => db::clients::find(conn, &realm_row.id, client_id)?,
                        None => None,
                    };
                    if client.is_some_and(|c| c.pending_approval.is_some()) {
                        return Err(ApprovalError::Conflict(
                            "the key's service account itself awaits approval; approve it first".into(),
                        ));
                    }
                }
                rules::activate(conn, request)?;
            } else {
                rules::undo(conn, request)?;
            }
            Ok(view)
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    let kind = if approve { EVENT_APPROVED } else { EVENT_REJECTED };
    let request = &view.request;
    let mut event = Event::new(realm.realm.id.clone(), kind, state.clock.now_millis());
    event.user_id = Some(principal.user.id.clone());
    event.client_id = view.client_client_id.clone();
    let details = [
        ("request_id", Some(request.id.clone())),
        ("kind", Some(request.kind.as_str().to_owned())),
        ("requested_by", Some(request.requested_by.clone())),
        ("requested_by_username", Some(request.requested_by_username.clone())),
        ("api_key_id", request.api_key_id.clone()),
        ("owner_id", request.owner_id.clone()),
        ("decided_by_username", Some(principal.user.username.clone())),
    ];
    for (name, value) in details {
        if let Some(value) = value {
            event.details.insert(name.to_owned(), value);
        }
    }
    state.events.record(event);
    tracing::info!(
        realm = %realm.realm.name,
        request = %request.id,
        kind = request.kind.as_str(),
        approved = approve,
        "dual-control request decided"
    );
    Ok(view)
}

async fn list(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let principal = super::auth::authenticate(&state, &req).await?;
        let views = list_approvals(&state, &principal, &path).await?;
        Ok(HttpResponse::Ok().json(views.iter().map(ApprovalView::json).collect::<Vec<_>>()))
    }
    .await;
    respond(&req, result)
}

async fn get_one(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let result = async {
        let (realm_name, id) = path.into_inner();
        let principal = super::auth::authenticate(&state, &req).await?;
        let view = get_approval(&state, &principal, &realm_name, id).await?;
        Ok(HttpResponse::Ok().json(view.json()))
    }
    .await;
    respond(&req, result)
}

async fn approve(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let result = async {
        let (realm_name, id) = path.into_inner();
        let principal = super::auth::authenticate(&state, &req).await?;
        approve_request(&state, &principal, &realm_name, id).await?;
        Ok(no_content())
    }
    .await;
    respond(&req, result)
}

async fn reject(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let result = async {
        let (realm_name, id) = path.into_inner();
        let principal = super::auth::authenticate(&state, &req).await?;
        reject_request(&state, &principal, &realm_name, id).await?;
        Ok(no_content())
    }
    .await;
    respond(&req, result)
}
