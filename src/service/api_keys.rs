//! API keys: creating one for a user (the rules of `domain::api_keys` plus the realm's roles and
//! scopes), listing, changing, deleting, and checking a presented key id + secret.
//! Functions here run inside `Db::run` / `Db::transaction` closures.

use super::approvals::{self, Requester};
use crate::crypto::secrets::{self, MasterKey};
use crate::domain::api_keys::{self as rules, ApiKey, Environment, KeyKind, KeyRuleError};
use crate::domain::approvals::dual_control;
use crate::domain::roles::EffectiveRoles;
use crate::domain::{Realm, User};
use std::net::IpAddr;

use crate::store::db::{self, api_keys::ApiKeyRow, DbConnection, DbError};
use ipnet::IpNet;

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
    /// Client addresses the key may be used from; empty = anywhere.
    pub allowed_ips: Vec<IpNet>,
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
            allowed_ips: Vec::new(),
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
    #[error("the API key is revoked or expired")]
    NotUsable,
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
    let realm = db::realms::find(conn, realm_id)?.ok_or(ApiKeyError::NotFound)?;
    check_environment(&realm, request.environment)?;
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
    // Dual control (ADR 016): a service account's new key waits for a second administrator.
    let owner = db::users::find(conn, realm_id, owner_id)?.ok_or(ApiKeyError::NotFound)?;
    let waits = dual_control(&realm) && owner.service_account_client_id.is_some();
    let pending = if waits {
        let requester = Requester::load(conn, actor_id)?;
        Some(approvals::api_key_request(
            realm_id,
            &id,
            &owner.id,
            &owner.username,
            expires_at,
            &requester,
            now,
        ))
    } else {
        None
    };
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
        previous_secret_until: None,
        allowed_ips: request.allowed_ips,
        last_used_at: None,
        last_used_ip: None,
        pending_approval: pending.as_ref().map(|p| p.id.clone()),
    };
    let row = ApiKeyRow::new(&key, master_key.keyed_hash(secret.as_bytes()));
    match db::api_keys::insert(conn, &row) {
        Ok(()) => {}
        Err(e) if db::is_unique_violation(&e) => return Err(ApiKeyError::DuplicateSecret),
        Err(e) => return Err(e.into()),
    }
    if let Some(request) = &pending {
        db::approvals::insert(conn, request)?;
    }
    Ok((key, secret))
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

/// Seconds a rotated key's old secret keeps working in this realm (`apiKeyRotationGraceSeconds`,
/// 0 to a year; 24 hours when unset).
pub fn rotation_grace_seconds(realm: &Realm) -> i64 {
    realm
        .setting_int("apiKeyRotationGraceSeconds", 0, rules::DEFAULT_KEY_LIFETIME)
        .unwrap_or(rules::DEFAULT_ROTATION_GRACE)
}

/// Refuses a key environment the realm does not accept (`apiKeyEnvironments`).
pub fn check_environment(realm: &Realm, environment: Environment) -> Result<(), ApiKeyError> {
    if rules::accepted_environments(realm.attributes.get("apiKeyEnvironments")).contains(&environment) {
        Ok(())
    } else {
        Err(KeyRuleError::EnvironmentNotAccepted(environment).into())
    }
}

/// Gives a key of `user_id` a new secret (of the key's kind and environment); the old secret keeps
/// working for `grace_seconds` (seed 002's rotation). A rotation during another's grace period
/// ends the older secret at once: a key has at most two working secrets. Call in a write
/// transaction; the new secret is in the answer and never again.
#[allow(clippy::too_many_arguments)]
pub fn rotate(
    conn: &mut DbConnection,
    master_key: &MasterKey,
    realm_id: &str,
    user_id: &str,
    id: &str,
    actor_id: &str,
    now: i64,
    grace_seconds: i64,
) -> Result<(ApiKey, String), ApiKeyError> {
    replace_secret(
        conn,
        master_key,
        realm_id,
        user_id,
        id,
        actor_id,
        now,
        Some(grace_seconds.max(0)),
    )
}

/// Gives a key of `user_id` a new secret and ends the old one at once (seed 001's regeneration).
pub fn regenerate(
    conn: &mut DbConnection,
    master_key: &MasterKey,
    realm_id: &str,
    user_id: &str,
    id: &str,
    actor_id: &str,
    now: i64,
) -> Result<(ApiKey, String), ApiKeyError> {
    replace_secret(conn, master_key, realm_id, user_id, id, actor_id, now, None)
}

#[allow(clippy::too_many_arguments)]
fn replace_secret(
    conn: &mut DbConnection,
    master_key: &MasterKey,
    realm_id: &str,
    user_id: &str,
    id: &str,
    actor_id: &str,
    now: i64,
    grace_seconds: Option<i64>,
) -> Result<(ApiKey, String), ApiKeyError> {
    let key = get(conn, realm_id, user_id, id)?;
    if !key.usable(now) {
        return Err(ApiKeyError::NotUsable);
    }
    let row = db::api_keys::find(conn, realm_id, id)?.ok_or(ApiKeyError::NotFound)?;
    let secret = rules::generated_secret(key.kind, key.environment, &secrets::generate_secret());
    let new_hash = master_key.keyed_hash(secret.as_bytes());
    let previous = grace_seconds
        .filter(|grace| *grace > 0)
        .map(|grace| (row.secret_hash.as_str(), now.saturating_add(grace).min(key.expires_at)));
    db::api_keys::replace_secret(
        conn,
        realm_id,
        id,
        &new_hash,
        &rules::display_prefix(&secret),
        previous,
        actor_id,
        now,
    )?;
    Ok((get(conn, realm_id, user_id, id)?, secret))
}

/// Sets the allowlist of a key of `user_id` (empty = anywhere). Call in a write transaction.
pub fn set_allowed_ips(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: &str,
    id: &str,
    ranges: &[IpNet],
    actor_id: &str,
    now: i64,
) -> Result<ApiKey, ApiKeyError> {
    get(conn, realm_id, user_id, id)?;
    let column = db::api_keys::allowed_ips_column(ranges);
    db::api_keys::set_allowed_ips(conn, realm_id, id, column.as_deref(), actor_id, now)?;
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

/// Why a presented key was refused: the `error` of its `API_KEY_REFUSED` event. Callers answer
/// every refusal alike (401); only the record tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    UnknownSecret,
    /// The old secret of a rotated key, after its grace period.
    RotatedSecret,
    WrongKeyId,
    OtherRealm,
    Revoked,
    Expired,
    AddressNotAllowed,
    EnvironmentNotAccepted,
    RealmDisabled,
    OwnerDisabled,
    /// Dual control (ADR 016): a second administrator has not approved the key yet.
    PendingApproval,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownSecret => "invalid_secret",
            Self::RotatedSecret => "rotated_secret",
            Self::WrongKeyId => "wrong_key_id",
            Self::OtherRealm => "other_realm",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::AddressNotAllowed => "address_not_allowed",
            Self::EnvironmentNotAccepted => "environment_not_accepted",
            Self::RealmDisabled => "realm_disabled",
            Self::OwnerDisabled => "owner_disabled",
            Self::PendingApproval => "pending_approval",
        }
    }
}

/// A key as a request presents it.
#[derive(Clone, Copy, Debug)]
pub struct Presented<'a> {
    /// The keyed hash of the presented secret (`MasterKey::keyed_hash`): keys are found by it.
    pub secret_hash: &'a str,
    /// The key id, when the caller names it (Basic `id:secret`, key for token).
    pub key_id: Option<&'a str>,
    /// The realm the key must belong to, when the endpoint names one.
    pub realm_id: Option<&'a str>,
    /// The client's address (for the allowlist).
    pub address: Option<IpAddr>,
}

/// Which of its key's secrets a presented secret is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretMatch {
    Current,
    /// The secret a rotation replaced, working until the end of its grace period (if any).
    Previous {
        until: Option<i64>,
    },
}

/// A refused key: why, and where to record it.
#[derive(Debug)]
pub struct Refused {
    pub refusal: Refusal,
    /// The realm to record the refusal in, when known.
    pub realm_id: Option<String>,
    /// The key and its owner, when the refusal can be pinned on one.
    pub key: Option<(String, String)>,
}

impl Refused {
    /// A refusal pinned on `key` (recorded in its realm, with its owner).
    pub fn of_key(refusal: Refusal, key: &ApiKey) -> Self {
        Self {
            refusal,
            realm_id: Some(key.realm_id.clone()),
            key: Some((key.id.clone(), key.user_id.clone())),
        }
    }
}

/// The outcome of checking a presented key and loading what it may act as.
#[derive(Debug)]
pub enum KeyCheck {
    Granted {
        realm: Realm,
        grant: Box<KeyGrant>,
        /// Which secret of the key was presented (a cache of granted keys needs it).
        matched: SecretMatch,
    },
    Refused(Refused),
}

/// Every rule a found key must pass for this request, in the order refusals are reported; `realm`
/// is the key's realm (`None` when it no longer exists). The one place these rules live: the
/// database path (`verify_presented`) and the hot-path cache of granted keys both call it, so a
/// cached key is judged exactly as a freshly loaded one.
pub fn judge(
    key: &ApiKey,
    matched: SecretMatch,
    presented: &Presented<'_>,
    realm: Option<&Realm>,
    now: i64,
) -> Result<(), Refusal> {
    if let SecretMatch::Previous { until } = matched {
        if until.is_none_or(|until| now >= until) {
            return Err(Refusal::RotatedSecret);
        }
    }
    if let Some(id) = presented.key_id {
        if !secrets::constant_time_eq(id.as_bytes(), key.id.as_bytes()) {
            return Err(Refusal::WrongKeyId);
        }
    }
    if presented.realm_id.is_some_and(|r| r != key.realm_id) {
        return Err(Refusal::OtherRealm);
    }
    if key.revoked {
        return Err(Refusal::Revoked);
    }
    if key.pending_approval.is_some() {
        return Err(Refusal::PendingApproval);
    }
    if now >= key.expires_at {
        return Err(Refusal::Expired);
    }
    let Some(realm) = realm.filter(|r| r.enabled && r.id == key.realm_id) else {
        return Err(Refusal::RealmDisabled);
    };
    if check_environment(realm, key.environment).is_err() {
        return Err(Refusal::EnvironmentNotAccepted);
    }
    if !key.allows_address(presented.address) {
        return Err(Refusal::AddressNotAllowed);
    }
    Ok(())
}

/// Verifies a presented key: one indexed lookup by the keyed hash of its secret (the previous
/// secret of a rotated key is a second lookup, only when the first finds nothing), then the key's
/// and its realm's rules (`judge`). Costs a few indexed reads, never a password hash.
pub fn verify_presented(
    conn: &mut DbConnection,
    presented: Presented<'_>,
    now: i64,
) -> Result<Result<(Realm, ApiKey, SecretMatch), Refused>, ApiKeyError> {
    let hash = presented.secret_hash;
    let found = match db::api_keys::find_by_secret_hash(conn, hash)? {
        Some(row) => Some((row, SecretMatch::Current)),
        None => db::api_keys::find_by_previous_secret_hash(conn, hash)?.map(|row| {
            let until = row.previous_secret_expires_at;
            (row, SecretMatch::Previous { until })
        }),
    };
    let Some((row, matched)) = found else {
        // Pin a wrong secret on the key it names, so its owner's record shows the attempt.
        let named = match (presented.key_id, presented.realm_id) {
            (Some(id), Some(realm_id)) if rules::validate_id(id).is_ok() => {
                db::api_keys::find(conn, realm_id, id)?.map(|row| (row.id, row.user_id))
            }
            _ => None,
        };
        return Ok(Err(Refused {
            refusal: Refusal::UnknownSecret,
            realm_id: presented.realm_id.map(str::to_owned),
            key: named,
        }));
    };
    let key = row.into_key();
    let realm = db::realms::find(conn, &key.realm_id)?;
    match (judge(&key, matched, &presented, realm.as_ref(), now), realm) {
        (Ok(()), Some(realm)) => Ok(Ok((realm, key, matched))),
        (Err(refusal), _) => Ok(Err(Refused::of_key(refusal, &key))),
        (Ok(()), None) => Ok(Err(Refused::of_key(Refusal::RealmDisabled, &key))),
    }
}

/// Verifies a presented key (`verify_presented`) and loads its owner and the roles it may use.
pub fn check_presented(conn: &mut DbConnection, presented: Presented<'_>, now: i64) -> Result<KeyCheck, ApiKeyError> {
    let (realm, key, matched) = match verify_presented(conn, presented, now)? {
        Ok(found) => found,
        Err(refused) => return Ok(KeyCheck::Refused(refused)),
    };
    let refused = Refused::of_key(Refusal::OwnerDisabled, &key);
    match grant_of(conn, &realm.id, key)? {
        Some(grant) => Ok(KeyCheck::Granted {
            realm,
            grant: Box::new(grant),
            matched,
        }),
        None => Ok(KeyCheck::Refused(refused)),
    }
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
