//! Whether a token nexus issued is still active, and RFC 7662 introspection built on that.
//!
//! An access token is active while its signature verifies with the keys of the realm it is
//! presented in, it has not expired, was issued after the realm's not-before, its client exists and
//! is enabled, it was not revoked (RFC 7009), its session (`sid`) has not ended and its client's
//! refresh tokens in that session were not revoked, and its user still exists, is enabled and was
//! not logged out by an admin (`notBefore`). Userinfo and introspection both ask this.
//!
//! A refresh token is active while its row in the database is neither rotated, revoked nor expired,
//! and its client and user are still usable.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::revocation;
use super::OAuthError;
use crate::crypto::jwt;
use crate::domain::User;
use crate::service::realm_cache::{ClientRuntime, RealmRuntime};
use crate::service::sessions;
use crate::state::AppState;
use crate::store::db::{self, refresh::RefreshTokenRow, DbError};

/// The outcome of checking a token: what it is about, or why it is not active (a short text for
/// logs and for userinfo's `error_description`; never a secret).
pub enum TokenState<T> {
    Active(T),
    Inactive(&'static str),
}

pub struct ActiveAccessToken {
    pub claims: Map<String, Value>,
    /// The client it was issued to (`azp`); `None` for a token minted from an API key, which has
    /// no client and lives only as long as its key.
    pub client: Option<Arc<ClientRuntime>>,
    pub user: User,
}

pub struct ActiveRefreshToken {
    pub claims: Map<String, Value>,
    pub row: RefreshTokenRow,
    pub user: User,
}

fn server_error(e: impl std::fmt::Debug) -> OAuthError {
    tracing::error!(error = ?e, "token check failed");
    OAuthError::ServerError
}

pub fn claim_str<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// The claims of a token signed by one of the realm's keys (RS256, or HS512 for refresh tokens)
/// and issued by this realm; `None` for anything else (garbage, another realm's token, a forged
/// signature). Expiry is not checked here.
pub fn verified_claims(realm: &RealmRuntime, token: &str) -> Option<Map<String, Value>> {
    let claims = realm.verify_token(token)?;
    (claim_str(&claims, "iss") == Some(realm.issuer.as_str())).then_some(claims)
}

/// Checks an access token presented to `realm` (see the module documentation for the rules).
pub async fn check_access_token(
    state: &AppState,
    realm: &RealmRuntime,
    token: &str,
) -> Result<TokenState<ActiveAccessToken>, OAuthError> {
    use TokenState::Inactive;
    let Some(claims) = verified_claims(realm, token) else {
        return Ok(Inactive("Token verification failed"));
    };
    if claim_str(&claims, "typ") != Some("Bearer") {
        return Ok(Inactive("Token verification failed"));
    }
    let now = state.now();
    let (Some(exp), Some(iat)) = (
        claims.get("exp").and_then(Value::as_i64),
        claims.get("iat").and_then(Value::as_i64),
    ) else {
        return Ok(Inactive("Token verification failed"));
    };
    if exp <= now {
        return Ok(Inactive("Token is not active"));
    }
    if iat < realm.realm.not_before {
        return Ok(Inactive("Token is not active"));
    }
    let Some(sub) = claim_str(&claims, "sub") else {
        return Ok(Inactive("Token verification failed"));
    };
    let client = match (claim_str(&claims, "azp"), claim_str(&claims, "api_key_id")) {
        (Some(azp), _) => {
            let Some(client) = state.realms.client(realm, azp).await.map_err(server_error)? else {
                return Ok(Inactive("Client not found"));
            };
            if !client.client.enabled {
                return Ok(Inactive("Client disabled"));
            }
            Some(client)
        }
        (None, Some(key_id)) => {
            let (realm_id, key_id) = (realm.realm.id.clone(), key_id.to_owned());
            let usable = state
                .db
                .run(move |conn| crate::service::api_keys::key_is_usable(conn, &realm_id, &key_id, now))
                .await
                .map_err(server_error)?;
            if !usable {
                return Ok(Inactive("API key revoked or expired"));
            }
            None
        }
        (None, None) => return Ok(Inactive("Token verification failed")),
    };
    let azp = client.as_ref().map(|c| c.client.client_id.as_str()).unwrap_or_default();
    if !sessions::access_token_is_live(state, &realm.realm, &claims)
        .await
        .map_err(server_error)?
    {
        return Ok(Inactive("Token is not active"));
    }
    if let Some(sid) = claim_str(&claims, "sid") {
        let revoked_at = revocation::client_tokens_revoked_at(state, &realm.realm.id, sid, azp)
            .await
            .map_err(server_error)?;
        if revoked_at.is_some_and(|at| iat <= at) {
            return Ok(Inactive("Token is not active"));
        }
    }
    let Some(user) = load_user(state, &realm.realm.id, sub).await? else {
        return Ok(Inactive("User not found"));
    };
    if !user.enabled {
        return Ok(Inactive("User disabled"));
    }
    if iat < user.not_before {
        return Ok(Inactive("Token is not active"));
    }
    Ok(TokenState::Active(ActiveAccessToken { claims, client, user }))
}

async fn load_user(state: &AppState, realm_id: &str, user_id: &str) -> Result<Option<User>, OAuthError> {
    let realm_id = realm_id.to_owned();
    let user_id = user_id.to_owned();
    state
        .db
        .run(move |conn| db::users::find(conn, &realm_id, &user_id).map_err(DbError::from))
        .await
        .map_err(server_error)
}

/// Checks a refresh (or offline) token presented to `realm`.
pub async fn check_refresh_token(
    state: &AppState,
    realm: &RealmRuntime,
    token: &str,
) -> Result<TokenState<ActiveRefreshToken>, OAuthError> {
    use TokenState::Inactive;
    let Some(claims) = verified_claims(realm, token) else {
        return Ok(Inactive("Token verification failed"));
    };
    if !matches!(claim_str(&claims, "typ"), Some("Refresh" | "Offline")) {
        return Ok(Inactive("Token verification failed"));
    }
    let hash = state.master_key.keyed_hash(token.as_bytes());
    let realm_id = realm.realm.id.clone();
    let found = state
        .db
        .run(move |conn| -> Result<_, DbError> {
            let Some(row) = db::refresh::find_by_hash(conn, &hash)? else {
                return Ok(None);
            };
            let user = db::users::find(conn, &realm_id, &row.user_id)?;
            Ok(Some((row, user)))
        })
        .await
        .map_err(server_error)?;
    let Some((row, user)) = found else {
        return Ok(Inactive("Token is not active"));
    };
    if row.realm_id != realm.realm.id || row.revoked || row.rotated || row.expires_at <= state.now() {
        return Ok(Inactive("Token is not active"));
    }
    let Some(azp) = claim_str(&claims, "azp") else {
        return Ok(Inactive("Token verification failed"));
    };
    match state.realms.client(realm, azp).await.map_err(server_error)? {
        Some(client) if client.client.enabled && client.client.id == row.client_id => {}
        _ => return Ok(Inactive("Client not found")),
    }
    let Some(user) = user.filter(|u| u.enabled) else {
        return Ok(Inactive("User not found or disabled"));
    };
    Ok(TokenState::Active(ActiveRefreshToken { claims, row, user }))
}

/// `token_type_hint` values introspection knows (RFC 7662 §2.1 and Keycloak's `requesting_party_token`).
/// The token's own `typ` decides how it is checked; an unknown hint is refused as Keycloak does.
pub fn check_hint(hint: Option<&str>) -> Result<(), OAuthError> {
    match hint {
        None | Some("access_token" | "refresh_token" | "requesting_party_token") => Ok(()),
        Some(other) => Err(OAuthError::invalid_request(format!(
            "Unsupported token type [{}].",
            other.chars().take(64).collect::<String>()
        ))),
    }
}

/// RFC 7662 §2.2: `{"active": false}` for anything not active; for an active token its claims with
/// `active`, `client_id`, `username` and `token_type` (Keycloak's introspection response).
pub async fn introspect(state: &AppState, realm: &RealmRuntime, token: &str) -> Result<Value, OAuthError> {
    let inactive = || json!({ "active": false });
    let typ = jwt::peek_claims(token).and_then(|c| claim_str(&c, "typ").map(str::to_owned));
    match typ.as_deref() {
        Some("Bearer") => match check_access_token(state, realm, token).await? {
            TokenState::Active(active) => {
                let username = claim_str(&active.claims, "preferred_username")
                    .map(str::to_owned)
                    .unwrap_or_else(|| active.user.username.clone());
                let mut body = active.claims;
                if let Some(client) = &active.client {
                    body.insert("client_id".into(), json!(client.client.client_id));
                }
                body.insert("username".into(), json!(username));
                body.insert("token_type".into(), json!("Bearer"));
                body.insert("active".into(), json!(true));
                Ok(Value::Object(body))
            }
            TokenState::Inactive(reason) => {
                tracing::debug!(reason, "introspected access token is not active");
                Ok(inactive())
            }
        },
        Some("Refresh" | "Offline") => match check_refresh_token(state, realm, token).await? {
            TokenState::Active(active) => {
                let mut body = active.claims;
                let typ = claim_str(&body, "typ").unwrap_or("Refresh").to_owned();
                let azp = claim_str(&body, "azp").unwrap_or_default().to_owned();
                body.insert("client_id".into(), json!(azp));
                body.insert("username".into(), json!(active.user.username));
                body.insert("token_type".into(), json!(typ));
                body.insert("active".into(), json!(true));
                Ok(Value::Object(body))
            }
            TokenState::Inactive(reason) => {
                tracing::debug!(reason, "introspected refresh token is not active");
                Ok(inactive())
            }
        },
        _ => Ok(inactive()),
    }
}
