//! The console's roles: the realm's roles, and one role's page (realm or client role) with its
//! description, its composites and the users holding it; delete after a confirmation.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::common::{field, form_message, respond, Chrome, FormErrors, ListQuery, PAGE_SIZE};
use super::mappings;
use super::views::{Pager, RolePage, RoleRow, RolesPage, UserRow};
use super::{failure_page, internal_error, see_other, Admin, Posted, SignedIn};
use crate::domain::Role;
use crate::error::AppError;
use crate::http::admin::realm_for;
use crate::http::admin::repr::RoleRepr;
use crate::http::admin::roles::{self as role_api, Container, RoleKey};
use crate::http::pages::realm_title;
use crate::http::views::page as render;
use crate::service::authz::AdminPermission;
use crate::state::AppState;
use crate::store::db;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let at = |p: &str| format!("/admin/{{realm}}/console/r/{{target}}/roles{p}");
    cfg.route(&at(""), web::get().to(roles_page))
        .route(&at(""), web::post().to(create_role))
        .route(&at("/{id}"), web::get().to(role_page))
        .route(&at("/{id}"), web::post().to(save_role))
        .route(&at("/{id}/composites"), web::post().to(change_composites))
        .route(&at("/{id}/delete"), web::get().to(confirm_delete))
        .route(&at("/{id}/delete"), web::post().to(delete_role));
}

const ROLE_FIELDS: &[(&str, &[&str])] = &[("description", &["description"]), ("name", &["name", "role"])];

async fn render_roles(
    state: &AppState,
    a: &Admin,
    target: &str,
    query: &ListQuery,
    failed: Option<(StatusCode, FormErrors, String, String)>,
) -> Result<HttpResponse, HttpResponse> {
    let runtime = realm_for(state, &a.principal, target, AdminPermission::ViewRealm)
        .await
        .map_err(|e| failure_page(a, e))?;
    let search = query.search.clone().unwrap_or_default().trim().to_owned();
    if search.len() > 255 || search.chars().any(char::is_control) {
        return Err(failure_page(a, AppError::bad_request("Invalid search.")));
    }
    let (realm_id, first, needle) = (runtime.realm.id.clone(), query.first(), search.clone());
    let (rows, total) = state
        .db
        .run(move |conn| -> Result<(Vec<RoleRow>, i64), db::DbError> {
            let needle = Some(needle.as_str());
            let roles = db::roles::search_in_container(conn, &realm_id, needle, first, PAGE_SIZE)?;
            let total = db::roles::count_in_container(conn, &realm_id, needle)?;
            let ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
            let composite = db::roles::composite_ids_among(conn, &ids)?;
            let rows = roles
                .into_iter()
                .map(|r| RoleRow {
                    composite: composite.contains(&r.id),
                    id: r.id,
                    name: r.name,
                    description: r.description.unwrap_or_default(),
                })
                .collect();
            Ok((rows, total))
        })
        .await
        .map_err(|e| internal_error(realm_title(&a.home), e))?;
    let (status, errors, name, description) = match failed {
        Some((status, errors, name, description)) => (status, errors, name, description),
        None => (StatusCode::OK, FormErrors::default(), String::new(), String::new()),
    };
    let chrome = Chrome::new(state, a, target, query.notice.as_deref());
    let search_query = serde_urlencoded::to_string([("search", search.as_str())]).unwrap_or_default();
    Ok(render(
        status,
        &RolesPage {
            frame: chrome.frame("roles"),
            roles: &rows,
            errors: &errors,
            new_name: &name,
            new_description: &description,
            search: &search,
            pager: Pager {
                first,
                max: PAGE_SIZE,
                total,
                query: search_query,
            },
        },
    ))
}

async fn roles_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    respond(render_roles(&state, &a, &target, &query, None).await)
}

async fn create_role(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    let (name, description) = (field(&form, "name"), field(&form, "description"));
    let repr = RoleRepr {
        name: Some(name.clone()),
        description: Some(description.clone()).filter(|d| !d.is_empty()),
        ..RoleRepr::default()
    };
    match role_api::create_role_in(&state, &a.principal, &target, Container::Realm, repr).await {
        Ok(_) => see_other(&format!("{}/r/{target}/roles?notice=role-created", a.base())),
        Err(e) => match form_message(&e) {
            Some((status, message)) => respond(
                render_roles(
                    &state,
                    &a,
                    &target,
                    &ListQuery::default(),
                    Some((status, FormErrors::placed(message, ROLE_FIELDS), name, description)),
                )
                .await,
            ),
            None => failure_page(&a, e),
        },
    }
}

/// A role of the realm the viewer may see (view-realm for realm roles, view-clients for client
/// roles), with its client's `clientId` when it is a client role.
async fn load_role(
    state: &AppState,
    a: &Admin,
    target: &str,
    id: String,
) -> Result<(Role, Option<String>, String), AppError> {
    let may_see =
        a.principal.may(target, AdminPermission::ViewRealm) || a.principal.may(target, AdminPermission::ViewClients);
    if !may_see {
        return Err(AppError::Forbidden);
    }
    let runtime = state
        .realms
        .realm(target)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(|| AppError::not_found("Realm not found."))?;
    let realm_id = runtime.realm.id.clone();
    let (role, client) = state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let role = role_api::role_by_id(conn, &realm_id, &id)?
                .ok_or_else(|| AppError::not_found("Could not find role"))?;
            let client = if role.client_role {
                db::clients::find(conn, &realm_id, &role.container_id)?.map(|c| c.client_id)
            } else {
                None
            };
            Ok((role, client))
        })
        .await?;
    let needed = if role.client_role {
        AdminPermission::ViewClients
    } else {
        AdminPermission::ViewRealm
    };
    if !a.principal.may(target, needed) {
        return Err(AppError::Forbidden);
    }
    Ok((role, client, runtime.realm.id.clone()))
}

fn manage_permission(role: &Role) -> AdminPermission {
    if role.client_role {
        AdminPermission::ManageClients
    } else {
        AdminPermission::ManageRealm
    }
}

async fn render_role(
    state: &AppState,
    a: &Admin,
    target: &str,
    id: String,
    notice: Option<&str>,
    failed: Option<(StatusCode, FormErrors, String, String)>,
) -> Result<HttpResponse, HttpResponse> {
    let (role, client_id, realm_id) = load_role(state, a, target, id).await.map_err(|e| failure_page(a, e))?;
    let manage = a.principal.may(target, manage_permission(&role));
    let see_users = a.principal.may(target, AdminPermission::ViewUsers);
    let action = format!("{}/r/{target}/roles/{}/composites", a.base(), role.id);
    let role_id = role.id.clone();
    let (view, users) = state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let children = db::roles::composites_of(conn, &role_id)?;
            let client_ids: HashMap<String, String> =
                db::clients::client_ids_by_id(conn, &realm_id)?.into_iter().collect();
            let option = |r: &Role| super::views::RoleOption {
                value: r.id.clone(),
                label: mappings::role_label(r, &client_ids),
            };
            let mut assigned: Vec<_> = children.iter().map(option).collect();
            assigned.sort_by(|x, y| x.label.cmp(&y.label));
            let mut available: Vec<_> = if manage {
                mappings::all_roles(conn, &realm_id)?
                    .iter()
                    .filter(|r| r.id != role_id && !children.iter().any(|c| c.id == r.id))
                    .map(option)
                    .collect()
            } else {
                Vec::new()
            };
            available.sort_by(|x, y| x.label.cmp(&y.label));
            let users = if see_users {
                db::roles::users_in_role(conn, &role_id, 0, 50)?
                    .into_iter()
                    .map(|u| UserRow {
                        name: u.full_name().unwrap_or_default(),
                        email: u.email.clone().unwrap_or_default(),
                        id: u.id,
                        username: u.username,
                        enabled: u.enabled,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok((
                super::views::MappingsView {
                    action,
                    manage,
                    assigned,
                    available,
                },
                users,
            ))
        })
        .await
        .map_err(|e| failure_page(a, e))?;
    let stored_description = role.description.clone().unwrap_or_default();
    let (status, errors, name, description) = match failed {
        Some((status, errors, name, description)) => (status, errors, name, description),
        None => (
            StatusCode::OK,
            FormErrors::default(),
            role.name.clone(),
            stored_description,
        ),
    };
    let chrome = Chrome::new(state, a, target, notice);
    let section = if role.client_role { "clients" } else { "roles" };
    Ok(render(
        status,
        &RolePage {
            frame: chrome.frame(section),
            id: &role.id,
            client: client_id.as_deref().map(|c| (c, role.container_id.as_str())),
            stored_name: &role.name,
            name: &name,
            description: &description,
            errors: &errors,
            manage,
            mappings: &view,
            users: &users,
        },
    ))
}

async fn role_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    respond(render_role(&state, &a, &target, id, query.notice.as_deref(), None).await)
}

async fn save_role(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let (name, description) = (field(&form, "name"), field(&form, "description"));
    let repr = RoleRepr {
        name: Some(name.clone()),
        description: Some(description.clone()),
        ..RoleRepr::default()
    };
    match role_api::update_role_by(&state, &a.principal, &target, RoleKey::Id(id.clone()), repr).await {
        Ok(()) => see_other(&format!("{}/r/{target}/roles/{id}?notice=saved", a.base())),
        Err(e) => match form_message(&e) {
            Some((status, message)) => respond(
                render_role(
                    &state,
                    &a,
                    &target,
                    id,
                    None,
                    Some((status, FormErrors::placed(message, ROLE_FIELDS), name, description)),
                )
                .await,
            ),
            None => failure_page(&a, e),
        },
    }
}

async fn change_composites(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let (child, add) = match (field(&form, "add"), field(&form, "remove")) {
        (add, _) if !add.is_empty() => (add, true),
        (_, remove) if !remove.is_empty() => (remove, false),
        _ => return see_other(&format!("{}/r/{target}/roles/{id}", a.base())),
    };
    let child = RoleRepr {
        id: Some(child),
        ..RoleRepr::default()
    };
    match role_api::change_role_composites(&state, &a.principal, &target, RoleKey::Id(id.clone()), vec![child], add)
        .await
    {
        Ok(()) => see_other(&format!("{}/r/{target}/roles/{id}?notice=roles-changed", a.base())),
        Err(e) => failure_page(&a, e),
    }
}

async fn confirm_delete(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let (role, _, _) = match load_role(&state, &a, &target, id.clone()).await {
        Ok(found) => found,
        Err(e) => return failure_page(&a, e),
    };
    if !a.principal.may(&target, manage_permission(&role)) {
        return failure_page(&a, AppError::Forbidden);
    }
    let chrome = Chrome::new(&state, &a, &target, None);
    let explanation = format!(
        "The role {} will be deleted, and taken away from every user, group and composite role holding it. This cannot be undone.",
        role.name
    );
    chrome.confirm(
        if role.client_role { "clients" } else { "roles" },
        "Delete role",
        &explanation,
        &format!("/roles/{id}/delete"),
        &format!("/roles/{id}"),
    )
}

async fn delete_role(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    match role_api::delete_role_by(&state, &a.principal, &target, RoleKey::Id(id)).await {
        Ok(()) => see_other(&format!("{}/r/{target}/roles?notice=role-deleted", a.base())),
        Err(e) => failure_page(&a, e),
    }
}
