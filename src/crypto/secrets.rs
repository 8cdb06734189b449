//! Secrets at rest: AES-256-GCM encryption under the master key, and a keyed hash (HMAC-SHA-256)
//! for high-entropy secrets that only ever need comparing.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

const CIPHERTEXT_PREFIX: &str = "v1:";
const MASTER_KEY_FILE: &str = "master.key";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the master key must be 64 hexadecimal characters (32 bytes)")]
    BadMasterKey,
    #[error("cannot read or write the master key file {path}: {source}")]
    KeyFile { path: String, source: std::io::Error },
    #[error("a stored secret cannot be decrypted with this master key")]
    Decrypt,
}

/// The root of every key at rest. Encryption and hashing use separate keys derived from it.
pub struct MasterKey {
    encryption: SecretBox<[u8; 32]>,
    hashing: SecretBox<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    fn from_bytes(root: &[u8; 32]) -> Self {
        Self {
            encryption: SecretBox::new(Box::new(derive(root, b"nexus encryption v1"))),
            hashing: SecretBox::new(Box::new(derive(root, b"nexus keyed hash v1"))),
        }
    }

    /// Parses a 64-hex-character key (`NEXUS_MASTER_KEY`).
    pub fn from_hex(hex_key: &SecretString) -> Result<Self, SecretError> {
        let bytes = hex::decode(hex_key.expose_secret().trim()).map_err(|_| SecretError::BadMasterKey)?;
        let root: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadMasterKey)?;
        Ok(Self::from_bytes(&root))
    }

    /// Reads `master.key` from the data dir, creating it (mode 0600) on first start.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, SecretError> {
        let path = data_dir.join(MASTER_KEY_FILE);
        let io_err = |source| SecretError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(contents) => Self::from_hex(&SecretString::from(contents)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(io_err)?;
                let mut root = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut root);
                write_private_file(&path, hex::encode(root).as_bytes()).map_err(io_err)?;
                Ok(Self::from_bytes(&root))
            }
            Err(e) => Err(io_err(e)),
        }
    }

    /// Encrypts `plaintext`; the result is text safe to store (`v1:` + base64 of nonce and ciphertext).
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let cipher = Aes256Gcm::new(self.encryption.expose_secret().into());
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a fresh random nonce and an in-memory buffer cannot fail.
        let ciphertext = cipher.encrypt(Nonce::from_slice(&nonce), plaintext).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        format!("{CIPHERTEXT_PREFIX}{}", STANDARD.encode(out))
    }

    pub fn decrypt(&self, stored: &str) -> Result<Vec<u8>, SecretError> {
        let encoded = stored.strip_prefix(CIPHERTEXT_PREFIX).ok_or(SecretError::Decrypt)?;
        let raw = STANDARD.decode(encoded).map_err(|_| SecretError::Decrypt)?;
        if raw.len() < 12 {
            return Err(SecretError::Decrypt);
        }
        let (nonce, ciphertext) = raw.split_at(12);
        let cipher = Aes256Gcm::new(self.encryption.expose_secret().into());
        cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretError::Decrypt)
    }

    pub fn decrypt_string(&self, stored: &str) -> Result<String, SecretError> {
        String::from_utf8(self.decrypt(stored)?).map_err(|_| SecretError::Decrypt)
    }

    /// A 64-byte key for `purpose` (e.g. a realm's refresh-token HMAC key): derived, never stored,
    /// the same on every node that shares the master key.
    pub fn derive_key(&self, purpose: &str) -> SecretBox<[u8; 64]> {
        let mut key = [0u8; 64];
        for (half, chunk) in key.chunks_mut(32).enumerate() {
            let label = format!("nexus derived key v1:{purpose}:{half}");
            chunk.copy_from_slice(&derive(self.hashing.expose_secret(), label.as_bytes()));
        }
        SecretBox::new(Box::new(key))
    }

    /// Keyed hash (hex) of a high-entropy secret: fast to check, useless without the master key.
    pub fn keyed_hash(&self, secret: &[u8]) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(self.hashing.expose_secret()).expect("HMAC takes any key length");
        mac.update(secret);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Compares a presented secret with a stored keyed hash in constant time.
    pub fn verify_keyed_hash(&self, presented: &[u8], stored_hash: &str) -> bool {
        let computed = self.keyed_hash(presented);
        computed.as_bytes().ct_eq(stored_hash.as_bytes()).into()
    }
}

fn derive(root: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(root).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// A random secret of 256 bits, URL-safe base64 (43 characters).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A random identifier for tokens and sessions (128 bits, URL-safe).
pub fn random_token_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Constant-time equality of two byte strings.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_hex(&SecretString::from("11".repeat(32))).expect("valid key")
    }

    #[test]
    fn encryption_round_trips_and_is_randomised() {
        let key = key();
        let a = key.encrypt(b"client secret");
        let b = key.encrypt(b"client secret");
        assert_ne!(a, b);
        assert_eq!(key.decrypt(&a).expect("decrypts"), b"client secret");
        let other = MasterKey::from_hex(&SecretString::from("22".repeat(32))).expect("valid key");
        assert!(other.decrypt(&a).is_err());
    }

    #[test]
    fn keyed_hash_verifies_only_the_same_secret() {
        let key = key();
        let stored = key.keyed_hash(b"s3cret");
        assert!(key.verify_keyed_hash(b"s3cret", &stored));
        assert!(!key.verify_keyed_hash(b"s3cres", &stored));
    }

    #[test]
    fn generated_secrets_have_256_bits() {
        let secret = generate_secret();
        assert_eq!(URL_SAFE_NO_PAD.decode(&secret).expect("base64").len(), 32);
    }

    #[test]
    fn bad_master_keys_are_refused() {
        assert!(MasterKey::from_hex(&SecretString::from("abc")).is_err());
    }
}
