//! Plain Rust: the objects of an identity provider and the rules on them. No actix, diesel or redis here.

pub mod admin_events;
pub mod api_keys;
pub mod approvals;
pub mod dates;
pub mod defaults;
pub mod events;
pub mod names;
pub mod roles;
pub mod scopes;

use serde_json::{Map, Value};

pub type Attributes = Map<String, Value>;

/// An isolated tenant: its own clients, users, roles, scopes, keys and settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Realm {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub enabled: bool,
    /// Seconds; Keycloak's `accessTokenLifespan`.
    pub access_token_lifespan: i64,
    pub sso_session_idle_timeout: i64,
    pub sso_session_max_lifespan: i64,
    /// Seconds a refresh token lives (30 days by default).
    pub refresh_token_lifespan: i64,
    /// Tokens issued before this epoch second are invalid (`tokens-not-before`).
    pub not_before: i64,
    /// Other fields of Keycloak's realm representation, kept as given.
    pub attributes: Attributes,
    pub created_at: i64,
}

impl Realm {
    /// A boolean realm setting (Keycloak imports carry both `true` and `"true"`).
    pub fn setting_bool(&self, name: &str) -> Option<bool> {
        match self.attributes.get(name)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A whole-number realm setting in `min..=max` (numbers and numeric strings); anything else
    /// reads as unset, so a bad value falls back to the default rather than failing requests.
    pub fn setting_int(&self, name: &str, min: i64, max: i64) -> Option<i64> {
        let n = match self.attributes.get(name)? {
            Value::Number(n) => n.as_i64()?,
            Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        (min..=max).contains(&n).then_some(n)
    }
}

pub const DEFAULT_ACCESS_TOKEN_LIFESPAN: i64 = 3600;
pub const DEFAULT_SSO_SESSION_IDLE: i64 = 30 * 60;
pub const DEFAULT_SSO_SESSION_MAX: i64 = 10 * 60 * 60;
pub const DEFAULT_REFRESH_TOKEN_LIFESPAN: i64 = 30 * 24 * 60 * 60;

#[derive(Clone, Debug, PartialEq)]
pub struct Client {
    /// Internal id (uuid); Keycloak's `id`.
    pub id: String,
    pub realm_id: String,
    /// Public identifier; Keycloak's `clientId`.
    pub client_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub public_client: bool,
    pub bearer_only: bool,
    /// The secret encrypted at rest (returnable to an admin, as Keycloak does).
    pub secret_encrypted: Option<String>,
    /// Keyed hash of the secret, compared in constant time on the hot path.
    pub secret_hash: Option<String>,
    pub service_accounts_enabled: bool,
    pub direct_access_grants_enabled: bool,
    pub standard_flow_enabled: bool,
    pub implicit_flow_enabled: bool,
    pub consent_required: bool,
    pub full_scope_allowed: bool,
    pub root_url: Option<String>,
    pub base_url: Option<String>,
    pub admin_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub web_origins: Vec<String>,
    pub protocol: String,
    /// Per-client override of the realm's access-token lifespan (seconds).
    pub access_token_lifespan: Option<i64>,
    pub attributes: Attributes,
    pub created_at: i64,
    /// How the client proves who it is (Keycloak's `clientAuthenticatorType`).
    pub authenticator: ClientAuthenticator,
    /// Dual control (ADR 016): the id of the request awaiting a second administrator's approval of
    /// this client's service account; until then `client_credentials` is refused.
    pub pending_approval: Option<String>,
}

impl Client {
    pub fn is_confidential(&self) -> bool {
        !self.public_client && !self.bearer_only
    }

    /// A string attribute (Keycloak stores attributes as strings; imports may carry booleans).
    pub fn attribute(&self, name: &str) -> Option<String> {
        match self.attributes.get(name)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// Keycloak's client authenticators. A confidential client may use only the one configured, as in
/// Keycloak (ADR 011): a `client-jwt` client cannot fall back to a secret, and the reverse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuthenticator {
    /// `client-secret`: `client_secret_basic` or `client_secret_post` (the default).
    ClientSecret,
    /// `client-secret-jwt`: RFC 7523 assertion signed with the client secret (HS256).
    ClientSecretJwt,
    /// `client-jwt`: RFC 7523 assertion signed with the client's private key (RS256 / ES256).
    ClientJwt,
    /// A stored value this version does not know: authenticates no one.
    Unsupported,
}

impl ClientAuthenticator {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client-secret" => Some(Self::ClientSecret),
            "client-secret-jwt" => Some(Self::ClientSecretJwt),
            "client-jwt" => Some(Self::ClientJwt),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecret => "client-secret",
            Self::ClientSecretJwt => "client-secret-jwt",
            Self::ClientJwt => "client-jwt",
            Self::Unsupported => "unsupported",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: String,
    pub realm_id: String,
    /// Always lower case, as in Keycloak.
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: bool,
    /// Set when this user is the service account of a client (internal client id).
    pub service_account_client_id: Option<String>,
    pub attributes: Attributes,
    pub not_before: i64,
    pub created_at: i64,
}

impl User {
    pub fn full_name(&self) -> Option<String> {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(f), None) => Some(f.clone()),
            (None, Some(l)) => Some(l.clone()),
            (None, None) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Credential {
    pub id: String,
    pub user_id: String,
    pub credential_type: String,
    /// For passwords: the argon2id PHC string.
    pub secret_data: String,
    pub credential_data: String,
    pub temporary: bool,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub id: String,
    pub realm_id: String,
    /// Realm id for realm roles, internal client id for client roles.
    pub container_id: String,
    pub client_role: bool,
    pub name: String,
    pub description: Option<String>,
    pub attributes: Attributes,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub id: String,
    pub realm_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub attributes: Attributes,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClientScope {
    pub id: String,
    pub realm_id: String,
    pub name: String,
    pub description: Option<String>,
    pub protocol: String,
    pub attributes: Attributes,
}

impl ClientScope {
    /// Keycloak's `include.in.token.scope` attribute (default true).
    pub fn include_in_token_scope(&self) -> bool {
        self.attributes
            .get("include.in.token.scope")
            .and_then(Value::as_str)
            .map(|v| v != "false")
            .unwrap_or(true)
    }
}

/// Lifecycle of a realm signing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Signs new tokens; exactly one per realm.
    Active,
    /// Rotated out: verifies tokens it signed until `verify_until`, signs nothing.
    Passive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Passive => "passive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "passive" => Some(Self::Passive),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub realm_id: String,
    pub algorithm: String,
    pub public_key_pem: String,
    pub private_key_encrypted: String,
    pub status: KeyStatus,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub verify_until: Option<i64>,
}
