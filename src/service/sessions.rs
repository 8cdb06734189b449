//! SSO sessions, in the ephemeral store (docs/adr/007-sessions-codes-refresh.md).
//!
//! A session is what a login creates: the browser holds a cookie `{id}.{secret}` (the id alone is
//! public: it is the tokens' `sid`), the store holds the record with a keyed hash of the secret.
//! Idle and maximum lifespans are the realm's; they are checked against the clock on every read
//! (the store's TTL only reclaims memory). Refresh tokens live in the database: ending a session
//! revokes its online refresh tokens there, so they survive a restart of Redis but not a logout.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::crypto::secrets::{generate_secret, MasterKey};
use crate::domain::Realm;
use crate::state::AppState;
use crate::store::db::{self, DbError};
use crate::store::ephemeral::EphemeralError;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SsoSession {
    /// Public id: the tokens' `sid` and `session_state`.
    pub id: String,
    pub realm_id: String,
    pub user_id: String,
    /// When the user last proved who they are (a password entered); the ID token's `auth_time`.
    pub auth_time: i64,
    pub started_at: i64,
    pub last_seen: i64,
    /// Keyed hash of the cookie's secret part; `None` for sessions no browser holds (password grant,
    /// a session resumed by a refresh token after the store lost it).
    pub cookie_hash: Option<String>,
}

/// A new session and, for a browser, the cookie value that proves it.
pub struct NewSession {
    pub session: SsoSession,
    pub cookie_value: Option<String>,
}

fn key(realm_id: &str, id: &str) -> String {
    format!("sso:{realm_id}:{id}")
}

impl SsoSession {
    /// Expired by the realm's idle or maximum lifespan at `now`.
    pub fn expired(&self, realm: &Realm, now: i64) -> bool {
        now - self.last_seen > realm.sso_session_idle_timeout || now - self.started_at > realm.sso_session_max_lifespan
    }

    /// Seconds the record must stay in the store: until the earlier of the idle and max limits.
    fn store_ttl(&self, realm: &Realm, now: i64) -> Duration {
        let idle_end = self.last_seen + realm.sso_session_idle_timeout;
        let max_end = self.started_at + realm.sso_session_max_lifespan;
        Duration::from_secs(idle_end.min(max_end).saturating_sub(now).max(1) as u64)
    }
}

/// Starts a session for `user_id` authenticated at `now`; `for_browser` adds the cookie secret.
pub async fn create(
    state: &AppState,
    realm: &Realm,
    user_id: &str,
    for_browser: bool,
) -> Result<NewSession, EphemeralError> {
    let now = state.now();
    let id = uuid::Uuid::new_v4().to_string();
    let secret = for_browser.then(generate_secret);
    let session = SsoSession {
        id: id.clone(),
        realm_id: realm.id.clone(),
        user_id: user_id.to_owned(),
        auth_time: now,
        started_at: now,
        last_seen: now,
        cookie_hash: secret.as_ref().map(|s| state.master_key.keyed_hash(s.as_bytes())),
    };
    save(state, realm, &session, now).await?;
    Ok(NewSession {
        cookie_value: secret.map(|s| format!("{id}.{s}")),
        session,
    })
}

async fn save(state: &AppState, realm: &Realm, session: &SsoSession, now: i64) -> Result<(), EphemeralError> {
    let value = serde_json::to_string(session).expect("a session serializes");
    state
        .ephemeral
        .put(&key(&realm.id, &session.id), &value, session.store_ttl(realm, now))
        .await
}

/// The live session with this id, if any (expired ones are removed on the way).
pub async fn find(state: &AppState, realm: &Realm, id: &str) -> Result<Option<SsoSession>, EphemeralError> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    let Some(raw) = state.ephemeral.get(&key(&realm.id, id)).await? else {
        return Ok(None);
    };
    let Ok(session) = serde_json::from_str::<SsoSession>(&raw) else {
        return Ok(None);
    };
    if session.realm_id != realm.id {
        return Ok(None);
    }
    if session.expired(realm, state.now()) {
        state.ephemeral.delete(&key(&realm.id, id)).await?;
        return Ok(None);
    }
    Ok(Some(session))
}

/// The session a browser cookie proves, if it is live and the cookie's secret matches.
pub async fn from_cookie(
    state: &AppState,
    realm: &Realm,
    cookie_value: &str,
) -> Result<Option<SsoSession>, EphemeralError> {
    let Some((id, secret)) = cookie_value.split_once('.') else {
        return Ok(None);
    };
    let Some(session) = find(state, realm, id).await? else {
        return Ok(None);
    };
    match &session.cookie_hash {
        Some(hash) if verify(&state.master_key, secret, hash) => Ok(Some(session)),
        _ => Ok(None),
    }
}

fn verify(master: &MasterKey, secret: &str, hash: &str) -> bool {
    master.verify_keyed_hash(secret.as_bytes(), hash)
}

/// Records activity (a new authorization or a refresh), which extends the idle lifespan.
pub async fn touch(state: &AppState, realm: &Realm, session: &mut SsoSession) -> Result<(), EphemeralError> {
    let now = state.now();
    session.last_seen = now;
    save(state, realm, session, now).await
}

/// Marks a fresh password entry in an existing session (`prompt=login`, `max_age`).
pub async fn reauthenticated(state: &AppState, realm: &Realm, session: &mut SsoSession) -> Result<(), EphemeralError> {
    let now = state.now();
    session.auth_time = now;
    session.last_seen = now;
    save(state, realm, session, now).await
}

/// Brings back, without a browser, a session the store no longer has while a refresh token of it
/// is still valid in the database (the store was restarted or flushed).
pub async fn resume(
    state: &AppState,
    realm: &Realm,
    id: &str,
    user_id: &str,
    auth_time: i64,
) -> Result<SsoSession, EphemeralError> {
    let now = state.now();
    let session = SsoSession {
        id: id.to_owned(),
        realm_id: realm.id.clone(),
        user_id: user_id.to_owned(),
        auth_time,
        started_at: now,
        last_seen: now,
        cookie_hash: None,
    };
    save(state, realm, &session, now).await?;
    Ok(session)
}

#[derive(Debug, thiserror::Error)]
pub enum EndSessionError {
    #[error(transparent)]
    Ephemeral(#[from] EphemeralError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Ends a session: removes it from the store and revokes its online refresh tokens (offline tokens
/// outlive it). Access tokens carrying its `sid` stop working at userinfo and introspection.
pub async fn end(state: &AppState, realm: &Realm, id: &str) -> Result<(), EndSessionError> {
    state.ephemeral.delete(&key(&realm.id, id)).await?;
    let session_id = id.to_owned();
    state
        .db
        .transaction(move |conn| -> Result<_, DbError> {
            db::refresh::revoke_online_for_session(conn, &session_id)?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// Marks an access token's `jti` as revoked until `expires_at` (RFC 7009, code replay).
pub async fn revoke_access_token(state: &AppState, jti: &str, expires_at: i64) -> Result<(), EphemeralError> {
    let remaining = expires_at - state.now();
    if remaining <= 0 {
        return Ok(());
    }
    state
        .ephemeral
        .put(
            &format!("revoked-jti:{jti}"),
            "1",
            Duration::from_secs(remaining as u64),
        )
        .await
}

pub async fn is_access_token_revoked(state: &AppState, jti: &str) -> Result<bool, EphemeralError> {
    Ok(state.ephemeral.get(&format!("revoked-jti:{jti}")).await?.is_some())
}

/// Whether an access token verified by signature is still live: not revoked, its session (if it
/// names one) not ended. Userinfo and introspection ask this; the token endpoint does not.
pub async fn access_token_is_live(
    state: &AppState,
    realm: &Realm,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Result<bool, EphemeralError> {
    let Some(jti) = claims.get("jti").and_then(|v| v.as_str()) else {
        return Ok(false);
    };
    if is_access_token_revoked(state, jti).await? {
        return Ok(false);
    }
    match claims.get("sid").and_then(|v| v.as_str()) {
        Some(sid) => Ok(find(state, realm, sid).await?.is_some()),
        None => Ok(true),
    }
}
