//! The admin console's pages (askama templates in `templates/admin/`).

use askama::Template;

use crate::service::authz::{AdminPermission, AdminPrincipal};

/// What the viewer may do in the realm shown: pages show only the controls they may use.
#[derive(Clone, Copy, Default)]
pub struct Rights {
    pub view_realm: bool,
    pub manage_realm: bool,
    pub view_users: bool,
    pub manage_users: bool,
    pub view_clients: bool,
    pub manage_clients: bool,
    pub view_events: bool,
    pub manage_events: bool,
}

impl Rights {
    pub fn of(principal: &AdminPrincipal, realm: &str) -> Self {
        let may = |p| principal.may(realm, p);
        Self {
            view_realm: may(AdminPermission::ViewRealm),
            manage_realm: may(AdminPermission::ManageRealm),
            view_users: may(AdminPermission::ViewUsers),
            manage_users: may(AdminPermission::ManageUsers),
            view_clients: may(AdminPermission::ViewClients),
            manage_clients: may(AdminPermission::ManageClients),
            view_events: may(AdminPermission::ViewEvents),
            manage_events: may(AdminPermission::ManageEvents),
        }
    }
}

/// Around every page: who is signed in, the realm managed, the navigation, a notice.
pub struct Frame<'a> {
    /// `/admin/{realm}/console`.
    pub base: &'a str,
    pub username: &'a str,
    pub logout_url: &'a str,
    pub csrf_token: &'a str,
    /// The realm managed, for the side navigation.
    pub target: &'a str,
    /// The section shown (`settings`, `users`, `roles`, `clients`, `keys`, `realms`).
    pub section: &'a str,
    pub notice: Option<&'a str>,
    pub rights: Rights,
}

pub struct RealmRow {
    pub name: String,
    pub display_name: String,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "admin/realms.html")]
pub struct RealmsPage<'a> {
    pub frame: Frame<'a>,
    pub realms: &'a [RealmRow],
    pub may_create: bool,
    pub error: Option<&'a str>,
    pub new_name: &'a str,
    pub pager: Pager,
}

/// Paging links of a list (`first`/`max` as in Keycloak's API, done in the database).
pub struct Pager {
    pub first: i64,
    pub max: i64,
    pub total: i64,
    /// The query string of the list without `first` (the search), for the links.
    pub query: String,
}

impl Pager {
    pub fn has_previous(&self) -> bool {
        self.first > 0
    }
    pub fn has_next(&self) -> bool {
        self.first + self.max < self.total
    }
    pub fn previous(&self) -> i64 {
        (self.first - self.max).max(0)
    }
    pub fn next(&self) -> i64 {
        self.first + self.max
    }
    pub fn from(&self) -> i64 {
        if self.total == 0 {
            0
        } else {
            self.first + 1
        }
    }
    pub fn to(&self) -> i64 {
        (self.first + self.max).min(self.total)
    }
}

/// The realm settings form, as typed.
#[derive(Default)]
pub struct SettingsForm {
    pub display_name: String,
    pub enabled: bool,
    pub access_token_lifespan: String,
    pub sso_session_idle_timeout: String,
    pub sso_session_max_lifespan: String,
    pub refresh_token_lifespan: String,
    pub rate_limit_requests: String,
    pub rate_limit_failures: String,
    pub api_key_live: bool,
    pub api_key_test: bool,
    pub brute_force: bool,
    pub permanent_lockout: bool,
    /// New service accounts and their API keys wait for a second administrator (ADR 016).
    pub dual_control: bool,
    pub failure_factor: String,
    pub wait_increment: String,
    pub max_failure_wait: String,
    pub max_delta: String,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
pub struct SettingsPage<'a> {
    pub frame: Frame<'a>,
    pub form: &'a SettingsForm,
    pub errors: &'a super::common::FormErrors,
}

pub struct UserRow {
    pub id: String,
    pub username: String,
    pub email: String,
    pub name: String,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage<'a> {
    pub frame: Frame<'a>,
    pub users: &'a [UserRow],
    pub search: &'a str,
    pub pager: Pager,
}

/// A user's details form, as typed.
#[derive(Default)]
pub struct UserForm {
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub enabled: bool,
    pub email_verified: bool,
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
pub struct NewUserPage<'a> {
    pub frame: Frame<'a>,
    pub form: &'a UserForm,
    pub errors: &'a super::common::FormErrors,
}

pub struct SessionRow {
    pub id: String,
    pub ip_address: String,
    pub started: String,
    pub last_access: String,
    pub clients: String,
}

/// A group on a user's page: its id and path (`/parent/child`).
pub struct GroupOption {
    pub id: String,
    pub path: String,
}

pub struct ConsentRow {
    pub client_id: String,
    pub scopes: String,
    pub granted: String,
}

pub struct UserKeyRow {
    pub id: String,
    pub prefix: String,
    pub description: String,
    pub kind: &'static str,
    pub environment: &'static str,
    pub status: &'static str,
    pub expires: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
pub struct UserPage<'a> {
    pub frame: Frame<'a>,
    pub id: &'a str,
    pub form: &'a UserForm,
    pub service_account: bool,
    pub errors: &'a super::common::FormErrors,
    pub password_errors: &'a super::common::FormErrors,
    /// Realm and client roles mapped directly to the user.
    pub mappings: &'a MappingsView,
    pub groups: &'a [GroupOption],
    pub other_groups: &'a [GroupOption],
    pub sessions: &'a [SessionRow],
    pub consents: &'a [ConsentRow],
    pub api_keys: &'a [UserKeyRow],
    pub key_form: &'a ApiKeyForm,
    pub key_errors: &'a super::common::FormErrors,
    /// A key secret just generated, shown this once.
    pub shown_secret: Option<&'a str>,
}

/// The new-API-key form of a user's page, as typed.
#[derive(Default)]
pub struct ApiKeyForm {
    pub description: String,
    /// `secret` or `publishable`.
    pub kind: String,
    /// `live` or `test`.
    pub environment: String,
    /// `yyyy-mm-dd`, empty for the default lifetime.
    pub expires: String,
}

pub struct RoleRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub composite: bool,
}

#[derive(Template)]
#[template(path = "admin/roles.html")]
pub struct RolesPage<'a> {
    pub frame: Frame<'a>,
    pub roles: &'a [RoleRow],
    pub errors: &'a super::common::FormErrors,
    pub new_name: &'a str,
    pub new_description: &'a str,
    pub search: &'a str,
    pub pager: Pager,
}

pub struct ClientRow {
    pub id: String,
    pub client_id: String,
    pub kind: &'static str,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
pub struct ClientsPage<'a> {
    pub frame: Frame<'a>,
    pub clients: &'a [ClientRow],
    pub errors: &'a super::common::FormErrors,
    pub form: &'a ClientForm,
    pub pager: Pager,
}

/// The new-client form, as typed.
#[derive(Default)]
pub struct ClientForm {
    pub client_id: String,
    /// `confidential` or `public`.
    pub kind: String,
    pub redirect_uris: String,
    pub service_account: bool,
    pub consent_required: bool,
}

pub struct KeyRow {
    pub kid: String,
    pub algorithm: String,
    pub status: &'static str,
    pub created: String,
    pub valid_to: String,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
pub struct KeysPage<'a> {
    pub frame: Frame<'a>,
    pub keys: &'a [KeyRow],
}

/// "Are you sure?" before anything destructive: works without JavaScript.
#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub struct ConfirmPage<'a> {
    pub frame: Frame<'a>,
    pub title: &'a str,
    pub explanation: &'a str,
    pub action: &'a str,
    pub button: &'a str,
    pub cancel: &'a str,
}

/// A role in a role-mapping list: `value` names it in a form (`common::RoleRef`), `label` shows
/// whose it is.
pub struct RoleOption {
    pub value: String,
    pub label: String,
}

/// The role mappings of a user, group or service account, with the form that changes them
/// (`templates/admin/mappings.html`).
pub struct MappingsView {
    /// Where the add/remove form posts.
    pub action: String,
    /// Whether the viewer may change them.
    pub manage: bool,
    pub assigned: Vec<RoleOption>,
    pub available: Vec<RoleOption>,
}

/// The client settings form, as stored or as typed.
#[derive(Default)]
pub struct ClientSettingsForm {
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// `confidential` or `public`.
    pub kind: String,
    /// Keycloak's `clientAuthenticatorType` of a confidential client.
    pub authenticator: String,
    pub redirect_uris: String,
    pub web_origins: String,
    pub post_logout_redirect_uris: String,
    pub standard_flow: bool,
    pub direct_access_grants: bool,
    pub service_account: bool,
    pub consent_required: bool,
    /// Registered keys for `private_key_jwt`: a JWKS, or a PEM certificate or public key.
    pub public_keys: String,
    pub scopes: Vec<ScopeChoiceRow>,
}

/// One client scope on the client form: `none`, `default` or `optional`.
pub struct ScopeChoiceRow {
    pub name: String,
    pub description: String,
    pub choice: &'static str,
}

pub struct ClientRoleRow {
    pub id: String,
    pub name: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "admin/client.html")]
pub struct ClientEditPage<'a> {
    pub frame: Frame<'a>,
    pub id: &'a str,
    pub stored_client_id: &'a str,
    /// The stored type: `confidential`, `public` or `bearer-only`.
    pub kind: &'static str,
    /// Its service account awaits a second administrator's approval (dual control, ADR 016).
    pub pending_approval: bool,
    pub builtin: bool,
    pub confidential: bool,
    pub form: &'a ClientSettingsForm,
    pub errors: &'a super::common::FormErrors,
    /// A secret just generated, shown this once.
    pub shown_secret: Option<&'a str>,
    pub roles: &'a [ClientRoleRow],
    pub role_errors: &'a super::common::FormErrors,
    pub new_role_name: &'a str,
    /// The service account's user and role mappings, when the client has one.
    pub service_account_user: Option<&'a str>,
    pub mappings: Option<&'a MappingsView>,
}

#[derive(Template)]
#[template(path = "admin/role.html")]
pub struct RolePage<'a> {
    pub frame: Frame<'a>,
    pub id: &'a str,
    /// The client whose role it is (`clientId`, internal id), `None` for a realm role.
    pub client: Option<(&'a str, &'a str)>,
    pub stored_name: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub errors: &'a super::common::FormErrors,
    /// Whether the viewer may change this role.
    pub manage: bool,
    /// Its composites (values are role ids).
    pub mappings: &'a MappingsView,
    pub users: &'a [UserRow],
}

pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub path: String,
    /// How deep below the top (for indenting the tree).
    pub depth: usize,
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
pub struct GroupsPage<'a> {
    pub frame: Frame<'a>,
    pub groups: &'a [GroupRow],
    pub errors: &'a super::common::FormErrors,
    pub new_name: &'a str,
    pub new_parent: &'a str,
}

#[derive(Template)]
#[template(path = "admin/group.html")]
pub struct GroupPage<'a> {
    pub frame: Frame<'a>,
    pub id: &'a str,
    pub path: &'a str,
    pub name: &'a str,
    pub errors: &'a super::common::FormErrors,
    pub mappings: &'a MappingsView,
    pub members: &'a [UserRow],
    pub pager: Pager,
}

pub struct ScopeRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub claims: String,
    pub on_consent: bool,
}

#[derive(Template)]
#[template(path = "admin/scopes.html")]
pub struct ScopesPage<'a> {
    pub frame: Frame<'a>,
    pub scopes: &'a [ScopeRow],
    pub errors: &'a super::common::FormErrors,
    pub form: &'a ScopeForm,
}

/// A client scope's form, as stored or as typed.
#[derive(Default)]
pub struct ScopeForm {
    pub name: String,
    pub description: String,
    pub consent_text: String,
    pub display_on_consent: bool,
    pub include_in_token_scope: bool,
}

#[derive(Template)]
#[template(path = "admin/scope.html")]
pub struct ScopePage<'a> {
    pub frame: Frame<'a>,
    pub id: &'a str,
    pub stored_name: &'a str,
    pub claims: &'a [&'static str],
    pub errors: &'a super::common::FormErrors,
    pub form: &'a ScopeForm,
}

pub struct RealmSessionRow {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub ip_address: String,
    pub started: String,
    pub last_access: String,
    pub clients: String,
}

#[derive(Template)]
#[template(path = "admin/sessions.html")]
pub struct SessionsPage<'a> {
    pub frame: Frame<'a>,
    pub sessions: &'a [RealmSessionRow],
    pub pager: Pager,
}

pub struct EventRowView {
    pub time: String,
    pub kind: String,
    pub client_id: String,
    pub user_id: String,
    pub ip_address: String,
    pub error: String,
    pub details: String,
}

/// The filters of the events page, as typed.
#[derive(Default)]
pub struct EventFilterForm {
    pub kind: String,
    pub client: String,
    pub user: String,
    pub ip_address: String,
    pub date_from: String,
    pub date_to: String,
}

#[derive(Template)]
#[template(path = "admin/events.html")]
pub struct EventsPage<'a> {
    pub frame: Frame<'a>,
    pub events: &'a [EventRowView],
    pub filter: &'a EventFilterForm,
    pub error: Option<&'a str>,
    pub first: i64,
    pub has_next: bool,
    /// The filters as a query string, for the paging links.
    pub query: &'a str,
}

pub struct AdminEventRowView {
    pub time: String,
    pub operation: String,
    pub resource_type: String,
    pub resource_path: String,
    pub auth_user_id: String,
    pub auth_client_id: String,
    pub ip_address: String,
    pub representation: String,
}

/// The filters of the admin events page, as typed (Keycloak's query names).
#[derive(Default)]
pub struct AdminEventFilterForm {
    pub operation: String,
    pub resource_type: String,
    pub resource_path: String,
    pub auth_user: String,
}

#[derive(Template)]
#[template(path = "admin/admin_events.html")]
pub struct AdminEventsPage<'a> {
    pub frame: Frame<'a>,
    pub events: &'a [AdminEventRowView],
    pub filter: &'a AdminEventFilterForm,
    pub first: i64,
    pub has_next: bool,
    pub query: &'a str,
}

pub struct ServiceAccountRow {
    pub client_uuid: String,
    pub client_id: String,
    pub user_id: String,
    pub enabled: bool,
    pub roles: String,
    pub api_keys: usize,
}

#[derive(Template)]
#[template(path = "admin/service_accounts.html")]
pub struct ServiceAccountsPage<'a> {
    pub frame: Frame<'a>,
    pub accounts: &'a [ServiceAccountRow],
}

/// A realm's event settings, as stored or as typed.
#[derive(Default)]
pub struct EventSettingsForm {
    pub events_enabled: bool,
    /// Seconds, empty for ever.
    pub expiration: String,
    /// Space-separated type names, empty for every type.
    pub types: String,
    pub admin_events_enabled: bool,
    pub admin_events_details_enabled: bool,
}

#[derive(Template)]
#[template(path = "admin/event_settings.html")]
pub struct EventSettingsPage<'a> {
    pub frame: Frame<'a>,
    pub form: &'a EventSettingsForm,
    pub errors: &'a super::common::FormErrors,
}
