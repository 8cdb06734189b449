//! Checking a person's username (or email) and password: the login page and the password grant
//! share this, so both answer the same neutral failure and count toward the same limits.

use std::net::IpAddr;

use crate::crypto::password;
use crate::domain::User;
use crate::service::brute_force;
use crate::service::events::{self, Event};
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

impl LoginError {
    /// Keycloak's `error` of the LOGIN_ERROR event.
    pub fn event_error(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_user_credentials",
            Self::Disabled => "user_disabled",
            Self::NotFullySetUp => "resolve_required_actions",
            Self::Internal => "internal_error",
        }
    }
}

/// A login attempt: who says they are whom, from where.
pub struct LoginAttempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The client's address, for per-address limits.
    pub ip: Option<IpAddr>,
}

/// The event of an attempt through `client_id`: `LOGIN` into `session_id` for the signed-in
/// user, or `LOGIN_ERROR` naming the error but no user (an event must not confirm whose a name is).
pub fn login_event(
    state: &AppState,
    realm: &RealmRuntime,
    client_id: &str,
    attempt: &LoginAttempt<'_>,
    outcome: Result<(&User, &str), &LoginError>,
) -> Event {
    let now = state.clock.now_millis();
    let ip = attempt.ip;
    let mut event = match outcome {
        Ok((user, session_id)) => {
            let mut event = Event::of_person(&realm.realm.id, events::LOGIN, now, client_id, Some(&user.id), ip);
            event.session_id = Some(session_id.to_owned());
            event
        }
        Err(e) => {
            let mut event = Event::of_person(&realm.realm.id, events::LOGIN_ERROR, now, client_id, None, ip);
            event.error = Some(e.event_error().to_owned());
            event
        }
    };
    event
        .details
        .insert("username".into(), attempt.username.chars().take(255).collect());
    event
}

/// The user when the password is right and the account usable.
///
/// Brute-force detection (`service::brute_force`) runs around the check: a locked address or user
/// is refused before any password hash is computed, with the same neutral `InvalidCredentials` as a
/// wrong password, so a lock is not revealed; a failure counts toward the address, and toward the
/// user when the user exists; a right password clears the user's failure count.
pub async fn verify_password_login(
    state: &AppState,
    realm: &RealmRuntime,
    attempt: &LoginAttempt<'_>,
) -> Result<User, LoginError> {
    let guard = brute_force::Guard::open(state, &realm.realm).await.map_err(internal)?;
    if guard.ip_locked(attempt.ip).await.map_err(internal)? {
        return Err(LoginError::InvalidCredentials);
    }
    // A name no user can have (control characters such as NUL, which PostgreSQL refuses in text,
    // or over-long) is wrong credentials, without a database round trip.
    if crate::domain::names::parse_username(attempt.username).is_err() {
        guard.record_ip_failure(attempt.ip).await.map_err(internal)?;
        return Err(LoginError::InvalidCredentials);
    }
    let realm_id = realm.realm.id.clone();
    let username = attempt.username.to_owned();
    let (user, credential) = state
        .db
        .run(move |conn| -> Result<_, DbError> {
            let user = find_login_user(conn, &realm_id, &username)?;
            let credential = match &user {
                Some(u) => db::users::password_of(conn, &u.id)?,
                None => None,
            };
            Ok((user, credential))
        })
        .await
        .map_err(internal)?;
    if let Some(user) = &user {
        if guard.user_locked(&user.id).await.map_err(internal)? {
            // Keycloak does not count failures of a locked user toward the user; the address pays.
            guard.record_ip_failure(attempt.ip).await.map_err(internal)?;
            return Err(LoginError::InvalidCredentials);
        }
    }
    // The hash runs even for an unknown user, so timing does not tell which part was wrong.
    let hash = credential.as_ref().map(|c| c.secret_data.clone());
    let password_given = attempt.password.to_owned();
    let stored = hash.unwrap_or_else(|| password::dummy_hash().to_owned());
    let valid = state
        .password_hashing
        .verify(password_given, stored.clone())
        .await
        .map_err(internal)?
        && credential.is_some();
    let Some(user) = user else {
        guard.record_ip_failure(attempt.ip).await.map_err(internal)?;
        return Err(LoginError::InvalidCredentials);
    };
    if !valid {
        guard
            .record_user_failure(&user.id, attempt.ip)
            .await
            .map_err(internal)?;
        return Err(LoginError::InvalidCredentials);
    }
    guard.record_success(&user.id).await.map_err(internal)?;
    if !user.enabled {
        return Err(LoginError::Disabled);
    }
    if let Some(credential) = credential.as_ref().filter(|_| password::needs_rehash(&stored)) {
        rehash(state, credential, attempt.password).await;
    }
    if credential.is_some_and(|c| c.temporary) {
        return Err(LoginError::NotFullySetUp);
    }
    Ok(user)
}

/// Replaces an imported Keycloak hash (ADR 019) with nexus's argon2id once the password is known
/// right. A failure is logged, not a failed sign-in: the old hash keeps working. Only the credential
/// that was checked is replaced, so a password changed meanwhile is not overwritten.
async fn rehash(state: &AppState, credential: &crate::domain::Credential, password_given: &str) {
    let given = password_given.to_owned();
    let phc = match tokio::task::spawn_blocking(move || password::hash_password(&given)).await {
        Ok(phc) => phc,
        Err(e) => {
            tracing::error!(error = ?e, "re-hashing an imported password failed");
            return;
        }
    };
    let id = credential.id.clone();
    let result = state
        .db
        .transaction(move |conn| {
            db::users::replace_password_hash(conn, &id, &phc, crate::service::users::OWN_CREDENTIAL_DATA)
                .map_err(DbError::from)
        })
        .await;
    match result {
        Ok(_) => tracing::info!(user = %credential.user_id, "imported password re-hashed to argon2id"),
        Err(e) => tracing::error!(error = ?e, "storing a re-hashed password failed"),
    }
}

fn internal(e: impl std::fmt::Debug) -> LoginError {
    tracing::error!(error = ?e, "login check failed");
    LoginError::Internal
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
