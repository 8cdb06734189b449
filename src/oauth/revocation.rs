//! RFC 7009 token revocation, as Keycloak does it.
//!
//! - A refresh or offline token revokes its whole rotation family in the database, and with it the
//!   access tokens its client holds in that session (RFC 7009 §2.1 "SHOULD"; Keycloak detaches the
//!   client from the session): those issued up to now for the same `sid` and client stop being
//!   active at userinfo and introspection.
//! - An access token is marked revoked by its `jti` until it expires.
//! - A token the server cannot verify, or an expired one, needs nothing: 200 (§2.2).
//! - A token issued to another client is refused with `invalid_request` "Unmatching clients" (what
//!   Keycloak answers; RFC 7009 §2.1 says the request is refused without naming a code).
//! - A token of a type that cannot be revoked (an ID token) is `unsupported_token_type` (§2.2.1).
//! - `token_type_hint` is only a hint (§2.1: the server MAY ignore it): the token's own `typ` decides,
//!   and an unknown hint is not an error (Keycloak ignores it too).

use std::time::Duration;

use serde_json::Value;

use super::introspection::{claim_str, verified_claims};
use super::OAuthError;
use crate::service::realm_cache::{ClientRuntime, RealmRuntime};
use crate::service::sessions;
use crate::state::AppState;
use crate::store::db::{self, DbError};
use crate::store::ephemeral::EphemeralError;

/// Why a revocation request is refused.
#[derive(Debug)]
pub enum RevocationError {
    OAuth(OAuthError),
    /// RFC 7009 §2.2.1 `unsupported_token_type`.
    UnsupportedTokenType,
}

impl From<OAuthError> for RevocationError {
    fn from(e: OAuthError) -> Self {
        Self::OAuth(e)
    }
}

fn server_error(e: impl std::fmt::Debug) -> OAuthError {
    tracing::error!(error = ?e, "revocation failed");
    OAuthError::ServerError
}

fn client_tokens_key(realm_id: &str, session_id: &str, client_id: &str) -> String {
    format!("revoked-client-tokens:{realm_id}:{session_id}:{client_id}")
}

/// When the tokens of `client_id` in session `session_id` were last revoked, if they were: access
/// tokens of that client and session issued at or before that second are no longer active.
pub async fn client_tokens_revoked_at(
    state: &AppState,
    realm_id: &str,
    session_id: &str,
    client_id: &str,
) -> Result<Option<i64>, EphemeralError> {
    Ok(state
        .ephemeral
        .get(&client_tokens_key(realm_id, session_id, client_id))
        .await?
        .and_then(|v| v.parse().ok()))
}

/// Records that the tokens `client` holds in `session_id` are revoked as of now. Kept as long as any
/// such access token can live: sessions end by their maximum lifespan, and access tokens by theirs.
async fn revoke_client_tokens(
    state: &AppState,
    realm: &RealmRuntime,
    session_id: &str,
    client: &ClientRuntime,
) -> Result<(), EphemeralError> {
    let lifespan = client
        .client
        .access_token_lifespan
        .unwrap_or(realm.realm.access_token_lifespan)
        .max(realm.realm.access_token_lifespan)
        .max(realm.realm.sso_session_max_lifespan)
        .max(1);
    state
        .ephemeral
        .put(
            &client_tokens_key(&realm.realm.id, session_id, &client.client.client_id),
            &state.now().to_string(),
            Duration::from_secs(lifespan as u64 + 1),
        )
        .await
}

/// Revokes `token` for the authenticated `client`.
pub async fn revoke(
    state: &AppState,
    realm: &RealmRuntime,
    client: &ClientRuntime,
    token: &str,
) -> Result<(), RevocationError> {
    let Some(claims) = verified_claims(realm, token) else {
        tracing::debug!("revocation of a token that does not verify: nothing to do");
        return Ok(());
    };
    let typ = claim_str(&claims, "typ").unwrap_or_default();
    if !matches!(typ, "Bearer" | "Refresh" | "Offline") {
        return Err(RevocationError::UnsupportedTokenType);
    }
    let Some(azp) = claim_str(&claims, "azp") else {
        return Ok(());
    };
    if azp != client.client.client_id {
        return Err(OAuthError::invalid_request("Unmatching clients").into());
    }
    match typ {
        "Bearer" => {
            let (Some(jti), Some(exp)) = (claim_str(&claims, "jti"), claims.get("exp").and_then(Value::as_i64)) else {
                return Ok(());
            };
            sessions::revoke_access_token(state, jti, exp)
                .await
                .map_err(server_error)?;
        }
        _ => {
            revoke_refresh_family(state, realm, client, token).await?;
            if let Some(sid) = claim_str(&claims, "sid") {
                revoke_client_tokens(state, realm, sid, client)
                    .await
                    .map_err(server_error)?;
            }
        }
    }
    Ok(())
}

/// Revokes the rotation family of a refresh token of `client` (found by its keyed hash).
pub async fn revoke_refresh_family(
    state: &AppState,
    realm: &RealmRuntime,
    client: &ClientRuntime,
    token: &str,
) -> Result<(), OAuthError> {
    let hash = state.master_key.keyed_hash(token.as_bytes());
    let realm_id = realm.realm.id.clone();
    let client_internal_id = client.client.id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), DbError> {
            if let Some(row) = db::refresh::find_by_hash(conn, &hash)? {
                if row.realm_id == realm_id && row.client_id == client_internal_id {
                    db::refresh::revoke_family(conn, &row.family_id)?;
                }
            }
            Ok(())
        })
        .await
        .map_err(server_error)
}
