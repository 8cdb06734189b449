//! Realm roles (`/roles`), client roles (`/clients/{id}/roles`), roles by id (`/roles-by-id`) and
//! their composites; and the role mappings of users and groups, which users.rs and groups.rs mount.
//!
//! Handing out a role is checked against the admin's own roles (`service::roles::may_grant`):
//! mapping a role, adding a composite, or joining a group can never give someone an
//! administrative role the acting admin does not hold.

use super::repr::UserRepr;
use crate::http::openapi::{op, Api, Errors};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::clients::load_client;
use super::repr::{multivalued_attributes, role_json, RoleRepr};
use super::{admin_realm, created, invalidate, no_content, read_json, Paging};
use crate::domain::defaults::{
    default_roles_name, CLIENT_REALM_MANAGEMENT, MASTER_REALM, ROLE_CREATE_REALM, ROLE_MASTER_ADMIN,
};
use crate::domain::names::parse_plain_name;
use crate::domain::{Realm, Role};
use crate::error::AppError;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::service::realm_cache::RealmRuntime;
use crate::service::{new_id, roles as role_rules};
use crate::state::AppState;
use crate::store::db::{self, DbConnection};

pub fn routes(api: &mut Api) {
    api.section("Roles", Errors::Keycloak)
        .get(
            "/admin/realms/{realm}/roles",
            list_realm_roles,
            op("List realm roles").params::<ListQuery>().returns_list::<RoleRepr>(),
        )
        .post(
            "/admin/realms/{realm}/roles",
            create_realm_role,
            op("Create a realm role")
                .body::<RoleRepr>()
                .created()
                .status(409, "The role exists"),
        )
        .get(
            "/admin/realms/{realm}/clients/{client}/roles",
            list_client_roles,
            op("List a client's roles")
                .params::<ListQuery>()
                .returns_list::<RoleRepr>(),
        )
        .post(
            "/admin/realms/{realm}/clients/{client}/roles",
            create_client_role,
            op("Create a client role")
                .body::<RoleRepr>()
                .created()
                .status(409, "The role exists"),
        );
    // One set of handlers for a role addressed by name in the realm, by name in a client, or by id:
    // `RoleAt` reads which of those the matched route names.
    for (prefix, which) in [
        ("/admin/realms/{realm}/roles/{role}", "realm role (by name)"),
        (
            "/admin/realms/{realm}/clients/{client}/roles/{role}",
            "client role (by name)",
        ),
        ("/admin/realms/{realm}/roles-by-id/{role_id}", "role (by id)"),
    ] {
        let composites = format!("{prefix}/composites");
        api.get(prefix, role_at::get, op(format!("Get a {which}")).returns::<RoleRepr>())
            .put(
                prefix,
                role_at::update,
                op(format!("Update a {which}")).body::<RoleRepr>().no_content(),
            )
            .delete(prefix, role_at::delete, op(format!("Delete a {which}")).no_content())
            .get(
                &composites,
                role_at::composites,
                op(format!("The composites of a {which}")).returns_list::<RoleRepr>(),
            )
            .post(
                &composites,
                role_at::add_composites,
                op(format!("Add composites to a {which}"))
                    .list_body::<RoleRepr>()
                    .no_content(),
            )
            .delete(
                &composites,
                role_at::remove_composites,
                op(format!("Remove composites from a {which}"))
                    .list_body::<RoleRepr>()
                    .no_content(),
            )
            .get(
                &format!("{prefix}/composites/realm"),
                role_at::realm_composites,
                op(format!("The realm-role composites of a {which}")).returns_list::<RoleRepr>(),
            )
            .get(
                &format!("{prefix}/composites/clients/{{target}}"),
                role_at::client_composites,
                op(format!("The composites of a {which} from one client")).returns_list::<RoleRepr>(),
            );
        // Keycloak has no `/users` under roles-by-id.
        if !prefix.ends_with("{role_id}") {
            api.get(
                &format!("{prefix}/users"),
                role_at::users,
                op(format!("Users holding a {which} directly"))
                    .params::<UsersQuery>()
                    .returns_list::<UserRepr>(),
            );
        }
    }
}

// ---------- shared: rendering and resolving roles ----------

/// Role representations with their `composite` flag, in the given order.
pub fn roles_json(conn: &mut DbConnection, roles: &[Role]) -> Result<Vec<Value>, AppError> {
    let ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
    let composites = db::roles::composite_ids_among(conn, &ids)?;
    Ok(roles.iter().map(|r| role_json(r, composites.contains(&r.id))).collect())
}

/// PostgreSQL text cannot hold NUL: a key with one names nothing stored, and must not reach the
/// database (where it would be an error, not a miss).
pub fn storable(value: &str) -> bool {
    !value.contains('\0')
}

/// A role by name within its container; `None` for names nothing can have.
pub fn role_by_name(conn: &mut DbConnection, container: &str, name: &str) -> diesel::QueryResult<Option<Role>> {
    if !storable(container) || !storable(name) {
        return Ok(None);
    }
    db::roles::find_by_name(conn, container, name)
}

/// A role of the realm by id; `None` for ids nothing can have.
pub fn role_by_id(conn: &mut DbConnection, realm_id: &str, id: &str) -> diesel::QueryResult<Option<Role>> {
    if !storable(id) {
        return Ok(None);
    }
    db::roles::find(conn, realm_id, id)
}

/// 400 for a free-text field PostgreSQL could not store.
pub fn check_text(field: &str, value: Option<&str>) -> Result<(), AppError> {
    if value.is_some_and(|v| !storable(v)) {
        return Err(AppError::bad_request(format!(
            "{field} must not contain NUL characters"
        )));
    }
    Ok(())
}

/// Resolves the role representations of a mapping request to roles of `container` (the realm id
/// for realm roles, a client's internal id for its roles). As in Keycloak, a role is named by
/// `name`; an `id` it carries must be that role's, or the request is refused as "Role not found".
pub fn resolve_in_container(
    conn: &mut DbConnection,
    realm_id: &str,
    container: &str,
    reprs: &[RoleRepr],
) -> Result<Vec<Role>, AppError> {
    let mut out: Vec<Role> = Vec::with_capacity(reprs.len());
    for repr in reprs {
        let role = match (&repr.name, &repr.id) {
            (Some(name), id) => {
                let role = role_by_name(conn, container, name)?.ok_or_else(|| AppError::not_found("Role not found"))?;
                if id.as_ref().is_some_and(|id| *id != role.id) {
                    return Err(AppError::not_found("Role not found"));
                }
                role
            }
            (None, Some(id)) => role_by_id(conn, realm_id, id)?
                .filter(|r| r.container_id == container)
                .ok_or_else(|| AppError::not_found("Role not found"))?,
            (None, None) => return Err(AppError::bad_request("Role name is required")),
        };
        if !out.iter().any(|r| r.id == role.id) {
            out.push(role);
        }
    }
    Ok(out)
}

/// Resolves the role representations of a composites request: by `id` (any role of the realm, as
/// Keycloak does), or by `name` (a realm role, or a client role when `clientRole` and
/// `containerId` say whose). A name and an id that disagree are refused.
fn resolve_any(conn: &mut DbConnection, realm_id: &str, reprs: &[RoleRepr]) -> Result<Vec<Role>, AppError> {
    let mut out: Vec<Role> = Vec::with_capacity(reprs.len());
    for repr in reprs {
        let role = match (&repr.id, &repr.name) {
            (Some(id), name) => {
                let role = role_by_id(conn, realm_id, id)?
                    .ok_or_else(|| AppError::not_found("Could not find composite role"))?;
                if name.as_ref().is_some_and(|n| *n != role.name) {
                    return Err(AppError::bad_request(format!(
                        "Role id {id} does not name a role called {}",
                        name.as_deref().unwrap_or("")
                    )));
                }
                role
            }
            (None, Some(name)) => {
                let container = if repr.client_role == Some(true) {
                    repr.container_id
                        .as_deref()
                        .ok_or_else(|| AppError::bad_request("containerId is required for a client role"))?
                } else {
                    realm_id
                };
                role_by_name(conn, container, name)?
                    .filter(|r| r.realm_id == realm_id)
                    .ok_or_else(|| AppError::not_found("Could not find composite role"))?
            }
            (None, None) => return Err(AppError::bad_request("Role id or name is required")),
        };
        if !out.iter().any(|r| r.id == role.id) {
            out.push(role);
        }
    }
    Ok(out)
}

/// 403 unless `principal` may hand out `role_ids` (see the module doc).
pub fn ensure_may_grant(
    conn: &mut DbConnection,
    principal: &AdminPrincipal,
    realm: &Realm,
    role_ids: &[String],
) -> Result<(), AppError> {
    if role_rules::may_grant(conn, principal, realm, role_ids)? {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Roles a realm cannot work without: its default-roles composite, the `realm-management` roles
/// (admin permissions are named by them), and master's `admin` and `create-realm`.
fn is_builtin(conn: &mut DbConnection, realm: &Realm, role: &Role) -> Result<bool, AppError> {
    if role.client_role {
        let management = db::clients::find_by_client_id(conn, &realm.id, CLIENT_REALM_MANAGEMENT)?;
        return Ok(management.is_some_and(|c| c.id == role.container_id));
    }
    Ok(role.name == default_roles_name(&realm.name)
        || (realm.name == MASTER_REALM && (role.name == ROLE_MASTER_ADMIN || role.name == ROLE_CREATE_REALM)))
}

pub(crate) fn parse_role_name(name: Option<&str>) -> Result<String, AppError> {
    let name = name.ok_or_else(|| AppError::bad_request("Role name is required"))?;
    let name = parse_plain_name("role name", name).map_err(|e| AppError::bad_request(e.to_string()))?;
    // A role name is a URL segment and a token claim value; leading/trailing blanks only confuse.
    if name.trim() != name {
        return Err(AppError::bad_request("role name must not start or end with whitespace"));
    }
    Ok(name)
}

fn is_true(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

// ---------- roles of a container ----------

/// Whose roles a request is about.
#[derive(Clone, Debug)]
pub enum Container {
    Realm,
    /// A client's internal id, as in the path.
    Client(String),
}

impl Container {
    fn permission(&self, write: bool) -> AdminPermission {
        permission(matches!(self, Self::Client(_)), write)
    }

    /// The container id (realm id or the client's internal id), 404 for an unknown client.
    fn resolve(&self, conn: &mut DbConnection, realm_id: &str) -> Result<String, AppError> {
        match self {
            Self::Realm => Ok(realm_id.to_owned()),
            Self::Client(id) => Ok(load_client(conn, realm_id, id)?.id),
        }
    }
}

fn permission(client_role: bool, write: bool) -> AdminPermission {
    match (client_role, write) {
        (false, false) => AdminPermission::ViewRealm,
        (false, true) => AdminPermission::ManageRealm,
        (true, false) => AdminPermission::ViewClients,
        (true, true) => AdminPermission::ManageClients,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    search: Option<String>,
    brief_representation: Option<String>,
    // Not `#[serde(flatten)] Paging`: flattened numbers fail to parse from a query string.
    first: Option<i64>,
    max: Option<i64>,
}

async fn list_realm_roles(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    list_roles(&state, &req, &path, Container::Realm, query.into_inner()).await
}

async fn list_client_roles(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, client) = path.into_inner();
    list_roles(&state, &req, &realm_name, Container::Client(client), query.into_inner()).await
}

async fn list_roles(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    container: Container,
    query: ListQuery,
) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(state, req, realm_name, container.permission(false)).await?;
    check_text("search", query.search.as_deref())?;
    let realm_id = realm.realm.id.clone();
    let brief = query
        .brief_representation
        .as_deref()
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            let container_id = container.resolve(conn, &realm_id)?;
            let roles = db::roles::search_in_container(
                conn,
                &container_id,
                query.search.as_deref(),
                Paging::new(query.first, query.max).first(),
                Paging::new(query.first, query.max).max(i64::MAX),
            )?;
            let mut out = roles_json(conn, &roles)?;
            if brief {
                for v in &mut out {
                    if let Value::Object(map) = v {
                        map.remove("attributes");
                    }
                }
            }
            Ok(out)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn create_realm_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    create_role(&state, &req, &path, Container::Realm, payload).await
}

async fn create_client_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (realm_name, client) = path.into_inner();
    create_role(&state, &req, &realm_name, Container::Client(client), payload).await
}

/// 201 with `Location` ending in the role's (encoded) name, which python-keycloak returns.
async fn create_role(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    container: Container,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let principal = super::auth::authenticate(state, req).await?;
    let repr: RoleRepr = read_json(req, payload).await?;
    let name = create_role_in(state, &principal, realm_name, container, repr).await?;
    Ok(created(req, &name))
}

/// Creates a realm or client role (the admin API's POST, the console's form); the role's name.
pub async fn create_role_in(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    container: Container,
    repr: RoleRepr,
) -> Result<String, AppError> {
    let realm = super::realm_for(state, principal, realm_name, container.permission(true)).await?;
    let name = parse_role_name(repr.name.as_deref())?;
    check_text("description", repr.description.as_deref())?;
    let attributes =
        multivalued_attributes(repr.attributes.clone().unwrap_or_default()).map_err(AppError::bad_request)?;
    let realm_id = realm.realm.id.clone();
    let role_name = name.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let container_id = container.resolve(conn, &realm_id)?;
            let conflict = format!("Role with name {role_name} already exists");
            if role_by_name(conn, &container_id, &role_name)?.is_some() {
                return Err(AppError::conflict(conflict));
            }
            let role = Role {
                id: new_id(),
                realm_id: realm_id.clone(),
                client_role: matches!(container, Container::Client(_)),
                container_id,
                name: role_name,
                description: repr.description.clone(),
                attributes,
            };
            db::roles::insert(conn, &role).map_err(|e| super::conflict_or_internal(e, &conflict))?;
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(name)
}

// ---------- one role: by name in a container, or by id ----------

#[derive(Clone, Debug)]
pub enum RoleKey {
    Named(Container, String),
    Id(String),
}

/// Authenticates and checks the permission the key's container needs (`authorize_key`).
async fn authorize(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    key: &RoleKey,
    write: bool,
) -> Result<(AdminPrincipal, Arc<RealmRuntime>), AppError> {
    let principal = super::auth::authenticate(state, req).await?;
    let realm = authorize_key(state, &principal, realm_name, key, write).await?;
    Ok((principal, realm))
}

/// Checks the permission the key's container needs. A role by id is checked again once loaded
/// (`load_role`), when it is known whether it is a realm or a client role.
async fn authorize_key(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    key: &RoleKey,
    write: bool,
) -> Result<Arc<RealmRuntime>, AppError> {
    match key {
        RoleKey::Named(container, _) => {
            super::realm_for(state, principal, realm_name, container.permission(write)).await
        }
        RoleKey::Id(_) => {
            if !principal.may(realm_name, permission(false, write))
                && !principal.may(realm_name, permission(true, write))
            {
                return Err(AppError::Forbidden);
            }
            state
                .realms
                .realm(realm_name)
                .await
                .map_err(AppError::Internal)?
                .ok_or_else(|| AppError::not_found("Realm not found."))
        }
    }
}

fn load_role(
    conn: &mut DbConnection,
    principal: &AdminPrincipal,
    realm: &Realm,
    key: &RoleKey,
    write: bool,
) -> Result<Role, AppError> {
    let role = match key {
        RoleKey::Named(container, name) => {
            let container_id = container.resolve(conn, &realm.id)?;
            role_by_name(conn, &container_id, name)?.ok_or_else(|| AppError::not_found("Could not find role"))?
        }
        RoleKey::Id(id) => {
            role_by_id(conn, &realm.id, id)?.ok_or_else(|| AppError::not_found("Could not find role with id"))?
        }
    };
    if !principal.may(&realm.name, permission(role.client_role, write)) {
        return Err(AppError::Forbidden);
    }
    Ok(role)
}

async fn get_role(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    key: RoleKey,
) -> Result<HttpResponse, AppError> {
    let (principal, realm) = authorize(state, req, realm_name, &key, false).await?;
    let realm_row = realm.realm.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Value, AppError> {
            let role = load_role(conn, &principal, &realm_row, &key, false)?;
            let mut out = roles_json(conn, std::slice::from_ref(&role))?;
            Ok(out.pop().unwrap_or(Value::Null))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn update_role(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    key: RoleKey,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (principal, _) = authorize(state, req, realm_name, &key, true).await?;
    let repr: RoleRepr = read_json(req, payload).await?;
    update_role_by(state, &principal, realm_name, key, repr).await?;
    Ok(no_content())
}

/// Renames a role or changes its description or attributes (the admin API's PUT, the console).
pub async fn update_role_by(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    key: RoleKey,
    repr: RoleRepr,
) -> Result<(), AppError> {
    let realm = authorize_key(state, principal, realm_name, &key, true).await?;
    let principal = principal.clone();
    let new_name = repr.name.as_deref().map(|n| parse_role_name(Some(n))).transpose()?;
    check_text("description", repr.description.as_deref())?;
    let attributes = repr
        .attributes
        .clone()
        .map(|a| multivalued_attributes(a).map_err(AppError::bad_request))
        .transpose()?;
    let realm_row = realm.realm.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let mut role = load_role(conn, &principal, &realm_row, &key, true)?;
            if let Some(name) = new_name.filter(|n| *n != role.name) {
                if is_builtin(conn, &realm_row, &role)? {
                    return Err(AppError::bad_request("Built-in roles cannot be renamed"));
                }
                if role_by_name(conn, &role.container_id, &name)?.is_some() {
                    return Err(AppError::conflict(format!("Role with name {name} already exists")));
                }
                role.name = name;
            }
            if let Some(description) = &repr.description {
                role.description = Some(description.clone());
            }
            if let Some(attributes) = attributes {
                role.attributes = attributes;
            }
            let conflict = format!("Role with name {} already exists", role.name);
            db::roles::update(conn, &role).map_err(|e| super::conflict_or_internal(e, &conflict))?;
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}

async fn delete_role(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    key: RoleKey,
) -> Result<HttpResponse, AppError> {
    let principal = super::auth::authenticate(state, req).await?;
    delete_role_by(state, &principal, realm_name, key).await?;
    Ok(no_content())
}

/// Deletes a role; the realm's default role and the built-in admin roles stay.
pub async fn delete_role_by(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    key: RoleKey,
) -> Result<(), AppError> {
    let realm = authorize_key(state, principal, realm_name, &key, true).await?;
    let principal = principal.clone();
    let realm_row = realm.realm.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let role = load_role(conn, &principal, &realm_row, &key, true)?;
            if !role.client_role && role.name == default_roles_name(&realm_row.name) {
                return Err(AppError::bad_request("You cannot delete the default role of the realm"));
            }
            if is_builtin(conn, &realm_row, &role)? {
                return Err(AppError::bad_request("Built-in administrative roles cannot be deleted"));
            }
            db::roles::delete(conn, &role.id)?;
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct UsersQuery {
    // Not `#[serde(flatten)] Paging`: flattened numbers fail to parse from a query string.
    first: Option<i64>,
    max: Option<i64>,
}

/// Users holding the role directly (Keycloak's `/roles/{name}/users`); needs view-users as well.
async fn role_users(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    key: RoleKey,
    query: UsersQuery,
) -> Result<HttpResponse, AppError> {
    let (principal, realm) = authorize(state, req, realm_name, &key, false).await?;
    if !principal.may(realm_name, AdminPermission::ViewUsers) {
        return Err(AppError::Forbidden);
    }
    let realm_row = realm.realm.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            let role = load_role(conn, &principal, &realm_row, &key, false)?;
            let users = db::roles::users_in_role(
                conn,
                &role.id,
                Paging::new(query.first, query.max).first(),
                Paging::new(query.first, query.max).max(100),
            )?;
            super::users::users_json(conn, &realm_row.id, &users, false)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Which composites of a role to list.
#[derive(Clone, Debug)]
enum CompositeFilter {
    All,
    Realm,
    /// A client's internal id.
    Client(String),
}

async fn composites(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    key: RoleKey,
    filter: CompositeFilter,
) -> Result<HttpResponse, AppError> {
    let (principal, realm) = authorize(state, req, realm_name, &key, false).await?;
    let realm_row = realm.realm.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            let role = load_role(conn, &principal, &realm_row, &key, false)?;
            let mut children = db::roles::composites_of(conn, &role.id)?;
            match &filter {
                CompositeFilter::All => {}
                CompositeFilter::Realm => children.retain(|r| !r.client_role),
                CompositeFilter::Client(id) => {
                    let client = load_client(conn, &realm_row.id, id)?;
                    children.retain(|r| r.client_role && r.container_id == client.id);
                }
            }
            children.sort_by(|a, b| a.name.cmp(&b.name));
            roles_json(conn, &children)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn change_composites(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    key: RoleKey,
    payload: web::Payload,
    add: bool,
) -> Result<HttpResponse, AppError> {
    let (principal, _) = authorize(state, req, realm_name, &key, true).await?;
    let reprs: Vec<RoleRepr> = read_json(req, payload).await?;
    change_role_composites(state, &principal, realm_name, key, reprs, add).await?;
    Ok(no_content())
}

/// Adds (`add`) or removes composites of a role; every child must resolve before anything changes,
/// and only roles the admin may grant can be added (the admin API and the console).
pub async fn change_role_composites(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    key: RoleKey,
    reprs: Vec<RoleRepr>,
    add: bool,
) -> Result<(), AppError> {
    let realm = authorize_key(state, principal, realm_name, &key, true).await?;
    let principal = principal.clone();
    let realm_row = realm.realm.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let role = load_role(conn, &principal, &realm_row, &key, true)?;
            let children = resolve_any(conn, &realm_row.id, &reprs)?;
            if add {
                if children.iter().any(|c| c.id == role.id) {
                    return Err(AppError::bad_request("A role cannot be a composite of itself"));
                }
                let ids: Vec<String> = children.iter().map(|c| c.id.clone()).collect();
                ensure_may_grant(conn, &principal, &realm_row, &ids)?;
                for child in &children {
                    db::roles::add_composite(conn, &role.id, &child.id)?;
                }
            } else {
                for child in &children {
                    db::roles::remove_composite(conn, &role.id, &child.id)?;
                }
            }
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}

/// A role as the matched route addresses it: `{role}` in the realm, `{role}` in `{client}`, or
/// `{role_id}`, always under `{realm}`.
pub struct RoleAt {
    realm: String,
    key: RoleKey,
}

impl actix_web::FromRequest for RoleAt {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let param = |name: &str| req.match_info().get(name).map(str::to_owned);
        let at = match (param("realm"), param("role_id"), param("client"), param("role")) {
            (Some(realm), Some(id), _, _) => Ok(Self {
                realm,
                key: RoleKey::Id(id),
            }),
            (Some(realm), None, Some(client), Some(name)) => Ok(Self {
                realm,
                key: RoleKey::Named(Container::Client(client), name),
            }),
            (Some(realm), None, None, Some(name)) => Ok(Self {
                realm,
                key: RoleKey::Named(Container::Realm, name),
            }),
            _ => Err(AppError::bad_request("Invalid role path")),
        };
        std::future::ready(at)
    }
}

/// The handlers mounted under each of `RoleAt`'s three addressings.
mod role_at {
    use super::*;

    pub async fn get(state: web::Data<AppState>, req: HttpRequest, at: RoleAt) -> Result<HttpResponse, AppError> {
        get_role(&state, &req, &at.realm, at.key).await
    }

    pub async fn update(
        state: web::Data<AppState>,
        req: HttpRequest,
        at: RoleAt,
        payload: web::Payload,
    ) -> Result<HttpResponse, AppError> {
        update_role(&state, &req, &at.realm, at.key, payload).await
    }

    pub async fn delete(state: web::Data<AppState>, req: HttpRequest, at: RoleAt) -> Result<HttpResponse, AppError> {
        delete_role(&state, &req, &at.realm, at.key).await
    }

    pub async fn users(
        state: web::Data<AppState>,
        req: HttpRequest,
        at: RoleAt,
        query: web::Query<UsersQuery>,
    ) -> Result<HttpResponse, AppError> {
        role_users(&state, &req, &at.realm, at.key, query.into_inner()).await
    }

    pub async fn composites(
        state: web::Data<AppState>,
        req: HttpRequest,
        at: RoleAt,
    ) -> Result<HttpResponse, AppError> {
        super::composites(&state, &req, &at.realm, at.key, CompositeFilter::All).await
    }

    pub async fn realm_composites(
        state: web::Data<AppState>,
        req: HttpRequest,
        at: RoleAt,
    ) -> Result<HttpResponse, AppError> {
        super::composites(&state, &req, &at.realm, at.key, CompositeFilter::Realm).await
    }

    pub async fn client_composites(
        state: web::Data<AppState>,
        req: HttpRequest,
        at: RoleAt,
    ) -> Result<HttpResponse, AppError> {
        let target = req.match_info().get("target").unwrap_or_default().to_owned();
        super::composites(&state, &req, &at.realm, at.key, CompositeFilter::Client(target)).await
    }

    pub async fn add_composites(
        state: web::Data<AppState>,
        req: HttpRequest,
        at: RoleAt,
        payload: web::Payload,
    ) -> Result<HttpResponse, AppError> {
        change_composites(&state, &req, &at.realm, at.key, payload, true).await
    }

    pub async fn remove_composites(
        state: web::Data<AppState>,
        req: HttpRequest,
        at: RoleAt,
        payload: web::Payload,
    ) -> Result<HttpResponse, AppError> {
        change_composites(&state, &req, &at.realm, at.key, payload, false).await
    }
}

// ---------- role mappings of users and groups ----------

/// Whose role mappings a request is about.
#[derive(Clone, Debug)]
pub enum Subject {
    User(String),
    Group(String),
}

/// Which roles of the subject: realm roles, or the roles of one client (internal id).
#[derive(Clone, Debug)]
pub enum MappingScope {
    Realm,
    Client(String),
}

/// Directly mapped, effective (through groups and composites), or not yet held.
#[derive(Clone, Copy, Debug)]
pub enum MappingView {
    Direct,
    Composite,
    Available,
}

impl Subject {
    /// 404 in Keycloak's words when the subject is not in the realm.
    fn check(&self, conn: &mut DbConnection, realm_id: &str) -> Result<(), AppError> {
        match self {
            Self::User(id) => super::users::load_user(conn, realm_id, id).map(|_| ()),
            Self::Group(id) => super::groups::load_group(conn, realm_id, id).map(|_| ()),
        }
    }

    fn direct_roles(&self, conn: &mut DbConnection) -> Result<Vec<Role>, AppError> {
        Ok(match self {
            Self::User(id) => db::roles::direct_roles_of_user(conn, id)?,
            Self::Group(id) => db::roles::direct_roles_of_group(conn, id)?,
        })
    }

    fn effective_role_ids(&self, conn: &mut DbConnection, realm_id: &str) -> Result<HashSet<String>, AppError> {
        Ok(match self {
            Self::User(id) => role_rules::effective_role_ids_of_user(conn, realm_id, id)?,
            Self::Group(id) => role_rules::effective_role_ids_of_group(conn, realm_id, id)?,
        })
    }

    fn grant(&self, conn: &mut DbConnection, role_id: &str) -> Result<(), AppError> {
        match self {
            Self::User(id) => db::roles::grant_to_user(conn, id, role_id)?,
            Self::Group(id) => db::roles::grant_to_group(conn, id, role_id)?,
        }
        Ok(())
    }

    fn revoke(&self, conn: &mut DbConnection, role_id: &str) -> Result<(), AppError> {
        match self {
            Self::User(id) => db::roles::revoke_from_user(conn, id, role_id)?,
            Self::Group(id) => db::roles::revoke_from_group(conn, id, role_id)?,
        };
        Ok(())
    }
}

impl MappingScope {
    fn container(&self, conn: &mut DbConnection, realm_id: &str) -> Result<String, AppError> {
        match self {
            Self::Realm => Ok(realm_id.to_owned()),
            Self::Client(id) if !storable(id) => Err(AppError::not_found("Client not found")),
            Self::Client(id) => Ok(db::clients::find(conn, realm_id, id)?
                .ok_or_else(|| AppError::not_found("Client not found"))?
                .id),
        }
    }
}

/// GET `…/role-mappings/realm[/composite|/available]` and `…/role-mappings/clients/{client}[…]`.
pub async fn get_mappings(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    subject: Subject,
    scope: MappingScope,
    view: MappingView,
) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(state, req, realm_name, AdminPermission::ViewUsers).await?;
    let realm_id = realm.realm.id.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            subject.check(conn, &realm_id)?;
            let container = scope.container(conn, &realm_id)?;
            let mut roles = match view {
                MappingView::Direct => subject.direct_roles(conn)?,
                MappingView::Composite => {
                    let ids: Vec<String> = subject.effective_role_ids(conn, &realm_id)?.into_iter().collect();
                    db::roles::roles_by_ids(conn, &ids)?
                }
                MappingView::Available => {
                    let held = subject.effective_role_ids(conn, &realm_id)?;
                    let mut all = db::roles::list_in_container(conn, &container, None, 0, i64::MAX)?;
                    all.retain(|r| !held.contains(&r.id));
                    all
                }
            };
            roles.retain(|r| r.container_id == container);
            roles.sort_by(|a, b| a.name.cmp(&b.name));
            roles_json(conn, &roles)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// POST/DELETE `…/role-mappings/realm` and `…/role-mappings/clients/{client}`: a JSON array of role
/// representations; every one must resolve before anything changes.
pub async fn change_mappings(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    subject: Subject,
    scope: MappingScope,
    payload: web::Payload,
    add: bool,
) -> Result<HttpResponse, AppError> {
    let principal = super::auth::authenticate(state, req).await?;
    let reprs: Vec<RoleRepr> = read_json(req, payload).await?;
    map_roles(state, &principal, realm_name, subject, scope, reprs, add).await?;
    Ok(no_content())
}

/// Grants (`add`) or takes away roles of a user or group; every role must resolve before anything
/// changes, and an admin grants only roles they may grant (the admin API and the console).
pub async fn map_roles(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    subject: Subject,
    scope: MappingScope,
    reprs: Vec<RoleRepr>,
    add: bool,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    let principal = principal.clone();
    let realm_row = realm.realm.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            subject.check(conn, &realm_row.id)?;
            if let Subject::User(id) = &subject {
                super::users::load_managed_user(conn, &principal, &realm_row, id)?;
            }
            let container = scope.container(conn, &realm_row.id)?;
            let roles = resolve_in_container(conn, &realm_row.id, &container, &reprs)?;
            if add {
                let ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
                ensure_may_grant(conn, &principal, &realm_row, &ids)?;
                for role in &roles {
                    subject.grant(conn, &role.id)?;
                }
            } else {
                for role in &roles {
                    subject.revoke(conn, &role.id)?;
                }
            }
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}

/// GET `…/role-mappings`: Keycloak's `MappingsRepresentation` (empty parts omitted, as Keycloak does).
pub async fn all_mappings(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    subject: Subject,
) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(state, req, realm_name, AdminPermission::ViewUsers).await?;
    let realm_id = realm.realm.id.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Value, AppError> {
            subject.check(conn, &realm_id)?;
            let roles = subject.direct_roles(conn)?;
            let (realm_roles, client_roles): (Vec<Role>, Vec<Role>) = roles.into_iter().partition(|r| !r.client_role);
            let mut out = Map::new();
            if !realm_roles.is_empty() {
                out.insert("realmMappings".into(), Value::Array(roles_json(conn, &realm_roles)?));
            }
            let client_ids: std::collections::HashMap<String, String> =
                db::clients::client_ids_by_id(conn, &realm_id)?.into_iter().collect();
            let mut by_client: BTreeMap<String, (String, Vec<Role>)> = BTreeMap::new();
            for role in client_roles {
                if let Some(client_id) = client_ids.get(&role.container_id) {
                    by_client
                        .entry(client_id.clone())
                        .or_insert_with(|| (role.container_id.clone(), Vec::new()))
                        .1
                        .push(role);
                }
            }
            if !by_client.is_empty() {
                let mut clients = Map::new();
                for (client_id, (internal_id, roles)) in by_client {
                    let mappings = roles_json(conn, &roles)?;
                    clients.insert(
                        client_id.clone(),
                        json!({ "id": internal_id, "client": client_id, "mappings": mappings }),
                    );
                }
                out.insert("clientMappings".into(), Value::Object(clients));
            }
            Ok(Value::Object(out))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `is_true` for boolean query parameters (`true`/`True`, as python-keycloak sends them).
pub fn query_flag(v: Option<&str>) -> bool {
    is_true(v)
}

/// Whose role mappings the matched route names (`{user_id}` or `{group_id}` under `{realm}`), and of
/// which container (the realm, or `{client}`).
pub struct MappingsAt {
    realm: String,
    subject: Subject,
    scope: MappingScope,
}

impl actix_web::FromRequest for MappingsAt {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let param = |name: &str| req.match_info().get(name).map(str::to_owned);
        let subject = match (param("user_id"), param("group_id")) {
            (Some(id), _) => Some(Subject::User(id)),
            (None, Some(id)) => Some(Subject::Group(id)),
            (None, None) => None,
        };
        let scope = param("client").map_or(MappingScope::Realm, MappingScope::Client);
        std::future::ready(match (param("realm"), subject) {
            (Some(realm), Some(subject)) => Ok(Self { realm, subject, scope }),
            _ => Err(AppError::bad_request("Invalid role-mapping path")),
        })
    }
}

/// Keycloak's role-mapping routes under `prefix` (a user's or a group's path).
pub fn mapping_routes(api: &mut Api, prefix: &str, owner: &str) {
    api.get(
        &format!("{prefix}/role-mappings"),
        mappings::all,
        op(format!("All role mappings of the {owner}"))
            .returns_json("Keycloak's `MappingsRepresentation`: `{realmMappings, clientMappings}`"),
    );
    for (scope, roles) in [("realm", "realm roles"), ("clients/{client}", "roles of one client")] {
        let base = format!("{prefix}/role-mappings/{scope}");
        api.get(
            &base,
            mappings::direct,
            op(format!("The {roles} mapped to the {owner}")).returns_list::<RoleRepr>(),
        )
        .post(
            &base,
            mappings::add,
            op(format!("Map {roles} to the {owner}"))
                .list_body::<RoleRepr>()
                .no_content(),
        )
        .delete(
            &base,
            mappings::remove,
            op(format!("Unmap {roles} from the {owner}"))
                .list_body::<RoleRepr>()
                .no_content(),
        )
        .get(
            &format!("{base}/composite"),
            mappings::composite,
            op(format!("The {roles} the {owner} holds, composites expanded")).returns_list::<RoleRepr>(),
        )
        .get(
            &format!("{base}/available"),
            mappings::available,
            op(format!("The {roles} that could be mapped to the {owner}")).returns_list::<RoleRepr>(),
        );
    }
}

/// The handlers of `mapping_routes`, for users and groups alike.
mod mappings {
    use super::*;

    pub async fn all(state: web::Data<AppState>, req: HttpRequest, at: MappingsAt) -> Result<HttpResponse, AppError> {
        all_mappings(&state, &req, &at.realm, at.subject).await
    }

    pub async fn direct(
        state: web::Data<AppState>,
        req: HttpRequest,
        at: MappingsAt,
    ) -> Result<HttpResponse, AppError> {
        get_mappings(&state, &req, &at.realm, at.subject, at.scope, MappingView::Direct).await
    }

    pub async fn composite(
        state: web::Data<AppState>,
        req: HttpRequest,
        at: MappingsAt,
    ) -> Result<HttpResponse, AppError> {
        get_mappings(&state, &req, &at.realm, at.subject, at.scope, MappingView::Composite).await
    }

    pub async fn available(
        state: web::Data<AppState>,
        req: HttpRequest,
        at: MappingsAt,
    ) -> Result<HttpResponse, AppError> {
        get_mappings(&state, &req, &at.realm, at.subject, at.scope, MappingView::Available).await
    }

    pub async fn add(
        state: web::Data<AppState>,
        req: HttpRequest,
        at: MappingsAt,
        payload: web::Payload,
    ) -> Result<HttpResponse, AppError> {
        change_mappings(&state, &req, &at.realm, at.subject, at.scope, payload, true).await
    }

    pub async fn remove(
        state: web::Data<AppState>,
        req: HttpRequest,
        at: MappingsAt,
        payload: web::Payload,
    ) -> Result<HttpResponse, AppError> {
        change_mappings(&state, &req, &at.realm, at.subject, at.scope, payload, false).await
    }
}
