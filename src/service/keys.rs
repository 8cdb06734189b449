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

/// RSA-2048 keys generated ahead of time by a background thread, so that creating a realm or
/// rotating a key does not wait for prime generation (tens to hundreds of milliseconds, at random).
/// When the pool is empty the caller generates inline; the pool never blocks a request.
pub struct KeyPool {
    ready: Option<std::sync::Mutex<std::sync::mpsc::Receiver<GeneratedKey>>>,
}

impl KeyPool {
    /// Starts the filler thread keeping up to `size` keys ready (`size` 0: no pool, no thread).
    pub fn start(master: std::sync::Arc<MasterKey>, size: usize) -> Self {
        if size == 0 {
            return Self { ready: None };
        }
        let (sender, receiver) = std::sync::mpsc::sync_channel(size);
        let spawned = std::thread::Builder::new()
            .name("nexus-keygen".into())
            .spawn(move || loop {
                match new_key(&master) {
                    // `send` waits while the pool is full and fails once the server is gone.
                    Ok(key) => {
                        if sender.send(key).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "background key generation failed");
                        break;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no background key generation");
            return Self { ready: None };
        }
        Self {
            ready: Some(std::sync::Mutex::new(receiver)),
        }
    }

    /// A pre-generated key, if one is ready.
    pub fn take(&self) -> Option<GeneratedKey> {
        self.ready.as_ref()?.lock().ok()?.try_recv().ok()
    }
}

/// A key from the pool, or one generated now on the blocking pool.
pub async fn fresh_key(pool: &KeyPool, master: std::sync::Arc<MasterKey>) -> Result<GeneratedKey, KeyError> {
    if let Some(key) = pool.take() {
        return Ok(key);
    }
    tokio::task::spawn_blocking(move || new_key(&master))
        .await
        .unwrap_or_else(|e| {
            Err(KeyError::Jose(josekit::JoseError::InvalidKeyFormat(anyhow::anyhow!(
                "{e}"
            ))))
        })
}
