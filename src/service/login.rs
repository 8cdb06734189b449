//! Checking a person's username (or email) and password: the login page and the password grant
//! share this, so both answer the same neutral failure and count toward the same limits.

use std::net::IpAddr;

use crate::crypto::password;
use crate::domain::User;
use crate::service::realm_cache::RealmRuntime;
use crate::state::AppState;
use crate::store::db::{self, DbError};

/// Why a login was refused. `InvalidCredentials` never tells whether the user or the password was wrong.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginError {
    InvalidCredentials,
    Disabled,
    /// The password is temporary and must be changed first (Keycloak's required action).
    NotFullySetUp,
    Internal,
}

/// A login attempt: who says they are whom, from where.
pub struct LoginAttempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The client's address, for per-address limits.
    pub ip: Option<IpAddr>,
}

/// The user when the password is right and the account usable.
pub async fn verify_password_login(
    state: &AppState,
    realm: &RealmRuntime,
    attempt: &LoginAttempt<'_>,
) -> Result<User, LoginError> {
    // A name no user can have (control characters such as NUL, which PostgreSQL refuses in text,
    // or over-long) is wrong credentials, without a database round trip.
    if crate::domain::names::parse_username(attempt.username).is_err() {
        return Err(LoginError::InvalidCredentials);
    }
    let realm_id = realm.realm.id.clone();
    let username = attempt.username.to_owned();
    let password_given = attempt.password.to_owned();
    let (user, valid, temporary) = state
        .db
        .run(move |conn| -> Result<_, DbError> {
            let user = find_login_user(conn, &realm_id, &username)?;
            let credential = match &user {
                Some(u) => db::users::password_of(conn, &u.id)?,
                None => None,
            };
            // The hash runs even for an unknown user, so timing does not tell which part was wrong.
            let hash = credential.as_ref().map(|c| c.secret_data.clone());
            let valid = password::verify_password(&password_given, hash.as_deref().unwrap_or(password::dummy_hash()));
            Ok((user, valid && hash.is_some(), credential.is_some_and(|c| c.temporary)))
        })
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, "login lookup failed");
            LoginError::Internal
        })?;
    let (Some(user), true) = (user, valid) else {
        return Err(LoginError::InvalidCredentials);
    };
    if !user.enabled {
        return Err(LoginError::Disabled);
    }
    if temporary {
        return Err(LoginError::NotFullySetUp);
    }
    Ok(user)
}

/// The user by username, or by email when that is unambiguous in the realm (Keycloak's
/// "username or email" login).
fn find_login_user(conn: &mut db::DbConnection, realm_id: &str, login: &str) -> Result<Option<User>, DbError> {
    if let Some(user) = db::users::find_by_username(conn, realm_id, login)? {
        return Ok(Some(user));
    }
    if !login.contains('@') {
        return Ok(None);
    }
    let mut found = db::users::find_by_email(conn, realm_id, login)?;
    Ok(if found.len() == 1 { found.pop() } else { None })
}
