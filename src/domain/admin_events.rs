//! What an admin write is, as Keycloak's admin events name it: the operation (`CREATE`, `UPDATE`,
//! `DELETE`, `ACTION`), the resource type (`USER`, `CLIENT_ROLE`, …) and the resource path relative
//! to the realm (`users/{id}/role-mappings/realm`), read from the request's method and path; and the
//! representation with every secret removed. See docs/adr/021-admin-events.md.

use serde_json::{Map, Value};

pub const CREATE: &str = "CREATE";
pub const UPDATE: &str = "UPDATE";
pub const DELETE: &str = "DELETE";
pub const ACTION: &str = "ACTION";

/// Where a write was made: Keycloak's admin REST API or nexus's admin console (whose paths after
/// `/r/{realm}/` follow the REST API's, with verbs such as `delete` as the last segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    Rest,
    Console,
}

/// A write to a realm's admin resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminWrite {
    /// The realm written to; `None`: the realm list itself (`POST /admin/realms`).
    pub realm: Option<String>,
    pub operation: &'static str,
    pub resource_type: &'static str,
    /// Relative to the realm, without the console's verbs.
    pub resource_path: String,
}

/// Segments after which the last path segment names an action rather than a resource.
const ACTIONS: &[&str] = &[
    "reset-password",
    "logout",
    "logout-all",
    "push-revocation",
    "rotate",
    "regenerate",
    "approve",
    "reject",
    "client-secret",
    "secret",
    "password",
    "end",
    "sign-out-all",
];

/// Collections a console form creates into (`POST …/users`).
const COLLECTIONS: &[&str] = &[
    "users",
    "clients",
    "roles",
    "groups",
    "client-scopes",
    "api-keys",
    "children",
];

/// The admin write a request is, if it is one. `path` is the request's path.
pub fn admin_write(method: &str, path: &str) -> Option<AdminWrite> {
    // Checked before splitting the path: every request passes here, the token endpoint's too.
    if matches!(method, "GET" | "HEAD" | "OPTIONS") || !path.starts_with("/admin/") {
        return None;
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["admin", "realms"] if method == "POST" => Some(AdminWrite {
            realm: None,
            operation: CREATE,
            resource_type: "REALM",
            resource_path: String::new(),
        }),
        ["admin", "realms", realm, rest @ ..] => rest_write(method, realm, rest),
        ["admin", _, "console", "realms"] if method == "POST" => Some(AdminWrite {
            realm: None,
            operation: CREATE,
            resource_type: "REALM",
            resource_path: String::new(),
        }),
        ["admin", _, "console", "r", realm, rest @ ..] if method == "POST" => console_write(realm, rest),
        _ => None,
    }
}

fn rest_write(method: &str, realm: &str, rest: &[&str]) -> Option<AdminWrite> {
    // Reads that are POSTs in Keycloak's API.
    if rest == ["partial-export"] {
        return None;
    }
    let last = rest.last().copied().unwrap_or_default();
    let operation = match method {
        "DELETE" => DELETE,
        "PUT" => UPDATE,
        _ if ACTIONS.contains(&last) => ACTION,
        "POST" => CREATE,
        _ => return None,
    };
    Some(AdminWrite {
        realm: Some(realm.to_owned()),
        operation,
        resource_type: resource_type(rest),
        resource_path: rest.join("/"),
    })
}

fn console_write(realm: &str, rest: &[&str]) -> Option<AdminWrite> {
    let (last, before) = rest.split_last()?;
    let (operation, resource) = match *last {
        "delete" => (DELETE, before),
        "new" => (CREATE, before),
        verb if ACTIONS.contains(&verb) => (ACTION, rest),
        collection if COLLECTIONS.contains(&collection) && creates_into(rest) => (CREATE, rest),
        _ => (UPDATE, rest),
    };
    Some(AdminWrite {
        realm: Some(realm.to_owned()),
        operation,
        resource_type: resource_type(resource),
        resource_path: resource.join("/"),
    })
}

/// Whether a console POST to this collection path adds to it (a new user, a client's new role) or
/// sets what an object holds (a user's roles, their groups: an update of the user's mappings).
fn creates_into(rest: &[&str]) -> bool {
    matches!(
        rest,
        [_] | ["clients", _, "roles"] | ["groups", _, "children"] | ["users", _, "api-keys"]
    )
}

/// Keycloak's `ResourceType` of a path relative to the realm; nexus's own resources get names in
/// the same style (`API_KEY`, `PENDING_APPROVAL`).
pub fn resource_type(rest: &[&str]) -> &'static str {
    match rest {
        [] => "REALM",
        ["users" | "groups", _, "role-mappings", "realm", ..] => "REALM_ROLE_MAPPING",
        ["users" | "groups", _, "role-mappings", "clients", ..] => "CLIENT_ROLE_MAPPING",
        ["users" | "groups", _, "role-mappings", ..] | ["users" | "groups", _, "roles", ..] => "REALM_ROLE_MAPPING",
        ["users", _, "groups", ..] => "GROUP_MEMBERSHIP",
        ["users", _, "api-keys", ..] => "API_KEY",
        ["users", ..] => "USER",
        ["clients", _, "roles", ..] => "CLIENT_ROLE",
        ["clients", _, "scope-mappings", ..] => "CLIENT_SCOPE_MAPPING",
        ["clients", _, "service-account-roles", ..] => "CLIENT_ROLE_MAPPING",
        ["clients", ..] => "CLIENT",
        ["roles" | "roles-by-id", ..] => "REALM_ROLE",
        ["groups", ..] => "GROUP",
        ["client-scopes", ..] | ["default-default-client-scopes" | "default-optional-client-scopes", ..] => {
            "CLIENT_SCOPE"
        }
        ["sessions", ..] => "USER_SESSION",
        ["attack-detection", ..] => "USER_LOGIN_FAILURE",
        ["keys", ..] => "COMPONENT",
        ["pending-approvals" | "approvals", ..] => "PENDING_APPROVAL",
        _ => "REALM",
    }
}

/// Field names whose values are secrets (compared lower-case, ignoring `-` and `_`).
fn is_secret_field(name: &str) -> bool {
    let name: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    name.contains("secret")
        || name.contains("password")
        || name.contains("credential")
        || name.contains("privatekey")
        || name.contains("csrf")
        || name == "value"
        || name == "hashedsaltedvalue"
        || name == "salt"
}

/// `value` without any secret: every field named like one is removed, at any depth.
pub fn without_secrets(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .filter(|(name, _)| !is_secret_field(name))
                .map(|(name, v)| (name, without_secrets(v)))
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_secrets).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(method: &str, path: &str) -> (Option<String>, &'static str, &'static str, String) {
        let w = admin_write(method, path).expect("a write");
        (w.realm, w.operation, w.resource_type, w.resource_path)
    }

    #[test]
    fn rest_writes_are_named_as_keycloak_names_them() {
        assert_eq!(
            write("POST", "/admin/realms/acme/users"),
            (Some("acme".into()), CREATE, "USER", "users".into())
        );
        assert_eq!(write("PUT", "/admin/realms/acme/users/u1").1, UPDATE);
        assert_eq!(
            write("DELETE", "/admin/realms/acme/clients/c1/roles/r").2,
            "CLIENT_ROLE"
        );
        assert_eq!(
            write("POST", "/admin/realms/acme/users/u1/role-mappings/realm").2,
            "REALM_ROLE_MAPPING"
        );
        assert_eq!(
            write("PUT", "/admin/realms/acme/users/u1/reset-password").1,
            UPDATE,
            "Keycloak's reset-password is a PUT"
        );
        assert_eq!(
            write("POST", "/admin/realms/acme/logout-all"),
            (Some("acme".into()), ACTION, "REALM", "logout-all".into())
        );
        assert_eq!(
            write("POST", "/admin/realms/acme/users/u1/api-keys/k/rotate").2,
            "API_KEY"
        );
        assert_eq!(write("PUT", "/admin/realms/acme").2, "REALM");
        assert_eq!(write("POST", "/admin/realms").0, None);
        assert!(admin_write("GET", "/admin/realms/acme/users").is_none());
        assert!(admin_write("POST", "/admin/realms/acme/partial-export").is_none());
        assert!(admin_write("POST", "/realms/acme/protocol/openid-connect/token").is_none());
    }

    #[test]
    fn console_posts_name_the_resource_without_the_verb() {
        assert_eq!(
            write("POST", "/admin/master/console/r/acme/users/u1/delete"),
            (Some("acme".into()), DELETE, "USER", "users/u1".into())
        );
        assert_eq!(write("POST", "/admin/master/console/r/acme/users").1, CREATE);
        assert_eq!(write("POST", "/admin/master/console/r/acme/users/u1").1, UPDATE);
        assert_eq!(write("POST", "/admin/master/console/r/acme/users/u1/roles").1, UPDATE);
        assert_eq!(write("POST", "/admin/master/console/r/acme/clients/c1/roles").1, CREATE);
        assert_eq!(
            write("POST", "/admin/master/console/r/acme/clients/c1/secret").1,
            ACTION
        );
        assert_eq!(write("POST", "/admin/master/console/r/acme/keys/rotate").2, "COMPONENT");
        assert!(admin_write("GET", "/admin/master/console/r/acme/users").is_none());
    }

    #[test]
    fn secrets_are_removed_at_any_depth() {
        let repr = json!({
            "clientId": "app",
            "secret": "s3cr3t",
            "attributes": { "client.secret.creation.time": "1" },
            "credentials": [{ "type": "password", "value": "pw" }],
            "users": [{ "username": "a", "password": "x", "apiSecret": "y" }],
            "_csrf": "t",
            "redirectUris": ["https://app/cb"],
        });
        let clean = without_secrets(repr);
        assert_eq!(
            clean,
            json!({ "clientId": "app", "attributes": {}, "users": [{ "username": "a" }], "redirectUris": ["https://app/cb"] })
        );
    }
}
