//! What every handler shares.

use std::sync::Arc;

use crate::clock::Clock;
use crate::crypto::secrets::MasterKey;
use crate::metrics::Metrics;
use crate::service::realm_cache::RealmCache;
use crate::store::db::Db;
use crate::store::ephemeral::EphemeralStore;

pub struct AppState {
    pub db: Db,
    pub ephemeral: EphemeralStore,
    pub master_key: Arc<MasterKey>,
    pub realms: Arc<RealmCache>,
    /// Signing keys generated ahead of time for new realms and rotations.
    pub key_pool: crate::service::keys::KeyPool,
    pub clock: Arc<dyn Clock>,
    /// Password checks running at once are bounded (memory: 19 MiB each).
    pub password_hashing: crate::crypto::password::HashSlots,
    /// Base URL without a trailing slash; issuers are `{public_url}/realms/{name}`.
    pub public_url: String,
    pub metrics: Metrics,
    /// Peers whose `X-Forwarded-For` names the client (`NEXUS_TRUSTED_PROXIES`).
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
    /// Events go here and are stored off the request path.
    pub events: crate::service::events::EventSink,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
