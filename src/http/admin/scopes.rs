//! `/admin/realms/{realm}/client-scopes` and the realm's default and optional scopes for new
//! clients (`/default-default-client-scopes`, `/default-optional-client-scopes`). Which scopes a
//! client has is managed under the client (clients.rs).

use crate::http::openapi::{op, Api, Errors};
use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::repr::{client_scope_json, ClientScopeRepr};
use super::{admin_realm, created, invalidate, no_content, read_json};
use crate::domain::names::MAX_NAME_LEN;
use crate::domain::ClientScope;
use crate::error::AppError;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::service::new_id;
use crate::state::AppState;
use crate::store::db::{self, DbConnection};

const PROTOCOL: &str = "openid-connect";

pub fn routes(api: &mut Api) {
    api.section("Client scopes", Errors::Keycloak)
        .get(
            "/admin/realms/{realm}/client-scopes",
            list,
            op("List client scopes").returns_list::<ClientScopeRepr>(),
        )
        .post(
            "/admin/realms/{realm}/client-scopes",
            create,
            op("Create a client scope")
                .body::<ClientScopeRepr>()
                .created()
                .status(409, "The name is taken"),
        )
        .get(
            "/admin/realms/{realm}/client-scopes/{id}",
            get,
            op("Get a client scope").returns::<ClientScopeRepr>(),
        )
        .put(
            "/admin/realms/{realm}/client-scopes/{id}",
            update,
            op("Update a client scope").body::<ClientScopeRepr>().no_content(),
        )
        .delete(
            "/admin/realms/{realm}/client-scopes/{id}",
            delete,
            op("Delete a client scope").no_content(),
        )
        .get(
            "/admin/realms/{realm}/default-default-client-scopes",
            defaults::list_default,
            op("The realm's default client scopes (given to new clients)").returns_list::<ClientScopeRepr>(),
        )
        .put(
            "/admin/realms/{realm}/default-default-client-scopes/{id}",
            defaults::add_default,
            op("Make a client scope a realm default").no_content(),
        )
        .delete(
            "/admin/realms/{realm}/default-default-client-scopes/{id}",
            defaults::remove_default,
            op("Remove a realm default client scope").no_content(),
        )
        .get(
            "/admin/realms/{realm}/default-optional-client-scopes",
            defaults::list_optional,
            op("The realm's optional client scopes (offered to new clients)").returns_list::<ClientScopeRepr>(),
        )
        .put(
            "/admin/realms/{realm}/default-optional-client-scopes/{id}",
            defaults::add_optional,
            op("Make a client scope a realm optional scope").no_content(),
        )
        .delete(
            "/admin/realms/{realm}/default-optional-client-scopes/{id}",
            defaults::remove_optional,
            op("Remove a realm optional client scope").no_content(),
        );
}

/// A scope name is a `scope-token` of RFC 6749 §3.3 (it travels in the space-separated `scope`
/// parameter): printable ASCII except space, `"` and `\`. So `read:users` is fine.
pub(crate) fn parse_scope_name(name: Option<&str>) -> Result<String, AppError> {
    let name = name.ok_or_else(|| AppError::bad_request("Client scope name is required"))?;
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(AppError::bad_request("Client scope name must be 1 to 255 characters"));
    }
    if !name
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
    {
        return Err(AppError::bad_request(format!(
            "Unexpected name \"{}\" for client scope: use printable ASCII without spaces, quotes or backslashes",
            name.escape_debug()
        )));
    }
    Ok(name.to_owned())
}

pub(crate) fn check_protocol(protocol: Option<&str>) -> Result<(), AppError> {
    match protocol {
        None | Some(PROTOCOL) => Ok(()),
        Some(other) => Err(AppError::bad_request(format!("Unsupported protocol: {other}"))),
    }
}

/// Client-scope attributes are plain strings in Keycloak; booleans and numbers become strings
/// (so `"include.in.token.scope": false` means what it says), `null` drops the attribute.
pub(crate) fn scope_attributes(attrs: BTreeMap<String, Value>) -> Result<Map<String, Value>, AppError> {
    let mut out = Map::new();
    for (k, v) in attrs {
        if k.is_empty() || k.len() > MAX_NAME_LEN || k.chars().any(char::is_control) {
            return Err(AppError::bad_request(
                "attribute names must be 1 to 255 printable characters",
            ));
        }
        let value = match v {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => return Err(AppError::bad_request(format!("attribute `{k}` must be a string"))),
        };
        out.insert(k, Value::String(value));
    }
    Ok(out)
}

fn conflict(name: &str) -> AppError {
    AppError::conflict(format!("Client Scope {name} already exists"))
}

pub fn load_scope(conn: &mut DbConnection, realm_id: &str, id: &str) -> Result<ClientScope, AppError> {
    if !super::roles::storable(id) {
        return Err(AppError::not_found("Could not find client scope"));
    }
    db::scopes::find(conn, realm_id, id)?.ok_or_else(|| AppError::not_found("Could not find client scope"))
}

async fn list(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(&state, &req, &path, AdminPermission::ViewRealm).await?;
    let realm_id = realm.realm.id.clone();
    let scopes = state
        .db
        .run(move |conn| -> Result<Vec<ClientScope>, AppError> { Ok(db::scopes::list(conn, &realm_id)?) })
        .await?;
    Ok(HttpResponse::Ok().json(scopes.iter().map(client_scope_json).collect::<Vec<_>>()))
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (principal, _) = admin_realm(&state, &req, &path, AdminPermission::ManageRealm).await?;
    let repr: ClientScopeRepr = read_json(&req, payload).await?;
    let id = create_scope(&state, &principal, &path, repr).await?;
    Ok(created(&req, &id))
}

/// Creates a client scope (the admin API and the console); its id.
pub async fn create_scope(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    repr: ClientScopeRepr,
) -> Result<String, AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageRealm).await?;
    let name = parse_scope_name(repr.name.as_deref())?;
    check_protocol(repr.protocol.as_deref())?;
    super::roles::check_text("description", repr.description.as_deref())?;
    let scope = ClientScope {
        id: new_id(),
        realm_id: realm.realm.id.clone(),
        name,
        description: repr.description.clone(),
        protocol: PROTOCOL.to_owned(),
        attributes: scope_attributes(repr.attributes.unwrap_or_default())?,
    };
    let id = scope.id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            if db::scopes::find_by_name(conn, &scope.realm_id, &scope.name)?.is_some() {
                return Err(conflict(&scope.name));
            }
            db::scopes::insert(conn, &scope)
                .map_err(|e| super::conflict_or_internal(e, &format!("Client Scope {} already exists", scope.name)))?;
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
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewRealm).await?;
    let realm_id = realm.realm.id.clone();
    let scope = state.db.run(move |conn| load_scope(conn, &realm_id, &id)).await?;
    Ok(HttpResponse::Ok().json(client_scope_json(&scope)))
}

/// Partial update; `attributes`, when given, replace the stored ones.
async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (principal, _) = admin_realm(&state, &req, &realm_name, AdminPermission::ManageRealm).await?;
    let repr: ClientScopeRepr = read_json(&req, payload).await?;
    update_scope(&state, &principal, &realm_name, id, repr).await?;
    Ok(no_content())
}

/// Changes a client scope (the admin API and the console); `attributes`, when given, replace the
/// stored ones.
pub async fn update_scope(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
    repr: ClientScopeRepr,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageRealm).await?;
    let name = repr.name.as_deref().map(|n| parse_scope_name(Some(n))).transpose()?;
    check_protocol(repr.protocol.as_deref())?;
    super::roles::check_text("description", repr.description.as_deref())?;
    let attributes = repr.attributes.map(scope_attributes).transpose()?;
    let realm_id = realm.realm.id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let mut scope = load_scope(conn, &realm_id, &id)?;
            if let Some(name) = name.filter(|n| *n != scope.name) {
                if db::scopes::find_by_name(conn, &realm_id, &name)?.is_some() {
                    return Err(conflict(&name));
                }
                scope.name = name;
            }
            if let Some(description) = repr.description {
                scope.description = Some(description);
            }
            if let Some(attributes) = attributes {
                scope.attributes = attributes;
            }
            let message = format!("Client Scope {} already exists", scope.name);
            db::scopes::update(conn, &scope).map_err(|e| super::conflict_or_internal(e, &message))?;
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}

/// Links to clients and the realm's defaults go with the scope (foreign keys cascade).
async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (principal, _) = admin_realm(&state, &req, &realm_name, AdminPermission::ManageRealm).await?;
    delete_scope(&state, &principal, &realm_name, id).await?;
    Ok(no_content())
}

/// Deletes a client scope with its links (the admin API and the console).
pub async fn delete_scope(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageRealm).await?;
    let realm_id = realm.realm.id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let scope = load_scope(conn, &realm_id, &id)?;
            db::scopes::delete(conn, &realm_id, &scope.id)?;
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}

/// The realm's scopes for new clients.
mod defaults {
    use super::*;

    async fn list(
        state: &AppState,
        req: &HttpRequest,
        realm_name: &str,
        default: bool,
    ) -> Result<HttpResponse, AppError> {
        let (_, realm) = admin_realm(state, req, realm_name, AdminPermission::ViewRealm).await?;
        let realm_id = realm.realm.id.clone();
        let body = state
            .db
            .run(move |conn| -> Result<Vec<Value>, AppError> {
                let chosen: Vec<String> = db::scopes::realm_defaults(conn, &realm_id)?
                    .into_iter()
                    .filter(|(_, is_default)| *is_default == default)
                    .map(|(id, _)| id)
                    .collect();
                Ok(db::scopes::list(conn, &realm_id)?
                    .into_iter()
                    .filter(|s| chosen.contains(&s.id))
                    .map(|s| json!({ "id": s.id, "name": s.name }))
                    .collect())
            })
            .await?;
        Ok(HttpResponse::Ok().json(body))
    }

    /// PUT makes the scope a default (or optional) scope of new clients, moving it from the other
    /// list if there; DELETE takes it off this list only. No body is read.
    async fn change(
        state: &AppState,
        req: &HttpRequest,
        path: (String, String),
        default: bool,
        add: bool,
    ) -> Result<HttpResponse, AppError> {
        let (realm_name, id) = path;
        let (_, realm) = admin_realm(state, req, &realm_name, AdminPermission::ManageRealm).await?;
        let realm_id = realm.realm.id.clone();
        state
            .db
            .transaction(move |conn| -> Result<(), AppError> {
                let scope = load_scope(conn, &realm_id, &id)?;
                if add {
                    db::scopes::set_realm_default(conn, &realm_id, &scope.id, default)?;
                } else {
                    db::scopes::remove_realm_default(conn, &realm_id, &scope.id, default)?;
                }
                Ok(())
            })
            .await?;
        invalidate(state, &realm.realm.name).await;
        Ok(no_content())
    }

    pub async fn list_default(
        state: web::Data<AppState>,
        req: HttpRequest,
        path: web::Path<String>,
    ) -> Result<HttpResponse, AppError> {
        list(&state, &req, &path, true).await
    }

    pub async fn list_optional(
        state: web::Data<AppState>,
        req: HttpRequest,
        path: web::Path<String>,
    ) -> Result<HttpResponse, AppError> {
        list(&state, &req, &path, false).await
    }

    pub async fn add_default(
        state: web::Data<AppState>,
        req: HttpRequest,
        path: web::Path<(String, String)>,
    ) -> Result<HttpResponse, AppError> {
        change(&state, &req, path.into_inner(), true, true).await
    }

    pub async fn remove_default(
        state: web::Data<AppState>,
        req: HttpRequest,
        path: web::Path<(String, String)>,
    ) -> Result<HttpResponse, AppError> {
        change(&state, &req, path.into_inner(), true, false).await
    }

    pub async fn add_optional(
        state: web::Data<AppState>,
        req: HttpRequest,
        path: web::Path<(String, String)>,
    ) -> Result<HttpResponse, AppError> {
        change(&state, &req, path.into_inner(), false, true).await
    }

    pub async fn remove_optional(
        state: web::Data<AppState>,
        req: HttpRequest,
        path: web::Path<(String, String)>,
    ) -> Result<HttpResponse, AppError> {
        change(&state, &req, path.into_inner(), false, false).await
    }
}
