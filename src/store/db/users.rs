//! User and credential rows.

use diesel::prelude::*;

use super::models::{CredentialRow, UserRow};
use super::schema::{credentials, users};
use super::DbConnection;
use crate::domain::{Credential, User};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub fn insert(conn: &mut DbConnection, user: &User) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(UserRow::from(user))
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, user: &User) -> QueryResult<()> {
    diesel::update(users::table.find(&user.id))
        .set(UserRow::from(user))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(
        users::table
            .filter(users::realm_id.eq(realm_id))
            .filter(users::id.eq(id)),
    )
    .execute(conn)
}

pub fn find(conn: &mut DbConnection, realm_id: &str, id: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::realm_id.eq(realm_id))
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(User::from))
}

pub fn find_by_username(conn: &mut DbConnection, realm_id: &str, username: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::realm_id.eq(realm_id))
        .filter(users::username.eq(username.to_lowercase()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(User::from))
}

pub fn find_by_email(conn: &mut DbConnection, realm_id: &str, email: &str) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::realm_id.eq(realm_id))
        .filter(lower(users::email.assume_not_null()).eq(email.to_lowercase()))
        .select(UserRow::as_select())
        .limit(2)
        .load(conn)
        .map(|rows| rows.into_iter().map(User::from).collect())
}

pub fn find_service_account(conn: &mut DbConnection, client_internal_id: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::service_account_client_id.eq(client_internal_id))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(User::from))
}

/// Keycloak's user search filters.
#[derive(Clone, Debug, Default)]
pub struct UserQuery {
    /// Substring over username, email, first and last name.
    pub search: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: Option<bool>,
    /// Exact match instead of substring for the field filters.
    pub exact: bool,
    /// Service-account users are hidden from listings, as in Keycloak.
    pub include_service_accounts: bool,
}

fn pattern(value: &str, exact: bool) -> String {
    let escaped = value
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    if exact {
        escaped
    } else {
        format!("%{escaped}%")
    }
}

fn filtered<'a>(
    realm_id: &'a str,
    q: &'a UserQuery,
) -> users::BoxedQuery<'a, super::multi_connection_impl::MultiBackend> {
    let mut query = users::table.filter(users::realm_id.eq(realm_id)).into_boxed();
    if !q.include_service_accounts {
        query = query.filter(users::service_account_client_id.is_null());
    }
    if let Some(search) = q
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "*")
    {
        let p = pattern(search.trim_matches('*'), false);
        query = query.filter(
            lower(users::username)
                .like(p.clone())
                .escape('\\')
                .or(lower(users::email.assume_not_null()).like(p.clone()).escape('\\'))
                .or(lower(users::first_name.assume_not_null()).like(p.clone()).escape('\\'))
                .or(lower(users::last_name.assume_not_null()).like(p).escape('\\')),
        );
    }
    if let Some(v) = &q.username {
        query = query.filter(lower(users::username).like(pattern(v, q.exact)).escape('\\'));
    }
    if let Some(v) = &q.email {
        query = query.filter(
            lower(users::email.assume_not_null())
                .like(pattern(v, q.exact))
                .escape('\\'),
        );
    }
    if let Some(v) = &q.first_name {
        query = query.filter(
            lower(users::first_name.assume_not_null())
                .like(pattern(v, q.exact))
                .escape('\\'),
        );
    }
    if let Some(v) = &q.last_name {
        query = query.filter(
            lower(users::last_name.assume_not_null())
                .like(pattern(v, q.exact))
                .escape('\\'),
        );
    }
    if let Some(enabled) = q.enabled {
        query = query.filter(users::enabled.eq(enabled));
    }
    query
}

pub fn search(conn: &mut DbConnection, realm_id: &str, q: &UserQuery, first: i64, max: i64) -> QueryResult<Vec<User>> {
    filtered(realm_id, q)
        .order(users::username.asc())
        .offset(first)
        .limit(max)
        .select(UserRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(User::from).collect())
}

pub fn count(conn: &mut DbConnection, realm_id: &str, q: &UserQuery) -> QueryResult<i64> {
    filtered(realm_id, q).count().get_result(conn)
}

pub fn password_of(conn: &mut DbConnection, user_id: &str) -> QueryResult<Option<Credential>> {
    credentials::table
        .filter(credentials::user_id.eq(user_id))
        .filter(credentials::credential_type.eq("password"))
        .order(credentials::created_at.desc())
        .select(CredentialRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Credential::from))
}

pub fn credentials_of(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<Credential>> {
    credentials::table
        .filter(credentials::user_id.eq(user_id))
        .select(CredentialRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(Credential::from).collect())
}

/// Replaces the user's password credential.
pub fn set_password(conn: &mut DbConnection, credential: &Credential) -> QueryResult<()> {
    diesel::delete(
        credentials::table
            .filter(credentials::user_id.eq(&credential.user_id))
            .filter(credentials::credential_type.eq("password")),
    )
    .execute(conn)?;
    diesel::insert_into(credentials::table)
        .values(CredentialRow::from(credential))
        .execute(conn)?;
    Ok(())
}

/// Replaces the hash of one password credential (re-hashing an imported one); rows changed.
pub fn replace_password_hash(
    conn: &mut DbConnection,
    credential_id: &str,
    secret_data: &str,
    credential_data: &str,
) -> QueryResult<usize> {
    diesel::update(
        credentials::table
            .filter(credentials::id.eq(credential_id))
            .filter(credentials::credential_type.eq("password")),
    )
    .set((
        credentials::secret_data.eq(secret_data),
        credentials::credential_data.eq(credential_data),
    ))
    .execute(conn)
}

/// Inserts one credential as given (imports keep ids and creation dates).
pub fn insert_credential(conn: &mut DbConnection, credential: &Credential) -> QueryResult<()> {
    diesel::insert_into(credentials::table)
        .values(CredentialRow::from(credential))
        .execute(conn)?;
    Ok(())
}
