//! Cryptography: per-realm signing keys and JWTs, password hashing, secrets at rest.

pub mod client_keys;
pub mod jwt;
pub mod keycloak_hash;
pub mod keys;
pub mod password;
pub mod secrets;
