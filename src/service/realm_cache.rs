//! The hot path's view of a realm: its settings, decrypted signing key, JWKS and clients, read on
//! every token request and so kept in memory.
//!
//! Invalidation: every write in a realm evicts that realm here at once and publishes its name on the
//! ephemeral store's invalidation channel, which every node (through Redis) also evicts on. A load
//! that raced with an invalidation is not cached (generation check). Entries also expire after
//! `MAX_AGE`, which bounds staleness from writers that cannot publish (a CLI on an embedded store).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use serde_json::json;

use crate::clock::Clock;
use crate::crypto::client_keys::{self, AssertionKeys, ClientSecretKey};
use crate::crypto::jwt::InternalTokenKey;
use crate::crypto::keys::LoadedKey;
use crate::crypto::secrets::MasterKey;
use crate::domain::roles::EffectiveRoles;
use crate::domain::scopes::ClientScopes;
use crate::domain::{Client, ClientAuthenticator, KeyStatus, Realm, User};
use crate::service::api_keys::{KeyGrant, SecretMatch};
use crate::store::db::{self, Db};
use crate::store::ephemeral::EphemeralStore;

const MAX_AGE: Duration = Duration::from_secs(60);
const SWEEP_EVERY: usize = 256;
/// Granted API keys kept per realm; past this the realm's key cache starts over (a realm with
/// more keys in use than this pays the database lookup for some of them, nothing worse).
const MAX_CACHED_KEYS: usize = 10_000;

/// Everything the token endpoint needs of a realm, parsed once.
pub struct RealmRuntime {
    pub realm: Realm,
    pub issuer: String,
    /// Published keys, the active (signing) key first.
    pub keys: Vec<LoadedKey>,
    /// The serialized JWKS document.
    pub jwks: String,
    /// HS512 key of the tokens only nexus reads back (refresh tokens); not in the JWKS.
    pub internal_key: InternalTokenKey,
    /// Which events the realm keeps: requests skip building the ones it does not.
    pub events: crate::domain::events::EventsConfig,
    clients: RwLock<HashMap<String, Arc<ClientRuntime>>>,
    /// API keys granted since the realm was loaded, by the keyed hash of the presented secret.
    api_keys: RwLock<HashMap<String, Arc<CachedKeyGrant>>>,
    loaded_at: Instant,
}

/// A key the database granted, with its owner and roles as they were then. Whatever can change
/// them (key changes, user and role writes, realm settings) invalidates the realm, and so this;
/// what depends on the request or the clock (secret in grace, key id, expiry, address) is judged
/// again on every use (`service::api_keys::judge`).
pub struct CachedKeyGrant {
    /// Shared with every request that uses the key: a hit clones nothing.
    pub grant: Arc<KeyGrant>,
    pub matched: SecretMatch,
}

impl RealmRuntime {
    pub fn signing_key(&self) -> Option<&LoadedKey> {
        self.keys
            .first()
            .filter(|k| k.status == KeyStatus::Active && k.signer.is_some())
    }

    /// A granted key by the keyed hash of its presented secret, if this node has seen it lately.
    pub fn cached_key(&self, secret_hash: &str) -> Option<Arc<CachedKeyGrant>> {
        self.api_keys.read().get(secret_hash).cloned()
    }

    /// The claims of a token this realm signed, with a published RS256 key or its internal HS512
    /// key; `None` for anything else. Neither expiry nor issuer is checked here.
    pub fn verify_token(&self, token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
        match crate::crypto::jwt::peek_alg(token)?.as_str() {
            "HS512" => self.internal_key.verify(token).ok(),
            "RS256" => crate::crypto::jwt::verify(token, &self.keys).ok(),
            _ => None,
        }
    }
}

/// A client with what token issuance needs of it.
pub struct ClientRuntime {
    pub client: Client,
    pub scopes: ClientScopes,
    pub service_account: Option<ServiceAccount>,
    /// What verifies its RFC 7523 assertions (ADR 011), parsed or decrypted once.
    pub assertion_keys: AssertionKeys,
}

/// The keys of the client's configured JWT method: its secret for `client-secret-jwt`, its
/// registered public keys for `client-jwt`, nothing otherwise. A configuration that cannot be
/// used is logged (without key material) and verifies nothing.
fn assertion_keys_of(client: &Client, master: &MasterKey) -> AssertionKeys {
    match client.authenticator {
        ClientAuthenticator::ClientSecretJwt => match client.secret_encrypted.as_deref().map(|s| master.decrypt(s)) {
            Some(Ok(secret)) => AssertionKeys::Secret(ClientSecretKey::new(&secret)),
            Some(Err(e)) => {
                tracing::error!(client_id = %client.client_id, error = %e, "client secret cannot be decrypted");
                AssertionKeys::None
            }
            None => AssertionKeys::None,
        },
        ClientAuthenticator::ClientJwt => match client_keys::public_keys_of(client) {
            Ok(keys) if !keys.is_empty() => AssertionKeys::Public(keys),
            Ok(_) => AssertionKeys::None,
            Err(e) => {
                tracing::warn!(client_id = %client.client_id, error = %e, "unusable client key configuration");
                AssertionKeys::None
            }
        },
        ClientAuthenticator::ClientSecret | ClientAuthenticator::Unsupported => AssertionKeys::None,
    }
}

pub struct ServiceAccount {
    pub user: User,
    pub roles: EffectiveRoles,
}

pub struct RealmCache {
    realms: RwLock<HashMap<String, Arc<RealmRuntime>>>,
    generation: AtomicU64,
    /// Map size at which the next sweep of expired entries runs.
    sweep_at: AtomicUsize,
    db: Db,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
    public_url: String,
}

impl RealmCache {
    pub fn new(db: Db, master: Arc<MasterKey>, clock: Arc<dyn Clock>, public_url: String) -> Self {
        Self {
            realms: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
            sweep_at: AtomicUsize::new(SWEEP_EVERY),
            db,
            master,
            clock,
            public_url,
        }
    }

    pub fn issuer_for(&self, realm_name: &str) -> String {
        format!("{}/realms/{}", self.public_url, realm_name)
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The realm by name, from memory or loaded; `None` when it does not exist.
    pub async fn realm(&self, name: &str) -> anyhow::Result<Option<Arc<RealmRuntime>>> {
        // A name no realm can have never reaches the database (PostgreSQL refuses NUL in text).
        if name.is_empty() || name.len() > crate::domain::names::MAX_NAME_LEN || name.chars().any(char::is_control) {
            return Ok(None);
        }
        if let Some(hit) = self.realms.read().get(name) {
            if hit.loaded_at.elapsed() < MAX_AGE {
                return Ok(Some(hit.clone()));
            }
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let owned = name.to_owned();
        let loaded = self
            .db
            .run(move |conn| -> Result<_, db::DbError> {
                let Some(realm) = db::realms::find_by_name(conn, &owned)? else {
                    return Ok(None);
                };
                let keys = db::keys::list_for_realm(conn, &realm.id)?;
                Ok(Some((realm, keys)))
            })
            .await?;
        let Some((realm, records)) = loaded else {
            return Ok(None);
        };
        let now = self.clock.now();
        let mut keys = Vec::with_capacity(records.len());
        for record in &records {
            let key = LoadedKey::load(record, &self.master)?;
            if key.is_published(now) {
                keys.push(key);
            }
        }
        keys.sort_by_key(|k| k.status != KeyStatus::Active);
        let jwks = json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }).to_string();
        let internal_key = {
            let secret = self.master.derive_key(&format!("internal-tokens:{}", realm.id));
            let kid = self
                .master
                .keyed_hash(format!("internal-tokens-kid:{}", realm.id).as_bytes());
            InternalTokenKey::new(&kid[..32], secrecy::ExposeSecret::expose_secret(&secret))?
        };
        let runtime = Arc::new(RealmRuntime {
            internal_key,
            events: crate::domain::events::EventsConfig::of(&realm),
            issuer: self.issuer_for(&realm.name),
            realm,
            keys,
            jwks,
            clients: RwLock::new(HashMap::new()),
            api_keys: RwLock::new(HashMap::new()),
            loaded_at: Instant::now(),
        });
        if self.generation.load(Ordering::SeqCst) == generation {
            let mut realms = self.realms.write();
            // With thousands of realms, entries of realms nobody asks for any more must not pile up:
            // once the map has grown by SWEEP_EVERY entries, drop every expired one.
            if realms.len() >= self.sweep_at.load(Ordering::Relaxed) {
                realms.retain(|_, entry| entry.loaded_at.elapsed() < MAX_AGE);
                self.sweep_at.store(realms.len() + SWEEP_EVERY, Ordering::Relaxed);
            }
            realms.insert(name.to_owned(), runtime.clone());
        }
        Ok(Some(runtime))
    }

    /// A client of the realm by its public `clientId`, with scopes and service account.
    pub async fn client(&self, realm: &RealmRuntime, client_id: &str) -> anyhow::Result<Option<Arc<ClientRuntime>>> {
        if crate::domain::names::parse_client_id(client_id).is_err() {
            return Ok(None);
        }
        if let Some(hit) = realm.clients.read().get(client_id) {
            return Ok(Some(hit.clone()));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let realm_id = realm.realm.id.clone();
        let owned = client_id.to_owned();
        let loaded = self
            .db
            .run(move |conn| -> Result<_, db::DbError> {
                let Some(client) = db::clients::find_by_client_id(conn, &realm_id, &owned)? else {
                    return Ok(None);
                };
                let scopes = db::clients::scopes_of(conn, &client.id)?;
                let service_account = if client.service_accounts_enabled {
                    match db::users::find_service_account(conn, &client.id)? {
                        Some(user) => {
                            let roles = super::roles::effective_roles_of(conn, &realm_id, &user.id)?;
                            Some(ServiceAccount { user, roles })
                        }
                        None => None,
                    }
                } else {
                    None
                };
                Ok(Some((client, scopes, service_account)))
            })
            .await?;
        let Some((client, scopes, service_account)) = loaded else {
            return Ok(None);
        };
        let assertion_keys = assertion_keys_of(&client, &self.master);
        let runtime = Arc::new(ClientRuntime {
            client,
            scopes,
            service_account,
            assertion_keys,
        });
        if self.generation.load(Ordering::SeqCst) == generation {
            realm.clients.write().insert(client_id.to_owned(), runtime.clone());
        }
        Ok(Some(runtime))
    }

    /// Where invalidations stand; read it before loading something to cache with `remember_key`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Keeps a key the database granted in `realm`'s runtime, unless an invalidation happened since
    /// `generation` (the grant may predate the write that invalidated it).
    pub fn remember_key(&self, realm: &RealmRuntime, secret_hash: String, entry: CachedKeyGrant, generation: u64) {
        if entry.grant.key.realm_id != realm.realm.id {
            return;
        }
        let mut keys = realm.api_keys.write();
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if keys.len() >= MAX_CACHED_KEYS {
            keys.clear();
        }
        keys.insert(secret_hash, Arc::new(entry));
    }

    /// Evicts a realm on this node only.
    pub fn evict(&self, realm_name: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.realms.write().remove(realm_name);
    }

    /// Evicts a realm here and on every other node.
    pub async fn invalidate(&self, ephemeral: &EphemeralStore, realm_name: &str) {
        self.evict(realm_name);
        if let Err(e) = ephemeral.publish_invalidation(realm_name).await {
            // Other nodes still converge within MAX_AGE.
            tracing::warn!(error = %e, "could not publish a cache invalidation");
        }
    }

    /// Applies invalidations published by any node, for as long as the server runs.
    pub fn spawn_listener(self: &Arc<Self>, ephemeral: &EphemeralStore) {
        let mut receiver = ephemeral.invalidations();
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                match receiver.recv().await {
                    Ok(realm_name) => match cache.upgrade() {
                        Some(cache) => cache.evict(&realm_name),
                        None => break,
                    },
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        // Missed messages: drop everything rather than risk staleness.
                        match cache.upgrade() {
                            Some(cache) => {
                                cache.generation.fetch_add(1, Ordering::SeqCst);
                                cache.realms.write().clear();
                            }
                            None => break,
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }
}
