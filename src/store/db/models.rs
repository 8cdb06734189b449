//! Row types (`Queryable`/`Insertable`) and their conversions to and from the domain types.

use diesel::prelude::*;
use serde_json::Value;

use super::schema::*;
use crate::domain::{self, Attributes, KeyStatus};

pub(crate) fn attrs_to_text(attrs: &Attributes) -> String {
    Value::Object(attrs.clone()).to_string()
}

pub(crate) fn text_to_attrs(text: &str) -> Attributes {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Attributes::new(),
    }
}

pub(crate) fn list_to_text(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn text_to_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = realms)]
#[diesel(treat_none_as_null = true)]
pub struct RealmRow {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub enabled: bool,
    pub access_token_lifespan: i64,
    pub sso_session_idle_timeout: i64,
    pub sso_session_max_lifespan: i64,
    pub refresh_token_lifespan: i64,
    pub not_before: i64,
    pub attributes: String,
    pub created_at: i64,
}

impl From<RealmRow> for domain::Realm {
    fn from(r: RealmRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            display_name: r.display_name,
            enabled: r.enabled,
            access_token_lifespan: r.access_token_lifespan,
            sso_session_idle_timeout: r.sso_session_idle_timeout,
            sso_session_max_lifespan: r.sso_session_max_lifespan,
            refresh_token_lifespan: r.refresh_token_lifespan,
            not_before: r.not_before,
            attributes: text_to_attrs(&r.attributes),
            created_at: r.created_at,
        }
    }
}

impl From<&domain::Realm> for RealmRow {
    fn from(r: &domain::Realm) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            display_name: r.display_name.clone(),
            enabled: r.enabled,
            access_token_lifespan: r.access_token_lifespan,
            sso_session_idle_timeout: r.sso_session_idle_timeout,
            sso_session_max_lifespan: r.sso_session_max_lifespan,
            refresh_token_lifespan: r.refresh_token_lifespan,
            not_before: r.not_before,
            attributes: attrs_to_text(&r.attributes),
            created_at: r.created_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = signing_keys)]
#[diesel(treat_none_as_null = true)]
pub struct SigningKeyRow {
    pub kid: String,
    pub realm_id: String,
    pub algorithm: String,
    pub public_key_pem: String,
    pub private_key_encrypted: String,
    pub status: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub verify_until: Option<i64>,
}

impl From<SigningKeyRow> for domain::SigningKeyRecord {
    fn from(r: SigningKeyRow) -> Self {
        Self {
            kid: r.kid,
            realm_id: r.realm_id,
            algorithm: r.algorithm,
            public_key_pem: r.public_key_pem,
            private_key_encrypted: r.private_key_encrypted,
            status: KeyStatus::parse(&r.status).unwrap_or(KeyStatus::Passive),
            created_at: r.created_at,
            retired_at: r.retired_at,
            verify_until: r.verify_until,
        }
    }
}

impl From<&domain::SigningKeyRecord> for SigningKeyRow {
    fn from(r: &domain::SigningKeyRecord) -> Self {
        Self {
            kid: r.kid.clone(),
            realm_id: r.realm_id.clone(),
            algorithm: r.algorithm.clone(),
            public_key_pem: r.public_key_pem.clone(),
            private_key_encrypted: r.private_key_encrypted.clone(),
            status: r.status.as_str().to_owned(),
            created_at: r.created_at,
            retired_at: r.retired_at,
            verify_until: r.verify_until,
        }
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = clients)]
#[diesel(treat_none_as_null = true)]
pub struct ClientRow {
    pub id: String,
    pub realm_id: String,
    pub client_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub public_client: bool,
    pub bearer_only: bool,
    pub secret_encrypted: Option<String>,
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
    pub redirect_uris: String,
    pub web_origins: String,
    pub protocol: String,
    pub access_token_lifespan: Option<i64>,
    pub attributes: String,
    pub created_at: i64,
    pub client_authenticator_type: String,
    pub pending_approval_id: Option<String>,
}

impl From<ClientRow> for domain::Client {
    fn from(r: ClientRow) -> Self {
        Self {
            id: r.id,
            realm_id: r.realm_id,
            client_id: r.client_id,
            name: r.name,
            description: r.description,
            enabled: r.enabled,
            public_client: r.public_client,
            bearer_only: r.bearer_only,
            secret_encrypted: r.secret_encrypted,
            secret_hash: r.secret_hash,
            service_accounts_enabled: r.service_accounts_enabled,
            direct_access_grants_enabled: r.direct_access_grants_enabled,
            standard_flow_enabled: r.standard_flow_enabled,
            implicit_flow_enabled: r.implicit_flow_enabled,
            consent_required: r.consent_required,
            full_scope_allowed: r.full_scope_allowed,
            root_url: r.root_url,
            base_url: r.base_url,
            admin_url: r.admin_url,
            redirect_uris: text_to_list(&r.redirect_uris),
            web_origins: text_to_list(&r.web_origins),
            protocol: r.protocol,
            access_token_lifespan: r.access_token_lifespan,
            attributes: text_to_attrs(&r.attributes),
            created_at: r.created_at,
            // An unknown value (written by something newer) authenticates no one rather than
            // falling back to the secret.
            authenticator: domain::ClientAuthenticator::parse(&r.client_authenticator_type)
                .unwrap_or(domain::ClientAuthenticator::Unsupported),
            pending_approval: r.pending_approval_id,
        }
    }
}

impl From<&domain::Client> for ClientRow {
    fn from(c: &domain::Client) -> Self {
        Self {
            id: c.id.clone(),
            realm_id: c.realm_id.clone(),
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            enabled: c.enabled,
            public_client: c.public_client,
            bearer_only: c.bearer_only,
            secret_encrypted: c.secret_encrypted.clone(),
            secret_hash: c.secret_hash.clone(),
            service_accounts_enabled: c.service_accounts_enabled,
            direct_access_grants_enabled: c.direct_access_grants_enabled,
            standard_flow_enabled: c.standard_flow_enabled,
            implicit_flow_enabled: c.implicit_flow_enabled,
            consent_required: c.consent_required,
            full_scope_allowed: c.full_scope_allowed,
            root_url: c.root_url.clone(),
            base_url: c.base_url.clone(),
            admin_url: c.admin_url.clone(),
            redirect_uris: list_to_text(&c.redirect_uris),
            web_origins: list_to_text(&c.web_origins),
            protocol: c.protocol.clone(),
            access_token_lifespan: c.access_token_lifespan,
            attributes: attrs_to_text(&c.attributes),
            created_at: c.created_at,
            client_authenticator_type: c.authenticator.as_str().to_owned(),
            pending_approval_id: c.pending_approval.clone(),
        }
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_null = true)]
pub struct UserRow {
    pub id: String,
    pub realm_id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: bool,
    pub service_account_client_id: Option<String>,
    pub attributes: String,
    pub not_before: i64,
    pub created_at: i64,
}

impl From<UserRow> for domain::User {
    fn from(r: UserRow) -> Self {
        Self {
            id: r.id,
            realm_id: r.realm_id,
            username: r.username,
            email: r.email,
            email_verified: r.email_verified,
            first_name: r.first_name,
            last_name: r.last_name,
            enabled: r.enabled,
            service_account_client_id: r.service_account_client_id,
            attributes: text_to_attrs(&r.attributes),
            not_before: r.not_before,
            created_at: r.created_at,
        }
    }
}

impl From<&domain::User> for UserRow {
    fn from(u: &domain::User) -> Self {
        Self {
            id: u.id.clone(),
            realm_id: u.realm_id.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            enabled: u.enabled,
            service_account_client_id: u.service_account_client_id.clone(),
            attributes: attrs_to_text(&u.attributes),
            not_before: u.not_before,
            created_at: u.created_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = credentials)]
pub struct CredentialRow {
    pub id: String,
    pub user_id: String,
    pub credential_type: String,
    pub secret_data: String,
    pub credential_data: String,
    pub temporary: bool,
    pub created_at: i64,
}

impl From<CredentialRow> for domain::Credential {
    fn from(r: CredentialRow) -> Self {
        Self {
            id: r.id,
            user_id: r.user_id,
            credential_type: r.credential_type,
            secret_data: r.secret_data,
            credential_data: r.credential_data,
            temporary: r.temporary,
            created_at: r.created_at,
        }
    }
}

impl From<&domain::Credential> for CredentialRow {
    fn from(c: &domain::Credential) -> Self {
        Self {
            id: c.id.clone(),
            user_id: c.user_id.clone(),
            credential_type: c.credential_type.clone(),
            secret_data: c.secret_data.clone(),
            credential_data: c.credential_data.clone(),
            temporary: c.temporary,
            created_at: c.created_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = roles)]
#[diesel(treat_none_as_null = true)]
pub struct RoleRow {
    pub id: String,
    pub realm_id: String,
    pub container_id: String,
    pub client_role: bool,
    pub name: String,
    pub description: Option<String>,
    pub attributes: String,
}

impl From<RoleRow> for domain::Role {
    fn from(r: RoleRow) -> Self {
        Self {
            id: r.id,
            realm_id: r.realm_id,
            container_id: r.container_id,
            client_role: r.client_role,
            name: r.name,
            description: r.description,
            attributes: text_to_attrs(&r.attributes),
        }
    }
}

impl From<&domain::Role> for RoleRow {
    fn from(r: &domain::Role) -> Self {
        Self {
            id: r.id.clone(),
            realm_id: r.realm_id.clone(),
            container_id: r.container_id.clone(),
            client_role: r.client_role,
            name: r.name.clone(),
            description: r.description.clone(),
            attributes: attrs_to_text(&r.attributes),
        }
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = groups)]
#[diesel(treat_none_as_null = true)]
pub struct GroupRow {
    pub id: String,
    pub realm_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub attributes: String,
}

impl From<GroupRow> for domain::Group {
    fn from(r: GroupRow) -> Self {
        Self {
            id: r.id,
            realm_id: r.realm_id,
            parent_id: r.parent_id,
            name: r.name,
            attributes: text_to_attrs(&r.attributes),
        }
    }
}

impl From<&domain::Group> for GroupRow {
    fn from(g: &domain::Group) -> Self {
        Self {
            id: g.id.clone(),
            realm_id: g.realm_id.clone(),
            parent_id: g.parent_id.clone(),
            name: g.name.clone(),
            attributes: attrs_to_text(&g.attributes),
        }
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = client_scopes)]
#[diesel(treat_none_as_null = true)]
pub struct ClientScopeRow {
    pub id: String,
    pub realm_id: String,
    pub name: String,
    pub description: Option<String>,
    pub protocol: String,
    pub attributes: String,
}

impl From<ClientScopeRow> for domain::ClientScope {
    fn from(r: ClientScopeRow) -> Self {
        Self {
            id: r.id,
            realm_id: r.realm_id,
            name: r.name,
            description: r.description,
            protocol: r.protocol,
            attributes: text_to_attrs(&r.attributes),
        }
    }
}

impl From<&domain::ClientScope> for ClientScopeRow {
    fn from(s: &domain::ClientScope) -> Self {
        Self {
            id: s.id.clone(),
            realm_id: s.realm_id.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
            protocol: s.protocol.clone(),
            attributes: attrs_to_text(&s.attributes),
        }
    }
}
