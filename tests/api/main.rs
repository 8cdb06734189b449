//! One integration test binary; a file per surface. Runs once per storage stack (see helpers.rs).

mod helpers;

mod account_page;
mod admin_console;
mod admin_rights;
mod admin_roles_groups;
mod admin_sessions;
mod admin_users;
mod api_key_cache;
mod api_key_lifecycle;
mod api_keys;
mod authorization_code;
mod bad_input;
mod browser;
mod brute_force;
mod cli;
mod consents;
mod console_walkthrough;
mod cors;
mod discovery;
mod introspection;
mod isolation;
mod keycloak_js;
mod keys;
mod logout;
mod multi_node;
mod oidc_rp;
mod ops;
mod python_keycloak;
mod rate_limits;
mod restart;
mod revocation;
mod service_jwts;
mod smoke;
mod token_endpoint;
mod userinfo;
