//! Pending approvals (dual control, ADR 016): one row per request awaiting a second admin, and
//! the pending flag on the clients and API keys they concern.

use diesel::prelude::*;

use super::schema::{clients, pending_approvals, users};
use super::DbConnection;
use crate::domain::approvals::{ApprovalKind, PendingApproval};

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = pending_approvals)]
pub struct PendingApprovalRow {
    pub id: String,
    pub realm_id: String,
    pub kind: String,
    pub client_id: Option<String>,
    pub api_key_id: Option<String>,
    pub owner_id: Option<String>,
    pub new_subject: bool,
    pub requested_by: String,
    pub requested_by_username: String,
    pub requested_at: i64,
    pub summary: String,
}

impl From<&PendingApproval> for PendingApprovalRow {
    fn from(p: &PendingApproval) -> Self {
        Self {
            id: p.id.clone(),
            realm_id: p.realm_id.clone(),
            kind: p.kind.as_str().to_owned(),
            client_id: p.client_id.clone(),
            api_key_id: p.api_key_id.clone(),
            owner_id: p.owner_id.clone(),
            new_subject: p.new_subject,
            requested_by: p.requested_by.clone(),
            requested_by_username: p.requested_by_username.clone(),
            requested_at: p.requested_at,
            summary: p.summary.clone(),
        }
    }
}

impl PendingApprovalRow {
    /// The request; `None` for a kind this version does not know (never decided, never listed).
    fn into_request(self) -> Option<PendingApproval> {
        Some(PendingApproval {
            kind: ApprovalKind::parse(&self.kind)?,
            id: self.id,
            realm_id: self.realm_id,
            client_id: self.client_id,
            api_key_id: self.api_key_id,
            owner_id: self.owner_id,
            new_subject: self.new_subject,
            requested_by: self.requested_by,
            requested_by_username: self.requested_by_username,
            requested_at: self.requested_at,
            summary: self.summary,
        })
    }
}

pub fn insert(conn: &mut DbConnection, request: &PendingApproval) -> QueryResult<()> {
    diesel::insert_into(pending_approvals::table)
        .values(PendingApprovalRow::from(request))
        .execute(conn)
        .map(|_| ())
}

/// A request of the realm by id.
pub fn find(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<Option<PendingApproval>> {
    Ok(pending_approvals::table
        .filter(pending_approvals::realm_id.eq(realm_id))
        .filter(pending_approvals::id.eq(id))
        .select(PendingApprovalRow::as_select())
        .first(conn)
        .optional()?
        .and_then(PendingApprovalRow::into_request))
}

/// The realm's requests, oldest first.
pub fn list(conn: &mut DbConnection, realm_id: &str) -> QueryResult<Vec<PendingApproval>> {
    Ok(pending_approvals::table
        .filter(pending_approvals::realm_id.eq(realm_id))
        .order((pending_approvals::requested_at.asc(), pending_approvals::id.asc()))
        .select(PendingApprovalRow::as_select())
        .load(conn)?
        .into_iter()
        .filter_map(PendingApprovalRow::into_request)
        .collect())
}

pub fn delete(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(
        pending_approvals::table
            .filter(pending_approvals::realm_id.eq(realm_id))
            .filter(pending_approvals::id.eq(id)),
    )
    .execute(conn)
}

/// Marks a client's service account pending (`Some(request id)`) or active (`None`).
pub fn set_client_pending(conn: &mut DbConnection, client_id: &str, request_id: Option<&str>) -> QueryResult<usize> {
    diesel::update(clients::table.find(client_id))
        .set(clients::pending_approval_id.eq(request_id))
        .execute(conn)
}

/// The username of a user of any realm (a master-realm admin may ask in another realm).
pub fn username_of(conn: &mut DbConnection, user_id: &str) -> QueryResult<Option<String>> {
    users::table
        .find(user_id)
        .select(users::username)
        .first(conn)
        .optional()
}
