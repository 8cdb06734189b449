//! Effective roles of a user from the database: direct, through groups, and composites.

use std::collections::HashMap;

use crate::domain::roles::{effective_roles, expand_composites, EffectiveRoles};
use crate::store::db::{self, DbConnection};

/// Every role `user_id` holds in `realm_id`, expanded, named as tokens name them.
pub fn effective_roles_of(conn: &mut DbConnection, realm_id: &str, user_id: &str) -> diesel::QueryResult<EffectiveRoles> {
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
