//! Dual control (ADR 016): opening a request when a service account or a service account's API
//! key is created in a realm with `dualControl`, and what approving or rejecting it does to its
//! subject. Who may decide is checked by the caller (`http::admin::approvals`); everything here
//! runs inside one write transaction.

use crate::domain::approvals::{ApprovalKind, PendingApproval};
use crate::domain::dates::format_rfc3339;
use crate::domain::{Client, Realm};
use crate::store::db::{self, DbConnection};

/// Who asked.
#[derive(Clone, Debug)]
pub struct Requester {
    pub id: String,
    pub username: String,
}

impl Requester {
    /// The user `id` of any realm, with their username (an id no user has keeps the id as name).
    pub fn load(conn: &mut DbConnection, id: &str) -> diesel::QueryResult<Self> {
        let username = db::approvals::username_of(conn, id)?.unwrap_or_else(|| id.to_owned());
        Ok(Self {
            id: id.to_owned(),
            username,
        })
    }
}

/// A request for `client`'s service account; store it after the client row, whose
/// `pending_approval` the caller sets to the returned request's id.
pub fn service_account_request(
    realm: &Realm,
    client: &Client,
    new_subject: bool,
    requester: &Requester,
    now: i64,
) -> PendingApproval {
    let how = if new_subject {
        "a new client"
    } else {
        "enabled on an existing client"
    };
    PendingApproval {
        id: super::new_id(),
        realm_id: realm.id.clone(),
        kind: ApprovalKind::ServiceAccount,
        client_id: Some(client.id.clone()),
        api_key_id: None,
        owner_id: None,
        new_subject,
        requested_by: requester.id.clone(),
        requested_by_username: requester.username.clone(),
        requested_at: now,
        summary: format!("Service account of client {} ({how})", client.client_id),
    }
}

/// A request for a new API key of a service-account user; store it after the key row.
pub fn api_key_request(
    realm_id: &str,
    key_id: &str,
    owner_id: &str,
    owner_username: &str,
    expires_at: i64,
    requester: &Requester,
    now: i64,
) -> PendingApproval {
    PendingApproval {
        id: super::new_id(),
        realm_id: realm_id.to_owned(),
        kind: ApprovalKind::ServiceAccountApiKey,
        client_id: None,
        api_key_id: Some(key_id.to_owned()),
        owner_id: Some(owner_id.to_owned()),
        new_subject: true,
        requested_by: requester.id.clone(),
        requested_by_username: requester.username.clone(),
        requested_at: now,
        summary: format!(
            "API key {key_id} of service account {owner_username}, expiring {}",
            format_rfc3339(expires_at)
        ),
    }
}

/// Approval: the subject becomes usable, the request goes.
pub fn activate(conn: &mut DbConnection, request: &PendingApproval) -> diesel::QueryResult<()> {
    match request.kind {
        ApprovalKind::ServiceAccount => {
            if let Some(client_id) = &request.client_id {
                db::approvals::set_client_pending(conn, client_id, None)?;
            }
        }
        ApprovalKind::ServiceAccountApiKey => {
            if let Some(key_id) = &request.api_key_id {
                db::api_keys::set_pending_approval(conn, &request.realm_id, key_id, None)?;
            }
        }
    }
    db::approvals::delete(conn, &request.realm_id, &request.id)?;
    Ok(())
}

/// Rejection (or withdrawal): what the request created goes — the key, the new client (with its
/// roles and service-account user) — or an existing client's service account is turned off again.
pub fn undo(conn: &mut DbConnection, request: &PendingApproval) -> diesel::QueryResult<()> {
    // First the request: deleting its subject would take it along (foreign keys cascade).
    db::approvals::delete(conn, &request.realm_id, &request.id)?;
    match request.kind {
        ApprovalKind::ServiceAccount => {
            let Some(client) = (match &request.client_id {
                Some(id) => db::clients::find(conn, &request.realm_id, id)?,
                None => None,
            }) else {
                return Ok(());
            };
            if request.new_subject {
                for role in db::roles::list_in_container(conn, &client.id, None, 0, i64::MAX)? {
                    db::roles::delete(conn, &role.id)?;
                }
                db::clients::delete(conn, &request.realm_id, &client.id)?;
            } else {
                let mut client = client;
                client.service_accounts_enabled = false;
                client.pending_approval = None;
                db::clients::update(conn, &client)?;
            }
        }
        ApprovalKind::ServiceAccountApiKey => {
            if let Some(key_id) = &request.api_key_id {
                db::api_keys::delete(conn, &request.realm_id, key_id)?;
            }
        }
    }
    Ok(())
}
