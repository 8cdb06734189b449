//! Login-type events (Keycloak's `EventRepresentation`), newest first when listed.

use diesel::prelude::*;

use super::schema::events;
use super::DbConnection;

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = events)]
// NULL rather than DEFAULT for a missing value: SQLite takes a multi-row INSERT only then.
#[diesel(treat_none_as_default_value = false)]
pub struct EventRow {
    pub id: String,
    pub realm_id: String,
    /// Milliseconds since the epoch.
    pub time: i64,
    pub event_type: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip_address: Option<String>,
    pub error: Option<String>,
    /// A JSON object of strings.
    pub details: String,
}

/// Stores `rows` in one statement (the writer's batches: one statement per batch, not per event).
pub fn insert_all(conn: &mut DbConnection, rows: &[EventRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    // diesel's MultiConnection has no multi-row INSERT; each backend has.
    match conn {
        DbConnection::Postgresql(pg) => diesel::insert_into(events::table).values(rows).execute(pg),
        DbConnection::Sqlite(sqlite) => diesel::insert_into(events::table).values(rows).execute(sqlite),
    }
    .map(|_| ())
}

/// Keycloak's filters for `GET /admin/realms/{realm}/events`; every one optional.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub types: Vec<String>,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub ip_address: Option<String>,
    /// Inclusive bounds, milliseconds.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub first: i64,
    pub max: i64,
}

pub fn list(conn: &mut DbConnection, realm_id: &str, filter: &EventFilter) -> QueryResult<Vec<EventRow>> {
    let mut query = events::table
        .filter(events::realm_id.eq(realm_id))
        .select(EventRow::as_select())
        .into_boxed();
    if !filter.types.is_empty() {
        query = query.filter(events::event_type.eq_any(filter.types.clone()));
    }
    if let Some(client) = &filter.client_id {
        query = query.filter(events::client_id.eq(client.clone()));
    }
    if let Some(user) = &filter.user_id {
        query = query.filter(events::user_id.eq(user.clone()));
    }
    if let Some(ip) = &filter.ip_address {
        query = query.filter(events::ip_address.eq(ip.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(events::time.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(events::time.le(to));
    }
    query
        .order((events::time.desc(), events::id.desc()))
        .offset(filter.first)
        .limit(filter.max)
        .load(conn)
}

/// Removes every event of the realm; the number removed.
pub fn clear(conn: &mut DbConnection, realm_id: &str) -> QueryResult<usize> {
    diesel::delete(events::table.filter(events::realm_id.eq(realm_id))).execute(conn)
}

/// Removes the realm's events older than `before` (milliseconds); how many.
pub fn delete_before(conn: &mut DbConnection, realm_id: &str, before: i64) -> QueryResult<usize> {
    diesel::delete(
        events::table
            .filter(events::realm_id.eq(realm_id))
            .filter(events::time.lt(before)),
    )
    .execute(conn)
}
