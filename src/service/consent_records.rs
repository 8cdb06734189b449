//! A user's consents as the admin API and the account API show them, and withdrawing one: the
//! consent rows go, and so do the user's refresh tokens of that client (Keycloak revokes them too).
//! Functions here run inside `Db::run` / `Db::transaction` closures.

use std::collections::BTreeMap;

use crate::domain::Client;
use crate::store::db::{self, DbConnection};

/// The scopes a user granted one client.
#[derive(Debug, Clone)]
pub struct Consent {
    pub client: Client,
    /// Scope names, sorted.
    pub scopes: Vec<String>,
    /// Epoch seconds of the first and the latest grant.
    pub created_at: i64,
    pub updated_at: i64,
}

/// Every client the user consented to, ordered by `clientId`.
pub fn consents_of(conn: &mut DbConnection, realm_id: &str, user_id: &str) -> diesel::QueryResult<Vec<Consent>> {
    let mut by_client: BTreeMap<String, Vec<db::consents::ConsentRow>> = BTreeMap::new();
    for row in db::consents::list_for_user(conn, user_id)? {
        if row.realm_id == realm_id {
            by_client.entry(row.client_id.clone()).or_default().push(row);
        }
    }
    let mut consents = Vec::with_capacity(by_client.len());
    for (client_id, rows) in by_client {
        let Some(client) = db::clients::find(conn, realm_id, &client_id)? else {
            continue;
        };
        consents.push(Consent {
            client,
            scopes: rows.iter().map(|r| r.scope_name.clone()).collect(),
            created_at: rows.iter().map(|r| r.created_at).min().unwrap_or(0),
            updated_at: rows.iter().map(|r| r.created_at).max().unwrap_or(0),
        });
    }
    consents.sort_by(|a, b| a.client.client_id.cmp(&b.client.client_id));
    Ok(consents)
}

/// The user's consent to one client (internal id), if any.
pub fn consent_to(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: &str,
    client: &Client,
) -> diesel::QueryResult<Option<Consent>> {
    Ok(consents_of(conn, realm_id, user_id)?
        .into_iter()
        .find(|c| c.client.id == client.id))
}

/// A client the user holds usable refresh tokens of.
#[derive(Debug, Clone)]
pub struct TokenHolder {
    pub client: Client,
    /// One of the tokens is an offline token.
    pub offline: bool,
}

/// The clients the user holds usable refresh tokens of at `now`, ordered by `clientId`.
pub fn clients_with_tokens(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: &str,
    now: i64,
) -> diesel::QueryResult<Vec<TokenHolder>> {
    let mut holders = Vec::new();
    for (client_id, offline) in db::refresh::live_clients_of_user(conn, user_id, now)? {
        if let Some(client) = db::clients::find(conn, realm_id, &client_id)? {
            holders.push(TokenHolder { client, offline });
        }
    }
    holders.sort_by(|a, b| a.client.client_id.cmp(&b.client.client_id));
    Ok(holders)
}

/// What withdrawing a consent removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revoked {
    /// Consent rows (one per scope).
    pub scopes: usize,
    /// Usable offline tokens revoked (online ones are revoked too, not counted).
    pub offline_tokens: usize,
}

impl Revoked {
    /// Keycloak's admin API answers 404 when there was neither a consent nor an offline token.
    pub fn anything(&self) -> bool {
        self.scopes > 0 || self.offline_tokens > 0
    }
}

/// Withdraws the user's consent to the client (internal id) and revokes the user's refresh tokens
/// of it. Call in a write transaction.
pub fn revoke(conn: &mut DbConnection, user_id: &str, client_id: &str, now: i64) -> diesel::QueryResult<Revoked> {
    let scopes = db::consents::revoke(conn, user_id, client_id)?;
    let offline_tokens = db::refresh::revoke_for_user_client(conn, user_id, client_id, now)?;
    Ok(Revoked { scopes, offline_tokens })
}
