//! Cryptography: per-realm signing keys and JWTs, password hashing, secrets at rest.

pub mod jwt;
pub mod keys;
pub mod password;
pub mod secrets;
