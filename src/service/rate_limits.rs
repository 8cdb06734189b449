//! Rate limits on the authentication endpoints (token, key for token, login form): requests and
//! failed authentications per client address and minute, counted in the ephemeral store so that
//! every node sharing it (Redis) enforces the same limits. See docs/adr/010-rate-limits.md.
//!
//! Windows are fixed minutes of the injected clock (`now / 60`); a refused request is told to
//! retry when its window ends. Keys (all with a TTL a little past the window's end):
//!
//! - `rl:{realm_id}:{address}:{token|key|login}:{window}`: requests to one endpoint class;
//! - `rl:{realm_id}:{address}:fail:{window}`: failed authentications at any of the three.
//!
//! The address is the one `http::client_address` resolves, IPv6 by its /64 (as brute force).
//!
//! What counts as a failed authentication — a credential presented and refused:
//! - token endpoint: `invalid_client` (client authentication failed) and `invalid_grant` (wrong
//!   user credentials, a locked or disabled user, a code, refresh token or PKCE verifier that is
//!   unknown, spent, expired or not this client's). Not malformed requests (`invalid_request`),
//!   `unsupported_grant_type`, `unauthorized_client`, `invalid_scope` or server errors: they guess
//!   no secret.
//! - key for token: the 401 for a key/secret pair that is refused.
//! - login form: a username/password that is refused (the page's neutral error).
//!
//! Once `rateLimitFailedAuthPerMinute` failures are counted, every request from the address to
//! the realm's authentication endpoints is refused until the window ends, right credentials
//! included. Only POSTs count (CORS preflights and wrong methods do not).
//!
//! A store error admits the request (logged): the limits protect against abuse, and refusing every
//! login while Redis is unreachable would turn a store hiccup into an outage.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;

use crate::domain::Realm;
use crate::state::AppState;
use crate::store::ephemeral::EphemeralError;

/// Realm setting: requests per minute and address to one endpoint class (0 = no limit).
pub const REQUESTS_SETTING: &str = "rateLimitRequestsPerMinute";
/// Realm setting: failed authentications per minute and address (0 = no limit).
pub const FAILURES_SETTING: &str = "rateLimitFailedAuthPerMinute";
pub const SETTINGS: [&str; 2] = [REQUESTS_SETTING, FAILURES_SETTING];

const WINDOW_SECS: i64 = 60;
/// Real time a counter outlives its window, so a slightly fast clock never loses it early.
const TTL: Duration = Duration::from_secs(2 * WINDOW_SECS as u64);

/// The authentication endpoints, each with its own request counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /realms/{realm}/protocol/openid-connect/token`
    Token,
    /// `POST /realms/{realm}/api/v1/oauth/tokens`
    KeyForToken,
    /// `POST /realms/{realm}/login-actions/authenticate`
    Login,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::KeyForToken => "key",
            Self::Login => "login",
        }
    }
}

/// A realm's limits; values of the wrong type or negative fall back to the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// `rateLimitRequestsPerMinute` (default 100; 0 = none).
    pub requests_per_minute: i64,
    /// `rateLimitFailedAuthPerMinute` (default 10; 0 = none).
    pub failed_auth_per_minute: i64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            requests_per_minute: 100,
            failed_auth_per_minute: 10,
        }
    }
}

impl RateLimitSettings {
    pub fn of(realm: &Realm) -> Self {
        let d = Self::default();
        Self {
            requests_per_minute: realm
                .setting_int(REQUESTS_SETTING, 0, i64::MAX)
                .unwrap_or(d.requests_per_minute),
            failed_auth_per_minute: realm
                .setting_int(FAILURES_SETTING, 0, i64::MAX)
                .unwrap_or(d.failed_auth_per_minute),
        }
    }
}

/// Whether an admin may store `value` as a limit: a whole number ≥ 0 (or a numeric string, as
/// Keycloak keeps attributes), or null for the default.
pub fn valid_setting(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Number(n) => n.as_u64().is_some_and(|n| i64::try_from(n).is_ok()),
        Value::String(s) => s.trim().parse::<i64>().is_ok_and(|n| n >= 0),
        _ => false,
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Requests,
    Failures,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requests => "requests",
            Self::Failures => "failures",
        }
    }
}

/// A refused request: why, and the seconds until its window ends (`Retry-After`, at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub retry_after: i64,
}

/// The current window's number and the seconds left in it.
fn window(now: i64) -> (i64, i64) {
    let n = now.div_euclid(WINDOW_SECS);
    (n, ((n + 1) * WINDOW_SECS - now).max(1))
}

fn key(realm: &Realm, ip: IpAddr, class: &str, window: i64) -> String {
    format!(
        "rl:{}:{}:{}:{}",
        realm.id,
        super::brute_force::address_key(ip),
        class,
        window
    )
}

/// Counts a request from `ip` to `endpoint` and says whether it may proceed. Without an address
/// (no peer) there is nothing to count per address: admitted.
pub async fn admit(state: &AppState, realm: &Realm, ip: Option<IpAddr>, endpoint: Endpoint) -> Result<(), Refusal> {
    let Some(ip) = ip else { return Ok(()) };
    let settings = RateLimitSettings::of(realm);
    let (n, retry_after) = window(state.now());
    match check(state, realm, ip, endpoint, settings, n).await {
        Ok(None) => Ok(()),
        Ok(Some(reason)) => Err(Refusal { reason, retry_after }),
        Err(e) => {
            tracing::warn!(error = %e, "rate limit counters unavailable: request admitted");
            Ok(())
        }
    }
}

async fn check(
    state: &AppState,
    realm: &Realm,
    ip: IpAddr,
    endpoint: Endpoint,
    settings: RateLimitSettings,
    n: i64,
) -> Result<Option<Reason>, EphemeralError> {
    if settings.failed_auth_per_minute > 0 {
        let failures = state
            .ephemeral
            .get(&key(realm, ip, "fail", n))
            .await?
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        if failures >= settings.failed_auth_per_minute {
            return Ok(Some(Reason::Failures));
        }
    }
    if settings.requests_per_minute > 0 {
        let requests = state.ephemeral.incr(&key(realm, ip, endpoint.as_str(), n), TTL).await?;
        if requests > settings.requests_per_minute {
            return Ok(Some(Reason::Requests));
        }
    }
    Ok(None)
}

/// Counts a failed authentication from `ip` (see the module doc for what counts).
pub async fn record_failure(state: &AppState, realm: &Realm, ip: Option<IpAddr>) {
    let Some(ip) = ip else { return };
    if RateLimitSettings::of(realm).failed_auth_per_minute == 0 {
        return;
    }
    let (n, _) = window(state.now());
    if let Err(e) = state.ephemeral.incr(&key(realm, ip, "fail", n), TTL).await {
        tracing::warn!(error = %e, "rate limit counters unavailable: failure not counted");
    }
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
    fn settings_default_override_and_fall_back() {
        assert_eq!(
            RateLimitSettings::of(&realm_with(json!({}))),
            RateLimitSettings::default()
        );
        let s = RateLimitSettings::of(&realm_with(json!({
            "rateLimitRequestsPerMinute": "0",
            "rateLimitFailedAuthPerMinute": -3,
        })));
        assert_eq!((s.requests_per_minute, s.failed_auth_per_minute), (0, 10));
    }

    #[test]
    fn only_whole_numbers_from_zero_are_valid() {
        for ok in [json!(0), json!(250), json!("40"), Value::Null] {
            assert!(valid_setting(&ok), "{ok}");
        }
        for bad in [
            json!(-1),
            json!(1.5),
            json!("-2"),
            json!("many"),
            json!(true),
            json!([1]),
        ] {
            assert!(!valid_setting(&bad), "{bad}");
        }
    }

    #[test]
    fn windows_are_fixed_minutes_and_retry_after_is_at_least_one() {
        assert_eq!(window(120), (2, 60));
        assert_eq!(window(179), (2, 1));
        assert_eq!(window(150), (2, 30));
    }
}
