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
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
pub struct SettingsPage<'a> {
    pub frame: Frame<'a>,
    pub form: &'a SettingsForm,
    pub error: Option<&'a str>,
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
    pub error: Option<&'a str>,
}

pub struct SessionRow {
    pub id: String,
    pub ip_address: String,
    pub started: String,
    pub last_access: String,
    pub clients: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
pub struct UserPage<'a> {
    pub frame: Frame<'a>,
    pub id: &'a str,
    pub form: &'a UserForm,
    pub service_account: bool,
    pub error: Option<&'a str>,
    pub password_error: Option<&'a str>,
    /// Realm roles mapped directly to the user.
    pub roles: &'a [String],
    /// Realm roles that could be added.
    pub available_roles: &'a [String],
    pub sessions: &'a [SessionRow],
}

pub struct RoleRow {
    pub name: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "admin/roles.html")]
pub struct RolesPage<'a> {
    pub frame: Frame<'a>,
    pub roles: &'a [RoleRow],
    pub error: Option<&'a str>,
    pub new_name: &'a str,
    pub new_description: &'a str,
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
    pub error: Option<&'a str>,
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
}

#[derive(Template)]
#[template(path = "admin/client.html")]
pub struct ClientPage<'a> {
    pub frame: Frame<'a>,
    pub id: &'a str,
    pub client_id: &'a str,
    pub kind: &'static str,
    pub confidential: bool,
    pub redirect_uris: &'a [String],
    pub web_origins: &'a [String],
    pub service_account: bool,
    pub standard_flow: bool,
    pub consent_required: bool,
    /// A secret just generated, shown this once.
    pub shown_secret: Option<&'a str>,
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
