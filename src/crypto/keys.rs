//! Realm signing keys: RSA-2048 generation, the decrypted signer kept in memory, and JWKS entries.

use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jwk::KeyPair;
use josekit::jws::alg::rsassa::{RsassaJwsSigner, RsassaJwsVerifier};
use josekit::jws::RS256;
use serde_json::{json, Value};

use super::secrets::{MasterKey, SecretError};
use crate::domain::{KeyStatus, SigningKeyRecord};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation or parsing failed: {0}")]
    Jose(#[from] josekit::JoseError),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// A freshly generated key: its public half in PEM, its private half already encrypted.
pub struct GeneratedKey {
    pub kid: String,
    pub public_key_pem: String,
    pub private_key_encrypted: String,
}

/// Generates an RSA-2048 key pair and encrypts the private key under the master key.
pub fn generate_rsa_key(master: &MasterKey) -> Result<GeneratedKey, KeyError> {
    let pair = RsaKeyPair::generate(2048)?;
    let public_key_pem = String::from_utf8_lossy(&pair.to_pem_public_key()).into_owned();
    let private_pem = pair.to_pem_private_key();
    let kid = key_id(&pair);
    Ok(GeneratedKey {
        kid,
        public_key_pem,
        private_key_encrypted: master.encrypt(&private_pem),
    })
}

/// The kid is the RFC 7638 thumbprint of the public key: stable and unique per key.
fn key_id(pair: &RsaKeyPair) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let jwk = pair.to_jwk_public_key();
    let e = jwk.parameter("e").and_then(Value::as_str).unwrap_or_default();
    let n = jwk.parameter("n").and_then(Value::as_str).unwrap_or_default();
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A key ready for use: the signer (active key only) and the verifier, parsed once.
pub struct LoadedKey {
    pub kid: String,
    pub status: KeyStatus,
    pub verify_until: Option<i64>,
    pub signer: Option<RsassaJwsSigner>,
    pub verifier: RsassaJwsVerifier,
    /// The JWKS entry (`kty kid use alg n e x5c`-less, as Keycloak minus certificates).
    pub jwk: Value,
    /// Base64 DER SubjectPublicKeyInfo, for `GET /realms/{realm}`'s `public_key`.
    pub public_key_b64: String,
}

impl LoadedKey {
    pub fn load(record: &SigningKeyRecord, master: &MasterKey) -> Result<Self, KeyError> {
        let verifier = RS256.verifier_from_pem(record.public_key_pem.as_bytes())?;
        let signer = if record.status == KeyStatus::Active {
            let private_pem = master.decrypt(&record.private_key_encrypted)?;
            let mut signer = RS256.signer_from_pem(&private_pem)?;
            signer.set_key_id(record.kid.clone());
            Some(signer)
        } else {
            None
        };
        let public = josekit::jwk::Jwk::from_bytes(public_jwk_json(&record.public_key_pem)?.to_string())?;
        let jwk = json!({
            "kid": record.kid,
            "kty": "RSA",
            "alg": record.algorithm,
            "use": "sig",
            "n": public.parameter("n").cloned().unwrap_or(Value::Null),
            "e": public.parameter("e").cloned().unwrap_or(Value::Null),
        });
        let public_key_b64 = record
            .public_key_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        Ok(Self {
            kid: record.kid.clone(),
            status: record.status,
            verify_until: record.verify_until,
            signer,
            verifier,
            jwk,
            public_key_b64,
        })
    }

    /// Whether this key still belongs in the JWKS at `now`.
    pub fn is_published(&self, now: i64) -> bool {
        match self.status {
            KeyStatus::Active => true,
            KeyStatus::Passive => self.verify_until.is_none_or(|until| until > now),
        }
    }
}

/// The public JWK (`n`, `e`) of a PEM public key.
fn public_jwk_json(public_pem: &str) -> Result<Value, KeyError> {
    let pkey = openssl::pkey::PKey::public_key_from_pem(public_pem.as_bytes())
        .map_err(|e| KeyError::Jose(josekit::JoseError::InvalidKeyFormat(e.into())))?;
    let rsa = pkey
        .rsa()
        .map_err(|e| KeyError::Jose(josekit::JoseError::InvalidKeyFormat(e.into())))?;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    Ok(json!({
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
        "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
    }))
}
