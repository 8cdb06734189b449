//! Who may administer what: one authorization layer for the admin API (and later the console).
//!
//! An admin of realm `master` holding the `admin` role manages every realm; any other realm's admin
//! only manages their own realm, through the client roles of `realm-management` (Keycloak's model).

use crate::domain::defaults::{
    CLIENT_REALM_MANAGEMENT, MASTER_REALM, ROLE_CREATE_REALM, ROLE_MASTER_ADMIN, ROLE_REALM_ADMIN,
};
use crate::domain::roles::EffectiveRoles;
use crate::domain::User;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminPermission {
    ViewRealm,
    ManageRealm,
    ViewUsers,
    ManageUsers,
    ViewClients,
    ManageClients,
    ViewEvents,
    ManageEvents,
}

impl AdminPermission {
    /// The `realm-management` roles that grant this permission.
    fn granted_by(self) -> &'static [&'static str] {
        match self {
            Self::ViewRealm => &["view-realm", "manage-realm"],
            Self::ManageRealm => &["manage-realm"],
            Self::ViewUsers => &["view-users", "manage-users", "query-users"],
            Self::ManageUsers => &["manage-users"],
            Self::ViewClients => &["view-clients", "manage-clients", "query-clients"],
            Self::ManageClients => &["manage-clients"],
            Self::ViewEvents => &["view-events", "manage-events"],
            Self::ManageEvents => &["manage-events"],
        }
    }
}

/// An authenticated administrator: the realm that issued their token and their current roles.
#[derive(Clone, Debug)]
pub struct AdminPrincipal {
    pub realm_name: String,
    pub user: User,
    pub roles: EffectiveRoles,
}

impl AdminPrincipal {
    pub fn is_master_admin(&self) -> bool {
        self.realm_name == MASTER_REALM && self.roles.has_realm_role(ROLE_MASTER_ADMIN)
    }

    /// May this admin do `permission` in `target_realm`?
    pub fn may(&self, target_realm: &str, permission: AdminPermission) -> bool {
        if self.is_master_admin() {
            return true;
        }
        if self.realm_name != target_realm {
            return false;
        }
        self.roles.has_client_role(CLIENT_REALM_MANAGEMENT, ROLE_REALM_ADMIN)
            || permission
                .granted_by()
                .iter()
                .any(|r| self.roles.has_client_role(CLIENT_REALM_MANAGEMENT, r))
    }

    pub fn may_create_realms(&self) -> bool {
        self.realm_name == MASTER_REALM
            && (self.roles.has_realm_role(ROLE_MASTER_ADMIN) || self.roles.has_realm_role(ROLE_CREATE_REALM))
    }

    /// Whether the realm list should show `realm_name` to this admin.
    pub fn sees_realm(&self, realm_name: &str) -> bool {
        self.is_master_admin() || self.realm_name == realm_name
    }
}
