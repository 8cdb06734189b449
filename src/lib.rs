//! Nexus: a Keycloak-compatible OAuth 2.0 / OpenID Connect provider.
//!
//! Layers (dependencies point down): `http` (actix) → `oauth` (the protocol) → `service` (use cases)
//! → `domain` (plain rules) ; `store` (diesel, redis) and `crypto` (keys, JWT, hashing) below.

pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod http;
pub mod metrics;
pub mod oauth;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
