//! API keys: one row per key, ids unique per realm, the secret only as a keyed hash.

use diesel::prelude::*;

use super::schema::api_keys;
use super::DbConnection;
use ipnet::IpNet;

use crate::domain::api_keys::{ApiKey, Environment, KeyKind};

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub realm_id: String,
    pub id: String,
    pub user_id: String,
    pub role_id: Option<String>,
    pub secret_hash: String,
    pub display_prefix: String,
    pub kind: String,
    pub environment: String,
    pub description: Option<String>,
    pub permissions: String,
    pub created_at: i64,
    pub modified_at: i64,
    pub created_by: String,
    pub modified_by: String,
    pub expires_at: i64,
    pub revoked: bool,
    pub previous_secret_hash: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    /// Space-separated CIDR ranges; `None` = anywhere.
    pub allowed_ips: Option<String>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    /// Dual control: the request awaiting approval (ADR 016); `None` once active.
    pub pending_approval_id: Option<String>,
}

impl ApiKeyRow {
    pub fn new(key: &ApiKey, secret_hash: String) -> Self {
        Self {
            realm_id: key.realm_id.clone(),
            id: key.id.clone(),
            user_id: key.user_id.clone(),
            role_id: key.role_id.clone(),
            secret_hash,
            display_prefix: key.display_prefix.clone(),
            kind: key.kind.as_str().to_owned(),
            environment: key.environment.as_str().to_owned(),
            description: key.description.clone(),
            permissions: key.permissions.join(" "),
            created_at: key.created_at,
            modified_at: key.modified_at,
            created_by: key.created_by.clone(),
            modified_by: key.modified_by.clone(),
            expires_at: key.expires_at,
            revoked: key.revoked,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            allowed_ips: allowed_ips_column(&key.allowed_ips),
            last_used_at: None,
            last_used_ip: None,
            pending_approval_id: key.pending_approval.clone(),
        }
    }

    pub fn into_key(self) -> ApiKey {
        ApiKey {
            // An unknown stored kind is treated as the stricter one.
            kind: KeyKind::parse(&self.kind).unwrap_or(KeyKind::Publishable),
            environment: Environment::parse(&self.environment).unwrap_or(Environment::Test),
            permissions: self.permissions.split_whitespace().map(str::to_owned).collect(),
            realm_id: self.realm_id,
            id: self.id,
            user_id: self.user_id,
            role_id: self.role_id,
            display_prefix: self.display_prefix,
            description: self.description,
            created_at: self.created_at,
            modified_at: self.modified_at,
            created_by: self.created_by,
            modified_by: self.modified_by,
            expires_at: self.expires_at,
            revoked: self.revoked,
            previous_secret_until: self.previous_secret_hash.and(self.previous_secret_expires_at),
            // Stored ranges were validated on the way in; one that no longer parses is dropped
            // only if others remain, so a damaged list never turns into "anywhere".
            allowed_ips: parse_stored_ranges(self.allowed_ips.as_deref()),
            last_used_at: self.last_used_at,
            last_used_ip: self.last_used_ip,
            pending_approval: self.pending_approval_id,
        }
    }
}

pub fn allowed_ips_column(ranges: &[IpNet]) -> Option<String> {
    (!ranges.is_empty()).then(|| ranges.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "))
}

fn parse_stored_ranges(column: Option<&str>) -> Vec<IpNet> {
    let Some(column) = column else { return Vec::new() };
    let parsed: Vec<IpNet> = column.split_whitespace().filter_map(|r| r.parse().ok()).collect();
    if parsed.is_empty() && !column.trim().is_empty() {
        // Nothing readable: admit no address rather than every address.
        return vec!["0.0.0.0/32".parse().expect("a constant range")];
    }
    parsed
}

/// Inserts a key; a duplicate id (in the realm) or secret is a unique violation.
pub fn insert(conn: &mut DbConnection, row: &ApiKeyRow) -> QueryResult<()> {
    diesel::insert_into(api_keys::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A key of the realm by id, with its stored hash.
pub fn find(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::realm_id.eq(realm_id))
        .filter(api_keys::id.eq(id))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()
}

/// A key by the keyed hash of its current secret (one unique index).
pub fn find_by_secret_hash(conn: &mut DbConnection, secret_hash: &str) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::secret_hash.eq(secret_hash))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()
}

/// A key by the keyed hash of the secret it had before its last rotation (one unique index).
pub fn find_by_previous_secret_hash(conn: &mut DbConnection, secret_hash: &str) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::previous_secret_hash.eq(secret_hash))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()
}

/// The keys a user owns in a realm, oldest first.
pub fn list_for_user(conn: &mut DbConnection, realm_id: &str, user_id: &str) -> QueryResult<Vec<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::realm_id.eq(realm_id))
        .filter(api_keys::user_id.eq(user_id))
        .order((api_keys::created_at, api_keys::id))
        .select(ApiKeyRow::as_select())
        .load(conn)
}

/// Sets the description and expiry of a key; the number of rows changed.
pub fn update_details(
    conn: &mut DbConnection,
    realm_id: &str,
    id: &str,
    description: Option<&str>,
    expires_at: i64,
    modified_by: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        api_keys::table
            .filter(api_keys::realm_id.eq(realm_id))
            .filter(api_keys::id.eq(id)),
    )
    .set((
        api_keys::description.eq(description),
        api_keys::expires_at.eq(expires_at),
        api_keys::modified_by.eq(modified_by),
        api_keys::modified_at.eq(now),
    ))
    .execute(conn)
}

/// Marks a key revoked; the number of rows changed.
pub fn revoke(conn: &mut DbConnection, realm_id: &str, id: &str, modified_by: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        api_keys::table
            .filter(api_keys::realm_id.eq(realm_id))
            .filter(api_keys::id.eq(id)),
    )
    .set((
        api_keys::revoked.eq(true),
        api_keys::modified_by.eq(modified_by),
        api_keys::modified_at.eq(now),
    ))
    .execute(conn)
}

/// Deletes a key; the number of rows removed.
pub fn delete(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(
        api_keys::table
            .filter(api_keys::realm_id.eq(realm_id))
            .filter(api_keys::id.eq(id)),
    )
    .execute(conn)
}

/// Gives a key a new secret; the old one keeps working until `previous_until` (rotation) or stops
/// now (`None`: regeneration). The number of rows changed.
#[allow(clippy::too_many_arguments)]
pub fn replace_secret(
    conn: &mut DbConnection,
    realm_id: &str,
    id: &str,
    new_hash: &str,
    display_prefix: &str,
    previous: Option<(&str, i64)>,
    modified_by: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        api_keys::table
            .filter(api_keys::realm_id.eq(realm_id))
            .filter(api_keys::id.eq(id)),
    )
    .set((
        api_keys::secret_hash.eq(new_hash),
        api_keys::display_prefix.eq(display_prefix),
        api_keys::previous_secret_hash.eq(previous.map(|(hash, _)| hash)),
        api_keys::previous_secret_expires_at.eq(previous.map(|(_, until)| until)),
        api_keys::modified_by.eq(modified_by),
        api_keys::modified_at.eq(now),
    ))
    .execute(conn)
}

/// Sets a key's allowlist (`None` = anywhere).
pub fn set_allowed_ips(
    conn: &mut DbConnection,
    realm_id: &str,
    id: &str,
    allowed_ips: Option<&str>,
    modified_by: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        api_keys::table
            .filter(api_keys::realm_id.eq(realm_id))
            .filter(api_keys::id.eq(id)),
    )
    .set((
        api_keys::allowed_ips.eq(allowed_ips),
        api_keys::modified_by.eq(modified_by),
        api_keys::modified_at.eq(now),
    ))
    .execute(conn)
}

/// Records a use, unless a later one is already recorded (uses are written out of order by the
/// event queue).
pub fn record_use(conn: &mut DbConnection, realm_id: &str, id: &str, at: i64, ip: Option<&str>) -> QueryResult<usize> {
    diesel::update(
        api_keys::table
            .filter(api_keys::realm_id.eq(realm_id))
            .filter(api_keys::id.eq(id))
            .filter(api_keys::last_used_at.is_null().or(api_keys::last_used_at.le(at))),
    )
    .set((api_keys::last_used_at.eq(at), api_keys::last_used_ip.eq(ip)))
    .execute(conn)
}

/// Marks a key pending (`Some(request id)`) or active (`None`); the number of rows changed.
pub fn set_pending_approval(
    conn: &mut DbConnection,
    realm_id: &str,
    id: &str,
    pending_approval_id: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(
        api_keys::table
            .filter(api_keys::realm_id.eq(realm_id))
            .filter(api_keys::id.eq(id)),
    )
    .set(api_keys::pending_approval_id.eq(pending_approval_id))
    .execute(conn)
}
