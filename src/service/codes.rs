//! Authorization codes (RFC 6749 §4.1): random, single use, 60 seconds, in the ephemeral store
//! under a keyed hash of the code. Taking a code is atomic (GETDEL), so two concurrent exchanges
//! cannot both win. After an exchange a marker remembers which tokens the code produced, so that
//! a replay can revoke them (RFC 6749 §4.1.2).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::crypto::secrets::generate_secret;
use crate::state::AppState;
use crate::store::ephemeral::EphemeralError;

pub const CODE_LIFESPAN: i64 = 60;

/// What a code is bound to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AuthorizationCode {
    pub realm_id: String,
    /// Internal client id.
    pub client_id: String,
    pub redirect_uri: String,
    /// PKCE S256 challenge, when the request had one.
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub session_id: String,
    pub user_id: String,
    /// The granted `scope` string (negotiated at the authorization request).
    pub scope: String,
    pub auth_time: i64,
    pub acr: String,
    pub issued_at: i64,
}

/// The tokens a code was exchanged for.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExchangedTokens {
    pub refresh_family_id: String,
    pub access_jti: String,
    pub access_expires_at: i64,
}

pub enum Redeemed {
    Valid(Box<AuthorizationCode>),
    /// Already exchanged: here is what the first exchange issued.
    Replayed(Option<ExchangedTokens>),
    Unknown,
}

fn code_key(state: &AppState, code: &str) -> String {
    format!("code:{}", state.master_key.keyed_hash(code.as_bytes()))
}

fn used_key(state: &AppState, code: &str) -> String {
    format!("code-used:{}", state.master_key.keyed_hash(code.as_bytes()))
}

/// Stores the code's binding and returns the code to hand to the client.
pub async fn issue(state: &AppState, binding: &AuthorizationCode) -> Result<String, EphemeralError> {
    let code = generate_secret();
    let value = serde_json::to_string(binding).expect("a code binding serializes");
    state
        .ephemeral
        .put(
            &code_key(state, &code),
            &value,
            Duration::from_secs(CODE_LIFESPAN as u64),
        )
        .await?;
    // The replay marker is written before the code can be used, with the code's own lifetime and
    // then extended by `record_exchange`: a code that was taken is always recognised as such.
    state
        .ephemeral
        .put(
            &used_key(state, &code),
            "",
            Duration::from_secs(CODE_LIFESPAN as u64 + 5),
        )
        .await?;
    Ok(code)
}

/// Takes the code (at most once). Expiry is checked against the clock, not only the store's TTL.
pub async fn redeem(state: &AppState, code: &str) -> Result<Redeemed, EphemeralError> {
    if code.is_empty() || code.len() > 128 {
        return Ok(Redeemed::Unknown);
    }
    match state.ephemeral.take(&code_key(state, code)).await? {
        Some(raw) => match serde_json::from_str::<AuthorizationCode>(&raw) {
            Ok(binding) if state.now() - binding.issued_at <= CODE_LIFESPAN => Ok(Redeemed::Valid(Box::new(binding))),
            _ => Ok(Redeemed::Unknown),
        },
        None => match state.ephemeral.get(&used_key(state, code)).await? {
            Some(raw) => Ok(Redeemed::Replayed(serde_json::from_str(&raw).ok())),
            None => Ok(Redeemed::Unknown),
        },
    }
}

/// Remembers what the code produced, for as long as its access token lives.
pub async fn record_exchange(state: &AppState, code: &str, tokens: &ExchangedTokens) -> Result<(), EphemeralError> {
    let ttl = (tokens.access_expires_at - state.now()).max(CODE_LIFESPAN);
    let value = serde_json::to_string(tokens).expect("exchanged tokens serialize");
    state
        .ephemeral
        .put(&used_key(state, code), &value, Duration::from_secs(ttl as u64))
        .await
}
