//! Client-scope rows and the realm's default scopes for new clients.

use diesel::prelude::*;

use super::models::ClientScopeRow;
use super::schema::{client_scopes, realm_default_scopes};
use super::DbConnection;
use crate::domain::ClientScope;

pub fn insert(conn: &mut DbConnection, scope: &ClientScope) -> QueryResult<()> {
    diesel::insert_into(client_scopes::table)
        .values(ClientScopeRow::from(scope))
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, scope: &ClientScope) -> QueryResult<()> {
    diesel::update(client_scopes::table.find(&scope.id))
        .set(ClientScopeRow::from(scope))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(
        client_scopes::table
            .filter(client_scopes::realm_id.eq(realm_id))
            .filter(client_scopes::id.eq(id)),
    )
    .execute(conn)
}

pub fn find(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<Option<ClientScope>> {
    client_scopes::table
        .filter(client_scopes::realm_id.eq(realm_id))
        .filter(client_scopes::id.eq(id))
        .select(ClientScopeRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(ClientScope::from))
}

pub fn find_by_name(conn: &mut DbConnection, realm_id: &str, name: &str) -> QueryResult<Option<ClientScope>> {
    client_scopes::table
        .filter(client_scopes::realm_id.eq(realm_id))
        .filter(client_scopes::name.eq(name))
        .select(ClientScopeRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(ClientScope::from))
}

pub fn list(conn: &mut DbConnection, realm_id: &str) -> QueryResult<Vec<ClientScope>> {
    client_scopes::table
        .filter(client_scopes::realm_id.eq(realm_id))
        .order(client_scopes::name.asc())
        .select(ClientScopeRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(ClientScope::from).collect())
}

pub fn set_realm_default(
    conn: &mut DbConnection,
    realm_id: &str,
    scope_id: &str,
    default_scope: bool,
) -> QueryResult<()> {
    diesel::delete(
        realm_default_scopes::table
            .filter(realm_default_scopes::realm_id.eq(realm_id))
            .filter(realm_default_scopes::scope_id.eq(scope_id)),
    )
    .execute(conn)?;
    diesel::insert_into(realm_default_scopes::table)
        .values((
            realm_default_scopes::realm_id.eq(realm_id),
            realm_default_scopes::scope_id.eq(scope_id),
            realm_default_scopes::default_scope.eq(default_scope),
        ))
        .execute(conn)?;
    Ok(())
}

/// The scopes new clients of the realm get: (scope id, default?).
pub fn realm_defaults(conn: &mut DbConnection, realm_id: &str) -> QueryResult<Vec<(String, bool)>> {
    realm_default_scopes::table
        .filter(realm_default_scopes::realm_id.eq(realm_id))
        .select((realm_default_scopes::scope_id, realm_default_scopes::default_scope))
        .load(conn)
}

/// Stops giving the scope to new clients as a default (or optional) scope.
pub fn remove_realm_default(
    conn: &mut DbConnection,
    realm_id: &str,
    scope_id: &str,
    default_scope: bool,
) -> QueryResult<usize> {
    diesel::delete(
        realm_default_scopes::table
            .filter(realm_default_scopes::realm_id.eq(realm_id))
            .filter(realm_default_scopes::scope_id.eq(scope_id))
            .filter(realm_default_scopes::default_scope.eq(default_scope)),
    )
    .execute(conn)
}
