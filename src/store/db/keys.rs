//! Signing-key rows.

use diesel::prelude::*;

use super::models::SigningKeyRow;
use super::schema::signing_keys;
use super::DbConnection;
use crate::domain::{KeyStatus, SigningKeyRecord};

pub fn insert(conn: &mut DbConnection, key: &SigningKeyRecord) -> QueryResult<()> {
    diesel::insert_into(signing_keys::table)
        .values(SigningKeyRow::from(key))
        .execute(conn)?;
    Ok(())
}

/// Every key of a realm, newest first.
pub fn list_for_realm(conn: &mut DbConnection, realm_id: &str) -> QueryResult<Vec<SigningKeyRecord>> {
    signing_keys::table
        .filter(signing_keys::realm_id.eq(realm_id))
        .order(signing_keys::created_at.desc())
        .select(SigningKeyRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(SigningKeyRecord::from).collect())
}

/// Moves the realm's active key(s) to passive: they verify until `verify_until` and sign nothing.
pub fn retire_active(conn: &mut DbConnection, realm_id: &str, now: i64, verify_until: i64) -> QueryResult<usize> {
    diesel::update(
        signing_keys::table
            .filter(signing_keys::realm_id.eq(realm_id))
            .filter(signing_keys::status.eq(KeyStatus::Active.as_str())),
    )
    .set((
        signing_keys::status.eq(KeyStatus::Passive.as_str()),
        signing_keys::retired_at.eq(Some(now)),
        signing_keys::verify_until.eq(Some(verify_until)),
    ))
    .execute(conn)
}

/// Removes passive keys whose tokens have all expired.
pub fn purge_expired(conn: &mut DbConnection, realm_id: &str, now: i64) -> QueryResult<usize> {
    diesel::delete(
        signing_keys::table
            .filter(signing_keys::realm_id.eq(realm_id))
            .filter(signing_keys::status.eq(KeyStatus::Passive.as_str()))
            .filter(signing_keys::verify_until.lt(now)),
    )
    .execute(conn)
}
