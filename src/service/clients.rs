//! Client rules: defaults of a new client, secrets, the service-account user.

use serde_json::Map;

use super::new_id;
use crate::crypto::secrets::{generate_secret, MasterKey};
use crate::domain::defaults::service_account_username;
use crate::domain::{Client, ClientAuthenticator, Realm};
use crate::store::db::{self, DbConnection};

/// A client with Keycloak's defaults for every field absent from a create.
pub fn blank_client(realm_id: &str, client_id: &str, now: i64) -> Client {
    Client {
        id: new_id(),
        realm_id: realm_id.to_owned(),
        client_id: client_id.to_owned(),
        name: None,
        description: None,
        enabled: true,
        public_client: false,
        bearer_only: false,
        secret_encrypted: None,
        secret_hash: None,
        service_accounts_enabled: false,
        direct_access_grants_enabled: false,
        standard_flow_enabled: true,
        implicit_flow_enabled: false,
        consent_required: false,
        full_scope_allowed: true,
        root_url: None,
        base_url: None,
        admin_url: None,
        redirect_uris: Vec::new(),
        web_origins: Vec::new(),
        protocol: "openid-connect".to_owned(),
        access_token_lifespan: None,
        attributes: Map::new(),
        created_at: now,
        authenticator: ClientAuthenticator::ClientSecret,
        pending_approval: None,
    }
}

/// Stores `secret` on the client: encrypted (an admin may read it back) and as a keyed hash (what
/// authentication compares against, in constant time).
pub fn set_secret(client: &mut Client, master: &MasterKey, secret: &str) {
    client.secret_encrypted = Some(master.encrypt(secret.as_bytes()));
    client.secret_hash = Some(master.keyed_hash(secret.as_bytes()));
}

/// Gives a confidential client a generated 256-bit secret if it has none.
pub fn ensure_secret(client: &mut Client, master: &MasterKey) {
    if client.is_confidential() && client.secret_hash.is_none() {
        set_secret(client, master, &generate_secret());
    }
    if !client.is_confidential() {
        client.secret_encrypted = None;
        client.secret_hash = None;
    }
}

/// Inserts the client linked to the realm's default and optional scopes.
pub fn insert_with_realm_defaults(conn: &mut DbConnection, client: &Client) -> diesel::QueryResult<()> {
    db::clients::insert(conn, client)?;
    for (scope_id, is_default) in db::scopes::realm_defaults(conn, &client.realm_id)? {
        db::clients::link_scope(conn, &client.id, &scope_id, is_default)?;
    }
    Ok(())
}

/// Creates the service-account user of `client` when enabled and missing.
pub fn sync_service_account(
    conn: &mut DbConnection,
    realm: &Realm,
    client: &Client,
    now: i64,
) -> diesel::QueryResult<()> {
    if !client.service_accounts_enabled {
        return Ok(());
    }
    if db::users::find_service_account(conn, &client.id)?.is_some() {
        return Ok(());
    }
    let mut user = super::users::blank_user(&realm.id, &service_account_username(&client.client_id), now);
    user.service_account_client_id = Some(client.id.clone());
    // A user already holding that name (unlikely) would collide; give the service account a unique one.
    if db::users::find_by_username(conn, &realm.id, &user.username)?.is_some() {
        user.username = format!("{}-{}", user.username, &user.id[..8]);
    }
    super::users::insert_with_default_roles(conn, realm, &user)
}
