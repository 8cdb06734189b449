//! `/admin/realms/{realm}/users`: users, their password, group memberships and role mappings.

use super::repr::GroupRepr;
use crate::http::openapi::schemas::Count;
use crate::http::openapi::{op, Api, Errors};
use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::groups::{load_group, GroupTree};
use super::repr::{multivalued_attributes, user_json, CredentialRepr, UserRepr};
use super::roles::{self as role_api, ensure_may_grant};
use super::{admin_realm, created, invalidate, no_content, read_json, Paging};
use crate::crypto::password::hash_password;
use crate::domain::names::{parse_username, MAX_NAME_LEN};
use crate::domain::{Realm, User};
use crate::error::AppError;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::service::{roles as role_rules, users as user_rules};
use crate::state::AppState;
use crate::store::db::users::UserQuery;
use crate::store::db::{self, DbConnection};

const USERNAME_CONFLICT: &str = "User exists with same username";
pub(crate) const EMAIL_CONFLICT: &str = "User exists with same email";

pub fn routes(api: &mut Api) {
    api.section("Users", Errors::Keycloak)
        .get(
            "/admin/realms/{realm}/users",
            list,
            op("List or search users")
                .params::<ListQuery>()
                .returns_list::<UserRepr>(),
        )
        .post(
            "/admin/realms/{realm}/users",
            create,
            op("Create a user")
                .body::<UserRepr>()
                .created()
                .status(409, "The username or email is taken"),
        )
        .get(
            "/admin/realms/{realm}/users/count",
            count,
            op("Count users").params::<ListQuery>().returns::<Count>(),
        )
        .get(
            "/admin/realms/{realm}/users/{id}",
            get,
            op("Get a user").returns::<UserRepr>(),
        )
        .put(
            "/admin/realms/{realm}/users/{id}",
            update,
            op("Update a user").body::<UserRepr>().no_content(),
        )
        .delete(
            "/admin/realms/{realm}/users/{id}",
            delete,
            op("Delete a user").no_content(),
        )
        .put(
            "/admin/realms/{realm}/users/{id}/reset-password",
            reset_password,
            op("Set the user's password").body::<CredentialRepr>().no_content(),
        )
        .get(
            "/admin/realms/{realm}/users/{id}/credentials",
            credentials,
            op("List the user's credentials (without secrets)")
                .returns_json("Keycloak's `CredentialRepresentation` list"),
        )
        .post(
            "/admin/realms/{realm}/users/{id}/logout",
            logout,
            op("End every session of the user").no_content(),
        )
        .get(
            "/admin/realms/{realm}/users/{id}/groups",
            groups_of,
            op("The user's groups")
                .params::<GroupsQuery>()
                .returns_list::<GroupRepr>(),
        )
        .get(
            "/admin/realms/{realm}/users/{id}/groups/count",
            groups_count,
            op("Count the user's groups")
                .params::<GroupsQuery>()
                .returns_json("`{count}`"),
        )
        .put(
            "/admin/realms/{realm}/users/{id}/groups/{group}",
            join_group,
            op("Add the user to a group").no_content(),
        )
        .delete(
            "/admin/realms/{realm}/users/{id}/groups/{group}",
            leave_group,
            op("Remove the user from a group").no_content(),
        );
    super::roles::mapping_routes(api, "/admin/realms/{realm}/users/{user_id}", "user");
}

/// User representations; service accounts carry their client's `clientId`. `brief` drops attributes.
pub fn users_json(
    conn: &mut DbConnection,
    realm_id: &str,
    users: &[User],
    brief: bool,
) -> Result<Vec<Value>, AppError> {
    let client_ids: HashMap<String, String> = if users.iter().any(|u| u.service_account_client_id.is_some()) {
        db::clients::client_ids_by_id(conn, realm_id)?.into_iter().collect()
    } else {
        HashMap::new()
    };
    Ok(users
        .iter()
        .map(|user| {
            let client_id = user
                .service_account_client_id
                .as_ref()
                .and_then(|id| client_ids.get(id))
                .map(String::as_str);
            let mut value = user_json(user, client_id);
            if brief {
                if let Value::Object(map) = &mut value {
                    map.remove("attributes");
                }
            }
            value
        })
        .collect())
}

pub fn load_user(conn: &mut DbConnection, realm_id: &str, id: &str) -> Result<User, AppError> {
    if !role_api::storable(id) {
        return Err(AppError::not_found("User not found"));
    }
    db::users::find(conn, realm_id, id)?.ok_or_else(|| AppError::not_found("User not found"))
}

/// Loads a user an admin is about to change. Changing a user (their password above all) is a way
/// to act as them, so it may not reach above the admin's own rights: every administrative role the
/// user holds, the admin must hold too (403 otherwise).
pub fn load_managed_user(
    conn: &mut DbConnection,
    principal: &AdminPrincipal,
    realm: &Realm,
    id: &str,
) -> Result<User, AppError> {
    let user = load_user(conn, &realm.id, id)?;
    if !principal.is_master_admin() {
        let held: Vec<String> = role_rules::effective_role_ids_of_user(conn, &realm.id, &user.id)?
            .into_iter()
            .collect();
        ensure_may_grant(conn, principal, realm, &held)?;
    }
    Ok(user)
}

/// A boolean query parameter: `true`/`false` in any case (python-keycloak sends `True`).
fn parse_flag(value: Option<&str>, name: &str) -> Result<Option<bool>, AppError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(AppError::bad_request(format!("{name} must be true or false"))),
    }
}

/// An email as the admin API accepts it (lower-cased; empty is none). The account page uses it too.
pub(crate) fn parse_email(value: &str) -> Result<Option<String>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let valid = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if !valid {
        return Err(AppError::bad_request("Invalid email address"));
    }
    // Keycloak stores emails lower-cased.
    Ok(Some(value.to_lowercase()))
}

/// A first or last name as the admin API accepts it (trimmed; empty is none).
pub(crate) fn parse_person_name(value: &str, field: &str) -> Result<Option<String>, AppError> {
    if value.len() > MAX_NAME_LEN || value.chars().any(char::is_control) {
        return Err(AppError::bad_request(format!(
            "{field} must be at most 255 printable characters"
        )));
    }
    Ok(Some(value.trim()).filter(|v| !v.is_empty()).map(str::to_owned))
}

/// Applies the profile fields of a representation (create and update share this).
pub(crate) fn apply_profile(user: &mut User, repr: &UserRepr) -> Result<(), AppError> {
    if let Some(v) = &repr.email {
        user.email = parse_email(v)?;
    }
    if let Some(v) = &repr.first_name {
        user.first_name = parse_person_name(v, "firstName")?;
    }
    if let Some(v) = &repr.last_name {
        user.last_name = parse_person_name(v, "lastName")?;
    }
    if let Some(v) = repr.enabled {
        user.enabled = v;
    }
    if let Some(v) = repr.email_verified {
        user.email_verified = v;
    }
    if let Some(attrs) = repr.attributes.clone() {
        user.attributes = multivalued_attributes(attrs).map_err(AppError::bad_request)?;
    }
    Ok(())
}

/// The password of a representation's `credentials` (the last one wins), validated.
fn password_of(credentials: Option<&[CredentialRepr]>) -> Result<Option<(String, bool)>, AppError> {
    let mut out = None;
    for credential in credentials.unwrap_or(&[]) {
        out = Some(password_credential(credential)?);
    }
    Ok(out)
}

pub(crate) fn password_credential(credential: &CredentialRepr) -> Result<(String, bool), AppError> {
    match credential.kind.as_deref() {
        None | Some("password") => {}
        Some(other) => return Err(AppError::bad_request(format!("Unsupported credential type: {other}"))),
    }
    let value = credential
        .value
        .as_deref()
        .ok_or_else(|| AppError::bad_request("No password provided"))?;
    check_new_password(value)?;
    Ok((value.to_owned(), credential.temporary.unwrap_or(false)))
}

/// The rules a new password must pass (the admin API's set-password, the account page's change).
pub(crate) fn check_new_password(value: &str) -> Result<(), AppError> {
    if value.trim().is_empty() {
        return Err(AppError::bad_request("Password must not be empty"));
    }
    Ok(())
}

/// argon2id on the blocking pool, before any transaction opens.
pub(crate) async fn hash(password: Option<(String, bool)>) -> Result<Option<(String, bool)>, AppError> {
    match password {
        None => Ok(None),
        Some((value, temporary)) => {
            let phc = web::block(move || hash_password(&value))
                .await
                .map_err(AppError::internal)?;
            Ok(Some((phc, temporary)))
        }
    }
}

/// Whether another user of the realm (not `except`) has this email.
pub(crate) fn email_taken(
    conn: &mut DbConnection,
    realm_id: &str,
    email: &str,
    except: Option<&str>,
) -> Result<bool, AppError> {
    Ok(db::users::find_by_email(conn, realm_id, email)?
        .iter()
        .any(|u| Some(u.id.as_str()) != except))
}

// ---------- list, count ----------

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    search: Option<String>,
    username: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    exact: Option<String>,
    enabled: Option<String>,
    brief_representation: Option<String>,
    // Not `#[serde(flatten)] Paging`: flattened numbers fail to parse from a query string.
    first: Option<i64>,
    max: Option<i64>,
}

impl ListQuery {
    fn user_query(&self) -> Result<UserQuery, AppError> {
        for value in [
            &self.search,
            &self.username,
            &self.email,
            &self.first_name,
            &self.last_name,
        ] {
            role_api::check_text("query parameter", value.as_deref())?;
        }
        let enabled = parse_flag(self.enabled.as_deref(), "enabled")?;
        let exact = parse_flag(self.exact.as_deref(), "exact")?.unwrap_or(false);
        // As in Keycloak, `search` searches every field and the field filters are not applied with it.
        if let Some(search) = self.search.clone().filter(|s| !s.trim().is_empty()) {
            return Ok(UserQuery {
                search: Some(search),
                enabled,
                ..UserQuery::default()
            });
        }
        Ok(UserQuery {
            search: None,
            username: self.username.clone(),
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            enabled,
            exact,
            include_service_accounts: false,
        })
    }
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(&state, &req, &path, AdminPermission::ViewUsers).await?;
    let filter = query.user_query()?;
    let brief = parse_flag(query.brief_representation.as_deref(), "briefRepresentation")?.unwrap_or(false);
    let (first, max) = (
        Paging::new(query.first, query.max).first(),
        Paging::new(query.first, query.max).max(100),
    );
    let realm_id = realm.realm.id.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            let users = db::users::search(conn, &realm_id, &filter, first, max)?;
            users_json(conn, &realm_id, &users, brief)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// A bare JSON integer, as Keycloak answers.
async fn count(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(&state, &req, &path, AdminPermission::ViewUsers).await?;
    let filter = query.user_query()?;
    let realm_id = realm.realm.id.clone();
    let n = state
        .db
        .run(move |conn| -> Result<i64, AppError> { Ok(db::users::count(conn, &realm_id, &filter)?) })
        .await?;
    Ok(HttpResponse::Ok().json(n))
}

// ---------- create, read, update, delete ----------

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let principal = super::auth::authenticate(&state, &req).await?;
    let repr: UserRepr = read_json(&req, payload).await?;
    let id = create_user(&state, &principal, &path, repr).await?;
    Ok(created(&req, &id))
}

/// Creates a user from Keycloak's representation (the admin API's POST, the console's form); the
/// new user's id.
pub async fn create_user(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    repr: UserRepr,
) -> Result<String, AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    let principal = principal.clone();
    let username = match repr.username.as_deref() {
        None => return Err(AppError::bad_request("User name is missing")),
        Some(name) => parse_username(name).map_err(|e| AppError::bad_request(e.to_string()))?,
    };
    let mut user = user_rules::blank_user(&realm.realm.id, &username, state.now());
    apply_profile(&mut user, &repr)?;
    let password = hash(password_of(repr.credentials.as_deref())?).await?;
    let realm_row = realm.realm.clone();
    let now = state.now();
    let id = user.id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            if db::users::find_by_username(conn, &realm_row.id, &user.username)?.is_some() {
                return Err(AppError::conflict(USERNAME_CONFLICT));
            }
            if let Some(email) = &user.email {
                if email_taken(conn, &realm_row.id, email, None)? {
                    return Err(AppError::conflict(EMAIL_CONFLICT));
                }
            }
            let mut roles = Vec::new();
            for name in repr.realm_roles.as_deref().unwrap_or(&[]) {
                let role = role_api::role_by_name(conn, &realm_row.id, name)?
                    .ok_or_else(|| AppError::bad_request(format!("Role not found: {name}")))?;
                roles.push(role.id);
            }
            let tree = GroupTree::load(conn, &realm_row.id)?;
            let mut groups = Vec::new();
            for path in repr.groups.as_deref().unwrap_or(&[]) {
                let group = tree
                    .find_by_path(path)
                    .ok_or_else(|| AppError::bad_request(format!("Group {path} not found")))?;
                groups.push(group.id.clone());
            }
            let mut conferred = roles.clone();
            for group in &groups {
                conferred.extend(role_rules::mapped_role_ids_of_group(conn, &realm_row.id, group)?);
            }
            ensure_may_grant(conn, &principal, &realm_row, &conferred)?;
            user_rules::insert_with_default_roles(conn, &realm_row, &user)
                .map_err(|e| super::conflict_or_internal(e, USERNAME_CONFLICT))?;
            if let Some((phc, temporary)) = password {
                user_rules::set_password_hash(conn, &user.id, phc, temporary, now)?;
            }
            for role in &roles {
                db::roles::grant_to_user(conn, &user.id, role)?;
            }
            for group in &groups {
                db::roles::add_member(conn, &user.id, group)?;
            }
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(id)
}

async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewUsers).await?;
    let realm_id = realm.realm.id.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Value, AppError> {
            let user = load_user(conn, &realm_id, &id)?;
            Ok(users_json(conn, &realm_id, std::slice::from_ref(&user), false)?
                .pop()
                .unwrap_or(Value::Null))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Partial update: only the fields present change. Disabling a user revokes their refresh tokens.
async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let principal = super::auth::authenticate(&state, &req).await?;
    let repr: UserRepr = read_json(&req, payload).await?;
    update_user(&state, &principal, &realm_name, id, repr).await?;
    Ok(no_content())
}

/// Changes the fields present in `repr` (the admin API's PUT, the console's form). Disabling a user
/// revokes their refresh tokens.
pub async fn update_user(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
    repr: UserRepr,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    let principal = principal.clone();
    let username = repr
        .username
        .as_deref()
        .map(|n| parse_username(n).map_err(|e| AppError::bad_request(e.to_string())))
        .transpose()?;
    // Validate the profile before hashing or opening a transaction.
    let mut probe = user_rules::blank_user(&realm.realm.id, "probe", 0);
    apply_profile(&mut probe, &repr)?;
    let password = hash(password_of(repr.credentials.as_deref())?).await?;
    let realm_row = realm.realm.clone();
    let realm_id = realm_row.id.clone();
    let now = state.now();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let mut user = load_managed_user(conn, &principal, &realm_row, &id)?;
            if let Some(name) = username.filter(|n| *n != user.username) {
                if user.service_account_client_id.is_some() {
                    return Err(AppError::bad_request(
                        "The username of a service account cannot be changed",
                    ));
                }
                if db::users::find_by_username(conn, &realm_id, &name)?.is_some() {
                    return Err(AppError::conflict(USERNAME_CONFLICT));
                }
                user.username = name;
            }
            let email_before = user.email.clone();
            apply_profile(&mut user, &repr)?;
            if let Some(email) = user.email.as_deref().filter(|e| Some(*e) != email_before.as_deref()) {
                if email_taken(conn, &realm_id, email, Some(&user.id))? {
                    return Err(AppError::conflict(EMAIL_CONFLICT));
                }
            }
            if password.is_some() && user.service_account_client_id.is_some() {
                return Err(AppError::bad_request("Service accounts have no password"));
            }
            db::users::update(conn, &user).map_err(|e| super::conflict_or_internal(e, USERNAME_CONFLICT))?;
            if !user.enabled {
                db::refresh::revoke_for_user(conn, &user.id)?;
            }
            if let Some((phc, temporary)) = password {
                user_rules::set_password_hash(conn, &user.id, phc, temporary, now)?;
            }
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}

/// Service-account users belong to their client: they go when its service account is disabled.
async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let principal = super::auth::authenticate(&state, &req).await?;
    delete_user(&state, &principal, &realm_name, id).await?;
    Ok(no_content())
}

/// Deletes a user (not a service account) with their credentials, mappings and refresh tokens.
pub async fn delete_user(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    let principal = principal.clone();
    let realm_row = realm.realm.clone();
    let realm_id = realm_row.id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let user = load_managed_user(conn, &principal, &realm_row, &id)?;
            if user.service_account_client_id.is_some() {
                return Err(AppError::bad_request(
                    "Service-account users cannot be deleted; disable the client's service account",
                ));
            }
            // Credentials, mappings, memberships and refresh tokens cascade.
            db::users::delete(conn, &realm_id, &user.id)?;
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}

async fn reset_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let principal = super::auth::authenticate(&state, &req).await?;
    let credential: CredentialRepr = read_json(&req, payload).await?;
    set_password(&state, &principal, &realm_name, id, credential).await?;
    Ok(no_content())
}

/// Sets a user's password (temporary or not) from Keycloak's `CredentialRepresentation`.
pub async fn set_password(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
    credential: CredentialRepr,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    let principal = principal.clone();
    let password = password_credential(&credential)?;
    let realm_row = realm.realm.clone();
    let (phc, temporary) = hash(Some(password)).await?.unzip();
    let (Some(phc), Some(temporary)) = (phc, temporary) else {
        return Err(AppError::internal(anyhow::anyhow!("password hashing returned nothing")));
    };
    let now = state.now();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let user = load_managed_user(conn, &principal, &realm_row, &id)?;
            if user.service_account_client_id.is_some() {
                return Err(AppError::bad_request("Service accounts have no password"));
            }
            user_rules::set_password_hash(conn, &user.id, phc, temporary, now)?;
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}

/// Keycloak's `CredentialRepresentation`s without any secret.
async fn credentials(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewUsers).await?;
    let realm_id = realm.realm.id.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            let user = load_user(conn, &realm_id, &id)?;
            Ok(db::users::credentials_of(conn, &user.id)?
                .iter()
                // Keycloak shows `credentialData` (the algorithm; never the hash).
                .map(|c| json!({ "id": c.id, "type": c.credential_type, "createdDate": c.created_at * 1000, "temporary": c.temporary, "credentialData": c.credential_data }))
                .collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Ends the user's sessions: every refresh token of theirs stops working.
async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (principal, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ManageUsers).await?;
    let realm_row = realm.realm.clone();
    let user_id = state
        .db
        .transaction(move |conn| -> Result<String, AppError> {
            let user = load_managed_user(conn, &principal, &realm_row, &id)?;
            db::refresh::revoke_for_user(conn, &user.id)?;
            Ok(user.id)
        })
        .await?;
    crate::service::sessions::end_all_for_user(&state, &realm.realm, &user_id)
        .await
        .map_err(AppError::internal)?;
    Ok(no_content())
}

// ---------- groups of a user ----------

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct GroupsQuery {
    search: Option<String>,
    brief_representation: Option<String>,
    // Not `#[serde(flatten)] Paging`: flattened numbers fail to parse from a query string.
    first: Option<i64>,
    max: Option<i64>,
}

fn user_groups(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: &str,
    search: Option<&str>,
) -> Result<(GroupTree, Vec<String>), AppError> {
    let user = load_user(conn, realm_id, user_id)?;
    let tree = GroupTree::load(conn, realm_id)?;
    let needle = search.map(str::trim).filter(|s| !s.is_empty()).map(str::to_lowercase);
    let mut ids: Vec<(String, String)> = db::roles::groups_of_user(conn, &user.id)?
        .into_iter()
        .filter(|g| needle.as_ref().is_none_or(|n| g.name.to_lowercase().contains(n)))
        .map(|g| (tree.path(&g.id), g.id))
        .collect();
    ids.sort();
    Ok((tree, ids.into_iter().map(|(_, id)| id).collect()))
}

async fn groups_of(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<GroupsQuery>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewUsers).await?;
    let brief = parse_flag(query.brief_representation.as_deref(), "briefRepresentation")?.unwrap_or(true);
    let realm_id = realm.realm.id.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            let (tree, ids) = user_groups(conn, &realm_id, &id, query.search.as_deref())?;
            Ok(ids
                .iter()
                .skip(Paging::new(query.first, query.max).offset())
                .take(Paging::new(query.first, query.max).limit(100))
                .filter_map(|gid| tree.get(gid))
                .map(|g| {
                    let mut value = tree.json(g);
                    if brief {
                        if let Value::Object(map) = &mut value {
                            map.remove("attributes");
                        }
                    }
                    value
                })
                .collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn groups_count(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<GroupsQuery>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewUsers).await?;
    let realm_id = realm.realm.id.clone();
    let n = state
        .db
        .run(move |conn| -> Result<usize, AppError> {
            Ok(user_groups(conn, &realm_id, &id, query.search.as_deref())?.1.len())
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "count": n })))
}

/// PUT `/users/{id}/groups/{group}`: no body is read (clients send none, or an empty JSON one).
async fn join_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id, group_id) = path.into_inner();
    let principal = super::auth::authenticate(&state, &req).await?;
    set_group_membership(&state, &principal, &realm_name, id, group_id, true).await?;
    Ok(no_content())
}

async fn leave_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id, group_id) = path.into_inner();
    let principal = super::auth::authenticate(&state, &req).await?;
    set_group_membership(&state, &principal, &realm_name, id, group_id, false).await?;
    Ok(no_content())
}

/// Puts a user in a group (`join`) or takes them out (the admin API and the console). Joining
/// confers the group's roles, so the admin must be allowed to grant them.
pub async fn set_group_membership(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    user_id: String,
    group_id: String,
    join: bool,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    let principal = principal.clone();
    let realm_row = realm.realm.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let user = load_managed_user(conn, &principal, &realm_row, &user_id)?;
            let group = load_group(conn, &realm_row.id, &group_id)?;
            if join {
                let conferred = role_rules::mapped_role_ids_of_group(conn, &realm_row.id, &group.id)?;
                ensure_may_grant(conn, &principal, &realm_row, &conferred)?;
                db::roles::add_member(conn, &user.id, &group.id)?;
            } else {
                db::roles::remove_member(conn, &user.id, &group.id)?;
            }
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}
