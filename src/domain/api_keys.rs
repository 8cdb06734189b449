//! API keys (issue 4): a user's long-lived credential, exchanged for short-lived access tokens.
//!
//! The rules, as plain functions:
//! - A generated secret is a kind/environment prefix (`nx_live_`, `nx_test_`, `nx_pk_live_`,
//!   `nx_pk_test_`) followed by 256 random bits (URL-safe base64, supplied by the caller).
//! - A secret supplied by the caller must be at least 32 characters of `[A-Za-z0-9_-]`.
//! - A key id (supplied or generated) is 1–64 characters of `[A-Za-z0-9._-]`.
//! - Publishable keys are meant for client-side code, so they are read-only: every permission must
//!   start with `read:` or be one of the OpenID identity scopes (`openid profile email address
//!   phone`), which only release claims about the owner. Anything else (`write:…`, `admin:all`,
//!   `offline_access`, …) is refused.
//! - A key expires one year after creation unless told otherwise, and never in the past.
//! - Rotation (seed 002) gives a key a new secret while the old one keeps working for a grace
//!   period (a realm setting, 24 hours by default); regeneration (seed 001) ends the old one at once.
//! - A key may be limited to client addresses in CIDR ranges (seed 002); an empty list allows all.
//! - A realm accepts keys of the environments it lists (`apiKeyEnvironments`, both by default).

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// Seconds a key lives when the request names no expiry: one year.
pub const DEFAULT_KEY_LIFETIME: i64 = 365 * 24 * 60 * 60;
/// Characters of the secret kept in clear to let people recognise a key (`nx_live_abcd`).
pub const DISPLAY_PREFIX_LEN: usize = 12;
/// Minimum length of a secret supplied by the caller.
pub const MIN_SUPPLIED_SECRET_LEN: usize = 32;
/// Maximum length of a key id.
pub const MAX_ID_LEN: usize = 64;
/// Seconds a rotated key's old secret keeps working unless the realm says otherwise.
pub const DEFAULT_ROTATION_GRACE: i64 = 24 * 60 * 60;
/// At most this many ranges in a key's allowlist.
pub const MAX_ALLOWED_RANGES: usize = 64;
/// Identity scopes a publishable key may hold besides `read:*`.
pub const PUBLISHABLE_IDENTITY_SCOPES: [&str; 5] = ["openid", "profile", "email", "address", "phone"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Secret,
    Publishable,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Publishable => "publishable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "secret" => Some(Self::Secret),
            "publishable" => Some(Self::Publishable),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Live,
    Test,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "live" => Some(Self::Live),
            "test" => Some(Self::Test),
            _ => None,
        }
    }
}

/// A stored API key (never its secret).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKey {
    pub realm_id: String,
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// Internal id of the realm role the key's tokens are limited to.
    pub role_id: Option<String>,
    pub display_prefix: String,
    pub kind: KeyKind,
    pub environment: Environment,
    pub description: Option<String>,
    /// Scope names, in the order given, without duplicates.
    pub permissions: Vec<String>,
    pub created_at: i64,
    pub modified_at: i64,
    pub created_by: String,
    pub modified_by: String,
    pub expires_at: i64,
    pub revoked: bool,
    /// Until when the secret before the last rotation still works.
    pub previous_secret_until: Option<i64>,
    /// Client addresses the key may be used from; empty = anywhere.
    pub allowed_ips: Vec<IpNet>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    /// Dual control (ADR 016): the id of the request awaiting a second administrator's approval;
    /// until then the key is refused.
    pub pending_approval: Option<String>,
}

impl ApiKey {
    /// Neither revoked nor expired at `now`.
    pub fn usable(&self, now: i64) -> bool {
        !self.revoked && now < self.expires_at
    }

    /// Whether a request from `address` may use the key. An unknown address passes only when the
    /// key has no allowlist.
    pub fn allows_address(&self, address: Option<IpAddr>) -> bool {
        if self.allowed_ips.is_empty() {
            return true;
        }
        address.is_some_and(|ip| self.allowed_ips.iter().any(|net| net.contains(&canonical(ip))))
    }
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:a.b.c.d`) is matched as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Parses an allowlist: CIDR ranges or single addresses (a host range). Duplicates are kept once.
pub fn parse_allowed_ips(entries: &[String]) -> Result<Vec<IpNet>, KeyRuleError> {
    if entries.len() > MAX_ALLOWED_RANGES {
        return Err(KeyRuleError::TooManyRanges);
    }
    let mut ranges: Vec<IpNet> = Vec::with_capacity(entries.len());
    for entry in entries {
        let entry = entry.trim();
        let range = entry
            .parse::<IpNet>()
            .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| KeyRuleError::InvalidRange(entry.chars().take(64).collect()))?
            .trunc();
        if !ranges.contains(&range) {
            ranges.push(range);
        }
    }
    Ok(ranges)
}

/// The environments a realm accepts keys of: the setting `apiKeyEnvironments` (a list, or a
/// space/comma-separated string, of `live` and `test`); both when unset. Unknown names are ignored.
pub fn accepted_environments(setting: Option<&serde_json::Value>) -> Vec<Environment> {
    use serde_json::Value;
    let names: Vec<String> = match setting {
        None | Some(Value::Null) => return vec![Environment::Live, Environment::Test],
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        Some(Value::String(s)) => s.split([' ', ',']).map(str::to_owned).collect(),
        Some(_) => Vec::new(),
    };
    let mut accepted = Vec::new();
    for env in names.iter().filter_map(|n| Environment::parse(n.trim())) {
        if !accepted.contains(&env) {
            accepted.push(env);
        }
    }
    accepted
}

/// A broken rule of this module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRuleError {
    InvalidId,
    InvalidSecret,
    /// A publishable key asked for a permission that is not read-only.
    NotReadOnly(String),
    ExpiryNotInFuture,
    InvalidExpirationMinutes,
    InvalidRange(String),
    TooManyRanges,
    EnvironmentNotAccepted(Environment),
}

impl fmt::Display for KeyRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidId => write!(
                f,
                "the key id must be 1 to {MAX_ID_LEN} characters of A-Z a-z 0-9 . _ -"
            ),
            Self::InvalidSecret => write!(
                f,
                "a supplied secret must be at least {MIN_SUPPLIED_SECRET_LEN} characters of A-Z a-z 0-9 _ -"
            ),
            Self::NotReadOnly(p) => write!(f, "a publishable key is read-only and cannot hold the permission `{p}`"),
            Self::ExpiryNotInFuture => write!(f, "expiresAt must be in the future"),
            Self::InvalidExpirationMinutes => {
                write!(f, "expirationMinutes must be a whole number of minutes, at least 1")
            }
            Self::InvalidRange(r) => write!(f, "allowedIps: `{r}` is not an IP address or CIDR range"),
            Self::TooManyRanges => write!(f, "allowedIps holds at most {MAX_ALLOWED_RANGES} ranges"),
            Self::EnvironmentNotAccepted(e) => write!(f, "this realm does not accept {} keys", e.as_str()),
        }
    }
}

impl std::error::Error for KeyRuleError {}

/// The prefix of a generated secret.
pub fn secret_prefix(kind: KeyKind, environment: Environment) -> &'static str {
    match (kind, environment) {
        (KeyKind::Secret, Environment::Live) => "nx_live_",
        (KeyKind::Secret, Environment::Test) => "nx_test_",
        (KeyKind::Publishable, Environment::Live) => "nx_pk_live_",
        (KeyKind::Publishable, Environment::Test) => "nx_pk_test_",
    }
}

/// A new secret: the prefix and `random` (256 random bits, URL-safe base64, from the caller).
pub fn generated_secret(kind: KeyKind, environment: Environment, random: &str) -> String {
    format!("{}{random}", secret_prefix(kind, environment))
}

fn secret_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// A caller-supplied secret: at least 32 characters of `[A-Za-z0-9_-]`.
pub fn validate_supplied_secret(secret: &str) -> Result<(), KeyRuleError> {
    if secret.chars().count() >= MIN_SUPPLIED_SECRET_LEN && secret.chars().all(secret_char) {
        Ok(())
    } else {
        Err(KeyRuleError::InvalidSecret)
    }
}

/// A key id: 1–64 characters of `[A-Za-z0-9._-]`.
pub fn validate_id(id: &str) -> Result<(), KeyRuleError> {
    if !id.is_empty() && id.len() <= MAX_ID_LEN && id.chars().all(|c| secret_char(c) || c == '.') {
        Ok(())
    } else {
        Err(KeyRuleError::InvalidId)
    }
}

/// The clear beginning of a secret kept for display.
pub fn display_prefix(secret: &str) -> String {
    secret.chars().take(DISPLAY_PREFIX_LEN).collect()
}

/// Space-separated permissions as a list, in order, without duplicates or empty entries.
pub fn parse_permissions(permissions: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in permissions.unwrap_or_default().split_whitespace() {
        if !out.iter().any(|o| o == p) {
            out.push(p.to_owned());
        }
    }
    out
}

/// True when a publishable key may hold `permission` (see the module comment).
pub fn read_only_permission(permission: &str) -> bool {
    (permission.starts_with("read:") && permission.len() > "read:".len())
        || PUBLISHABLE_IDENTITY_SCOPES.contains(&permission)
}

/// The permissions a key of `kind` may hold; the first refused one otherwise.
pub fn check_permissions_for_kind(kind: KeyKind, permissions: &[String]) -> Result<(), KeyRuleError> {
    if kind == KeyKind::Publishable {
        if let Some(p) = permissions.iter().find(|p| !read_only_permission(p)) {
            return Err(KeyRuleError::NotReadOnly(p.clone()));
        }
    }
    Ok(())
}

/// The expiry of a new key: `requested` if in the future, one year from `now` if absent.
pub fn expiry(requested: Option<i64>, now: i64) -> Result<i64, KeyRuleError> {
    match requested {
        None => Ok(now + DEFAULT_KEY_LIFETIME),
        Some(at) if at > now => Ok(at),
        Some(_) => Err(KeyRuleError::ExpiryNotInFuture),
    }
}

/// Minutes a token minted from a key lives when the request names none.
pub const DEFAULT_TOKEN_MINUTES: i64 = 60;
/// The longest a minted token lives unless the realm's `apiKeyTokenMaxMinutes` attribute says otherwise.
pub const MAX_TOKEN_MINUTES: i64 = 24 * 60;
/// The realm attribute capping the lifetime of key-minted tokens (minutes).
pub const REALM_MAX_TOKEN_MINUTES_ATTRIBUTE: &str = "apiKeyTokenMaxMinutes";

/// The lifetime (seconds) of a token minted from a key: `requested` minutes (default 60), at
/// least one, capped at `realm_cap` minutes (default 24 h) — a longer request gets the cap.
pub fn token_lifetime(requested: Option<i64>, realm_cap: Option<i64>) -> Result<i64, KeyRuleError> {
    let minutes = requested.unwrap_or(DEFAULT_TOKEN_MINUTES);
    if minutes < 1 {
        return Err(KeyRuleError::InvalidExpirationMinutes);
    }
    let cap = realm_cap.filter(|c| *c >= 1).unwrap_or(MAX_TOKEN_MINUTES);
    Ok(minutes.min(cap) * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_carry_the_kind_and_environment_prefix() {
        let random = "A".repeat(43);
        assert!(generated_secret(KeyKind::Secret, Environment::Live, &random).starts_with("nx_live_"));
        assert!(generated_secret(KeyKind::Secret, Environment::Test, &random).starts_with("nx_test_"));
        assert!(generated_secret(KeyKind::Publishable, Environment::Live, &random).starts_with("nx_pk_live_"));
        assert!(generated_secret(KeyKind::Publishable, Environment::Test, &random).starts_with("nx_pk_test_"));
        let s = generated_secret(KeyKind::Secret, Environment::Live, &random);
        assert!(validate_supplied_secret(&s).is_ok());
        assert_eq!(display_prefix(&s), "nx_live_AAAA");
    }

    #[test]
    fn supplied_secrets_need_32_characters_of_the_alphabet() {
        assert!(validate_supplied_secret(&"a".repeat(32)).is_ok());
        assert!(validate_supplied_secret("aZ09_-aZ09_-aZ09_-aZ09_-aZ09_-aZ").is_ok());
        assert_eq!(
            validate_supplied_secret(&"a".repeat(31)),
            Err(KeyRuleError::InvalidSecret)
        );
        assert_eq!(
            validate_supplied_secret(&format!("{}!", "a".repeat(32))),
            Err(KeyRuleError::InvalidSecret)
        );
        assert_eq!(
            validate_supplied_secret(&"é".repeat(40)),
            Err(KeyRuleError::InvalidSecret)
        );
    }

    #[test]
    fn ids_are_short_and_plain() {
        assert!(validate_id("ci-deploy.key_1").is_ok());
        assert!(validate_id("").is_err());
        assert!(validate_id("a b").is_err());
        assert!(validate_id(&"x".repeat(65)).is_err());
    }

    #[test]
    fn publishable_keys_are_read_only() {
        let ok = parse_permissions(Some("read:users openid profile email read:users"));
        assert_eq!(ok, ["read:users", "openid", "profile", "email"]);
        assert!(check_permissions_for_kind(KeyKind::Publishable, &ok).is_ok());
        for bad in ["write:users", "admin:all", "offline_access", "read:"] {
            let perms = parse_permissions(Some(&format!("read:users {bad}")));
            assert_eq!(
                check_permissions_for_kind(KeyKind::Publishable, &perms),
                Err(KeyRuleError::NotReadOnly(bad.to_owned()))
            );
            assert!(check_permissions_for_kind(KeyKind::Secret, &perms).is_ok());
        }
    }

    #[test]
    fn minted_tokens_live_an_hour_and_at_most_the_cap() {
        assert_eq!(token_lifetime(None, None), Ok(3600));
        assert_eq!(token_lifetime(Some(5), None), Ok(300));
        assert_eq!(token_lifetime(Some(100_000), None), Ok(24 * 3600));
        assert_eq!(token_lifetime(Some(100), Some(30)), Ok(1800));
        assert_eq!(token_lifetime(Some(100), Some(0)), Ok(6000));
        assert_eq!(
            token_lifetime(Some(0), None),
            Err(KeyRuleError::InvalidExpirationMinutes)
        );
    }

    #[test]
    fn expiry_defaults_to_a_year_and_is_never_past() {
        assert_eq!(expiry(None, 1000), Ok(1000 + DEFAULT_KEY_LIFETIME));
        assert_eq!(expiry(Some(2000), 1000), Ok(2000));
        assert_eq!(expiry(Some(1000), 1000), Err(KeyRuleError::ExpiryNotInFuture));
    }

    #[test]
    fn an_allowlist_admits_only_its_ranges() {
        let mut key = sample_key();
        assert!(key.allows_address(None), "no allowlist: anywhere");
        key.allowed_ips = parse_allowed_ips(&["10.0.0.0/8".into(), "2001:db8::1".into()]).expect("valid ranges");
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("an address"));
        assert!(key.allows_address(ip("10.1.2.3")));
        assert!(key.allows_address(ip("::ffff:10.1.2.3")), "IPv4 through an IPv6 socket");
        assert!(key.allows_address(ip("2001:db8::1")));
        assert!(!key.allows_address(ip("11.0.0.1")));
        assert!(!key.allows_address(None), "unknown address with an allowlist");
        assert_eq!(
            parse_allowed_ips(&["10.0.0.300".into()]),
            Err(KeyRuleError::InvalidRange("10.0.0.300".into()))
        );
    }

    #[test]
    fn realms_accept_both_environments_unless_told() {
        use serde_json::json;
        assert_eq!(accepted_environments(None), vec![Environment::Live, Environment::Test]);
        assert_eq!(accepted_environments(Some(&json!(["test"]))), vec![Environment::Test]);
        assert_eq!(
            accepted_environments(Some(&json!("live, test live"))),
            vec![Environment::Live, Environment::Test]
        );
        assert_eq!(accepted_environments(Some(&json!([]))), vec![]);
    }

    fn sample_key() -> ApiKey {
        ApiKey {
            realm_id: "r".into(),
            id: "k".into(),
            user_id: "u".into(),
            role_id: None,
            display_prefix: "nx_live_abcd".into(),
            kind: KeyKind::Secret,
            environment: Environment::Live,
            description: None,
            permissions: Vec::new(),
            created_at: 0,
            modified_at: 0,
            created_by: "u".into(),
            modified_by: "u".into(),
            expires_at: 100,
            revoked: false,
            previous_secret_until: None,
            allowed_ips: Vec::new(),
            last_used_at: None,
            last_used_ip: None,
            pending_approval: None,
        }
    }
}
