//! Realm rows.

use diesel::prelude::*;

use super::models::RealmRow;
use super::schema::realms;
use super::DbConnection;
use crate::domain::Realm;

pub fn insert(conn: &mut DbConnection, realm: &Realm) -> QueryResult<()> {
    diesel::insert_into(realms::table)
        .values(RealmRow::from(realm))
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, realm: &Realm) -> QueryResult<()> {
    diesel::update(realms::table.find(&realm.id))
        .set(RealmRow::from(realm))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, realm_id: &str) -> QueryResult<usize> {
    diesel::delete(realms::table.find(realm_id)).execute(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Realm>> {
    realms::table
        .filter(realms::id.eq(id))
        .select(RealmRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Realm::from))
}

pub fn find_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Realm>> {
    realms::table
        .filter(realms::name.eq(name))
        .select(RealmRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Realm::from))
}

/// One page of realms in name order: paging happens in the database, so thousands of realms stay cheap.
pub fn list(conn: &mut DbConnection, first: i64, max: i64) -> QueryResult<Vec<Realm>> {
    realms::table
        .order(realms::name.asc())
        .offset(first)
        .limit(max)
        .select(RealmRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(Realm::from).collect())
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    realms::table.count().get_result(conn)
}
