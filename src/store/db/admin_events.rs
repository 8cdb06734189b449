//! Admin events (Keycloak's `AdminEventRepresentation`), newest first when listed.

use diesel::prelude::*;

use super::schema::admin_events;
use super::DbConnection;

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = admin_events)]
#[diesel(treat_none_as_default_value = false)]
pub struct AdminEventRow {
    pub id: String,
    pub realm_id: String,
    /// Milliseconds since the epoch.
    pub time: i64,
    pub operation_type: String,
    pub resource_type: String,
    pub resource_path: String,
    pub auth_realm_id: Option<String>,
    pub auth_client_id: Option<String>,
    pub auth_user_id: Option<String>,
    pub auth_ip_address: Option<String>,
    /// The request's JSON, secrets removed.
    pub representation: Option<String>,
    pub error: Option<String>,
}

/// Stores `rows` in one statement (see `events::insert_all`).
pub fn insert_all(conn: &mut DbConnection, rows: &[AdminEventRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Postgresql(pg) => diesel::insert_into(admin_events::table).values(rows).execute(pg),
        DbConnection::Sqlite(sqlite) => diesel::insert_into(admin_events::table).values(rows).execute(sqlite),
    }
    .map(|_| ())
}

/// Keycloak's filters for `GET /admin/realms/{realm}/admin-events`; every one optional.
#[derive(Clone, Debug, Default)]
pub struct AdminEventFilter {
    pub operation_types: Vec<String>,
    pub resource_types: Vec<String>,
    /// `*` matches any run of characters, as in Keycloak.
    pub resource_path: Option<String>,
    pub auth_realm: Option<String>,
    pub auth_client: Option<String>,
    pub auth_user: Option<String>,
    pub auth_ip_address: Option<String>,
    /// Inclusive bounds, milliseconds.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub first: i64,
    pub max: i64,
}

pub fn list(conn: &mut DbConnection, realm_id: &str, filter: &AdminEventFilter) -> QueryResult<Vec<AdminEventRow>> {
    let mut query = admin_events::table
        .filter(admin_events::realm_id.eq(realm_id))
        .select(AdminEventRow::as_select())
        .into_boxed();
    if !filter.operation_types.is_empty() {
        query = query.filter(admin_events::operation_type.eq_any(filter.operation_types.clone()));
    }
    if !filter.resource_types.is_empty() {
        query = query.filter(admin_events::resource_type.eq_any(filter.resource_types.clone()));
    }
    if let Some(path) = &filter.resource_path {
        query = query.filter(admin_events::resource_path.like(like_pattern(path)).escape('\\'));
    }
    if let Some(realm) = &filter.auth_realm {
        query = query.filter(admin_events::auth_realm_id.eq(realm.clone()));
    }
    if let Some(client) = &filter.auth_client {
        query = query.filter(admin_events::auth_client_id.eq(client.clone()));
    }
    if let Some(user) = &filter.auth_user {
        query = query.filter(admin_events::auth_user_id.eq(user.clone()));
    }
    if let Some(ip) = &filter.auth_ip_address {
        query = query.filter(admin_events::auth_ip_address.eq(ip.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(admin_events::time.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(admin_events::time.le(to));
    }
    query
        .order((admin_events::time.desc(), admin_events::id.desc()))
        .offset(filter.first)
        .limit(filter.max)
        .load(conn)
}

/// Keycloak's `resourcePath` filter as a LIKE pattern: `*` is the only wildcard; `%`, `_` and `\`
/// match themselves.
fn like_pattern(path: &str) -> String {
    let mut pattern = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '*' => pattern.push('%'),
            '%' | '_' | '\\' => {
                pattern.push('\\');
                pattern.push(c);
            }
            c => pattern.push(c),
        }
    }
    pattern
}

/// Removes every admin event of the realm; the number removed.
pub fn clear(conn: &mut DbConnection, realm_id: &str) -> QueryResult<usize> {
    diesel::delete(admin_events::table.filter(admin_events::realm_id.eq(realm_id))).execute(conn)
}

/// Removes the realm's admin events older than `before` (milliseconds); how many.
pub fn delete_before(conn: &mut DbConnection, realm_id: &str, before: i64) -> QueryResult<usize> {
    diesel::delete(
        admin_events::table
            .filter(admin_events::realm_id.eq(realm_id))
            .filter(admin_events::time.lt(before)),
    )
    .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn only_the_star_is_a_wildcard() {
        assert_eq!(like_pattern("users/*"), "users/%");
        assert_eq!(like_pattern("a_b%c\\"), "a\\_b\\%c\\\\");
    }
}
