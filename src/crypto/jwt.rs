//! Signing and verifying RS256 JWTs with a realm's keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jws::alg::hmac::HmacJwsSigner;
use josekit::jws::alg::rsassa::RsassaJwsSigner;
use josekit::jws::{JwsHeader, JwsSigner, JwsVerifier, HS512};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Map, Value};

use super::keys::LoadedKey;
use super::secrets::constant_time_eq;

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
    sign_with(claims, signer, typ)
}

fn sign_with(claims: Map<String, Value>, signer: &dyn JwsSigner, typ: &str) -> Result<String, JwtError> {
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    let payload = JwtPayload::from_map(claims).map_err(|e| JwtError::Signing(e.to_string()))?;
    jwt::encode_with_signer(&payload, &header, signer).map_err(|e| JwtError::Signing(e.to_string()))
}

/// A realm's HS512 key for the tokens only nexus reads back (refresh tokens), as Keycloak's
/// `hmac-generated` key: one HMAC instead of an RSA signature, and never published in the JWKS.
pub struct InternalTokenKey {
    kid: String,
    signer: HmacJwsSigner,
}

impl InternalTokenKey {
    /// `kid` names the key in token headers; `key` is 64 secret bytes.
    pub fn new(kid: &str, key: &[u8]) -> Result<Self, JwtError> {
        let mut signer = HS512
            .signer_from_bytes(key)
            .map_err(|e| JwtError::Signing(e.to_string()))?;
        signer.set_key_id(kid);
        Ok(Self {
            kid: kid.to_owned(),
            signer,
        })
    }

    pub fn sign(&self, claims: Map<String, Value>, typ: &str) -> Result<String, JwtError> {
        sign_with(claims, &self.signer, typ)
    }

    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, JwtError> {
        if token.len() > 16 * 1024 || token.split('.').count() != 3 {
            return Err(JwtError::Malformed);
        }
        // The MAC is recomputed and compared in constant time here: josekit's HMAC verifier
        // compares with `!=`, which would let timing reveal a valid MAC byte by byte.
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(JwtError::Malformed);
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| JwtError::Malformed);
        let header_json: Map<String, Value> =
            serde_json::from_slice(&decode(header)?).map_err(|_| JwtError::Malformed)?;
        let kid_matches = header_json
            .get("kid")
            .and_then(Value::as_str)
            .is_none_or(|kid| kid == self.kid);
        if header_json.get("alg").and_then(Value::as_str) != Some("HS512") || !kid_matches {
            return Err(JwtError::BadSignature);
        }
        let expected = self
            .signer
            .sign(format!("{header}.{payload}").as_bytes())
            .map_err(|e| JwtError::Signing(e.to_string()))?;
        if !constant_time_eq(&expected, &decode(mac)?) {
            return Err(JwtError::BadSignature);
        }
        serde_json::from_slice(&decode(payload)?).map_err(|_| JwtError::Malformed)
    }
}

/// The token's `alg` header, unverified (to pick the verifier).
pub fn peek_alg(token: &str) -> Option<String> {
    let header = jwt::decode_header(token).ok()?;
    header.claim("alg").and_then(Value::as_str).map(str::to_owned)
}

/// Reads the `kid` from a token's header without verifying anything.
pub fn peek_kid(token: &str) -> Option<String> {
    let header = jwt::decode_header(token).ok()?;
    header.claim("kid").and_then(Value::as_str).map(str::to_owned)
}

/// Reads the claims without verifying: only to route the token (e.g. its `iss`), never to trust it.
pub fn peek_claims(token: &str) -> Option<Map<String, Value>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::{generate_rsa_key, LoadedKey};
    use crate::crypto::secrets::MasterKey;
    use crate::domain::{KeyStatus, SigningKeyRecord};
    use serde_json::json;

    fn loaded_key() -> LoadedKey {
        let master = MasterKey::from_hex(&secrecy::SecretString::from("33".repeat(32))).expect("key");
        let key = generate_rsa_key(&master).expect("generate");
        let record = SigningKeyRecord {
            kid: key.kid,
            realm_id: "r".into(),
            algorithm: "RS256".into(),
            public_key_pem: key.public_key_pem,
            private_key_encrypted: key.private_key_encrypted,
            status: KeyStatus::Active,
            created_at: 0,
            retired_at: None,
            verify_until: None,
        };
        LoadedKey::load(&record, &master).expect("load")
    }

    #[test]
    fn internal_tokens_verify_only_with_their_key() {
        let key = InternalTokenKey::new("hmac-1", &[7u8; 64]).expect("key");
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("u1"));
        let token = key.sign(claims, "JWT").expect("signs");
        assert_eq!(peek_alg(&token).as_deref(), Some("HS512"));
        assert_eq!(peek_kid(&token).as_deref(), Some("hmac-1"));
        assert_eq!(key.verify(&token).expect("verifies")["sub"], "u1");
        let other = InternalTokenKey::new("hmac-1", &[8u8; 64]).expect("key");
        assert!(other.verify(&token).is_err());
        // An RS256 token never verifies as an internal one.
        let rsa = loaded_key();
        let rs = sign(Map::new(), rsa.signer.as_ref().expect("signer"), "JWT").expect("signs");
        assert!(key.verify(&rs).is_err());
        // A changed payload, a cut MAC, or another kid do not verify either.
        let parts: Vec<&str> = token.split('.').collect();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"u2"}"#);
        assert!(key
            .verify(&format!("{}.{forged_payload}.{}", parts[0], parts[2]))
            .is_err());
        assert!(key
            .verify(&format!("{}.{}.{}", parts[0], parts[1], &parts[2][..10]))
            .is_err());
        let renamed = InternalTokenKey::new("hmac-2", &[7u8; 64]).expect("key");
        assert!(renamed.verify(&token).is_err());
        assert!(key.verify("a.b").is_err());
    }

    #[test]
    fn signed_tokens_verify_and_carry_the_kid() {
        let key = loaded_key();
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("u1"));
        let token = sign(claims, key.signer.as_ref().expect("signer"), "JWT").expect("signs");
        assert_eq!(peek_kid(&token).as_deref(), Some(key.kid.as_str()));
        let verified = verify(&token, [&key]).expect("verifies");
        assert_eq!(verified["sub"], "u1");
        let mut tampered = token.clone();
        tampered.replace_range(tampered.len() - 4.., "AAAA");
        assert!(verify(&tampered, [&key]).is_err());
    }

    /// `cargo test --release signing_rate -- --ignored --nocapture`: signs per second in-process.
    #[test]
    #[ignore]
    fn signing_rate() {
        let key = loaded_key();
        let signer = key.signer.as_ref().expect("signer");
        let started = std::time::Instant::now();
        let n = 2000;
        for i in 0..n {
            let mut claims = Map::new();
            claims.insert("sub".into(), json!(i.to_string()));
            sign(claims, signer, "JWT").expect("signs");
        }
        println!(
            "josekit RS256: {:.0} signs/s on one thread",
            n as f64 / started.elapsed().as_secs_f64()
        );
        let started = std::time::Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for i in 0..n {
                        let mut claims = Map::new();
                        claims.insert("sub".into(), json!(i.to_string()));
                        sign(claims, signer, "JWT").expect("signs");
                    }
                });
            }
        });
        println!(
            "josekit RS256: {:.0} signs/s on two threads",
            2.0 * n as f64 / started.elapsed().as_secs_f64()
        );
    }
}
