//! Scopes users granted to clients on the consent page, one row per (user, client, scope).

use diesel::prelude::*;

use super::schema::user_consents;
use super::DbConnection;

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = user_consents)]
pub struct ConsentRow {
    pub realm_id: String,
    pub user_id: String,
    /// Internal client id.
    pub client_id: String,
    pub scope_name: String,
    pub created_at: i64,
}

/// Scope names `user_id` granted to the client.
pub fn granted_scopes(conn: &mut DbConnection, user_id: &str, client_id: &str) -> QueryResult<Vec<String>> {
    user_consents::table
        .filter(user_consents::user_id.eq(user_id))
        .filter(user_consents::client_id.eq(client_id))
        .select(user_consents::scope_name)
        .load(conn)
}

/// Records the grant of `scopes`; already granted ones are kept as they are. Call in a write transaction.
pub fn grant(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: &str,
    client_id: &str,
    scopes: &[String],
    now: i64,
) -> QueryResult<()> {
    let existing = granted_scopes(conn, user_id, client_id)?;
    let rows: Vec<ConsentRow> = scopes
        .iter()
        .filter(|s| !existing.contains(s))
        .map(|s| ConsentRow {
            realm_id: realm_id.to_owned(),
            user_id: user_id.to_owned(),
            client_id: client_id.to_owned(),
            scope_name: s.clone(),
            created_at: now,
        })
        .collect();
    // One insert per row: MultiConnection has no batch insert.
    for row in &rows {
        diesel::insert_into(user_consents::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// Every consent row of a user, ordered by client then scope.
pub fn list_for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<ConsentRow>> {
    user_consents::table
        .filter(user_consents::user_id.eq(user_id))
        .order((user_consents::client_id, user_consents::scope_name))
        .select(ConsentRow::as_select())
        .load(conn)
}

/// Withdraws every scope the user granted to the client; the number of rows removed.
pub fn revoke(conn: &mut DbConnection, user_id: &str, client_id: &str) -> QueryResult<usize> {
    diesel::delete(
        user_consents::table
            .filter(user_consents::user_id.eq(user_id))
            .filter(user_consents::client_id.eq(client_id)),
    )
    .execute(conn)
}
