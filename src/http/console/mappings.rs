//! Role mappings on the console's pages (users, groups, service accounts): the lists of assigned
//! and assignable roles, and the form that changes them through the admin API's `map_roles`.

use std::collections::HashMap;

use super::common::field;
use super::views::{MappingsView, RoleOption};
use super::Admin;
use crate::domain::Role;
use crate::error::AppError;
use crate::http::admin::repr::RoleRepr;
use crate::http::admin::roles::{self as role_api, MappingScope, Subject};
use crate::oauth::params::FormParams;
use crate::state::AppState;
use crate::store::db::{self, DbConnection};

/// How many roles a picker offers: beyond that a realm needs the REST API (or a search, later).
const MAX_ROLES_OFFERED: i64 = 2000;

/// A role as a form names it: `realm/{name}` or `client/{client uuid}/{name}` (uuids hold no `/`,
/// so a role name may).
pub fn role_value(role: &Role) -> String {
    if role.client_role {
        format!("client/{}/{}", role.container_id, role.name)
    } else {
        format!("realm/{}", role.name)
    }
}

/// The container and name a form's value names, `None` for anything else.
pub fn parse_role_value(value: &str) -> Option<(MappingScope, String)> {
    if let Some(name) = value.strip_prefix("realm/") {
        return (!name.is_empty()).then(|| (MappingScope::Realm, name.to_owned()));
    }
    let rest = value.strip_prefix("client/")?;
    let (client, name) = rest.split_once('/')?;
    (!client.is_empty() && !name.is_empty()).then(|| (MappingScope::Client(client.to_owned()), name.to_owned()))
}

/// `name`, or `client › name` for a client role.
pub fn role_label(role: &Role, client_ids: &HashMap<String, String>) -> String {
    if role.client_role {
        let client = client_ids.get(&role.container_id).map(String::as_str).unwrap_or("?");
        format!("{client} › {}", role.name)
    } else {
        role.name.clone()
    }
}

/// Every role of the realm: its realm roles, then the roles of each client.
pub fn all_roles(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<Role>, AppError> {
    let mut roles = db::roles::list_in_container(conn, realm_id, None, 0, MAX_ROLES_OFFERED)?;
    for (internal_id, _) in db::clients::client_ids_by_id(conn, realm_id)? {
        roles.extend(db::roles::list_in_container(
            conn,
            &internal_id,
            None,
            0,
            MAX_ROLES_OFFERED,
        )?);
    }
    Ok(roles)
}

/// Options for `roles`, realm roles first, then by client and name.
pub fn options(roles: &[Role], client_ids: &HashMap<String, String>) -> Vec<RoleOption> {
    let mut sorted: Vec<&Role> = roles.iter().collect();
    sorted.sort_by_key(|r| (r.client_role, role_label(r, client_ids)));
    sorted
        .into_iter()
        .map(|r| RoleOption {
            value: role_value(r),
            label: role_label(r, client_ids),
        })
        .collect()
}

/// The mappings view of a subject whose directly mapped roles are `direct`.
pub fn view(
    conn: &mut DbConnection,
    realm_id: &str,
    direct: &[Role],
    action: String,
    manage: bool,
) -> Result<MappingsView, AppError> {
    let client_ids: HashMap<String, String> = db::clients::client_ids_by_id(conn, realm_id)?.into_iter().collect();
    let available: Vec<Role> = if manage {
        all_roles(conn, realm_id)?
            .into_iter()
            .filter(|r| !direct.iter().any(|d| d.id == r.id))
            .collect()
    } else {
        Vec::new()
    };
    Ok(MappingsView {
        action,
        manage,
        assigned: options(direct, &client_ids),
        available: options(&available, &client_ids),
    })
}

/// Applies the mapping form (`add` or `remove`, one role) to `subject` through the admin API.
/// `Ok(false)` when the form named no role.
pub async fn change(
    state: &AppState,
    admin: &Admin,
    target: &str,
    subject: Subject,
    form: &FormParams,
) -> Result<bool, AppError> {
    let (value, add) = match (field(form, "add"), field(form, "remove")) {
        (add, _) if !add.is_empty() => (add, true),
        (_, remove) if !remove.is_empty() => (remove, false),
        _ => return Ok(false),
    };
    let (scope, name) = parse_role_value(&value).ok_or_else(|| AppError::bad_request("Unknown role"))?;
    let repr = RoleRepr {
        name: Some(name),
        ..RoleRepr::default()
    };
    role_api::map_roles(state, &admin.principal, target, subject, scope, vec![repr], add).await?;
    Ok(true)
}
