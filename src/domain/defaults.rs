//! What every new realm starts with, as Keycloak creates it: default roles, client scopes, and the
//! built-in clients (`account`, `admin-cli`, `realm-management`).

/// A client scope a realm is created with.
pub struct ScopeSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub consent_text: &'static str,
    pub include_in_token_scope: bool,
    /// Default (always granted) or optional (granted when requested) for new clients.
    pub default: bool,
}

pub const DEFAULT_SCOPES: &[ScopeSpec] = &[
    ScopeSpec {
        name: "profile",
        description: "OpenID Connect built-in scope: profile",
        consent_text: "${profileScopeConsentText}",
        include_in_token_scope: true,
        default: true,
    },
    ScopeSpec {
        name: "email",
        description: "OpenID Connect built-in scope: email",
        consent_text: "${emailScopeConsentText}",
        include_in_token_scope: true,
        default: true,
    },
    ScopeSpec {
        name: "roles",
        description: "OpenID Connect scope for add user roles to the access token",
        consent_text: "${rolesScopeConsentText}",
        include_in_token_scope: false,
        default: true,
    },
    ScopeSpec {
        name: "web-origins",
        description: "OpenID Connect scope for add allowed web origins to the access token",
        consent_text: "",
        include_in_token_scope: false,
        default: true,
    },
    ScopeSpec {
        name: "offline_access",
        description: "OpenID Connect built-in scope: offline_access",
        consent_text: "${offlineAccessScopeConsentText}",
        include_in_token_scope: true,
        default: false,
    },
];

pub const ROLE_OFFLINE_ACCESS: &str = "offline_access";
pub const ROLE_UMA_AUTHORIZATION: &str = "uma_authorization";

pub fn default_roles_name(realm: &str) -> String {
    format!("default-roles-{realm}")
}

pub const CLIENT_ACCOUNT: &str = "account";
/// The admin console signs administrators in as this public client (as in Keycloak).
pub const CLIENT_ADMIN_CONSOLE: &str = "security-admin-console";
pub const CLIENT_ADMIN_CLI: &str = "admin-cli";
pub const CLIENT_REALM_MANAGEMENT: &str = "realm-management";

/// Client roles of `account` that `default-roles-<realm>` includes.
pub const ACCOUNT_DEFAULT_ROLES: &[&str] = &["view-profile", "manage-account"];

/// Keycloak's fine-grained admin roles on `realm-management`; `realm-admin` is the composite of all.
pub const REALM_MANAGEMENT_ROLES: &[&str] = &[
    "view-realm",
    "manage-realm",
    "view-users",
    "manage-users",
    "query-users",
    "query-groups",
    "view-clients",
    "manage-clients",
    "query-clients",
    "query-realms",
    "create-client",
    "view-events",
    "manage-events",
    "view-authorization",
    "manage-authorization",
    "view-identity-providers",
    "manage-identity-providers",
    "impersonation",
];
pub const ROLE_REALM_ADMIN: &str = "realm-admin";

/// Master-realm roles: `admin` manages every realm, `create-realm` may create them.
pub const MASTER_REALM: &str = "master";
pub const ROLE_MASTER_ADMIN: &str = "admin";
pub const ROLE_CREATE_REALM: &str = "create-realm";

/// Service-account users are named after their client, as in Keycloak.
pub fn service_account_username(client_id: &str) -> String {
    format!("service-account-{}", client_id.to_lowercase())
}
