//! Keycloak's JSON representations: what the admin API reads (every field optional, so a create
//! takes Keycloak's defaults and an update changes only what it names) and what it writes.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::domain::{Client, ClientScope, Group, Realm, Role, User};

// ---------- realms ----------

#[derive(Deserialize, Debug, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RealmRepresentation)]
pub struct RealmRepr {
    pub id: Option<String>,
    pub realm: Option<String>,
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    pub access_token_lifespan: Option<i64>,
    pub sso_session_idle_timeout: Option<i64>,
    pub sso_session_max_lifespan: Option<i64>,
    pub refresh_token_lifespan: Option<i64>,
    pub not_before: Option<i64>,
    /// Every other field, kept as given and returned on read.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

pub fn realm_json(realm: &Realm) -> Value {
    // The brute-force settings in effect (defaults, or the stored values nexus accepted), under
    // Keycloak's names.
    let guard = crate::service::brute_force::BruteForceSettings::of(realm);
    let limits = crate::service::rate_limits::RateLimitSettings::of(realm);
    let mut out = realm.attributes.clone();
    let effective = match json!({
        "bruteForceProtected": guard.protected,
        "permanentLockout": guard.permanent_lockout,
        "maxTemporaryLockouts": guard.max_temporary_lockouts,
        "failureFactor": guard.failure_factor,
        "waitIncrementSeconds": guard.wait_increment,
        "maxFailureWaitSeconds": guard.max_wait,
        "maxDeltaTimeSeconds": guard.max_delta,
        "rateLimitRequestsPerMinute": limits.requests_per_minute,
        "rateLimitFailedAuthPerMinute": limits.failed_auth_per_minute,
        "apiKeyEnvironments": crate::domain::api_keys::accepted_environments(realm.attributes.get("apiKeyEnvironments"))
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>(),
        "apiKeyRotationGraceSeconds": crate::service::api_keys::rotation_grace_seconds(realm),
        "dualControl": crate::domain::approvals::dual_control(realm),
    }) {
        Value::Object(effective) => effective,
        _ => Map::new(),
    };
    out.extend(effective);
    let fields = json!({
        "id": realm.id,
        "realm": realm.name,
        "displayName": realm.display_name,
        "enabled": realm.enabled,
        "accessTokenLifespan": realm.access_token_lifespan,
        "ssoSessionIdleTimeout": realm.sso_session_idle_timeout,
        "ssoSessionMaxLifespan": realm.sso_session_max_lifespan,
        "refreshTokenLifespan": realm.refresh_token_lifespan,
        "notBefore": realm.not_before,
        "sslRequired": "external",
        "defaultRole": { "name": crate::domain::defaults::default_roles_name(&realm.name), "composite": true, "clientRole": false, "containerId": realm.id },
    });
    if let Value::Object(fields) = fields {
        out.extend(fields);
    }
    Value::Object(out)
}

pub fn realm_brief_json(realm: &Realm) -> Value {
    json!({ "id": realm.id, "realm": realm.name, "displayName": realm.display_name, "enabled": realm.enabled })
}

/// Representation fields that are not settings and must not be stored among the attributes.
pub const REALM_TRANSIENT_FIELDS: &[&str] = &[
    "users",
    "clients",
    "roles",
    "groups",
    "clientScopes",
    "defaultRole",
    "sslRequired",
    "keys",
];

// ---------- clients ----------

#[derive(Deserialize, Debug, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ClientRepresentation)]
pub struct ClientRepr {
    pub id: Option<String>,
    pub client_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub public_client: Option<bool>,
    pub bearer_only: Option<bool>,
    pub secret: Option<String>,
    pub client_authenticator_type: Option<String>,
    pub service_accounts_enabled: Option<bool>,
    pub direct_access_grants_enabled: Option<bool>,
    pub standard_flow_enabled: Option<bool>,
    pub implicit_flow_enabled: Option<bool>,
    pub consent_required: Option<bool>,
    pub full_scope_allowed: Option<bool>,
    pub root_url: Option<String>,
    pub base_url: Option<String>,
    pub admin_url: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub web_origins: Option<Vec<String>>,
    pub protocol: Option<String>,
    pub attributes: Option<BTreeMap<String, Value>>,
    pub default_client_scopes: Option<Vec<String>>,
    pub optional_client_scopes: Option<Vec<String>>,
}

/// The client as Keycloak shows it to an admin (`secret` included for confidential clients).
pub fn client_json(
    client: &Client,
    secret: Option<String>,
    default_scopes: &[String],
    optional_scopes: &[String],
) -> Value {
    let mut attributes: Map<String, Value> = client.attributes.clone();
    if let Some(lifespan) = client.access_token_lifespan {
        attributes.insert("access.token.lifespan".into(), json!(lifespan.to_string()));
    }
    let mut out = json!({
        "id": client.id,
        "clientId": client.client_id,
        "name": client.name,
        "description": client.description,
        "rootUrl": client.root_url,
        "baseUrl": client.base_url,
        "adminUrl": client.admin_url,
        "surrogateAuthRequired": false,
        "enabled": client.enabled,
        "alwaysDisplayInConsole": false,
        "clientAuthenticatorType": client.authenticator.as_str(),
        "redirectUris": client.redirect_uris,
        "webOrigins": client.web_origins,
        "notBefore": 0,
        "bearerOnly": client.bearer_only,
        "consentRequired": client.consent_required,
        "standardFlowEnabled": client.standard_flow_enabled,
        "implicitFlowEnabled": client.implicit_flow_enabled,
        "directAccessGrantsEnabled": client.direct_access_grants_enabled,
        "serviceAccountsEnabled": client.service_accounts_enabled,
        "publicClient": client.public_client,
        "frontchannelLogout": true,
        "protocol": client.protocol,
        "attributes": attributes,
        "fullScopeAllowed": client.full_scope_allowed,
        "nodeReRegistrationTimeout": -1,
        "defaultClientScopes": default_scopes,
        "optionalClientScopes": optional_scopes,
        "access": { "view": true, "configure": true, "manage": true },
    });
    if let (Some(secret), Value::Object(map)) = (secret, &mut out) {
        map.insert("secret".into(), json!(secret));
    }
    // Nexus's dual control (ADR 016): only while the service account waits for approval.
    if let (Some(request), Value::Object(map)) = (&client.pending_approval, &mut out) {
        map.insert("serviceAccountPendingApproval".into(), json!(true));
        map.insert("pendingApprovalId".into(), json!(request));
    }
    out
}

// ---------- users ----------

#[derive(Deserialize, Debug, Default, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialRepresentation)]
pub struct CredentialRepr {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub value: Option<String>,
    pub temporary: Option<bool>,
}

#[derive(Deserialize, Debug, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserRepresentation)]
pub struct UserRepr {
    pub id: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: Option<bool>,
    pub attributes: Option<BTreeMap<String, Value>>,
    pub credentials: Option<Vec<CredentialRepr>>,
    pub realm_roles: Option<Vec<String>>,
    pub groups: Option<Vec<String>>,
    pub required_actions: Option<Vec<String>>,
}

pub fn user_json(user: &User, service_account_client_id: Option<&str>) -> Value {
    let mut out = json!({
        "id": user.id,
        "username": user.username,
        "enabled": user.enabled,
        "emailVerified": user.email_verified,
        "createdTimestamp": user.created_at * 1000,
        "totp": false,
        "disableableCredentialTypes": [],
        "requiredActions": [],
        "notBefore": user.not_before,
        "access": { "manageGroupMembership": true, "view": true, "mapRoles": true, "impersonate": false, "manage": true },
    });
    let Value::Object(map) = &mut out else { return out };
    if let Some(v) = &user.email {
        map.insert("email".into(), json!(v));
    }
    if let Some(v) = &user.first_name {
        map.insert("firstName".into(), json!(v));
    }
    if let Some(v) = &user.last_name {
        map.insert("lastName".into(), json!(v));
    }
    if !user.attributes.is_empty() {
        map.insert("attributes".into(), Value::Object(user.attributes.clone()));
    }
    if let Some(client_id) = service_account_client_id {
        map.insert("serviceAccountClientId".into(), json!(client_id));
    }
    out
}

// ---------- roles ----------

#[derive(Deserialize, Debug, Default, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RoleRepresentation)]
pub struct RoleRepr {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub composite: Option<bool>,
    pub client_role: Option<bool>,
    pub container_id: Option<String>,
    pub attributes: Option<BTreeMap<String, Value>>,
}

pub fn role_json(role: &Role, composite: bool) -> Value {
    json!({
        "id": role.id,
        "name": role.name,
        "description": role.description,
        "composite": composite,
        "clientRole": role.client_role,
        "containerId": role.container_id,
        "attributes": role.attributes,
    })
}

// ---------- groups ----------

#[derive(Deserialize, Debug, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GroupRepresentation)]
pub struct GroupRepr {
    pub id: Option<String>,
    pub name: Option<String>,
    pub attributes: Option<BTreeMap<String, Value>>,
}

pub fn group_json(group: &Group, path: &str, sub_group_count: usize) -> Value {
    json!({
        "id": group.id,
        "name": group.name,
        "path": path,
        "parentId": group.parent_id,
        "subGroupCount": sub_group_count,
        "subGroups": [],
        "attributes": group.attributes,
        "realmRoles": [],
        "clientRoles": {},
        "access": { "view": true, "viewMembers": true, "manageMembers": true, "manage": true, "manageMembership": true },
    })
}

// ---------- client scopes ----------

#[derive(Deserialize, Debug, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ClientScopeRepresentation)]
pub struct ClientScopeRepr {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub protocol: Option<String>,
    pub attributes: Option<BTreeMap<String, Value>>,
}

pub fn client_scope_json(scope: &ClientScope) -> Value {
    json!({
        "id": scope.id,
        "name": scope.name,
        "description": scope.description,
        "protocol": scope.protocol,
        "attributes": scope.attributes,
    })
}

/// Keycloak's attribute maps hold strings (or lists of strings); anything else is a bad request.
pub fn string_attributes(attrs: BTreeMap<String, Value>) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (k, v) in attrs {
        match &v {
            Value::String(_) | Value::Bool(_) | Value::Number(_) | Value::Null => {}
            Value::Array(items) if items.iter().all(Value::is_string) => {}
            _ => return Err(format!("attribute `{k}` must be a string or a list of strings")),
        }
        out.insert(k, v);
    }
    Ok(out)
}

/// Keycloak's multivalued attributes (users, groups, roles): `name → [values]`. A single string,
/// number or boolean becomes a one-element list; `null` drops the attribute; anything else is a
/// bad request.
pub fn multivalued_attributes(attrs: BTreeMap<String, Value>) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (k, v) in attrs {
        if k.is_empty() || k.len() > 255 || k.chars().any(char::is_control) {
            return Err("attribute names must be 1 to 255 printable characters".to_owned());
        }
        let values = match v {
            Value::Null => continue,
            Value::String(s) => vec![Value::String(s)],
            Value::Bool(b) => vec![Value::String(b.to_string())],
            Value::Number(n) => vec![Value::String(n.to_string())],
            Value::Array(items) if items.iter().all(Value::is_string) => items,
            _ => return Err(format!("attribute `{k}` must be a string or a list of strings")),
        };
        out.insert(k, Value::Array(values));
    }
    Ok(out)
}
