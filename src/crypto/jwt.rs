//! Signing and verifying RS256 JWTs with a realm's keys.

use josekit::jws::alg::rsassa::RsassaJwsSigner;
use josekit::jws::{JwsHeader, JwsVerifier};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Map, Value};

use super::keys::LoadedKey;

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("malformed token")]
    Malformed,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Signs `claims` as a compact JWS with the signer's kid in the header.
pub fn sign(claims: Map<String, Value>, signer: &RsassaJwsSigner, typ: &str) -> Result<String, JwtError> {
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    let payload = JwtPayload::from_map(claims).map_err(|e| JwtError::Signing(e.to_string()))?;
    jwt::encode_with_signer(&payload, &header, signer).map_err(|e| JwtError::Signing(e.to_string()))
}

/// Reads the `kid` from a token's header without verifying anything.
pub fn peek_kid(token: &str) -> Option<String> {
    let header = jwt::decode_header(token).ok()?;
    header.claim("kid").and_then(Value::as_str).map(str::to_owned)
}

/// Reads the claims without verifying: only to route the token (e.g. its `iss`), never to trust it.
pub fn peek_claims(token: &str) -> Option<Map<String, Value>> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Verifies the signature with the key named by the token's kid; expiry is the caller's to check.
pub fn verify<'a>(token: &str, keys: impl IntoIterator<Item = &'a LoadedKey>) -> Result<Map<String, Value>, JwtError> {
    if token.len() > 16 * 1024 || token.split('.').count() != 3 {
        return Err(JwtError::Malformed);
    }
    let kid = peek_kid(token).ok_or(JwtError::Malformed)?;
    let key = keys.into_iter().find(|k| k.kid == kid).ok_or(JwtError::UnknownKey)?;
    let verifier: &dyn JwsVerifier = &key.verifier;
    let (payload, _header) = jwt::decode_with_verifier(token, verifier).map_err(|_| JwtError::BadSignature)?;
    Ok(payload.claims_set().clone())
}
