//! Roles, composites, groups and the mappings of users and groups to roles.

use std::collections::HashMap;

use diesel::prelude::*;

use super::models::{GroupRow, RoleRow, UserRow};
use super::schema::{composite_roles, group_roles, groups, roles, user_groups, user_roles, users};
use super::DbConnection;
use crate::domain::{Group, Role, User};

pub fn insert(conn: &mut DbConnection, role: &Role) -> QueryResult<()> {
    diesel::insert_into(roles::table)
        .values(RoleRow::from(role))
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, role: &Role) -> QueryResult<()> {
    diesel::update(roles::table.find(&role.id))
        .set(RoleRow::from(role))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(roles::table.find(id)).execute(conn)
}

pub fn find(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<Option<Role>> {
    roles::table
        .filter(roles::realm_id.eq(realm_id))
        .filter(roles::id.eq(id))
        .select(RoleRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Role::from))
}

/// A role by name within its container (realm id or internal client id).
pub fn find_by_name(conn: &mut DbConnection, container_id: &str, name: &str) -> QueryResult<Option<Role>> {
    roles::table
        .filter(roles::container_id.eq(container_id))
        .filter(roles::name.eq(name))
        .select(RoleRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Role::from))
}

pub fn list_in_container(
    conn: &mut DbConnection,
    container_id: &str,
    search: Option<&str>,
    first: i64,
    max: i64,
) -> QueryResult<Vec<Role>> {
    let mut query = roles::table.filter(roles::container_id.eq(container_id)).into_boxed();
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        query = query.filter(roles::name.like(format!("%{s}%")));
    }
    query
        .order(roles::name.asc())
        .offset(first)
        .limit(max)
        .select(RoleRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(Role::from).collect())
}

/// Every role of the realm, realm and client roles alike, by name, at most `max`.
pub fn all_in_realm(conn: &mut DbConnection, realm_id: &str, max: i64) -> QueryResult<Vec<Role>> {
    roles::table
        .filter(roles::realm_id.eq(realm_id))
        .order((roles::client_role.asc(), roles::name.asc()))
        .limit(max)
        .select(RoleRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(Role::from).collect())
}

pub fn add_composite(conn: &mut DbConnection, parent_id: &str, child_id: &str) -> QueryResult<()> {
    let exists: i64 = composite_roles::table
        .filter(composite_roles::parent_id.eq(parent_id))
        .filter(composite_roles::child_id.eq(child_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(composite_roles::table)
            .values((
                composite_roles::parent_id.eq(parent_id),
                composite_roles::child_id.eq(child_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn remove_composite(conn: &mut DbConnection, parent_id: &str, child_id: &str) -> QueryResult<usize> {
    diesel::delete(
        composite_roles::table
            .filter(composite_roles::parent_id.eq(parent_id))
            .filter(composite_roles::child_id.eq(child_id)),
    )
    .execute(conn)
}

pub fn composites_of(conn: &mut DbConnection, parent_id: &str) -> QueryResult<Vec<Role>> {
    composite_roles::table
        .inner_join(roles::table.on(roles::id.eq(composite_roles::child_id)))
        .filter(composite_roles::parent_id.eq(parent_id))
        .select(RoleRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(Role::from).collect())
}

pub fn has_composites(conn: &mut DbConnection, parent_id: &str) -> QueryResult<bool> {
    let n: i64 = composite_roles::table
        .filter(composite_roles::parent_id.eq(parent_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Every composite edge among the realm's roles: parent → children.
pub fn composite_graph(conn: &mut DbConnection, realm_id: &str) -> QueryResult<HashMap<String, Vec<String>>> {
    let edges: Vec<(String, String)> = composite_roles::table
        .inner_join(roles::table.on(roles::id.eq(composite_roles::parent_id)))
        .filter(roles::realm_id.eq(realm_id))
        .select((composite_roles::parent_id, composite_roles::child_id))
        .load(conn)?;
    let mut graph: HashMap<String, Vec<String>> = HashMap::new();
    for (parent, child) in edges {
        graph.entry(parent).or_default().push(child);
    }
    Ok(graph)
}

pub fn roles_by_ids(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<Role>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<RoleRow> = roles::table
            .filter(roles::id.eq_any(chunk))
            .select(RoleRow::as_select())
            .load(conn)?;
        out.extend(rows.into_iter().map(Role::from));
    }
    Ok(out)
}

// --- user role mappings ---

pub fn grant_to_user(conn: &mut DbConnection, user_id: &str, role_id: &str) -> QueryResult<()> {
    let exists: i64 = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .filter(user_roles::role_id.eq(role_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(user_roles::table)
            .values((user_roles::user_id.eq(user_id), user_roles::role_id.eq(role_id)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn revoke_from_user(conn: &mut DbConnection, user_id: &str, role_id: &str) -> QueryResult<usize> {
    diesel::delete(
        user_roles::table
            .filter(user_roles::user_id.eq(user_id))
            .filter(user_roles::role_id.eq(role_id)),
    )
    .execute(conn)
}

/// Roles mapped directly to the user.
pub fn direct_roles_of_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<Role>> {
    user_roles::table
        .inner_join(roles::table)
        .filter(user_roles::user_id.eq(user_id))
        .order(roles::name.asc())
        .select(RoleRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(Role::from).collect())
}

/// Role ids mapped to the user directly or through any group (and the groups' ancestors).
pub fn mapped_role_ids(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<String>> {
    let mut ids: Vec<String> = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select(user_roles::role_id)
        .load(conn)?;
    let mut group_ids: Vec<String> = user_groups::table
        .filter(user_groups::user_id.eq(user_id))
        .select(user_groups::group_id)
        .load(conn)?;
    // Roles of parent groups are inherited, as in Keycloak.
    let mut seen = std::collections::HashSet::new();
    while let Some(group_id) = group_ids.pop() {
        if !seen.insert(group_id.clone()) {
            continue;
        }
        let role_ids: Vec<String> = group_roles::table
            .filter(group_roles::group_id.eq(&group_id))
            .select(group_roles::role_id)
            .load(conn)?;
        ids.extend(role_ids);
        let parent: Option<Option<String>> = groups::table
            .find(&group_id)
            .select(groups::parent_id)
            .first(conn)
            .optional()?;
        if let Some(Some(parent)) = parent {
            group_ids.push(parent);
        }
    }
    Ok(ids)
}

// --- groups ---

pub fn insert_group(conn: &mut DbConnection, group: &Group) -> QueryResult<()> {
    diesel::insert_into(groups::table)
        .values(GroupRow::from(group))
        .execute(conn)?;
    Ok(())
}

pub fn update_group(conn: &mut DbConnection, group: &Group) -> QueryResult<()> {
    diesel::update(groups::table.find(&group.id))
        .set(GroupRow::from(group))
        .execute(conn)?;
    Ok(())
}

pub fn delete_group(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(
        groups::table
            .filter(groups::realm_id.eq(realm_id))
            .filter(groups::id.eq(id)),
    )
    .execute(conn)
}

pub fn find_group(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<Option<Group>> {
    groups::table
        .filter(groups::realm_id.eq(realm_id))
        .filter(groups::id.eq(id))
        .select(GroupRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Group::from))
}

pub fn find_group_by_name(
    conn: &mut DbConnection,
    realm_id: &str,
    parent_id: Option<&str>,
    name: &str,
) -> QueryResult<Option<Group>> {
    let mut query = groups::table
        .filter(groups::realm_id.eq(realm_id))
        .filter(groups::name.eq(name))
        .into_boxed();
    query = match parent_id {
        Some(p) => query.filter(groups::parent_id.eq(p.to_owned())),
        None => query.filter(groups::parent_id.is_null()),
    };
    query
        .select(GroupRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Group::from))
}

pub fn all_groups(conn: &mut DbConnection, realm_id: &str) -> QueryResult<Vec<Group>> {
    groups::table
        .filter(groups::realm_id.eq(realm_id))
        .order(groups::name.asc())
        .select(GroupRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(Group::from).collect())
}

pub fn add_member(conn: &mut DbConnection, user_id: &str, group_id: &str) -> QueryResult<()> {
    let exists: i64 = user_groups::table
        .filter(user_groups::user_id.eq(user_id))
        .filter(user_groups::group_id.eq(group_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(user_groups::table)
            .values((user_groups::user_id.eq(user_id), user_groups::group_id.eq(group_id)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn remove_member(conn: &mut DbConnection, user_id: &str, group_id: &str) -> QueryResult<usize> {
    diesel::delete(
        user_groups::table
            .filter(user_groups::user_id.eq(user_id))
            .filter(user_groups::group_id.eq(group_id)),
    )
    .execute(conn)
}

pub fn members(conn: &mut DbConnection, group_id: &str, first: i64, max: i64) -> QueryResult<Vec<User>> {
    user_groups::table
        .inner_join(users::table)
        .filter(user_groups::group_id.eq(group_id))
        .order(users::username.asc())
        .offset(first)
        .limit(max)
        .select(UserRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(User::from).collect())
}

pub fn count_members(conn: &mut DbConnection, group_id: &str) -> QueryResult<i64> {
    user_groups::table
        .filter(user_groups::group_id.eq(group_id))
        .count()
        .get_result(conn)
}

pub fn groups_of_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<Group>> {
    user_groups::table
        .inner_join(groups::table)
        .filter(user_groups::user_id.eq(user_id))
        .order(groups::name.asc())
        .select(GroupRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(Group::from).collect())
}

pub fn grant_to_group(conn: &mut DbConnection, group_id: &str, role_id: &str) -> QueryResult<()> {
    let exists: i64 = group_roles::table
        .filter(group_roles::group_id.eq(group_id))
        .filter(group_roles::role_id.eq(role_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(group_roles::table)
            .values((group_roles::group_id.eq(group_id), group_roles::role_id.eq(role_id)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn revoke_from_group(conn: &mut DbConnection, group_id: &str, role_id: &str) -> QueryResult<usize> {
    diesel::delete(
        group_roles::table
            .filter(group_roles::group_id.eq(group_id))
            .filter(group_roles::role_id.eq(role_id)),
    )
    .execute(conn)
}

pub fn direct_roles_of_group(conn: &mut DbConnection, group_id: &str) -> QueryResult<Vec<Role>> {
    group_roles::table
        .inner_join(roles::table)
        .filter(group_roles::group_id.eq(group_id))
        .order(roles::name.asc())
        .select(RoleRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(Role::from).collect())
}

/// Users that hold a role directly.
pub fn users_in_role(conn: &mut DbConnection, role_id: &str, first: i64, max: i64) -> QueryResult<Vec<User>> {
    user_roles::table
        .inner_join(users::table)
        .filter(user_roles::role_id.eq(role_id))
        .order(users::username.asc())
        .offset(first)
        .limit(max)
        .select(UserRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(User::from).collect())
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Roles of a container whose name contains `search` (case-insensitive, literally), by name.
/// The `LIKE` pattern of a case-insensitive substring search, `\\`-escaped.
fn contains_pattern(search: Option<&str>) -> Option<String> {
    search.map(str::trim).filter(|s| !s.is_empty()).map(|s| {
        let escaped = s
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    })
}

/// How many roles of the container `search_in_container` finds in all.
pub fn count_in_container(conn: &mut DbConnection, container_id: &str, search: Option<&str>) -> QueryResult<i64> {
    let mut query = roles::table.filter(roles::container_id.eq(container_id)).into_boxed();
    if let Some(pattern) = contains_pattern(search) {
        query = query.filter(lower(roles::name).like(pattern).escape('\\'));
    }
    query.count().get_result(conn)
}

pub fn search_in_container(
    conn: &mut DbConnection,
    container_id: &str,
    search: Option<&str>,
    first: i64,
    max: i64,
) -> QueryResult<Vec<Role>> {
    let mut query = roles::table.filter(roles::container_id.eq(container_id)).into_boxed();
    if let Some(pattern) = contains_pattern(search) {
        query = query.filter(lower(roles::name).like(pattern).escape('\\'));
    }
    query
        .order(roles::name.asc())
        .offset(first)
        .limit(max)
        .select(RoleRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(Role::from).collect())
}

/// Ids of the roles among `ids` that are composites (have at least one child).
pub fn composite_ids_among(conn: &mut DbConnection, ids: &[String]) -> QueryResult<std::collections::HashSet<String>> {
    let mut out = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        let parents: Vec<String> = composite_roles::table
            .filter(composite_roles::parent_id.eq_any(chunk))
            .select(composite_roles::parent_id)
            .distinct()
            .load(conn)?;
        out.extend(parents);
    }
    Ok(out)
}
