//! Refresh-token state: rows keyed by a keyed hash of the token, grouped in rotation families.

use diesel::prelude::*;

use super::schema::refresh_tokens;
use super::DbConnection;

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: String,
    pub token_hash: String,
    pub family_id: String,
    pub realm_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub session_id: Option<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub rotated: bool,
    pub revoked: bool,
    pub offline: bool,
}

pub fn insert(conn: &mut DbConnection, row: &RefreshTokenRow) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_by_hash(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Marks the token used; true only for the one caller that flipped it (atomic claim).
pub fn claim_rotation(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    let n = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::rotated.eq(false))
            .filter(refresh_tokens::revoked.eq(false)),
    )
    .set(refresh_tokens::rotated.eq(true))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn revoke_family(conn: &mut DbConnection, family_id: &str) -> QueryResult<usize> {
    diesel::update(refresh_tokens::table.filter(refresh_tokens::family_id.eq(family_id)))
        .set(refresh_tokens::revoked.eq(true))
        .execute(conn)
}

pub fn revoke_for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::update(refresh_tokens::table.filter(refresh_tokens::user_id.eq(user_id)))
        .set(refresh_tokens::revoked.eq(true))
        .execute(conn)
}

/// Revokes the refresh tokens a session's logout ends: all but its offline tokens.
pub fn revoke_online_for_session(conn: &mut DbConnection, session_id: &str) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::session_id.eq(session_id))
            .filter(refresh_tokens::offline.eq(false)),
    )
    .set(refresh_tokens::revoked.eq(true))
    .execute(conn)
}

/// Revokes the user's usable refresh tokens (online and offline) of one client (internal id), as
/// withdrawing consent does; how many of them were offline.
pub fn revoke_for_user_client(conn: &mut DbConnection, user_id: &str, client_id: &str, now: i64) -> QueryResult<usize> {
    let live = refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(user_id))
        .filter(refresh_tokens::client_id.eq(client_id))
        .filter(refresh_tokens::revoked.eq(false))
        .filter(refresh_tokens::rotated.eq(false))
        .filter(refresh_tokens::expires_at.gt(now));
    let offline = live
        .filter(refresh_tokens::offline.eq(true))
        .count()
        .get_result::<i64>(conn)?;
    diesel::update(live)
        .set(refresh_tokens::revoked.eq(true))
        .execute(conn)?;
    Ok(usize::try_from(offline).unwrap_or(0))
}

/// The clients (internal ids) the user holds usable refresh tokens of, each with whether one of
/// them is offline.
pub fn live_clients_of_user(conn: &mut DbConnection, user_id: &str, now: i64) -> QueryResult<Vec<(String, bool)>> {
    let rows: Vec<(String, bool)> = refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(user_id))
        .filter(refresh_tokens::revoked.eq(false))
        .filter(refresh_tokens::rotated.eq(false))
        .filter(refresh_tokens::expires_at.gt(now))
        .select((refresh_tokens::client_id, refresh_tokens::offline))
        .distinct()
        .load(conn)?;
    let mut clients: Vec<(String, bool)> = Vec::new();
    for (client_id, offline) in rows {
        match clients.iter_mut().find(|(c, _)| *c == client_id) {
            Some(entry) => entry.1 |= offline,
            None => clients.push((client_id, offline)),
        }
    }
    Ok(clients)
}
