//! Effective roles of a user from the database: direct, through groups, and composites.

use std::collections::HashMap;

use crate::domain::roles::{effective_roles, expand_composites, EffectiveRoles};
use crate::store::db::{self, DbConnection};

/// Every role `user_id` holds in `realm_id`, expanded, named as tokens name them.
pub fn effective_roles_of(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: &str,
) -> diesel::QueryResult<EffectiveRoles> {
    let direct = db::roles::mapped_role_ids(conn, user_id)?;
    if direct.is_empty() {
        return Ok(EffectiveRoles::default());
    }
    let graph = db::roles::composite_graph(conn, realm_id)?;
    let all: Vec<String> = expand_composites(&direct, &graph).into_iter().collect();
    let roles = db::roles::roles_by_ids(conn, &all)?;
    let client_ids: HashMap<String, String> = db::clients::client_ids_by_id(conn, realm_id)?.into_iter().collect();
    Ok(effective_roles(roles.iter(), &client_ids))
}

/// The user (by id, in the realm) with their effective roles; `None` when there is no such user.
pub async fn user_with_roles(
    db: &db::Db,
    realm_id: &str,
    user_id: &str,
) -> Result<Option<(crate::domain::User, EffectiveRoles)>, db::DbError> {
    let (realm_id, user_id) = (realm_id.to_owned(), user_id.to_owned());
    db.run(move |conn| -> Result<_, db::DbError> {
        let Some(user) = db::users::find(conn, &realm_id, &user_id)? else {
            return Ok(None);
        };
        let roles = effective_roles_of(conn, &realm_id, &user.id)?;
        Ok(Some((user, roles)))
    })
    .await
}

/// Role ids `user_id` holds, expanded through groups (and their ancestors) and composites.
pub fn effective_role_ids_of_user(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: &str,
) -> diesel::QueryResult<std::collections::HashSet<String>> {
    let direct = db::roles::mapped_role_ids(conn, user_id)?;
    if direct.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let graph = db::roles::composite_graph(conn, realm_id)?;
    Ok(expand_composites(&direct, &graph))
}

/// Role ids mapped to `group_id` or any of its ancestors (not expanded through composites).
pub fn mapped_role_ids_of_group(
    conn: &mut DbConnection,
    realm_id: &str,
    group_id: &str,
) -> diesel::QueryResult<Vec<String>> {
    let mut ids = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut next = Some(group_id.to_owned());
    while let Some(id) = next.take() {
        if !seen.insert(id.clone()) {
            break;
        }
        let Some(group) = db::roles::find_group(conn, realm_id, &id)? else {
            break;
        };
        ids.extend(
            db::roles::direct_roles_of_group(conn, &group.id)?
                .into_iter()
                .map(|r| r.id),
        );
        next = group.parent_id;
    }
    Ok(ids)
}

/// Role ids a group confers, expanded through its ancestors and composites.
pub fn effective_role_ids_of_group(
    conn: &mut DbConnection,
    realm_id: &str,
    group_id: &str,
) -> diesel::QueryResult<std::collections::HashSet<String>> {
    let direct = mapped_role_ids_of_group(conn, realm_id, group_id)?;
    if direct.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let graph = db::roles::composite_graph(conn, realm_id)?;
    Ok(expand_composites(&direct, &graph))
}

/// May `principal` hand out `role_ids` (with everything they contain) in `realm`?
///
/// Administrative roles — the `realm-management` client roles, and `admin`/`create-realm` of the
/// master realm — can only be handed out by an admin who holds them, so `manage-users` alone is
/// not a ladder to `realm-admin` (Keycloak's rule for mapping admin roles). Master admins may
/// hand out anything.
pub fn may_grant(
    conn: &mut DbConnection,
    principal: &crate::service::authz::AdminPrincipal,
    realm: &crate::domain::Realm,
    role_ids: &[String],
) -> diesel::QueryResult<bool> {
    use crate::domain::defaults::{CLIENT_REALM_MANAGEMENT, MASTER_REALM, ROLE_CREATE_REALM, ROLE_MASTER_ADMIN};
    if principal.is_master_admin() || role_ids.is_empty() {
        return Ok(true);
    }
    let graph = db::roles::composite_graph(conn, &realm.id)?;
    let all: Vec<String> = expand_composites(role_ids, &graph).into_iter().collect();
    let roles = db::roles::roles_by_ids(conn, &all)?;
    let management = db::clients::find_by_client_id(conn, &realm.id, CLIENT_REALM_MANAGEMENT)?.map(|c| c.id);
    for role in roles.iter().filter(|r| r.realm_id == realm.id) {
        let allowed = if role.client_role {
            management.as_deref() != Some(role.container_id.as_str())
                || principal.roles.has_client_role(CLIENT_REALM_MANAGEMENT, &role.name)
        } else if realm.name == MASTER_REALM && (role.name == ROLE_MASTER_ADMIN || role.name == ROLE_CREATE_REALM) {
            principal.roles.has_realm_role(&role.name)
        } else {
            true
        };
        if !allowed {
            return Ok(false);
        }
    }
    Ok(true)
}
