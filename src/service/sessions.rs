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
    /// The address the session was started from (shown to admins).
    #[serde(default)]
    pub ip_address: Option<String>,
    /// Public `clientId`s that received tokens in this session.
    #[serde(default)]
    pub clients: Vec<String>,
}

/// A new session and, for a browser, the cookie value that proves it.
pub struct NewSession {
    pub session: SsoSession,
    pub cookie_value: Option<String>,
}

/// How many of a user's newest sessions the per-user index lists.
const MAX_INDEXED_SESSIONS: usize = 100;

fn key(realm_id: &str, id: &str) -> String {
    format!("sso:{realm_id}:{id}")
}

/// The ids of a user's sessions (for listing them; may name sessions that have ended).
fn user_index_key(realm_id: &str, user_id: &str) -> String {
    format!("sso-user:{realm_id}:{user_id}")
}

/// The ids of the realm's sessions, scored by their start (for the admin's list of every session);
/// ended ones leave it when they end, expired ones when a listing meets them.
fn realm_index_key(realm_id: &str) -> String {
    format!("sso-realm:{realm_id}")
}

/// When an admin last logged the user out: sessions started before that second are over, even one
/// the index lost to a concurrent update (those started within it are removed through the index).
fn user_logout_key(realm_id: &str, user_id: &str) -> String {
    format!("sso-user-logout:{realm_id}:{user_id}")
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
    ip: Option<std::net::IpAddr>,
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
        ip_address: ip.map(|ip| ip.to_string()),
        clients: Vec::new(),
    };
    save(state, realm, &session, now).await?;
    let index = realm_index_key(&realm.id);
    state.ephemeral.index_add(&index, &id, now).await?;
    // Sessions older than the maximum lifespan are over whatever else happened: keep the index
    // from growing with sessions nobody ended.
    state
        .ephemeral
        .index_trim_below(&index, now - realm.sso_session_max_lifespan)
        .await?;
    let mut ids = user_session_ids(state, realm, user_id).await?;
    ids.push(id.clone());
    // A user who logs in all day (a script with the password grant) must not grow the index
    // without end: keep the newest ones. Ending all sessions does not depend on it (the marker).
    if ids.len() > MAX_INDEXED_SESSIONS {
        ids.drain(..ids.len() - MAX_INDEXED_SESSIONS);
    }
    save_user_index(state, realm, user_id, &ids).await?;
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
    if session.expired(realm, state.now()) || logged_out_since(state, realm, &session).await? {
        state.ephemeral.delete(&key(&realm.id, id)).await?;
        return Ok(None);
    }
    Ok(Some(session))
}

async fn logged_out_since(state: &AppState, realm: &Realm, session: &SsoSession) -> Result<bool, EphemeralError> {
    let marker = state
        .ephemeral
        .get(&user_logout_key(&realm.id, &session.user_id))
        .await?;
    Ok(marker
        .and_then(|m| m.parse::<i64>().ok())
        .is_some_and(|at| session.started_at < at))
}

async fn user_session_ids(state: &AppState, realm: &Realm, user_id: &str) -> Result<Vec<String>, EphemeralError> {
    let raw = state.ephemeral.get(&user_index_key(&realm.id, user_id)).await?;
    Ok(raw.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or_default())
}

async fn save_user_index(state: &AppState, realm: &Realm, user_id: &str, ids: &[String]) -> Result<(), EphemeralError> {
    let ttl = Duration::from_secs(realm.sso_session_max_lifespan.max(1) as u64);
    let value = serde_json::to_string(ids).expect("ids serialize");
    state
        .ephemeral
        .put(&user_index_key(&realm.id, user_id), &value, ttl)
        .await
}

/// The user's live sessions, oldest first; the index forgets the ended ones.
pub async fn list_for_user(state: &AppState, realm: &Realm, user_id: &str) -> Result<Vec<SsoSession>, EphemeralError> {
    let ids = user_session_ids(state, realm, user_id).await?;
    let mut live = Vec::with_capacity(ids.len());
    for id in &ids {
        if let Some(session) = find(state, realm, id).await? {
            if session.user_id == user_id {
                live.push(session);
            }
        }
    }
    if live.len() != ids.len() {
        let kept: Vec<String> = live.iter().map(|s| s.id.clone()).collect();
        save_user_index(state, realm, user_id, &kept).await?;
    }
    live.sort_by_key(|s| s.started_at);
    Ok(live)
}

/// Ends every session of the user (an admin's "sign out"): the ones the index knows are removed,
/// and a marker makes any session started until now invalid. Refresh tokens are the caller's.
pub async fn end_all_for_user(state: &AppState, realm: &Realm, user_id: &str) -> Result<(), EphemeralError> {
    let now = state.now();
    let ttl = Duration::from_secs(realm.sso_session_max_lifespan.max(1) as u64 + 1);
    state
        .ephemeral
        .put(&user_logout_key(&realm.id, user_id), &now.to_string(), ttl)
        .await?;
    for id in user_session_ids(state, realm, user_id).await? {
        state.ephemeral.delete(&key(&realm.id, &id)).await?;
        state.ephemeral.index_remove(&realm_index_key(&realm.id), &id).await?;
    }
    state.ephemeral.delete(&user_index_key(&realm.id, user_id)).await
}

/// Records that `client_id` received tokens in the session (and that the session was used).
pub async fn touch_for_client(
    state: &AppState,
    realm: &Realm,
    session: &mut SsoSession,
    client_id: &str,
) -> Result<(), EphemeralError> {
    if !session.clients.iter().any(|c| c == client_id) {
        session.clients.push(client_id.to_owned());
    }
    touch(state, realm, session).await
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
        ip_address: None,
        clients: Vec::new(),
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
    state.ephemeral.index_remove(&realm_index_key(&realm.id), id).await?;
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

/// A page of the realm's live sessions, newest first, and how many the index holds. Sessions the
/// page meets that are over leave the index, so a page may hold fewer than `max`.
pub async fn list_for_realm(
    state: &AppState,
    realm: &Realm,
    first: usize,
    max: usize,
) -> Result<(Vec<SsoSession>, usize), EphemeralError> {
    let index = realm_index_key(&realm.id);
    state
        .ephemeral
        .index_trim_below(&index, state.now() - realm.sso_session_max_lifespan)
        .await?;
    let ids = state.ephemeral.index_range(&index, first, max).await?;
    let mut live = Vec::with_capacity(ids.len());
    for id in &ids {
        match find(state, realm, id).await? {
            Some(session) => live.push(session),
            None => state.ephemeral.index_remove(&index, id).await?,
        }
    }
    Ok((live, state.ephemeral.index_len(&index).await?))
}

/// Ends every session of the realm (Keycloak's "sign out all"), with their online refresh tokens;
/// how many there were.
pub async fn end_all_for_realm(state: &AppState, realm: &Realm) -> Result<usize, EndSessionError> {
    const BATCH: usize = 500;
    let index = realm_index_key(&realm.id);
    let mut ended = 0;
    loop {
        // Each pass removes what it read, so the next one starts at the top again.
        let ids = state.ephemeral.index_range(&index, 0, BATCH).await?;
        if ids.is_empty() {
            return Ok(ended);
        }
        for id in &ids {
            end(state, realm, id).await?;
            ended += 1;
        }
    }
}

/// Ends the session `id` if it is a live session of `user_id` (the person's own "sign out" of one
/// device); `false` when there is no such session of theirs, so nobody ends another's.
pub async fn end_own(state: &AppState, realm: &Realm, user_id: &str, id: &str) -> Result<bool, EndSessionError> {
    match find(state, realm, id).await? {
        Some(session) if session.user_id == user_id => {
            end(state, realm, id).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Ends every live session of the user that the per-user index knows, except `keep` (the person's
/// "sign out other devices"); how many ended. Unlike `end_all_for_user` it sets no marker, which
/// would end `keep` too: a session the index lost (beyond its newest `MAX_INDEXED_SESSIONS`) lives on.
pub async fn end_others_for_user(
    state: &AppState,
    realm: &Realm,
    user_id: &str,
    keep: &str,
) -> Result<usize, EndSessionError> {
    let mut ended = 0;
    for session in list_for_user(state, realm, user_id).await? {
        if session.id != keep {
            end(state, realm, &session.id).await?;
            ended += 1;
        }
    }
    Ok(ended)
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
