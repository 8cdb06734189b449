//! User rules: defaults, default roles, passwords.

use serde_json::Map;

use super::new_id;
use crate::domain::defaults::default_roles_name;
use crate::domain::{Credential, Realm, User};
use crate::store::db::{self, DbConnection};

pub fn blank_user(realm_id: &str, username: &str, now: i64) -> User {
    User {
        id: new_id(),
        realm_id: realm_id.to_owned(),
        username: username.to_owned(),
        email: None,
        email_verified: false,
        first_name: None,
        last_name: None,
        enabled: true,
        service_account_client_id: None,
        attributes: Map::new(),
        not_before: 0,
        created_at: now,
    }
}

/// Inserts the user holding `default-roles-<realm>`, as every new Keycloak user does.
pub fn insert_with_default_roles(conn: &mut DbConnection, realm: &Realm, user: &User) -> diesel::QueryResult<()> {
    db::users::insert(conn, user)?;
    if let Some(role) = db::roles::find_by_name(conn, &realm.id, &default_roles_name(&realm.name))? {
        db::roles::grant_to_user(conn, &user.id, &role.id)?;
    }
    Ok(())
}

/// `credential_data` of a password nexus hashed itself (argon2id PHC in `secret_data`).
pub const OWN_CREDENTIAL_DATA: &str = r#"{"algorithm":"argon2id"}"#;

/// Replaces the user's password with an already computed argon2id hash.
pub fn set_password_hash(
    conn: &mut DbConnection,
    user_id: &str,
    phc: String,
    temporary: bool,
    now: i64,
) -> diesel::QueryResult<()> {
    let credential = Credential {
        id: new_id(),
        user_id: user_id.to_owned(),
        credential_type: "password".to_owned(),
        secret_data: phc,
        credential_data: OWN_CREDENTIAL_DATA.to_owned(),
        temporary,
        created_at: now,
    };
    db::users::set_password(conn, &credential)
}
