//! Realm export and import in Keycloak's realm-export format (ADR 019): the full export (CLI
//! `nexus export`), `POST /admin/realms` with a full representation, `partial-export` and
//! `partialImport`. An import is one transaction: the first bad field (named by its JSON path)
//! leaves the database as it was. Validation is the admin API's own (`clients::apply`,
//! `users::apply_profile`, the name parsers), so an import accepts exactly what the API accepts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::groups::{parse_group_name, sibling_conflict, GroupTree};
use super::repr::{
    client_json, client_scope_json, multivalued_attributes, realm_json, role_json, user_json, ClientRepr,
    ClientScopeRepr, GroupRepr, RealmRepr, RoleRepr, UserRepr, REALM_TRANSIENT_FIELDS,
};
use super::{admin_realm, created, invalidate, read_import_json};
use crate::crypto::keycloak_hash;
use crate::crypto::keys::GeneratedKey;
use crate::crypto::password;
use crate::crypto::secrets::MasterKey;
use crate::domain::approvals::dual_control;
use crate::domain::names::{parse_client_id, parse_username};
use crate::domain::{Client, ClientScope, Credential, Group, Realm, Role, User};
use crate::error::AppError;
use crate::http::openapi::schemas::{PartialImportRepresentation, PartialImportResults};
use crate::http::openapi::{op, Api, Errors};
use crate::service::approvals::Requester;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::service::provisioning::{self, NewRealm, PresetIds};
use crate::service::{approvals, clients as client_rules, new_id, roles as role_rules, users as user_rules};
use crate::state::AppState;
use crate::store::db::users::UserQuery;
use crate::store::db::{self, DbConnection};

/// What Keycloak shows instead of a client secret in a partial export.
pub const MASKED_SECRET: &str = "**********";

/// Keycloak realm structures nexus has no counterpart for: an import ignores them and says so.
const IGNORED_REALM_FIELDS: &[&str] = &[
    "authenticationFlows",
    "authenticatorConfig",
    "requiredActions",
    "components",
    "identityProviders",
    "identityProviderMappers",
    "protocolMappers",
    "scopeMappings",
    "clientScopeMappings",
    "browserFlow",
    "registrationFlow",
    "directGrantFlow",
    "resetCredentialsFlow",
    "clientAuthenticationFlow",
    "dockerAuthenticationFlow",
    "firstBrokerLoginFlow",
    "federatedUsers",
    "userFederationProviders",
    "userFederationMappers",
    "smtpServer",
    "keycloakVersion",
    "defaultGroups",
    "requiredCredentials",
    "clientPolicies",
    "clientProfiles",
    "organizations",
    "localizationTexts",
    "applications",
    "oauthClients",
    "clientTemplates",
];

/// Fields of the realm representation that hold content, not settings.
const CONTENT_FIELDS: &[&str] = &[
    "users",
    "clients",
    "roles",
    "groups",
    "clientScopes",
    "defaultDefaultClientScopes",
    "defaultOptionalClientScopes",
    "defaultRoles",
];

const CLIENT_FIELDS: &[&str] = &[
    "id",
    "clientId",
    "name",
    "description",
    "enabled",
    "publicClient",
    "bearerOnly",
    "secret",
    "clientAuthenticatorType",
    "serviceAccountsEnabled",
    "directAccessGrantsEnabled",
    "standardFlowEnabled",
    "implicitFlowEnabled",
    "consentRequired",
    "fullScopeAllowed",
    "rootUrl",
    "baseUrl",
    "adminUrl",
    "redirectUris",
    "webOrigins",
    "protocol",
    "attributes",
    "defaultClientScopes",
    "optionalClientScopes",
    // What nexus itself writes with fixed values, or about dual control (recomputed on import).
    "surrogateAuthRequired",
    "alwaysDisplayInConsole",
    "notBefore",
    "frontchannelLogout",
    "nodeReRegistrationTimeout",
    "access",
    "serviceAccountPendingApproval",
    "pendingApprovalId",
];
const USER_FIELDS: &[&str] = &[
    "id",
    "username",
    "email",
    "emailVerified",
    "firstName",
    "lastName",
    "enabled",
    "attributes",
    "credentials",
    "realmRoles",
    "clientRoles",
    "groups",
    "requiredActions",
    "serviceAccountClientId",
    "createdTimestamp",
    "notBefore",
    "totp",
    "disableableCredentialTypes",
    "access",
];
const ROLE_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "composite",
    "composites",
    "clientRole",
    "containerId",
    "attributes",
];
const GROUP_FIELDS: &[&str] = &[
    "id",
    "name",
    "path",
    "attributes",
    "realmRoles",
    "clientRoles",
    "subGroups",
    "parentId",
    "subGroupCount",
    "access",
];
const SCOPE_FIELDS: &[&str] = &["id", "name", "description", "protocol", "attributes"];
const CREDENTIAL_FIELDS: &[&str] = &[
    "id",
    "type",
    "value",
    "temporary",
    "createdDate",
    "secretData",
    "credentialData",
    "userLabel",
    "priority",
];

pub fn routes(api: &mut Api) {
    api.section("Realms", Errors::Keycloak)
        .post(
            "/admin/realms/{realm}/partial-export",
            partial_export,
            op("Export the realm's settings, and on request its clients, groups and roles")
                .describe("Never users; client secrets are masked.")
                .params::<ExportQuery>()
                .returns::<RealmRepr>(),
        )
        .post(
            "/admin/realms/{realm}/partialImport",
            partial_import,
            op("Import users, clients, groups and roles into the realm")
                .describe("All or nothing; `ifResourceExists` FAIL (default), SKIP or OVERWRITE.")
                .body::<PartialImportRepresentation>()
                .returns::<PartialImportResults>()
                .status(409, "A resource exists and `ifResourceExists` is FAIL"),
        );
}

// ---------- export ----------

/// What an export contains; `reveal_secrets` false masks client secrets as Keycloak's partial
/// export does.
#[derive(Clone, Copy, Debug)]
pub struct ExportOptions {
    pub clients: bool,
    pub groups_and_roles: bool,
    pub users: bool,
    pub reveal_secrets: bool,
}

impl ExportOptions {
    /// Everything, client secrets and password hashes included (the CLI's export).
    pub const FULL: Self = Self {
        clients: true,
        groups_and_roles: true,
        users: true,
        reveal_secrets: true,
    };
}

/// Role names split Keycloak's way: realm roles, and client roles by `clientId`.
fn split_roles(roles: &[Role], client_ids: &HashMap<String, String>) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let mut realm = Vec::new();
    let mut clients: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for role in roles {
        if role.client_role {
            let cid = client_ids.get(&role.container_id).cloned().unwrap_or_default();
            clients.entry(cid).or_default().push(role.name.clone());
        } else {
            realm.push(role.name.clone());
        }
    }
    realm.sort();
    for names in clients.values_mut() {
        names.sort();
    }
    (realm, clients)
}

fn without(mut value: Value, fields: &[&str]) -> Value {
    if let Value::Object(map) = &mut value {
        for f in fields {
            map.remove(*f);
        }
    }
    value
}

/// The realm in Keycloak's realm-export format.
pub fn export_realm(
    conn: &mut DbConnection,
    master: &MasterKey,
    realm: &Realm,
    options: ExportOptions,
) -> Result<Value, AppError> {
    let Value::Object(mut out) = realm_json(realm) else {
        return Err(AppError::internal(anyhow::anyhow!(
            "realm representation is not an object"
        )));
    };
    let clients = db::clients::list(conn, &realm.id, 0, i64::MAX)?;
    let client_ids: HashMap<String, String> = clients.iter().map(|c| (c.id.clone(), c.client_id.clone())).collect();

    let scopes = db::scopes::list(conn, &realm.id)?;
    let scope_names: HashMap<String, String> = scopes.iter().map(|s| (s.id.clone(), s.name.clone())).collect();
    out.insert(
        "clientScopes".into(),
        Value::Array(scopes.iter().map(client_scope_json).collect()),
    );
    let (mut defaults, mut optionals) = (Vec::new(), Vec::new());
    for (scope_id, is_default) in db::scopes::realm_defaults(conn, &realm.id)? {
        if let Some(name) = scope_names.get(&scope_id) {
            if is_default { &mut defaults } else { &mut optionals }.push(name.clone());
        }
    }
    defaults.sort();
    optionals.sort();
    out.insert("defaultDefaultClientScopes".into(), json!(defaults));
    out.insert("defaultOptionalClientScopes".into(), json!(optionals));

    if options.clients {
        let mut list = Vec::with_capacity(clients.len());
        for client in &clients {
            let linked = db::clients::scopes_of(conn, &client.id)?;
            let mut default: Vec<String> = linked.default.iter().map(|s| s.name.clone()).collect();
            let mut optional: Vec<String> = linked.optional.iter().map(|s| s.name.clone()).collect();
            default.sort();
            optional.sort();
            let secret = match (&client.secret_encrypted, client.is_confidential()) {
                (Some(enc), true) if options.reveal_secrets => {
                    Some(master.decrypt_string(enc).map_err(AppError::internal)?)
                }
                (Some(_), true) => Some(MASKED_SECRET.to_owned()),
                _ => None,
            };
            list.push(without(client_json(client, secret, &default, &optional), &["access"]));
        }
        out.insert("clients".into(), Value::Array(list));
    }

    if options.groups_and_roles {
        let roles = db::roles::all_in_realm(conn, &realm.id, i64::MAX)?;
        let by_id: HashMap<&str, &Role> = roles.iter().map(|r| (r.id.as_str(), r)).collect();
        let graph = db::roles::composite_graph(conn, &realm.id)?;
        let role_export = |role: &Role| -> Value {
            let children: Vec<Role> = graph
                .get(&role.id)
                .map(|ids| {
                    ids.iter()
                        .filter_map(|id| by_id.get(id.as_str()).map(|r| (*r).clone()))
                        .collect()
                })
                .unwrap_or_default();
            let mut value = role_json(role, !children.is_empty());
            if !children.is_empty() {
                let (realm_names, client_names) = split_roles(&children, &client_ids);
                let mut composites = Map::new();
                if !realm_names.is_empty() {
                    composites.insert("realm".into(), json!(realm_names));
                }
                if !client_names.is_empty() {
                    composites.insert("client".into(), json!(client_names));
                }
                if let Value::Object(map) = &mut value {
                    map.insert("composites".into(), Value::Object(composites));
                }
            }
            value
        };
        let mut realm_roles = Vec::new();
        let mut client_roles: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for role in &roles {
            if role.client_role {
                if let Some(cid) = client_ids.get(&role.container_id) {
                    client_roles.entry(cid.clone()).or_default().push(role_export(role));
                }
            } else {
                realm_roles.push(role_export(role));
            }
        }
        // Keycloak lists every client, with or without roles.
        for client in &clients {
            client_roles.entry(client.client_id.clone()).or_default();
        }
        out.insert("roles".into(), json!({ "realm": realm_roles, "client": client_roles }));

        let tree = GroupTree::load(conn, &realm.id)?;
        let mut groups = Vec::new();
        for group in sorted(tree.children_of(None)) {
            groups.push(group_export(conn, &tree, group, &client_ids)?);
        }
        out.insert("groups".into(), Value::Array(groups));
    }

    if options.users {
        let query = UserQuery {
            include_service_accounts: true,
            ..UserQuery::default()
        };
        let tree = GroupTree::load(conn, &realm.id)?;
        let mut users = Vec::new();
        for user in db::users::search(conn, &realm.id, &query, 0, i64::MAX)? {
            let sa_client = user
                .service_account_client_id
                .as_ref()
                .and_then(|id| client_ids.get(id))
                .map(String::as_str);
            let mut value = without(user_json(&user, sa_client), &["access"]);
            let (realm_names, client_names) =
                split_roles(&db::roles::direct_roles_of_user(conn, &user.id)?, &client_ids);
            let mut groups: Vec<String> = db::roles::groups_of_user(conn, &user.id)?
                .iter()
                .map(|g| tree.path(&g.id))
                .collect();
            groups.sort();
            let mut credentials = Vec::new();
            for credential in db::users::credentials_of(conn, &user.id)? {
                if credential.credential_type != "password" {
                    continue;
                }
                let Some((secret_data, credential_data)) = keycloak_hash::keycloak_from_phc(&credential.secret_data)
                else {
                    tracing::warn!(user = %user.id, "a stored password is in no known format; not exported");
                    continue;
                };
                let mut c = json!({
                    "id": credential.id,
                    "type": "password",
                    "createdDate": credential.created_at * 1000,
                    "secretData": secret_data,
                    "credentialData": credential_data,
                });
                if credential.temporary {
                    c["temporary"] = json!(true);
                }
                credentials.push(c);
            }
            if let Value::Object(map) = &mut value {
                map.insert("realmRoles".into(), json!(realm_names));
                map.insert("clientRoles".into(), json!(client_names));
                map.insert("groups".into(), json!(groups));
                map.insert("credentials".into(), Value::Array(credentials));
            }
            users.push(value);
        }
        out.insert("users".into(), Value::Array(users));
    }
    Ok(Value::Object(out))
}

fn sorted(mut groups: Vec<&Group>) -> Vec<&Group> {
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    groups
}

fn group_export(
    conn: &mut DbConnection,
    tree: &GroupTree,
    group: &Group,
    client_ids: &HashMap<String, String>,
) -> Result<Value, AppError> {
    let (realm_names, client_names) = split_roles(&db::roles::direct_roles_of_group(conn, &group.id)?, client_ids);
    let mut sub_groups = Vec::new();
    for child in sorted(tree.children_of(Some(&group.id))) {
        sub_groups.push(group_export(conn, tree, child, client_ids)?);
    }
    Ok(json!({
        "id": group.id,
        "name": group.name,
        "path": tree.path(&group.id),
        "attributes": group.attributes,
        "realmRoles": realm_names,
        "clientRoles": client_names,
        "subGroups": sub_groups,
    }))
}

// ---------- import ----------

/// Keycloak's `ifResourceExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Fail,
    Skip,
    Overwrite,
}

/// One line of Keycloak's `PartialImportResults`.
#[derive(Clone, Debug)]
pub struct ImportResult {
    pub action: &'static str,
    pub resource_type: &'static str,
    pub name: String,
    pub id: String,
}

/// What an import did, and what of the file it ignored (`clients[].protocolMappers`, …).
#[derive(Clone, Debug, Default)]
pub struct ImportOutcome {
    pub results: Vec<ImportResult>,
    pub warnings: Vec<String>,
}

impl ImportOutcome {
    pub fn count(&self, action: &str) -> usize {
        self.results.iter().filter(|r| r.action == action).count()
    }

    /// Keycloak's `PartialImportResults`.
    pub fn json(&self) -> Value {
        json!({
            "overwritten": self.count("OVERWRITTEN"),
            "added": self.count("ADDED"),
            "skipped": self.count("SKIPPED"),
            "results": self.results.iter().map(|r| json!({
                "action": r.action,
                "resourceType": r.resource_type,
                "resourceName": r.name,
                "id": r.id,
            })).collect::<Vec<_>>(),
            "warnings": self.warnings,
        })
    }
}

/// The error of the field at `path`: 400 (a reference to something missing is a bad file, not a
/// missing URL), 409 kept for duplicates.
fn at(path: &str, e: AppError) -> AppError {
    match e {
        AppError::BadRequest(m) | AppError::NotFound(m) => bad(path, m),
        AppError::Conflict(m) => AppError::Conflict(format!("{path}: {m}")),
        other => other,
    }
}

fn bad(path: &str, message: impl std::fmt::Display) -> AppError {
    AppError::InvalidField {
        field: path.to_owned(),
        message: message.to_string(),
    }
}

fn parse<T: DeserializeOwned>(value: &Value, path: &str) -> Result<T, AppError> {
    serde_json::from_value(value.clone()).map_err(|e| bad(path, e))
}

/// `doc[key]` as a list (absent or null: empty).
fn list<'v>(doc: &'v Map<String, Value>, key: &str, path: &str) -> Result<&'v [Value], AppError> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(bad(path, "must be a list")),
    }
}

fn object<'v>(value: &'v Value, path: &str) -> Result<&'v Map<String, Value>, AppError> {
    value.as_object().ok_or_else(|| bad(path, "must be an object"))
}

/// Names in a list of strings at `path`.
fn names<'v>(value: Option<&'v Value>, path: &str) -> Result<Vec<&'v str>, AppError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .ok_or_else(|| bad(&format!("{path}[{i}]"), "must be a string"))
            })
            .collect(),
        Some(_) => Err(bad(path, "must be a list of strings")),
    }
}

/// An id the file gives (kept, as Keycloak keeps them), or a new one.
fn import_id(value: Option<&str>, path: &str) -> Result<String, AppError> {
    match value {
        None => Ok(new_id()),
        Some(id) if !id.is_empty() && id.len() <= 64 && !id.chars().any(char::is_control) => Ok(id.to_owned()),
        Some(_) => Err(bad(&format!("{path}.id"), "must be 1 to 64 printable characters")),
    }
}

fn insert_error(path: &str) -> impl Fn(diesel::result::Error) -> AppError + '_ {
    move |e| at(path, super::conflict_or_internal(e, "id or name already exists"))
}

/// One import into one realm, inside the caller's transaction.
pub struct Import<'a> {
    pub realm: Realm,
    master: &'a MasterKey,
    policy: Policy,
    now: i64,
    requester: Requester,
    warnings: BTreeSet<String>,
    results: Vec<ImportResult>,
    /// Roles the import hands to users and groups (checked against a realm admin's own rights).
    pub granted: Vec<String>,
    /// Clients whose service account the import turned on.
    service_accounts: Vec<Client>,
    /// SAML client scopes and clients of a Keycloak export (nexus speaks OpenID Connect only):
    /// left out, and references to them too.
    skipped_scopes: BTreeSet<String>,
    skipped_clients: BTreeSet<String>,
}

impl<'a> Import<'a> {
    pub fn new(realm: Realm, master: &'a MasterKey, policy: Policy, now: i64, requester: Requester) -> Self {
        Self {
            realm,
            master,
            policy,
            now,
            requester,
            warnings: BTreeSet::new(),
            results: Vec::new(),
            granted: Vec::new(),
            service_accounts: Vec::new(),
            skipped_scopes: BTreeSet::new(),
            skipped_clients: BTreeSet::new(),
        }
    }

    pub fn outcome(self) -> ImportOutcome {
        ImportOutcome {
            results: self.results,
            warnings: self.warnings.into_iter().collect(),
        }
    }

    fn warn(&mut self, message: String) {
        self.warnings.insert(message);
    }

    /// Fields of `value` outside `known` are ignored; say which (as `clients[].protocolMappers`).
    fn note_unknown(&mut self, pattern: &str, value: &Value, known: &[&str]) {
        if let Value::Object(map) = value {
            for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
                self.warn(format!("{pattern}.{key} ignored: nexus has no such feature"));
            }
        }
    }

    fn record(&mut self, action: &'static str, resource_type: &'static str, name: &str, id: &str) {
        self.results.push(ImportResult {
            action,
            resource_type,
            name: name.to_owned(),
            id: id.to_owned(),
        });
    }

    /// What to do with a resource that exists already; `None` = skip it.
    fn existing(&self, path: &str, what: &str) -> Result<Option<&'static str>, AppError> {
        match self.policy {
            Policy::Fail => Err(AppError::conflict(format!("{path}: {what} already exists"))),
            Policy::Skip => Ok(None),
            Policy::Overwrite => Ok(Some("OVERWRITTEN")),
        }
    }

    /// Everything of `doc` but the realm settings: scopes, clients, roles, groups, users.
    pub fn run(&mut self, conn: &mut DbConnection, doc: &Map<String, Value>, full: bool) -> Result<(), AppError> {
        if full {
            self.client_scopes(conn, doc)?;
            self.realm_default_scopes(conn, doc)?;
        }
        self.clients(conn, doc)?;
        self.roles(conn, doc)?;
        if full {
            self.legacy_default_roles(conn, doc)?;
        }
        let groups = list(doc, "groups", "groups")?;
        for (i, group) in groups.iter().enumerate() {
            self.group(conn, group, &format!("groups[{i}]"), None)?;
        }
        self.users(conn, doc)?;
        self.finish_service_accounts(conn)
    }

    fn client_scopes(&mut self, conn: &mut DbConnection, doc: &Map<String, Value>) -> Result<(), AppError> {
        for (i, value) in list(doc, "clientScopes", "clientScopes")?.iter().enumerate() {
            let path = format!("clientScopes[{i}]");
            self.note_unknown("clientScopes[]", value, SCOPE_FIELDS);
            let repr: ClientScopeRepr = parse(value, &path)?;
            let name =
                super::scopes::parse_scope_name(repr.name.as_deref()).map_err(|e| at(&format!("{path}.name"), e))?;
            if repr.protocol.as_deref() == Some("saml") {
                self.warn("clientScopes[] of protocol saml ignored: nexus speaks OpenID Connect only".into());
                self.skipped_scopes.insert(name);
                continue;
            }
            super::scopes::check_protocol(repr.protocol.as_deref()).map_err(|e| at(&format!("{path}.protocol"), e))?;
            super::roles::check_text("description", repr.description.as_deref()).map_err(|e| at(&path, e))?;
            let attributes = super::scopes::scope_attributes(repr.attributes.clone().unwrap_or_default())
                .map_err(|e| at(&format!("{path}.attributes"), e))?;
            match db::scopes::find_by_name(conn, &self.realm.id, &name)? {
                Some(mut scope) => {
                    let Some(action) = self.existing(&path, &format!("Client Scope {name}"))? else {
                        self.record("SKIPPED", "CLIENT_SCOPE", &name, &scope.id);
                        continue;
                    };
                    scope.description = repr.description.clone();
                    scope.attributes = attributes;
                    db::scopes::update(conn, &scope)?;
                    self.record(action, "CLIENT_SCOPE", &name, &scope.id);
                }
                None => {
                    let scope = ClientScope {
                        id: import_id(repr.id.as_deref(), &path)?,
                        realm_id: self.realm.id.clone(),
                        name: name.clone(),
                        description: repr.description.clone(),
                        protocol: "openid-connect".to_owned(),
                        attributes,
                    };
                    db::scopes::insert(conn, &scope).map_err(insert_error(&path))?;
                    self.record("ADDED", "CLIENT_SCOPE", &name, &scope.id);
                }
            }
        }
        Ok(())
    }

    /// `defaultDefaultClientScopes` / `defaultOptionalClientScopes`: the scopes new clients get.
    fn realm_default_scopes(&mut self, conn: &mut DbConnection, doc: &Map<String, Value>) -> Result<(), AppError> {
        for (key, is_default) in [
            ("defaultDefaultClientScopes", true),
            ("defaultOptionalClientScopes", false),
        ] {
            if doc.get(key).is_none_or(Value::is_null) {
                continue;
            }
            let wanted = names(doc.get(key), key)?;
            let mut ids = Vec::new();
            for (j, name) in wanted.iter().enumerate() {
                if self.skipped_scopes.contains(*name) {
                    continue;
                }
                let scope = db::scopes::find_by_name(conn, &self.realm.id, name)?.ok_or_else(|| {
                    bad(
                        &format!("{key}[{j}]"),
                        format!("Unknown client scope: {}", name.escape_debug()),
                    )
                })?;
                ids.push(scope.id);
            }
            for (scope_id, d) in db::scopes::realm_defaults(conn, &self.realm.id)? {
                if d == is_default {
                    db::scopes::remove_realm_default(conn, &self.realm.id, &scope_id, d)?;
                }
            }
            for id in ids {
                db::scopes::set_realm_default(conn, &self.realm.id, &id, is_default)?;
            }
        }
        Ok(())
    }

    fn clients(&mut self, conn: &mut DbConnection, doc: &Map<String, Value>) -> Result<(), AppError> {
        for (i, value) in list(doc, "clients", "clients")?.iter().enumerate() {
            let path = format!("clients[{i}]");
            self.note_unknown("clients[]", value, CLIENT_FIELDS);
            let repr: ClientRepr = parse(value, &path)?;
            let raw_id = repr
                .client_id
                .as_deref()
                .ok_or_else(|| bad(&format!("{path}.clientId"), "clientId is required"))?;
            let client_id = parse_client_id(raw_id).map_err(|e| bad(&format!("{path}.clientId"), e))?;
            if repr.protocol.as_deref() == Some("saml") {
                self.warn("clients[] of protocol saml ignored: nexus speaks OpenID Connect only".into());
                self.skipped_clients.insert(client_id);
                continue;
            }
            for (j, uri) in repr.redirect_uris.iter().flatten().enumerate() {
                super::clients::check_redirect_uri(uri).map_err(|e| at(&format!("{path}.redirectUris[{j}]"), e))?;
            }
            let existing = db::clients::find_by_client_id(conn, &self.realm.id, &client_id)?;
            let (mut client, action) = match existing {
                Some(client) => {
                    let Some(action) = self.existing(&path, &format!("Client {client_id}"))? else {
                        self.record("SKIPPED", "CLIENT", &client_id, &client.id);
                        continue;
                    };
                    (client, action)
                }
                None => {
                    let mut client = client_rules::blank_client(&self.realm.id, &client_id, self.now);
                    client.id = import_id(repr.id.as_deref(), &path)?;
                    (client, "ADDED")
                }
            };
            let had_service_account = action != "ADDED" && client.service_accounts_enabled;
            super::clients::apply(&mut client, &repr).map_err(|e| at(&path, e))?;
            match repr.secret.as_deref() {
                Some(MASKED_SECRET) if client.is_confidential() && action == "ADDED" => {
                    self.warn(format!(
                        "clients[].secret was masked (a partial export): client {client_id} got a new generated secret"
                    ));
                }
                Some(MASKED_SECRET) | None => {}
                Some(secret) if client.is_confidential() => {
                    super::clients::check_secret(secret).map_err(|e| at(&format!("{path}.secret"), e))?;
                    client_rules::set_secret(&mut client, self.master, secret);
                }
                Some(_) => {}
            }
            client_rules::ensure_secret(&mut client, self.master);
            if action == "ADDED" {
                db::clients::insert(conn, &client).map_err(insert_error(&path))?;
            } else {
                db::clients::update(conn, &client)?;
            }
            let scopes_given = repr.default_client_scopes.is_some() || repr.optional_client_scopes.is_some();
            if scopes_given {
                let linked = db::clients::scopes_of(conn, &client.id)?;
                for scope in &linked.default {
                    db::clients::unlink_scope(conn, &client.id, &scope.id, true)?;
                }
                for scope in &linked.optional {
                    db::clients::unlink_scope(conn, &client.id, &scope.id, false)?;
                }
                for (key, list, is_default) in [
                    ("defaultClientScopes", &repr.default_client_scopes, true),
                    ("optionalClientScopes", &repr.optional_client_scopes, false),
                ] {
                    for (j, name) in list.iter().flatten().enumerate() {
                        if self.skipped_scopes.contains(name) {
                            continue;
                        }
                        let scope = db::scopes::find_by_name(conn, &self.realm.id, name)?.ok_or_else(|| {
                            bad(
                                &format!("{path}.{key}[{j}]"),
                                format!("Unknown client scope: {}", name.escape_debug()),
                            )
                        })?;
                        db::clients::link_scope(conn, &client.id, &scope.id, is_default)?;
                    }
                }
            } else if action == "ADDED" {
                for (scope_id, is_default) in db::scopes::realm_defaults(conn, &self.realm.id)? {
                    db::clients::link_scope(conn, &client.id, &scope_id, is_default)?;
                }
            }
            if client.service_accounts_enabled && !had_service_account {
                self.service_accounts.push(client.clone());
            }
            self.record(action, "CLIENT", &client_id, &client.id);
        }
        Ok(())
    }

    fn roles(&mut self, conn: &mut DbConnection, doc: &Map<String, Value>) -> Result<(), AppError> {
        let Some(roles) = doc.get("roles").filter(|v| !v.is_null()) else {
            return Ok(());
        };
        let roles = object(roles, "roles")?;
        // Every role first, then the composites, which may name roles further down the file.
        let mut composites: Vec<(String, String, Value)> = Vec::new();
        for (i, value) in list(roles, "realm", "roles.realm")?.iter().enumerate() {
            let path = format!("roles.realm[{i}]");
            let realm_id = self.realm.id.clone();
            if let Some(pending) = self.role(conn, value, &path, &realm_id, None)? {
                composites.push(pending);
            }
        }
        if let Some(by_client) = roles.get("client").filter(|v| !v.is_null()) {
            for (cid, values) in object(by_client, "roles.client")? {
                if self.skipped_clients.contains(cid) {
                    continue;
                }
                let path = format!("roles.client.{cid}");
                let client = db::clients::find_by_client_id(conn, &self.realm.id, cid)?
                    .ok_or_else(|| bad(&path, format!("Client {} not found", cid.escape_debug())))?;
                let items = values.as_array().ok_or_else(|| bad(&path, "must be a list"))?;
                for (i, value) in items.iter().enumerate() {
                    if let Some(pending) = self.role(conn, value, &format!("{path}[{i}]"), &client.id, Some(cid))? {
                        composites.push(pending);
                    }
                }
            }
        }
        for (path, role_id, value) in composites {
            for old in db::roles::composites_of(conn, &role_id)? {
                db::roles::remove_composite(conn, &role_id, &old.id)?;
            }
            let children = self.role_refs(conn, &value, &format!("{path}.composites"))?;
            // The admin API's rules for composites: not itself, and nothing the admin may not grant.
            if children.contains(&role_id) {
                return Err(bad(
                    &format!("{path}.composites"),
                    "A role cannot be a composite of itself",
                ));
            }
            for child in &children {
                db::roles::add_composite(conn, &role_id, child)?;
            }
            self.granted.extend(children);
        }
        Ok(())
    }

    /// One role; its composites to set later (path, role id, `composites`) unless skipped.
    fn role(
        &mut self,
        conn: &mut DbConnection,
        value: &Value,
        path: &str,
        container: &str,
        client_id: Option<&str>,
    ) -> Result<Option<(String, String, Value)>, AppError> {
        self.note_unknown(
            if client_id.is_some() {
                "roles.client.*[]"
            } else {
                "roles.realm[]"
            },
            value,
            ROLE_FIELDS,
        );
        let repr: RoleRepr = parse(value, path)?;
        let name = super::roles::parse_role_name(repr.name.as_deref()).map_err(|e| at(&format!("{path}.name"), e))?;
        super::roles::check_text("description", repr.description.as_deref()).map_err(|e| at(path, e))?;
        let attributes = multivalued_attributes(repr.attributes.clone().unwrap_or_default())
            .map_err(|e| bad(&format!("{path}.attributes"), e))?;
        let resource_type = if client_id.is_some() {
            "CLIENT_ROLE"
        } else {
            "REALM_ROLE"
        };
        let shown = match client_id {
            Some(cid) => format!("{cid}/{name}"),
            None => name.clone(),
        };
        let composites = value.get("composites").cloned().unwrap_or(Value::Null);
        let role = match db::roles::find_by_name(conn, container, &name)? {
            Some(mut role) => {
                let Some(action) = self.existing(path, &format!("Role {name}"))? else {
                    self.record("SKIPPED", resource_type, &shown, &role.id);
                    return Ok(None);
                };
                if repr.description.is_some() {
                    role.description = repr.description.clone();
                }
                role.attributes = attributes;
                db::roles::update(conn, &role)?;
                self.record(action, resource_type, &shown, &role.id);
                role
            }
            None => {
                let role = Role {
                    id: import_id(repr.id.as_deref(), path)?,
                    realm_id: self.realm.id.clone(),
                    container_id: container.to_owned(),
                    client_role: client_id.is_some(),
                    name,
                    description: repr.description.clone(),
                    attributes,
                };
                db::roles::insert(conn, &role).map_err(insert_error(path))?;
                self.record("ADDED", resource_type, &shown, &role.id);
                role
            }
        };
        Ok(Some((path.to_owned(), role.id, composites)))
    }

    /// Role ids of Keycloak's `{"realm": [names], "client": {clientId: [names]}}` at `path`.
    fn role_refs(&mut self, conn: &mut DbConnection, value: &Value, path: &str) -> Result<Vec<String>, AppError> {
        let mut ids = Vec::new();
        if value.is_null() {
            return Ok(ids);
        }
        let map = object(value, path)?;
        let realm_names = names(map.get("realm"), &format!("{path}.realm"))?;
        ids.extend(self.realm_role_ids(conn, &realm_names, &format!("{path}.realm"))?);
        ids.extend(self.client_role_ids(conn, map.get("client"), &format!("{path}.client"))?);
        Ok(ids)
    }

    fn realm_role_ids(
        &mut self,
        conn: &mut DbConnection,
        wanted: &[&str],
        path: &str,
    ) -> Result<Vec<String>, AppError> {
        let mut ids = Vec::new();
        for (j, name) in wanted.iter().enumerate() {
            let role = super::roles::role_by_name(conn, &self.realm.id, name)?.ok_or_else(|| {
                bad(
                    &format!("{path}[{j}]"),
                    format!("Role not found: {}", name.escape_debug()),
                )
            })?;
            ids.push(role.id);
        }
        Ok(ids)
    }

    fn client_role_ids(
        &mut self,
        conn: &mut DbConnection,
        value: Option<&Value>,
        path: &str,
    ) -> Result<Vec<String>, AppError> {
        let mut ids = Vec::new();
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(ids);
        };
        for (cid, list) in object(value, path)? {
            if self.skipped_clients.contains(cid) {
                continue;
            }
            let cpath = format!("{path}.{cid}");
            let client = db::clients::find_by_client_id(conn, &self.realm.id, cid)?
                .ok_or_else(|| bad(&cpath, format!("Client {} not found", cid.escape_debug())))?;
            for (j, name) in names(Some(list), &cpath)?.iter().enumerate() {
                let role = super::roles::role_by_name(conn, &client.id, name)?.ok_or_else(|| {
                    bad(
                        &format!("{cpath}[{j}]"),
                        format!("Role not found: {}", name.escape_debug()),
                    )
                })?;
                ids.push(role.id);
            }
        }
        Ok(ids)
    }

    /// Keycloak before 13: `defaultRoles` (realm role names) became `default-roles-{realm}`.
    fn legacy_default_roles(&mut self, conn: &mut DbConnection, doc: &Map<String, Value>) -> Result<(), AppError> {
        let wanted = names(doc.get("defaultRoles"), "defaultRoles")?;
        if wanted.is_empty() {
            return Ok(());
        }
        let default_name = crate::domain::defaults::default_roles_name(&self.realm.name);
        let Some(default_role) = db::roles::find_by_name(conn, &self.realm.id, &default_name)? else {
            return Ok(());
        };
        for id in self.realm_role_ids(conn, &wanted, "defaultRoles")? {
            db::roles::add_composite(conn, &default_role.id, &id)?;
        }
        Ok(())
    }

    fn group(
        &mut self,
        conn: &mut DbConnection,
        value: &Value,
        path: &str,
        parent: Option<&str>,
    ) -> Result<(), AppError> {
        self.note_unknown("groups[]", value, GROUP_FIELDS);
        let repr: GroupRepr = parse(value, path)?;
        let name = parse_group_name(repr.name.as_deref()).map_err(|e| at(&format!("{path}.name"), e))?;
        let attributes = multivalued_attributes(repr.attributes.clone().unwrap_or_default())
            .map_err(|e| bad(&format!("{path}.attributes"), e))?;
        let group = match db::roles::find_group_by_name(conn, &self.realm.id, parent, &name)? {
            Some(mut group) => {
                let what = match parent {
                    None => format!("Top level group named '{name}'"),
                    Some(_) => format!("Sibling group named '{name}'"),
                };
                let Some(action) = self.existing(path, &what)? else {
                    self.record("SKIPPED", "GROUP", &name, &group.id);
                    return Ok(());
                };
                group.attributes = attributes;
                db::roles::update_group(conn, &group)?;
                for role in db::roles::direct_roles_of_group(conn, &group.id)? {
                    db::roles::revoke_from_group(conn, &group.id, &role.id)?;
                }
                self.record(action, "GROUP", &name, &group.id);
                group
            }
            None => {
                let group = Group {
                    id: import_id(repr.id.as_deref(), path)?,
                    realm_id: self.realm.id.clone(),
                    parent_id: parent.map(str::to_owned),
                    name: name.clone(),
                    attributes,
                };
                db::roles::insert_group(conn, &group).map_err(|e| {
                    if db::is_unique_violation(&e) {
                        at(path, sibling_conflict(parent, &name))
                    } else {
                        AppError::internal(e)
                    }
                })?;
                self.record("ADDED", "GROUP", &name, &group.id);
                group
            }
        };
        let realm_names = names(value.get("realmRoles"), &format!("{path}.realmRoles"))?;
        let mut role_ids = self.realm_role_ids(conn, &realm_names, &format!("{path}.realmRoles"))?;
        role_ids.extend(self.client_role_ids(conn, value.get("clientRoles"), &format!("{path}.clientRoles"))?);
        for id in &role_ids {
            db::roles::grant_to_group(conn, &group.id, id)?;
        }
        self.granted.extend(role_ids);
        for (j, child) in list(object(value, path)?, "subGroups", &format!("{path}.subGroups"))?
            .iter()
            .enumerate()
        {
            self.group(conn, child, &format!("{path}.subGroups[{j}]"), Some(&group.id))?;
        }
        Ok(())
    }

    fn users(&mut self, conn: &mut DbConnection, doc: &Map<String, Value>) -> Result<(), AppError> {
        let users = list(doc, "users", "users")?;
        if users.is_empty() {
            return Ok(());
        }
        let tree = GroupTree::load(conn, &self.realm.id)?;
        for (i, value) in users.iter().enumerate() {
            self.user(conn, &tree, value, &format!("users[{i}]"))?;
        }
        Ok(())
    }

    fn user(&mut self, conn: &mut DbConnection, tree: &GroupTree, value: &Value, path: &str) -> Result<(), AppError> {
        self.note_unknown("users[]", value, USER_FIELDS);
        let fields = object(value, path)?;
        // Credentials are read below in Keycloak's stored form; the admin API's shape of them
        // (`value`, `temporary`) is a subset.
        let mut for_repr = fields.clone();
        for_repr.remove("credentials");
        let repr: UserRepr = parse(&Value::Object(for_repr), path)?;
        let username =
            parse_username(repr.username.as_deref().unwrap_or("")).map_err(|e| bad(&format!("{path}.username"), e))?;
        let (mut user, action) = match db::users::find_by_username(conn, &self.realm.id, &username)? {
            Some(user) => {
                let Some(action) = self.existing(path, &format!("User {username}"))? else {
                    self.record("SKIPPED", "USER", &username, &user.id);
                    return Ok(());
                };
                (user, action)
            }
            None => {
                let created = fields
                    .get("createdTimestamp")
                    .and_then(Value::as_i64)
                    .map_or(self.now, |ms| ms / 1000);
                let mut user = user_rules::blank_user(&self.realm.id, &username, created);
                user.id = import_id(repr.id.as_deref(), path)?;
                (user, "ADDED")
            }
        };
        super::users::apply_profile(&mut user, &repr).map_err(|e| at(path, e))?;
        if let Some(nb) = fields.get("notBefore").and_then(Value::as_i64) {
            user.not_before = nb.max(0);
        }
        if let Some(email) = user.email.clone() {
            if super::users::email_taken(conn, &self.realm.id, &email, Some(&user.id))? {
                return Err(AppError::conflict(format!(
                    "{path}.email: {}",
                    super::users::EMAIL_CONFLICT
                )));
            }
        }
        if let Some(cid) = fields.get("serviceAccountClientId").filter(|v| !v.is_null()) {
            let spath = format!("{path}.serviceAccountClientId");
            let cid = cid.as_str().ok_or_else(|| bad(&spath, "must be a string"))?;
            let client = db::clients::find_by_client_id(conn, &self.realm.id, cid)?
                .filter(|c| c.service_accounts_enabled)
                .ok_or_else(|| {
                    bad(
                        &spath,
                        format!("No client {} with a service account", cid.escape_debug()),
                    )
                })?;
            if db::users::find_service_account(conn, &client.id)?.is_some_and(|u| u.id != user.id) {
                return Err(AppError::conflict(format!(
                    "{spath}: the client has a service account already"
                )));
            }
            user.service_account_client_id = Some(client.id);
        }
        if action == "ADDED" {
            db::users::insert(conn, &user).map_err(insert_error(path))?;
        } else {
            db::users::update(conn, &user)?;
        }

        // Roles: exactly the file's when it names them (an export always does); a new user the
        // file says nothing about gets the realm's default roles, as through the admin API.
        let mut role_ids = Vec::new();
        if fields.contains_key("realmRoles") || fields.contains_key("clientRoles") || action != "ADDED" {
            for role in db::roles::direct_roles_of_user(conn, &user.id)? {
                db::roles::revoke_from_user(conn, &user.id, &role.id)?;
            }
            let realm_names = names(fields.get("realmRoles"), &format!("{path}.realmRoles"))?;
            role_ids.extend(self.realm_role_ids(conn, &realm_names, &format!("{path}.realmRoles"))?);
            role_ids.extend(self.client_role_ids(conn, fields.get("clientRoles"), &format!("{path}.clientRoles"))?);
        } else {
            let default_name = crate::domain::defaults::default_roles_name(&self.realm.name);
            role_ids.extend(db::roles::find_by_name(conn, &self.realm.id, &default_name)?.map(|r| r.id));
        }
        for id in &role_ids {
            db::roles::grant_to_user(conn, &user.id, id)?;
        }
        self.granted.extend(role_ids);

        if fields.contains_key("groups") || action != "ADDED" {
            for group in db::roles::groups_of_user(conn, &user.id)? {
                db::roles::remove_member(conn, &user.id, &group.id)?;
            }
        }
        for (j, group_path) in names(fields.get("groups"), &format!("{path}.groups"))?
            .iter()
            .enumerate()
        {
            let group = tree.find_by_path(group_path).ok_or_else(|| {
                bad(
                    &format!("{path}.groups[{j}]"),
                    format!("Group {} not found", group_path.escape_debug()),
                )
            })?;
            db::roles::add_member(conn, &user.id, &group.id)?;
            self.granted
                .extend(role_rules::mapped_role_ids_of_group(conn, &self.realm.id, &group.id)?);
        }

        let required: Vec<&str> = names(fields.get("requiredActions"), &format!("{path}.requiredActions"))?;
        if !required.is_empty() {
            self.warn(
                "users[].requiredActions ignored: nexus has no required actions besides a temporary password".into(),
            );
        }
        self.credentials(conn, &user, fields.get("credentials"), path)?;
        self.record(action, "USER", &username, &user.id);
        Ok(())
    }

    /// The user's password: Keycloak's stored hash (`secretData`/`credentialData`) kept as it is
    /// until the first sign-in, or a clear `value` hashed now. Other credential types are ignored.
    fn credentials(
        &mut self,
        conn: &mut DbConnection,
        user: &User,
        value: Option<&Value>,
        path: &str,
    ) -> Result<(), AppError> {
        let cpath = format!("{path}.credentials");
        let items = match value {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(bad(&cpath, "must be a list")),
        };
        for (j, item) in items.iter().enumerate() {
            let ipath = format!("{cpath}[{j}]");
            self.note_unknown("users[].credentials[]", item, CREDENTIAL_FIELDS);
            let fields = object(item, &ipath)?;
            match fields.get("type").and_then(Value::as_str) {
                None | Some("password") => {}
                Some(other) => {
                    self.warn(format!(
                        "users[].credentials of type {other} ignored: nexus has passwords only"
                    ));
                    continue;
                }
            }
            let temporary = fields.get("temporary").and_then(Value::as_bool).unwrap_or(false);
            let (phc, data) = match fields.get("value").filter(|v| !v.is_null()) {
                Some(clear) => {
                    let clear = clear
                        .as_str()
                        .ok_or_else(|| bad(&format!("{ipath}.value"), "must be a string"))?;
                    super::users::check_new_password(clear).map_err(|e| at(&format!("{ipath}.value"), e))?;
                    (
                        password::hash_password(clear),
                        user_rules::OWN_CREDENTIAL_DATA.to_owned(),
                    )
                }
                None => {
                    let phc = keycloak_hash::phc_from_keycloak(fields.get("secretData"), fields.get("credentialData"))
                        .map_err(|e| bad(&format!("{ipath}.{}", e.field), e.message))?;
                    let data = if password::needs_rehash(&phc) {
                        let algorithm = phc.split('$').nth(1).unwrap_or_default().to_owned();
                        json!({ "algorithm": algorithm, "importedFrom": "keycloak" }).to_string()
                    } else {
                        user_rules::OWN_CREDENTIAL_DATA.to_owned()
                    };
                    (phc, data)
                }
            };
            let credential = Credential {
                id: import_id(fields.get("id").and_then(Value::as_str), &ipath)?,
                user_id: user.id.clone(),
                credential_type: "password".to_owned(),
                secret_data: phc,
                credential_data: data,
                temporary,
                created_at: fields
                    .get("createdDate")
                    .and_then(Value::as_i64)
                    .map_or(self.now, |ms| ms / 1000),
            };
            // One password per user: a later one replaces an earlier one, as a reset would.
            db::users::set_password(conn, &credential).map_err(insert_error(&ipath))?;
        }
        Ok(())
    }

    /// Service accounts the import turned on: their user (unless the file had it), and with dual
    /// control on, a request awaiting a second administrator (ADR 016, 019).
    fn finish_service_accounts(&mut self, conn: &mut DbConnection) -> Result<(), AppError> {
        for client in std::mem::take(&mut self.service_accounts) {
            client_rules::sync_service_account(conn, &self.realm, &client, self.now)?;
            if dual_control(&self.realm) {
                let request = approvals::service_account_request(&self.realm, &client, true, &self.requester, self.now);
                db::approvals::insert(conn, &request)?;
                db::approvals::set_client_pending(conn, &client.id, Some(&request.id))?;
                self.warn(format!(
                    "dual control: the service account of client {} awaits approval (request {})",
                    client.client_id, request.id
                ));
            }
        }
        Ok(())
    }
}

/// The realm of a full representation, checked as `POST /admin/realms` checks it, and the ids of
/// its built-in objects to keep.
pub struct RealmPlan {
    pub spec: NewRealm,
    pub doc: Map<String, Value>,
}

/// Reads a full realm representation: settings validated, ignored structures noted.
pub fn plan_realm(doc: Value, warnings: &mut Vec<String>) -> Result<RealmPlan, AppError> {
    let Value::Object(doc) = doc else {
        return Err(AppError::bad_request("The realm representation must be a JSON object"));
    };
    let mut settings = doc.clone();
    for key in CONTENT_FIELDS.iter().chain(IGNORED_REALM_FIELDS) {
        if settings.remove(*key).is_some() && IGNORED_REALM_FIELDS.contains(key) {
            warnings.push(format!("{key} ignored: nexus has no such feature"));
        }
    }
    let repr: RealmRepr = serde_json::from_value(Value::Object(settings))
        .map_err(|e| AppError::bad_request(format!("Invalid realm representation: {e}")))?;
    super::realms::realm_name(repr.realm.as_deref().unwrap_or("")).map_err(|e| at("realm", e))?;
    let mut spec = super::realms::new_realm_spec(&repr)?;
    let mut preset: PresetIds = HashMap::new();
    let mut keep = |key: String, id: Option<&Value>| {
        if let Some(id) = id.and_then(Value::as_str).filter(|id| import_id(Some(id), "").is_ok()) {
            preset.insert(key, id.to_owned());
        }
    };
    keep("realm".into(), doc.get("id"));
    if let Some(Value::Array(scopes)) = doc.get("clientScopes") {
        for s in scopes {
            if let Some(n) = s.get("name").and_then(Value::as_str) {
                keep(format!("scope:{n}"), s.get("id"));
            }
        }
    }
    if let Some(Value::Array(clients)) = doc.get("clients") {
        for c in clients {
            if let Some(n) = c.get("clientId").and_then(Value::as_str) {
                keep(format!("client:{n}"), c.get("id"));
            }
        }
    }
    if let Some(Value::Array(roles)) = doc.get("roles").and_then(|r| r.get("realm")) {
        for r in roles {
            if let Some(n) = r.get("name").and_then(Value::as_str) {
                keep(format!("role:{n}"), r.get("id"));
            }
        }
    }
    if let Some(Value::Object(by_client)) = doc.get("roles").and_then(|r| r.get("client")) {
        for (cid, roles) in by_client {
            for r in roles.as_array().into_iter().flatten() {
                if let Some(n) = r.get("name").and_then(Value::as_str) {
                    keep(format!("role:{cid}/{n}"), r.get("id"));
                }
            }
        }
    }
    spec.attributes
        .retain(|k, _| !CONTENT_FIELDS.contains(&k.as_str()) && !REALM_TRANSIENT_FIELDS.contains(&k.as_str()));
    spec.preset_ids = preset;
    Ok(RealmPlan { spec, doc })
}

/// Creates the realm of `plan` with everything in it. Run inside one write transaction.
pub fn import_realm(
    conn: &mut DbConnection,
    master: &MasterKey,
    plan: RealmPlan,
    key: GeneratedKey,
    now: i64,
    requester: Requester,
) -> Result<(Realm, ImportOutcome), AppError> {
    if db::realms::find_by_name(conn, &plan.spec.name)?.is_some() {
        return Err(AppError::conflict(super::realms::REALM_CONFLICT));
    }
    // Ids are kept: the realm's, or a built-in's, may be another realm's already (the same file
    // imported under a second name).
    let realm = provisioning::create_realm(conn, plan.spec, key, now).map_err(|e| {
        super::conflict_or_internal(
            e,
            "An id of the file (the realm's, or a built-in client's, role's or scope's) is in use already: imports keep ids",
        )
    })?;
    // The realm's own built-ins are in a new realm already: the file's versions overwrite them.
    let mut import = Import::new(realm.clone(), master, Policy::Overwrite, now, requester);
    import.run(conn, &plan.doc, true)?;
    Ok((realm, import.outcome()))
}

/// Whether a `POST /admin/realms` body is more than settings (and so an import).
pub fn is_full_representation(doc: &Value) -> bool {
    doc.as_object().is_some_and(|m| {
        CONTENT_FIELDS
            .iter()
            .chain(IGNORED_REALM_FIELDS)
            .any(|k| m.contains_key(*k))
    })
}

/// `POST /admin/realms` with a full representation (master-realm admins, as any realm creation).
pub async fn create_realm_from(
    state: &AppState,
    principal: &AdminPrincipal,
    doc: Value,
) -> Result<(Realm, ImportOutcome), AppError> {
    if !principal.may_create_realms() {
        return Err(AppError::Forbidden);
    }
    let mut warnings = Vec::new();
    let plan = plan_realm(doc, &mut warnings)?;
    let key = crate::service::keys::fresh_key(&state.key_pool, state.master_key.clone())
        .await
        .map_err(AppError::internal)?;
    let master = state.master_key.clone();
    let now = state.now();
    let requester = super::clients::approval_requester(principal);
    let (realm, mut outcome) = state
        .db
        .transaction(move |conn| import_realm(conn, &master, plan, key, now, requester))
        .await?;
    warnings.append(&mut outcome.warnings);
    outcome.warnings = warnings;
    invalidate(state, &realm.name).await;
    for warning in &outcome.warnings {
        tracing::warn!(realm = %realm.name, "import: {warning}");
    }
    tracing::info!(realm = %realm.name, objects = outcome.results.len(), "realm imported");
    Ok((realm, outcome))
}

/// `POST /admin/realms` for a full representation: 201 as for any new realm.
pub async fn create_realm_response(
    state: &AppState,
    req: &HttpRequest,
    principal: &AdminPrincipal,
    doc: Value,
) -> Result<HttpResponse, AppError> {
    let (realm, _) = create_realm_from(state, principal, doc).await?;
    Ok(created(req, &realm.name))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    export_clients: Option<String>,
    export_groups_and_roles: Option<String>,
}

/// Keycloak's partial export: realm settings and client scopes, clients with masked secrets and
/// roles with groups on request, never users.
async fn partial_export(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let flag = |v: &Option<String>| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let options = ExportOptions {
        clients: flag(&query.export_clients),
        groups_and_roles: flag(&query.export_groups_and_roles),
        users: false,
        reveal_secrets: false,
    };
    let (principal, runtime) = admin_realm(&state, &req, &path, AdminPermission::ViewRealm).await?;
    if options.clients && !principal.may(&runtime.realm.name, AdminPermission::ViewClients) {
        return Err(AppError::Forbidden);
    }
    let realm = runtime.realm.clone();
    let master = state.master_key.clone();
    let body = state
        .db
        .run(move |conn| export_realm(conn, &master, &realm, options))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}

/// Keycloak's `partialImport` (manage-realm): users, clients, groups and roles with
/// `ifResourceExists` FAIL (default), SKIP or OVERWRITE; all or nothing.
async fn partial_import(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (principal, runtime) = admin_realm(&state, &req, &path, AdminPermission::ManageRealm).await?;
    let (doc, _) = read_import_json(&req, payload).await?;
    let outcome = partial_import_into(&state, &principal, &runtime.realm, doc).await?;
    Ok(HttpResponse::Ok().json(outcome.json()))
}

/// The partial import itself (one transaction), for the handler and tests of the rules.
pub async fn partial_import_into(
    state: &AppState,
    principal: &AdminPrincipal,
    realm: &Realm,
    doc: Value,
) -> Result<ImportOutcome, AppError> {
    let Value::Object(doc) = doc else {
        return Err(AppError::bad_request("The partial import must be a JSON object"));
    };
    // `ifResourceExists` (Keycloak's field); `policy`, its enum twin in newer representations.
    let chosen = doc.get("ifResourceExists").or_else(|| doc.get("policy"));
    let policy = match chosen.and_then(Value::as_str).unwrap_or("FAIL") {
        "FAIL" => Policy::Fail,
        "SKIP" => Policy::Skip,
        "OVERWRITE" => Policy::Overwrite,
        other => {
            return Err(bad(
                "ifResourceExists",
                format!("must be FAIL, SKIP or OVERWRITE, not {}", other.escape_debug()),
            ))
        }
    };
    let mut warnings = Vec::new();
    for key in doc.keys() {
        if !["ifResourceExists", "policy", "users", "clients", "groups", "roles"].contains(&key.as_str()) {
            warnings.push(format!(
                "{key} ignored: partial import takes users, clients, groups and roles"
            ));
        }
    }
    let master = state.master_key.clone();
    let now = state.now();
    let requester = super::clients::approval_requester(principal);
    let realm_row = realm.clone();
    let principal_owned = principal.clone();
    let mut outcome = state
        .db
        .transaction(move |conn| -> Result<ImportOutcome, AppError> {
            let mut import = Import::new(realm_row.clone(), &master, policy, now, requester);
            import.run(conn, &doc, false)?;
            // Nobody hands out more than they hold (the admin API's rule for mappings).
            let mut granted = import.granted.clone();
            granted.sort();
            granted.dedup();
            super::roles::ensure_may_grant(conn, &principal_owned, &realm_row, &granted)?;
            Ok(import.outcome())
        })
        .await?;
    warnings.append(&mut outcome.warnings);
    outcome.warnings = warnings;
    invalidate(state, &realm.name).await;
    Ok(outcome)
}
