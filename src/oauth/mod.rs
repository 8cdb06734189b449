//! The protocol: token grants, client authentication, claims, discovery, RFC 6749 errors.

pub mod authorize;
pub mod bearer;
pub mod client_assertion;
pub mod client_auth;
pub mod code_grant;
pub mod discovery;
pub mod error;
pub mod grants;
pub mod introspection;
pub mod logout;
pub mod params;
pub mod registrar;
pub mod revocation;
pub mod tokens;

pub use error::OAuthError;
