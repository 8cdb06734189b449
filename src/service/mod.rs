//! Use cases: the rules of `domain` applied over `store`, one function per thing an admin or a
//! protocol endpoint does. Database work here runs inside `Db::run`/`Db::transaction` closures.

pub mod api_keys;
pub mod approvals;
pub mod authz;
pub mod brute_force;
pub mod clients;
pub mod codes;
pub mod consent_records;
pub mod consents;
pub mod events;
pub mod keys;
pub mod login;
pub mod provisioning;
pub mod rate_limits;
pub mod realm_cache;
pub mod roles;
pub mod sessions;
pub mod users;

/// A new random id (uuid v4), the form of every internal id, as in Keycloak.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
