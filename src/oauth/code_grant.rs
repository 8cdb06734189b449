//! The `authorization_code` grant (RFC 6749 §4.1.3) with PKCE (RFC 7636) and replay revocation.

use std::sync::Arc;

use super::grants::{issue_new_family, SessionRef, UserGrant};
use super::params::FormParams;
use super::tokens::TokenResponse;
use super::OAuthError;
use crate::crypto::secrets::constant_time_eq;
use crate::domain::scopes;
use crate::service::codes::{self, ExchangedTokens, Redeemed};
use crate::service::realm_cache::{ClientRuntime, RealmRuntime};
use crate::service::roles::user_with_roles;
use crate::service::sessions;
use crate::state::AppState;
use crate::store::db::{self, DbError};

fn server_error(e: impl std::fmt::Debug) -> OAuthError {
    tracing::error!(error = ?e, "code exchange failure");
    OAuthError::ServerError
}

fn code_not_valid() -> OAuthError {
    OAuthError::InvalidGrant("Code not valid".into())
}

pub async fn exchange(
    state: &AppState,
    realm: &RealmRuntime,
    client: &Arc<ClientRuntime>,
    params: &FormParams,
) -> Result<TokenResponse, OAuthError> {
    let code = params.require("code")?;
    let redirect_uri = params.get("redirect_uri");
    let verifier = params.get("code_verifier");
    if let Some(v) = verifier {
        if !is_valid_verifier(v) {
            return Err(OAuthError::InvalidGrant("PKCE invalid code verifier".into()));
        }
    }
    let binding = match codes::redeem(state, code).await.map_err(server_error)? {
        Redeemed::Valid(binding) => binding,
        Redeemed::Replayed(issued) => {
            if let Some(issued) = issued {
                revoke_exchanged(state, &issued).await;
            }
            tracing::warn!("authorization code replayed; its tokens are revoked");
            return Err(code_not_valid());
        }
        Redeemed::Unknown => return Err(code_not_valid()),
    };
    if binding.realm_id != realm.realm.id || binding.client_id != client.client.id {
        return Err(OAuthError::InvalidGrant("Auth error".into()));
    }
    if redirect_uri != Some(binding.redirect_uri.as_str()) {
        return Err(OAuthError::InvalidGrant("Incorrect redirect_uri".into()));
    }
    match (&binding.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            if !constant_time_eq(s256(verifier).as_bytes(), challenge.as_bytes()) {
                return Err(OAuthError::InvalidGrant(
                    "PKCE verification failed: Code mismatch".into(),
                ));
            }
        }
        (Some(_), None) => return Err(OAuthError::InvalidGrant("PKCE code verifier not specified".into())),
        (None, Some(_)) => {
            return Err(OAuthError::InvalidGrant(
                "PKCE code verifier specified but challenge not present in authorization".into(),
            ))
        }
        (None, None) => {}
    }
    // The session may have ended (logout) between the redirect and the exchange.
    let Some(mut session) = sessions::find(state, &realm.realm, &binding.session_id)
        .await
        .map_err(server_error)?
        .filter(|s| s.user_id == binding.user_id)
    else {
        return Err(OAuthError::InvalidGrant("Session not active".into()));
    };
    sessions::touch_for_client(state, &realm.realm, &mut session, &client.client.client_id)
        .await
        .map_err(server_error)?;
    let granted = scopes::negotiate(Some(&binding.scope), &client.scopes)
        .map_err(|e| OAuthError::InvalidScope(format!("Invalid scopes: {}", e.0)))?;
    let found = user_with_roles(&state.db, &realm.realm.id, &binding.user_id)
        .await
        .map_err(server_error)?;
    let Some((user, roles)) = found.filter(|(u, _)| u.enabled) else {
        return Err(OAuthError::InvalidGrant("User disabled".into()));
    };
    let grant = UserGrant {
        user: &user,
        roles: &roles,
        granted: &granted,
        session: Some(SessionRef {
            id: &session.id,
            auth_time: binding.auth_time,
        }),
        nonce: binding.nonce.as_deref(),
        acr: &binding.acr,
    };
    let issued = issue_new_family(state, realm, client, &grant).await?;
    let exchanged = ExchangedTokens {
        refresh_family_id: issued.family_id,
        access_jti: issued.access_jti,
        access_expires_at: issued.access_expires_at,
    };
    codes::record_exchange(state, code, &exchanged)
        .await
        .map_err(server_error)?;
    Ok(issued.response)
}

/// RFC 6749 §4.1.2: a replayed code revokes what its first exchange issued.
async fn revoke_exchanged(state: &AppState, issued: &ExchangedTokens) {
    let family = issued.refresh_family_id.clone();
    if let Err(e) = state
        .db
        .transaction(move |conn| db::refresh::revoke_family(conn, &family).map_err(DbError::from))
        .await
    {
        tracing::error!(error = ?e, "could not revoke the refresh tokens of a replayed code");
    }
    if let Err(e) = sessions::revoke_access_token(state, &issued.access_jti, issued.access_expires_at).await {
        tracing::error!(error = ?e, "could not revoke the access token of a replayed code");
    }
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn is_valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(is_unreserved)
}

pub fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// BASE64URL(SHA256(verifier)), the S256 challenge.
pub fn s256(verifier: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_the_rfc_7636_example() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_outside_the_alphabet_or_length_are_refused() {
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(43))));
    }
}
