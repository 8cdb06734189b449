//! Client rows and their scope links.

use diesel::prelude::*;

use super::models::{ClientRow, ClientScopeRow};
use super::schema::{client_scope_links, client_scopes, clients};
use super::DbConnection;
use crate::domain::scopes::ClientScopes;
use crate::domain::{Client, ClientScope};

pub fn insert(conn: &mut DbConnection, client: &Client) -> QueryResult<()> {
    diesel::insert_into(clients::table)
        .values(ClientRow::from(client))
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, client: &Client) -> QueryResult<()> {
    diesel::update(clients::table.find(&client.id))
        .set(ClientRow::from(client))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(
        clients::table
            .filter(clients::realm_id.eq(realm_id))
            .filter(clients::id.eq(id)),
    )
    .execute(conn)
}

pub fn find(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<Option<Client>> {
    clients::table
        .filter(clients::realm_id.eq(realm_id))
        .filter(clients::id.eq(id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Client::from))
}

pub fn find_by_client_id(conn: &mut DbConnection, realm_id: &str, client_id: &str) -> QueryResult<Option<Client>> {
    clients::table
        .filter(clients::realm_id.eq(realm_id))
        .filter(clients::client_id.eq(client_id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Client::from))
}

pub fn list(conn: &mut DbConnection, realm_id: &str, first: i64, max: i64) -> QueryResult<Vec<Client>> {
    clients::table
        .filter(clients::realm_id.eq(realm_id))
        .order(clients::client_id.asc())
        .offset(first)
        .limit(max)
        .select(ClientRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(Client::from).collect())
}

pub fn count(conn: &mut DbConnection, realm_id: &str) -> QueryResult<i64> {
    clients::table
        .filter(clients::realm_id.eq(realm_id))
        .count()
        .get_result(conn)
}

/// clientId of every client in the realm, keyed by internal id (to label client roles).
pub fn client_ids_by_id(conn: &mut DbConnection, realm_id: &str) -> QueryResult<Vec<(String, String)>> {
    clients::table
        .filter(clients::realm_id.eq(realm_id))
        .select((clients::id, clients::client_id))
        .load(conn)
}

pub fn link_scope(conn: &mut DbConnection, client_id: &str, scope_id: &str, default_scope: bool) -> QueryResult<()> {
    diesel::delete(
        client_scope_links::table
            .filter(client_scope_links::client_id.eq(client_id))
            .filter(client_scope_links::scope_id.eq(scope_id)),
    )
    .execute(conn)?;
    diesel::insert_into(client_scope_links::table)
        .values((
            client_scope_links::client_id.eq(client_id),
            client_scope_links::scope_id.eq(scope_id),
            client_scope_links::default_scope.eq(default_scope),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn unlink_scope(
    conn: &mut DbConnection,
    client_id: &str,
    scope_id: &str,
    default_scope: bool,
) -> QueryResult<usize> {
    diesel::delete(
        client_scope_links::table
            .filter(client_scope_links::client_id.eq(client_id))
            .filter(client_scope_links::scope_id.eq(scope_id))
            .filter(client_scope_links::default_scope.eq(default_scope)),
    )
    .execute(conn)
}

pub fn scopes_of(conn: &mut DbConnection, client_id: &str) -> QueryResult<ClientScopes> {
    let rows: Vec<(bool, ClientScopeRow)> = client_scope_links::table
        .inner_join(client_scopes::table)
        .filter(client_scope_links::client_id.eq(client_id))
        .order(client_scopes::name.asc())
        .select((client_scope_links::default_scope, ClientScopeRow::as_select()))
        .load(conn)?;
    let mut out = ClientScopes::default();
    for (is_default, row) in rows {
        let scope = ClientScope::from(row);
        if is_default {
            out.default.push(scope);
        } else {
            out.optional.push(scope);
        }
    }
    Ok(out)
}
