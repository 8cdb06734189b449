//! API keys: creating one for a user (the rules of `domain::api_keys` plus the realm's roles and
//! scopes), listing, changing, deleting, and checking a presented key id + secret.
//! Functions here run inside `Db::run` / `Db::transaction` closures.

use crate::crypto::secrets::{self, MasterKey};
use crate::domain::api_keys::{self as rules, ApiKey, Environment, KeyKind, KeyRuleError};
use crate::domain::roles::EffectiveRoles;
use crate::domain::User;
use crate::store::db::{self, api_keys::ApiKeyRow, DbConnection, DbError};

/// What a caller asks for; every field optional as in the API.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub id: Option<String>,
    /// A realm role id or name the owner holds.
    pub role: Option<String>,
    pub secret: Option<String>,
    pub expires_at: Option<i64>,
    pub description: Option<String>,
    /// Space-separated client scope names of the realm.
    pub permissions: Option<String>,
    pub kind: KeyKind,
    pub environment: Environment,
}

impl Default for NewApiKey {
    fn default() -> Self {
        Self {
            id: None,
            role: None,
            secret: None,
            expires_at: None,
            description: None,
            permissions: None,
            kind: KeyKind::Secret,
            environment: Environment::Live,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("{0}")]
    Rule(#[from] KeyRuleError),
    #[error("the owner does not hold the role `{0}`")]
    RoleNotHeld(String),
    #[error("`{0}` is not a client scope of the realm")]
    UnknownScope(String),
    #[error("an API key with the id `{0}` already exists")]
    DuplicateId(String),
    #[error("this secret is already in use")]
    DuplicateSecret,
    #[error("no such API key")]
    NotFound,
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for ApiKeyError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Database(DbError::from(e))
    }
}

/// Resolves `role` (id or name) to a realm role id the user holds (through groups and composites).
fn held_role_id(conn: &mut DbConnection, realm_id: &str, user_id: &str, role: &str) -> Result<String, ApiKeyError> {
    let found = match db::roles::find(conn, realm_id, role)? {
        Some(r) => Some(r),
        None => db::roles::find_by_name(conn, realm_id, role)?,
    };
    let Some(found) = found.filter(|r| !r.client_role) else {
        return Err(ApiKeyError::RoleNotHeld(role.to_owned()));
    };
    let held = super::roles::effective_role_ids_of_user(conn, realm_id, user_id)?;
    if held.contains(&found.id) {
        Ok(found.id)
    } else {
        Err(ApiKeyError::RoleNotHeld(role.to_owned()))
    }
}

/// Creates a key owned by `owner_id`; the key and its secret, which is never shown again.
/// Call in a write transaction.
pub fn create(
    conn: &mut DbConnection,
    master_key: &MasterKey,
    realm_id: &str,
    owner_id: &str,
    actor_id: &str,
    request: NewApiKey,
    now: i64,
) -> Result<(ApiKey, String), ApiKeyError> {
    let id = match request.id {
        Some(id) => {
            rules::validate_id(&id)?;
            id
        }
        None => super::new_id(),
    };
    let secret = match request.secret {
        Some(s) => {
            rules::validate_supplied_secret(&s)?;
            s
        }
        None => rules::generated_secret(request.kind, request.environment, &secrets::generate_secret()),
    };
    let expires_at = rules::expiry(request.expires_at, now)?;
    let permissions = rules::parse_permissions(request.permissions.as_deref());
    rules::check_permissions_for_kind(request.kind, &permissions)?;
    for p in &permissions {
        if db::scopes::find_by_name(conn, realm_id, p)?.is_none() {
            return Err(ApiKeyError::UnknownScope(p.clone()));
        }
    }
    let role_id = match request.role.as_deref().filter(|r| !r.is_empty()) {
        Some(role) => Some(held_role_id(conn, realm_id, owner_id, role)?),
        None => None,
    };
    if db::api_keys::find(conn, realm_id, &id)?.is_some() {
        return Err(ApiKeyError::DuplicateId(id));
    }
    let key = ApiKey {
        realm_id: realm_id.to_owned(),
        id,
        user_id: owner_id.to_owned(),
        role_id,
        display_prefix: rules::display_prefix(&secret),
        kind: request.kind,
        environment: request.environment,
        description: request.description,
        permissions,
        created_at: now,
        modified_at: now,
        created_by: actor_id.to_owned(),
        modified_by: actor_id.to_owned(),
        expires_at,
        revoked: false,
    };
    let row = ApiKeyRow::new(&key, master_key.keyed_hash(secret.as_bytes()));
    match db::api_keys::insert(conn, &row) {
        Ok(()) => Ok((key, secret)),
        Err(e) if db::is_unique_violation(&e) => Err(ApiKeyError::DuplicateSecret),
        Err(e) => Err(e.into()),
    }
}

/// The keys `user_id` owns in the realm.
pub fn list(conn: &mut DbConnection, realm_id: &str, user_id: &str) -> Result<Vec<ApiKey>, ApiKeyError> {
    Ok(db::api_keys::list_for_user(conn, realm_id, user_id)?
        .into_iter()
        .map(ApiKeyRow::into_key)
        .collect())
}

/// One key of `user_id`; `NotFound` for a key of someone else (no hint that it exists).
pub fn get(conn: &mut DbConnection, realm_id: &str, user_id: &str, id: &str) -> Result<ApiKey, ApiKeyError> {
    match db::api_keys::find(conn, realm_id, id)? {
        Some(row) if row.user_id == user_id => Ok(row.into_key()),
        _ => Err(ApiKeyError::NotFound),
    }
}

/// Changes the description and/or expiry of a key of `user_id`. Call in a write transaction.
#[allow(clippy::too_many_arguments)]
pub fn update(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: &str,
    id: &str,
    description: Option<Option<String>>,
    expires_at: Option<i64>,
    actor_id: &str,
    now: i64,
) -> Result<ApiKey, ApiKeyError> {
    let key = get(conn, realm_id, user_id, id)?;
    let description = description.unwrap_or(key.description);
    let expires_at = match expires_at {
        Some(at) => rules::expiry(Some(at), now)?,
        None => key.expires_at,
    };
    db::api_keys::update_details(conn, realm_id, id, description.as_deref(), expires_at, actor_id, now)?;
    get(conn, realm_id, user_id, id)
}

/// Revokes a key of `user_id` (kept, refused from now on). Call in a write transaction.
pub fn revoke(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: &str,
    id: &str,
    actor_id: &str,
    now: i64,
) -> Result<(), ApiKeyError> {
    get(conn, realm_id, user_id, id)?;
    db::api_keys::revoke(conn, realm_id, id, actor_id, now)?;
    Ok(())
}

/// Deletes a key of `user_id`. Call in a write transaction.
pub fn delete(conn: &mut DbConnection, realm_id: &str, user_id: &str, id: &str) -> Result<(), ApiKeyError> {
    get(conn, realm_id, user_id, id)?;
    db::api_keys::delete(conn, realm_id, id)?;
    Ok(())
}

/// The usable key of the realm with this id and secret; `None` for a wrong pair, a key of another
/// realm, a revoked or an expired key (the caller answers all of them alike). The secret is
/// compared with the stored keyed hash in constant time, and a missing key costs the same hash.
pub fn verify(
    conn: &mut DbConnection,
    master_key: &MasterKey,
    realm_id: &str,
    key_id: &str,
    secret: &str,
    now: i64,
) -> Result<Option<ApiKey>, ApiKeyError> {
    let Some(row) = db::api_keys::find(conn, realm_id, key_id)? else {
        let _ = master_key.verify_keyed_hash(secret.as_bytes(), "");
        return Ok(None);
    };
    if !master_key.verify_keyed_hash(secret.as_bytes(), &row.secret_hash) {
        return Ok(None);
    }
    let key = row.into_key();
    Ok(key.usable(now).then_some(key))
}

/// The usable key of the realm whose secret this is (one indexed lookup by keyed hash), for
/// `Authorization: Bearer nx_live_…`.
pub fn verify_secret(
    conn: &mut DbConnection,
    master_key: &MasterKey,
    realm_id: &str,
    secret: &str,
    now: i64,
) -> Result<Option<ApiKey>, ApiKeyError> {
    let hash = master_key.keyed_hash(secret.as_bytes());
    let Some(row) = db::api_keys::find_by_secret_hash(conn, &hash)? else {
        return Ok(None);
    };
    if row.realm_id != realm_id {
        return Ok(None);
    }
    let key = row.into_key();
    Ok(key.usable(now).then_some(key))
}

/// Whether the key a token was minted from still works (not deleted, revoked or expired): tokens
/// of a key stop with it.
pub fn key_is_usable(conn: &mut DbConnection, realm_id: &str, key_id: &str, now: i64) -> Result<bool, ApiKeyError> {
    Ok(db::api_keys::find(conn, realm_id, key_id)?.is_some_and(|row| row.into_key().usable(now)))
}

/// What a verified key may act as: its owner, with the roles its tokens carry.
#[derive(Clone, Debug)]
pub struct KeyGrant {
    pub key: ApiKey,
    pub owner: User,
    /// The owner's effective roles now; only the key's role (if the owner still holds it) when the
    /// key is limited to one.
    pub roles: EffectiveRoles,
}

/// Verifies a key id + secret (see `verify`) and loads what its token may carry; `None` when the
/// key is refused or its owner is gone or disabled.
pub fn grant_for(
    conn: &mut DbConnection,
    master_key: &MasterKey,
    realm_id: &str,
    key_id: &str,
    secret: &str,
    now: i64,
) -> Result<Option<KeyGrant>, ApiKeyError> {
    let Some(key) = verify(conn, master_key, realm_id, key_id, secret, now)? else {
        return Ok(None);
    };
    grant_of(conn, realm_id, key)
}

/// The grant of a key presented on its own (`Authorization-PSK`, `Bearer nx_…`): found by the keyed
/// hash of its secret in any realm (one indexed lookup); `None` when unknown, unusable, or its owner
/// is gone or disabled.
pub fn grant_for_secret(
    conn: &mut DbConnection,
    master_key: &MasterKey,
    secret: &str,
    now: i64,
) -> Result<Option<KeyGrant>, ApiKeyError> {
    let hash = master_key.keyed_hash(secret.as_bytes());
    let Some(row) = db::api_keys::find_by_secret_hash(conn, &hash)? else {
        return Ok(None);
    };
    let key = row.into_key();
    if !key.usable(now) {
        return Ok(None);
    }
    let realm_id = key.realm_id.clone();
    grant_of(conn, &realm_id, key)
}

fn grant_of(conn: &mut DbConnection, realm_id: &str, key: ApiKey) -> Result<Option<KeyGrant>, ApiKeyError> {
    let Some(owner) = db::users::find(conn, realm_id, &key.user_id)?.filter(|u| u.enabled) else {
        return Ok(None);
    };
    let roles = match &key.role_id {
        None => super::roles::effective_roles_of(conn, realm_id, &owner.id)?,
        Some(role_id) => {
            let held = super::roles::effective_role_ids_of_user(conn, realm_id, &owner.id)?;
            let mut roles = EffectiveRoles::default();
            if held.contains(role_id) {
                if let Some(role) = db::roles::find(conn, realm_id, role_id)?.filter(|r| !r.client_role) {
                    roles.realm.insert(role.name);
                }
            }
            roles
        }
    };
    Ok(Some(KeyGrant { key, owner, roles }))
}
