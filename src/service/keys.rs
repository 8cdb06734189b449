//! Signing-key lifecycle: a key at realm creation, rotation that keeps the old key verifying.

use crate::crypto::keys::{generate_rsa_key, GeneratedKey, KeyError};
use crate::crypto::secrets::MasterKey;
use crate::domain::{KeyStatus, Realm, SigningKeyRecord};
use crate::store::db::{self, DbConnection};

/// Slack added to the longest token lifespan before a rotated-out key leaves the JWKS.
const VERIFY_GRACE_SECONDS: i64 = 300;

pub fn new_key(master: &MasterKey) -> Result<GeneratedKey, KeyError> {
    generate_rsa_key(master)
}

pub fn record_for(realm_id: &str, key: GeneratedKey, now: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: key.kid,
        realm_id: realm_id.to_owned(),
        algorithm: "RS256".to_owned(),
        public_key_pem: key.public_key_pem,
        private_key_encrypted: key.private_key_encrypted,
        status: KeyStatus::Active,
        created_at: now,
        retired_at: None,
        verify_until: None,
    }
}

/// Makes `key` the realm's signing key. The previous key verifies until every token it can have
/// signed has expired: the longest access-token lifespan of the realm or of any of its clients.
///
/// Run inside a transaction. Concurrent rotations of one realm (two admins, a CLI beside a node)
/// are serialized on the realm's row, so exactly one key stays active.
pub fn rotate(
    conn: &mut DbConnection,
    realm: &Realm,
    key: GeneratedKey,
    now: i64,
) -> diesel::QueryResult<SigningKeyRecord> {
    lock_realm(conn, &realm.id)?;
    let longest = longest_token_lifespan(conn, &realm.id)?;
    db::keys::purge_expired(conn, &realm.id, now)?;
    db::keys::retire_active(conn, &realm.id, now, now + longest + VERIFY_GRACE_SECONDS)?;
    let record = record_for(&realm.id, key, now);
    db::keys::insert(conn, &record)?;
    Ok(record)
}

/// Takes the realm row's write lock with a no-op update: portable (PostgreSQL row lock, SQLite write
/// lock taken before any read, so no stale snapshot), held until the transaction ends.
fn lock_realm(conn: &mut DbConnection, realm_id: &str) -> diesel::QueryResult<()> {
    use crate::store::db::schema::realms;
    use diesel::prelude::*;
    diesel::update(realms::table.filter(realms::id.eq(realm_id)))
        .set(realms::name.eq(realms::name))
        .execute(conn)?;
    Ok(())
}

/// The longest access-token lifespan in force, read under the lock (not from a cached realm).
fn longest_token_lifespan(conn: &mut DbConnection, realm_id: &str) -> diesel::QueryResult<i64> {
    use crate::store::db::schema::{clients, realms};
    use diesel::prelude::*;
    let realm_lifespan: i64 = realms::table
        .filter(realms::id.eq(realm_id))
        .select(realms::access_token_lifespan)
        .first(conn)?;
    let client_max: Option<i64> = clients::table
        .filter(clients::realm_id.eq(realm_id))
        .select(diesel::dsl::max(clients::access_token_lifespan))
        .first(conn)?;
    Ok(realm_lifespan.max(client_max.unwrap_or(0)))
}
