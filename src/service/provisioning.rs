//! Creating a realm with everything Keycloak gives a new one, and bootstrapping an empty database.

use std::collections::HashMap;

use serde_json::{json, Map};

use super::new_id;
use crate::crypto::keys::GeneratedKey;
use crate::domain::defaults::{self, DEFAULT_SCOPES};
use crate::domain::{self, Client, ClientScope, Realm, Role};
use crate::store::db::{self, DbConnection};

/// A realm as an admin asked for it; unspecified settings take Keycloak's defaults.
#[derive(Clone, Debug)]
pub struct NewRealm {
    pub name: String,
    pub display_name: Option<String>,
    pub enabled: bool,
    pub access_token_lifespan: Option<i64>,
    pub sso_session_idle_timeout: Option<i64>,
    pub sso_session_max_lifespan: Option<i64>,
    pub refresh_token_lifespan: Option<i64>,
    pub attributes: domain::Attributes,
    /// Ids an import keeps for the realm and its built-in objects (ADR 019), keyed `realm`,
    /// `role:{name}`, `role:{clientId}/{name}`, `client:{clientId}`, `scope:{name}`; others get new ids.
    pub preset_ids: PresetIds,
}

/// See [`NewRealm::preset_ids`].
pub type PresetIds = HashMap<String, String>;

fn preset_id(preset: &PresetIds, key: String) -> String {
    preset.get(&key).cloned().unwrap_or_else(new_id)
}

impl NewRealm {
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            display_name: None,
            enabled: true,
            access_token_lifespan: None,
            sso_session_idle_timeout: None,
            sso_session_max_lifespan: None,
            refresh_token_lifespan: None,
            attributes: Map::new(),
            preset_ids: HashMap::new(),
        }
    }
}

/// Inserts the realm, its first signing key, default roles and scopes, and the built-in clients.
/// Run inside a transaction: a failure leaves nothing behind.
pub fn create_realm(
    conn: &mut DbConnection,
    spec: NewRealm,
    key: GeneratedKey,
    now: i64,
) -> diesel::QueryResult<Realm> {
    let preset = &spec.preset_ids;
    let realm = Realm {
        id: preset_id(preset, "realm".to_owned()),
        name: spec.name.clone(),
        display_name: spec.display_name,
        enabled: spec.enabled,
        access_token_lifespan: spec
            .access_token_lifespan
            .unwrap_or(domain::DEFAULT_ACCESS_TOKEN_LIFESPAN),
        sso_session_idle_timeout: spec
            .sso_session_idle_timeout
            .unwrap_or(domain::DEFAULT_SSO_SESSION_IDLE),
        sso_session_max_lifespan: spec.sso_session_max_lifespan.unwrap_or(domain::DEFAULT_SSO_SESSION_MAX),
        refresh_token_lifespan: spec
            .refresh_token_lifespan
            .unwrap_or(domain::DEFAULT_REFRESH_TOKEN_LIFESPAN),
        not_before: 0,
        attributes: spec.attributes.clone(),
        created_at: now,
    };
    db::realms::insert(conn, &realm)?;
    db::keys::insert(conn, &super::keys::record_for(&realm.id, key, now))?;

    // Realm roles and the composite every new user receives.
    let offline = realm_role(preset, &realm, defaults::ROLE_OFFLINE_ACCESS, "${role_offline-access}");
    let uma = realm_role(
        preset,
        &realm,
        defaults::ROLE_UMA_AUTHORIZATION,
        "${role_uma_authorization}",
    );
    let default_roles = realm_role(
        preset,
        &realm,
        &defaults::default_roles_name(&realm.name),
        "${role_default-roles}",
    );
    for role in [&offline, &uma, &default_roles] {
        db::roles::insert(conn, role)?;
    }
    db::roles::add_composite(conn, &default_roles.id, &offline.id)?;
    db::roles::add_composite(conn, &default_roles.id, &uma.id)?;

    // Client scopes, and which of them new clients get.
    for spec in DEFAULT_SCOPES {
        let mut attributes = Map::new();
        attributes.insert(
            "include.in.token.scope".into(),
            json!(spec.include_in_token_scope.to_string()),
        );
        // Scopes without a consent text (web-origins) are not shown on the consent page.
        let on_consent_screen = !spec.consent_text.is_empty();
        attributes.insert("display.on.consent.screen".into(), json!(on_consent_screen.to_string()));
        if !spec.consent_text.is_empty() {
            attributes.insert("consent.screen.text".into(), json!(spec.consent_text));
        }
        let scope = ClientScope {
            id: preset_id(preset, format!("scope:{}", spec.name)),
            realm_id: realm.id.clone(),
            name: spec.name.to_owned(),
            description: Some(spec.description.to_owned()),
            protocol: "openid-connect".to_owned(),
            attributes,
        };
        db::scopes::insert(conn, &scope)?;
        db::scopes::set_realm_default(conn, &realm.id, &scope.id, spec.default)?;
    }

    // Built-in clients.
    let mut account = builtin_client(preset, &realm, defaults::CLIENT_ACCOUNT, now);
    account.public_client = true;
    account.standard_flow_enabled = true;
    account.base_url = Some(format!("/realms/{}/account/", realm.name));
    // Keycloak's registration, relative to the server's URL: the account page signs in through it.
    account.redirect_uris = vec![format!("/realms/{}/account/*", realm.name)];
    super::clients::insert_with_realm_defaults(conn, &account)?;
    let manage_links = client_role(preset, &realm, &account, "manage-account-links");
    db::roles::insert(conn, &manage_links)?;
    for name in defaults::ACCOUNT_DEFAULT_ROLES {
        let role = client_role(preset, &realm, &account, name);
        db::roles::insert(conn, &role)?;
        db::roles::add_composite(conn, &default_roles.id, &role.id)?;
        if *name == "manage-account" {
            db::roles::add_composite(conn, &role.id, &manage_links.id)?;
        }
    }

    super::clients::insert_with_realm_defaults(conn, &admin_console_client(preset, &realm, now))?;

    let mut admin_cli = builtin_client(preset, &realm, defaults::CLIENT_ADMIN_CLI, now);
    admin_cli.public_client = true;
    admin_cli.direct_access_grants_enabled = true;
    super::clients::insert_with_realm_defaults(conn, &admin_cli)?;

    let mut management = builtin_client(preset, &realm, defaults::CLIENT_REALM_MANAGEMENT, now);
    management.bearer_only = true;
    management.standard_flow_enabled = false;
    super::clients::insert_with_realm_defaults(conn, &management)?;
    let realm_admin = client_role(preset, &realm, &management, defaults::ROLE_REALM_ADMIN);
    db::roles::insert(conn, &realm_admin)?;
    for name in defaults::REALM_MANAGEMENT_ROLES {
        let role = client_role(preset, &realm, &management, name);
        db::roles::insert(conn, &role)?;
        db::roles::add_composite(conn, &realm_admin.id, &role.id)?;
    }

    if realm.name == defaults::MASTER_REALM {
        let create_realm = realm_role(preset, &realm, defaults::ROLE_CREATE_REALM, "${role_create-realm}");
        let admin = realm_role(preset, &realm, defaults::ROLE_MASTER_ADMIN, "${role_admin}");
        db::roles::insert(conn, &create_realm)?;
        db::roles::insert(conn, &admin)?;
        db::roles::add_composite(conn, &admin.id, &create_realm.id)?;
        db::roles::add_composite(conn, &admin.id, &realm_admin.id)?;
    }
    Ok(realm)
}

fn realm_role(preset: &PresetIds, realm: &Realm, name: &str, description: &str) -> Role {
    Role {
        id: preset_id(preset, format!("role:{name}")),
        realm_id: realm.id.clone(),
        container_id: realm.id.clone(),
        client_role: false,
        name: name.to_owned(),
        description: Some(description.to_owned()),
        attributes: Map::new(),
    }
}

fn client_role(preset: &PresetIds, realm: &Realm, client: &Client, name: &str) -> Role {
    Role {
        id: preset_id(preset, format!("role:{}/{name}", client.client_id)),
        realm_id: realm.id.clone(),
        container_id: client.id.clone(),
        client_role: true,
        name: name.to_owned(),
        description: Some(format!("${{role_{name}}}")),
        attributes: Map::new(),
    }
}

fn builtin_client(preset: &PresetIds, realm: &Realm, client_id: &str, now: i64) -> Client {
    let mut client = super::clients::blank_client(&realm.id, client_id, now);
    client.id = preset_id(preset, format!("client:{client_id}"));
    client.name = Some(format!("${{client_{client_id}}}"));
    client.standard_flow_enabled = false;
    client
}

/// On a first start against an empty database: realm `master`, its admin user, `admin-cli`.
/// Returns the admin's username when it created them.
pub fn bootstrap(
    conn: &mut DbConnection,
    key: GeneratedKey,
    admin_username: &str,
    admin_password_hash: String,
    now: i64,
) -> diesel::QueryResult<Option<String>> {
    if db::realms::count(conn)? > 0 {
        return Ok(None);
    }
    let mut spec = NewRealm::named(defaults::MASTER_REALM);
    spec.display_name = Some("Nexus".to_owned());
    let realm = create_realm(conn, spec, key, now)?;
    let user = super::users::blank_user(&realm.id, &admin_username.to_lowercase(), now);
    super::users::insert_with_default_roles(conn, &realm, &user)?;
    super::users::set_password_hash(conn, &user.id, admin_password_hash, false, now)?;
    if let Some(admin) = db::roles::find_by_name(conn, &realm.id, defaults::ROLE_MASTER_ADMIN)? {
        db::roles::grant_to_user(conn, &user.id, &admin.id)?;
    }
    Ok(Some(user.username))
}

/// Keycloak's `security-admin-console`: the public client the admin console signs in as, with the
/// console's relative redirect URI (resolved against the public URL, as the account client's).
fn admin_console_client(preset: &PresetIds, realm: &Realm, now: i64) -> Client {
    let mut console = builtin_client(preset, realm, defaults::CLIENT_ADMIN_CONSOLE, now);
    console.public_client = true;
    console.standard_flow_enabled = true;
    console.base_url = Some(format!("/admin/{}/console/", realm.name));
    console.redirect_uris = vec![format!("/admin/{}/console/*", realm.name)];
    console
}

/// Gives a realm stored before the admin console existed its `security-admin-console` client;
/// whether it had to. Run in a write transaction.
pub fn ensure_admin_console_client(conn: &mut DbConnection, realm: &Realm, now: i64) -> diesel::QueryResult<bool> {
    if db::clients::find_by_client_id(conn, &realm.id, defaults::CLIENT_ADMIN_CONSOLE)?.is_some() {
        return Ok(false);
    }
    super::clients::insert_with_realm_defaults(conn, &admin_console_client(&HashMap::new(), realm, now))?;
    Ok(true)
}

/// The built-in client ids a realm always has; deleting them is refused.
pub fn is_builtin_client(client_id: &str) -> bool {
    matches!(
        client_id,
        defaults::CLIENT_ACCOUNT
            | defaults::CLIENT_ADMIN_CLI
            | defaults::CLIENT_ADMIN_CONSOLE
            | defaults::CLIENT_REALM_MANAGEMENT
    )
}
