//! Brute-force detection (Keycloak's "attack detection"): failed logins counted per user and per
//! client address in the ephemeral store, temporary lockouts that grow, and the admin's view of them.
//! See docs/adr/008-brute-force.md for the keys and how the defaults differ from Keycloak's.
//!
//! Every time comparison uses the injected clock: lock ends and failure times are stored as values
//! and compared with `state.now()`. The store's TTLs only reclaim memory.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::Realm;
use crate::state::AppState;
use crate::store::db::{self, DbError};
use crate::store::ephemeral::EphemeralError;

/// Failures of one user are counted over this many seconds (the issue's "within a minute").
pub const USER_WINDOW_SECS: i64 = 60;
/// Failures from one address (any username, existing or not) allowed per window before it is locked.
pub const IP_FAILURE_LIMIT: i64 = 30;
pub const IP_WINDOW_SECS: i64 = 60;
/// How long an address that reached the limit is refused.
pub const IP_LOCK_SECS: i64 = 60;
/// Extra real time a key outlives its logical end, so a slightly fast clock never loses it early.
const TTL_MARGIN_SECS: i64 = 60;
/// A realm's generation outlives every key that embeds it (the longest lives `maxDeltaTimeSeconds`,
/// at most a year).
const GENERATION_TTL: Duration = Duration::from_secs(400 * 24 * 3600);
/// A user's series number outlives the counters and markers that embed it (two windows); when it
/// expires it restarts at 0, whose keys are long gone by then.
const SERIES_TTL: Duration = Duration::from_secs(24 * 3600);

/// The attribute a permanent lockout leaves on the user it disables (Keycloak's `disabledReason`).
pub const DISABLED_REASON: &str = "disabledReason";
pub const DISABLED_BY_PERMANENT_LOCKOUT: &str = "permanentLockout";

/// A realm's brute-force settings, read from Keycloak's realm representation fields (kept in the
/// realm's attributes). Values of the wrong type or out of range fall back to the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BruteForceSettings {
    /// `bruteForceProtected`: nexus defaults to true; Keycloak's default is false.
    pub protected: bool,
    /// `permanentLockout`: disable the user after `max_temporary_lockouts` temporary lockouts.
    pub permanent_lockout: bool,
    /// `maxTemporaryLockouts` (Keycloak 24+; 0 = the first lockout is permanent).
    pub max_temporary_lockouts: i64,
    /// `failureFactor`: failures within the window that lock the user.
    pub failure_factor: i64,
    /// `waitIncrementSeconds`: the first lockout; each further one doubles it.
    pub wait_increment: i64,
    /// `maxFailureWaitSeconds`: the longest lockout.
    pub max_wait: i64,
    /// `maxDeltaTimeSeconds`: after this long without a failure, the lockout count starts over.
    pub max_delta: i64,
}

impl Default for BruteForceSettings {
    fn default() -> Self {
        Self {
            protected: true,
            permanent_lockout: false,
            max_temporary_lockouts: 0,
            failure_factor: 10,
            wait_increment: 60,
            max_wait: 900,
            max_delta: 43_200,
        }
    }
}

impl BruteForceSettings {
    pub fn of(realm: &Realm) -> Self {
        let d = Self::default();
        const YEAR: i64 = 365 * 24 * 3600;
        Self {
            protected: realm.setting_bool("bruteForceProtected").unwrap_or(d.protected),
            permanent_lockout: realm.setting_bool("permanentLockout").unwrap_or(d.permanent_lockout),
            max_temporary_lockouts: realm
                .setting_int("maxTemporaryLockouts", 0, 1_000_000)
                .unwrap_or(d.max_temporary_lockouts),
            failure_factor: realm
                .setting_int("failureFactor", 1, 1_000_000)
                .unwrap_or(d.failure_factor),
            wait_increment: realm
                .setting_int("waitIncrementSeconds", 1, YEAR)
                .unwrap_or(d.wait_increment),
            max_wait: realm
                .setting_int("maxFailureWaitSeconds", 1, YEAR)
                .unwrap_or(d.max_wait),
            max_delta: realm.setting_int("maxDeltaTimeSeconds", 1, YEAR).unwrap_or(d.max_delta),
        }
    }

    /// The wait of the `lockouts`-th lockout: the increment doubled each time, at most `max_wait`.
    pub fn wait_for(&self, lockouts: i64) -> i64 {
        let doublings = u32::try_from((lockouts - 1).clamp(0, 40)).unwrap_or(0);
        self.wait_increment
            .saturating_mul(1_i64 << doublings)
            .min(self.max_wait)
            .max(1)
    }
}

/// What the admin API shows for a user (Keycloak's attack-detection representation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStatus {
    pub disabled: bool,
    pub num_failures: i64,
    /// Epoch seconds of the last failure; 0 when none.
    pub last_failure: i64,
    pub last_ip_failure: Option<String>,
}

/// The last failure of a user: when and from where.
#[derive(Serialize, Deserialize, Debug, Clone)]
struct LastFailure {
    at: i64,
    ip: Option<String>,
}

fn secs(n: i64) -> Duration {
    Duration::from_secs(u64::try_from(n.max(1)).unwrap_or(1))
}

/// The address a limit applies to: IPv4 (mapped IPv6 included) as is, IPv6 by its /64 prefix, the
/// block one host usually holds.
pub(crate) fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Brute-force state of one realm at one moment: settings, clock reading and the key prefix.
pub struct Guard<'a> {
    state: &'a AppState,
    realm_id: String,
    pub settings: BruteForceSettings,
    /// `bf:{realm_id}:{generation}:`; clearing the realm bumps the generation.
    prefix: String,
    now: i64,
}

fn generation_key(realm_id: &str) -> String {
    format!("bf:{realm_id}:gen")
}

impl<'a> Guard<'a> {
    /// The realm's guard (one store read: the realm's generation).
    pub async fn open(state: &'a AppState, realm: &Realm) -> Result<Guard<'a>, EphemeralError> {
        let settings = BruteForceSettings::of(realm);
        let generation = state
            .ephemeral
            .get(&generation_key(&realm.id))
            .await?
            .unwrap_or_default();
        Ok(Guard {
            state,
            realm_id: realm.id.clone(),
            prefix: format!("bf:{}:{}:", realm.id, generation),
            settings,
            now: state.now(),
        })
    }

    fn user_key(&self, user_id: &str, what: &str) -> String {
        format!("{}u:{}:{}", self.prefix, user_id, what)
    }

    fn ip_key(&self, ip: IpAddr, what: &str) -> String {
        format!("{}ip:{}:{}", self.prefix, address_key(ip), what)
    }

    async fn get_i64(&self, key: &str) -> Result<Option<i64>, EphemeralError> {
        Ok(self.state.ephemeral.get(key).await?.and_then(|v| v.parse().ok()))
    }

    /// Whether a lock whose end time is stored under `key` is still on.
    async fn locked_at(&self, key: &str) -> Result<bool, EphemeralError> {
        Ok(self.get_i64(key).await?.is_some_and(|until| until > self.now))
    }

    /// Whether logins from this address are refused now.
    pub async fn ip_locked(&self, ip: Option<IpAddr>) -> Result<bool, EphemeralError> {
        match ip {
            Some(ip) if self.settings.protected => self.locked_at(&self.ip_key(ip, "lock")).await,
            _ => Ok(false),
        }
    }

    /// Whether the user is temporarily locked now.
    pub async fn user_locked(&self, user_id: &str) -> Result<bool, EphemeralError> {
        if !self.settings.protected {
            return Ok(false);
        }
        self.locked_at(&self.user_key(user_id, "lock")).await
    }

    /// Counts a failure in a fixed-window bucket and returns the failures of this bucket and the
    /// previous one: at least every failure of the last `window` seconds.
    async fn count(&self, base: &str, window: i64) -> Result<i64, EphemeralError> {
        let bucket = self.now.div_euclid(window);
        let ttl = secs(2 * window + TTL_MARGIN_SECS);
        let current = self.state.ephemeral.incr(&format!("{base}:{bucket}"), ttl).await?;
        let previous = self.get_i64(&format!("{base}:{}", bucket - 1)).await?.unwrap_or(0);
        Ok(current + previous)
    }

    /// A failed login from `ip` (an unknown user, a wrong password or a refused locked user).
    pub async fn record_ip_failure(&self, ip: Option<IpAddr>) -> Result<(), EphemeralError> {
        let Some(ip) = ip.filter(|_| self.settings.protected) else {
            return Ok(());
        };
        let failures = self.count(&self.ip_key(ip, "f"), IP_WINDOW_SECS).await?;
        if failures >= IP_FAILURE_LIMIT {
            let until = self.now + IP_LOCK_SECS;
            self.state
                .ephemeral
                .put(
                    &self.ip_key(ip, "lock"),
                    &until.to_string(),
                    secs(IP_LOCK_SECS + TTL_MARGIN_SECS),
                )
                .await?;
            tracing::warn!(realm_id = %self.realm_id, address = %address_key(ip), failures, "login failures from one address: locked");
        }
        Ok(())
    }

    /// A wrong password for an existing user: counts toward the user and the address, and locks the
    /// user at `failureFactor` failures within the window.
    pub async fn record_user_failure(&self, user_id: &str, ip: Option<IpAddr>) -> Result<(), LockError> {
        if !self.settings.protected {
            return Ok(());
        }
        self.record_ip_failure(ip).await?;
        let store = &self.state.ephemeral;
        let keep = secs(self.settings.max_delta + TTL_MARGIN_SECS);
        let last_key = self.user_key(user_id, "last");
        let previous: Option<LastFailure> = store
            .get(&last_key)
            .await?
            .and_then(|raw| serde_json::from_str(&raw).ok());
        // Keycloak's maxDeltaTimeSeconds: a failure long after the previous one starts over.
        if previous.is_some_and(|p| self.now - p.at > self.settings.max_delta) {
            store.delete(&self.user_key(user_id, "n")).await?;
            store.delete(&self.user_key(user_id, "level")).await?;
        }
        let last = LastFailure {
            at: self.now,
            ip: ip.map(|ip| ip.to_canonical().to_string()),
        };
        let last = serde_json::to_string(&last).map_err(|e| LockError::Internal(e.to_string()))?;
        store.put(&last_key, &last, keep).await?;
        store.incr(&self.user_key(user_id, "n"), keep).await?;

        let series = self.get_i64(&self.user_key(user_id, "series")).await?.unwrap_or(0);
        let failures = self
            .count(&self.user_key(user_id, &format!("f:{series}")), USER_WINDOW_SECS)
            .await?;
        if failures < self.settings.failure_factor {
            return Ok(());
        }
        // Of the requests that reach the factor in this series, exactly one locks.
        let marker = self.user_key(user_id, &format!("locked:{series}"));
        if !store
            .put_if_absent(&marker, "1", secs(2 * USER_WINDOW_SECS + TTL_MARGIN_SECS))
            .await?
        {
            return Ok(());
        }
        self.lock_user(user_id, failures).await
    }

    async fn lock_user(&self, user_id: &str, failures: i64) -> Result<(), LockError> {
        let store = &self.state.ephemeral;
        let keep = secs(self.settings.max_delta + TTL_MARGIN_SECS);
        let level_key = self.user_key(user_id, "level");
        let lockouts = self.get_i64(&level_key).await?.unwrap_or(0) + 1;
        store.put(&level_key, &lockouts.to_string(), keep).await?;
        let wait = self.settings.wait_for(lockouts);
        let until = self.now + wait;
        store
            .put(
                &self.user_key(user_id, "lock"),
                &until.to_string(),
                secs(wait + TTL_MARGIN_SECS),
            )
            .await?;
        // A new series: after the wait the user has `failureFactor` attempts again.
        store.incr(&self.user_key(user_id, "series"), SERIES_TTL).await?;
        tracing::warn!(realm_id = %self.realm_id, user_id, failures, lockouts, wait, "login failures: user temporarily locked");
        if self.settings.permanent_lockout && lockouts > self.settings.max_temporary_lockouts {
            self.disable_permanently(user_id).await?;
        }
        Ok(())
    }

    /// Keycloak's permanent lockout: the user is disabled until an admin enables them again.
    async fn disable_permanently(&self, user_id: &str) -> Result<(), LockError> {
        let (realm_id, user_id) = (self.realm_id.clone(), user_id.to_owned());
        let logged_id = user_id.clone();
        self.state
            .db
            .transaction(move |conn| -> Result<(), DbError> {
                if let Some(mut user) = db::users::find(conn, &realm_id, &user_id)? {
                    user.enabled = false;
                    user.attributes.insert(
                        DISABLED_REASON.into(),
                        Value::Array(vec![Value::String(DISABLED_BY_PERMANENT_LOCKOUT.into())]),
                    );
                    db::users::update(conn, &user)?;
                    db::refresh::revoke_for_user(conn, &user.id)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| LockError::Internal(e.to_string()))?;
        tracing::warn!(realm_id = %self.realm_id, user_id = %logged_id, "login failures: user permanently locked (disabled)");
        Ok(())
    }

    /// A right password: the user's failure count starts over (the lockout count does not: it
    /// decays after `maxDeltaTimeSeconds` without failures).
    pub async fn record_success(&self, user_id: &str) -> Result<(), EphemeralError> {
        if !self.settings.protected {
            return Ok(());
        }
        let store = &self.state.ephemeral;
        let n_key = self.user_key(user_id, "n");
        if store.get(&n_key).await?.is_some() {
            store.delete(&n_key).await?;
            store.incr(&self.user_key(user_id, "series"), SERIES_TTL).await?;
        }
        Ok(())
    }

    /// The admin's view of a user (zeros when nothing is recorded, as Keycloak answers).
    pub async fn status(&self, user_id: &str) -> Result<UserStatus, EphemeralError> {
        let store = &self.state.ephemeral;
        let last: Option<LastFailure> = store
            .get(&self.user_key(user_id, "last"))
            .await?
            .and_then(|raw| serde_json::from_str(&raw).ok());
        let stale = last.as_ref().is_none_or(|l| self.now - l.at > self.settings.max_delta);
        let num_failures = if stale {
            0
        } else {
            self.get_i64(&self.user_key(user_id, "n")).await?.unwrap_or(0)
        };
        Ok(UserStatus {
            disabled: self.user_locked(user_id).await?,
            num_failures,
            last_failure: last.as_ref().map_or(0, |l| l.at),
            last_ip_failure: last.and_then(|l| l.ip),
        })
    }

    /// Forgets everything about one user: failures, lockout count and a current lock.
    pub async fn clear_user(&self, user_id: &str) -> Result<(), EphemeralError> {
        let store = &self.state.ephemeral;
        for what in ["lock", "n", "last", "level"] {
            store.delete(&self.user_key(user_id, what)).await?;
        }
        store.incr(&self.user_key(user_id, "series"), SERIES_TTL).await?;
        Ok(())
    }

    /// Forgets every user and address of the realm at once: later keys use a new generation, the
    /// old ones expire on their own.
    pub async fn clear_realm(&self) -> Result<(), EphemeralError> {
        self.state
            .ephemeral
            .incr(&generation_key(&self.realm_id), GENERATION_TTL)
            .await?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    Ephemeral(#[from] EphemeralError),
    #[error("{0}")]
    Internal(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn realm_with(attrs: Value) -> Realm {
        Realm {
            id: "r".into(),
            name: "r".into(),
            display_name: None,
            enabled: true,
            access_token_lifespan: 300,
            sso_session_idle_timeout: 1800,
            sso_session_max_lifespan: 36000,
            refresh_token_lifespan: 3600,
            not_before: 0,
            attributes: attrs.as_object().cloned().unwrap_or_default(),
            created_at: 0,
        }
    }

    #[test]
    fn defaults_double_up_to_the_maximum() {
        let s = BruteForceSettings::default();
        assert!(s.protected);
        let waits: Vec<i64> = (1..=7).map(|n| s.wait_for(n)).collect();
        assert_eq!(waits, [60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(s.wait_for(i64::MAX), 900);
    }

    #[test]
    fn realm_attributes_override_and_bad_values_fall_back() {
        let s = BruteForceSettings::of(&realm_with(json!({
            "bruteForceProtected": "false",
            "failureFactor": 3,
            "waitIncrementSeconds": "30",
            "maxFailureWaitSeconds": -5,
            "maxDeltaTimeSeconds": "soon",
            "permanentLockout": true,
        })));
        assert!(!s.protected);
        assert!(s.permanent_lockout);
        assert_eq!((s.failure_factor, s.wait_increment), (3, 30));
        assert_eq!((s.max_wait, s.max_delta), (900, 43_200));
        let zero = BruteForceSettings::of(&realm_with(json!({ "failureFactor": 0 })));
        assert_eq!(zero.failure_factor, 10);
    }

    #[test]
    fn ipv6_addresses_share_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("address");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("address");
        assert_eq!(address_key(a), address_key(b));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("address");
        assert_eq!(address_key(mapped), "192.0.2.7");
    }
}
