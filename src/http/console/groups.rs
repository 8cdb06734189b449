//! The console's groups: the realm's group tree, create (at the top or below a group), and one
//! group's page — rename, role mappings, members, delete after a confirmation. Writes go through
//! the admin API's `groups::save_group`, `update_group`, `delete_group` and `roles::map_roles`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::common::{
    confirm_deletion, field, form_message, respond, Chrome, Deletion, FormErrors, ListQuery, PAGE_SIZE,
};
use super::mappings;
use super::views::{GroupPage, GroupRow, GroupsPage, Pager, UserRow};
use super::{failure_page, internal_error, see_other, Admin, Posted, SignedIn};
use crate::domain::Group;
use crate::error::AppError;
use crate::http::admin::groups::{self as group_api, GroupTree};
use crate::http::admin::realm_for;
use crate::http::admin::repr::GroupRepr;
use crate::http::admin::roles::Subject;
use crate::http::pages::realm_title;
use crate::http::views::page as render;
use crate::service::authz::AdminPermission;
use crate::state::AppState;
use crate::store::db;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let at = |p: &str| format!("/admin/{{realm}}/console/r/{{target}}/groups{p}");
    cfg.route(&at(""), web::get().to(groups_page))
        .route(&at(""), web::post().to(create_group))
        .route(&at("/{id}"), web::get().to(group_page))
        .route(&at("/{id}"), web::post().to(rename_group))
        .route(&at("/{id}/roles"), web::post().to(change_roles))
        .route(&at("/{id}/delete"), web::get().to(confirm_delete))
        .route(&at("/{id}/delete"), web::post().to(delete_group));
}

const GROUP_FIELDS: &[(&str, &[&str])] = &[("name", &["name", "group"])];

/// The tree in display order: each group followed by its subgroups, by name.
fn tree_rows(tree: &GroupTree) -> Vec<GroupRow> {
    fn walk(tree: &GroupTree, parent: Option<&str>, depth: usize, out: &mut Vec<GroupRow>) {
        let mut children: Vec<&Group> = tree.children_of(parent);
        children.sort_by(|a, b| a.name.cmp(&b.name));
        for group in children {
            out.push(GroupRow {
                id: group.id.clone(),
                name: group.name.clone(),
                path: tree.path(&group.id),
                depth,
            });
            walk(tree, Some(&group.id), depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(tree, None, 0, &mut out);
    out
}

async fn render_groups(
    state: &AppState,
    a: &Admin,
    target: &str,
    notice: Option<&str>,
    failed: Option<(StatusCode, FormErrors, String, String)>,
) -> Result<HttpResponse, HttpResponse> {
    let runtime = realm_for(state, &a.principal, target, AdminPermission::ViewUsers)
        .await
        .map_err(|e| failure_page(a, e))?;
    let realm_id = runtime.realm.id.clone();
    let rows = state
        .db
        .run(move |conn| {
            GroupTree::load(conn, &realm_id)
                .map(|t| tree_rows(&t))
                .map_err(db::DbError::from)
        })
        .await
        .map_err(|e| internal_error(realm_title(&a.home), e))?;
    let (status, errors, name, parent) = match failed {
        Some((status, errors, name, parent)) => (status, errors, name, parent),
        None => (StatusCode::OK, FormErrors::default(), String::new(), String::new()),
    };
    let chrome = Chrome::new(state, a, target, notice);
    Ok(render(
        status,
        &GroupsPage {
            frame: chrome.frame("groups"),
            groups: &rows,
            errors: &errors,
            new_name: &name,
            new_parent: &parent,
        },
    ))
}

async fn groups_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    respond(render_groups(&state, &a, &target, query.notice.as_deref(), None).await)
}

async fn create_group(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    let (name, parent) = (field(&form, "name"), field(&form, "parent"));
    let repr = GroupRepr {
        name: Some(name.clone()),
        ..GroupRepr::default()
    };
    let below = Some(parent.clone()).filter(|p| !p.is_empty());
    match group_api::save_group(&state, &a.principal, &target, below, repr).await {
        Ok(Some(id)) => see_other(&format!("{}/r/{target}/groups/{id}?notice=group-created", a.base())),
        Ok(None) => see_other(&format!("{}/r/{target}/groups", a.base())),
        Err(e) => match form_message(&e) {
            Some((status, message)) => respond(
                render_groups(
                    &state,
                    &a,
                    &target,
                    None,
                    Some((status, FormErrors::placed(message, GROUP_FIELDS), name, parent)),
                )
                .await,
            ),
            None => failure_page(&a, e),
        },
    }
}

async fn render_group(
    state: &AppState,
    a: &Admin,
    target: &str,
    id: String,
    query: &ListQuery,
    failed: Option<(StatusCode, FormErrors, String)>,
) -> Result<HttpResponse, HttpResponse> {
    let runtime = realm_for(state, &a.principal, target, AdminPermission::ViewUsers)
        .await
        .map_err(|e| failure_page(a, e))?;
    let realm_id = runtime.realm.id.clone();
    let manage = a.principal.may(target, AdminPermission::ManageUsers);
    let action = format!("{}/r/{target}/groups/{id}/roles", a.base());
    let first = query.first();
    let (group, path, view, members, total) = state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let group = group_api::load_group(conn, &realm_id, &id)?;
            let path = GroupTree::load(conn, &realm_id)?.path(&group.id);
            let direct = db::roles::direct_roles_of_group(conn, &group.id)?;
            let view = mappings::view(conn, &realm_id, &direct, action, manage)?;
            let members = db::roles::members(conn, &group.id, first, PAGE_SIZE)?;
            let total = db::roles::count_members(conn, &group.id)?;
            Ok((group, path, view, members, total))
        })
        .await
        .map_err(|e| failure_page(a, e))?;
    let rows: Vec<UserRow> = members
        .into_iter()
        .map(|u| UserRow {
            name: u.full_name().unwrap_or_default(),
            email: u.email.clone().unwrap_or_default(),
            id: u.id,
            username: u.username,
            enabled: u.enabled,
        })
        .collect();
    let (status, errors, name) = match failed {
        Some((status, errors, name)) => (status, errors, name),
        None => (StatusCode::OK, FormErrors::default(), group.name.clone()),
    };
    let chrome = Chrome::new(state, a, target, query.notice.as_deref());
    Ok(render(
        status,
        &GroupPage {
            frame: chrome.frame("groups"),
            id: &group.id,
            path: &path,
            name: &name,
            errors: &errors,
            mappings: &view,
            members: &rows,
            pager: Pager {
                first,
                max: PAGE_SIZE,
                total,
                query: String::new(),
            },
        },
    ))
}

async fn group_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    respond(render_group(&state, &a, &target, id, &query, None).await)
}

async fn rename_group(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let name = field(&form, "name");
    let repr = GroupRepr {
        name: Some(name.clone()),
        ..GroupRepr::default()
    };
    match group_api::update_group(&state, &a.principal, &target, id.clone(), repr).await {
        Ok(()) => see_other(&format!("{}/r/{target}/groups/{id}?notice=saved", a.base())),
        Err(e) => match form_message(&e) {
            Some((status, message)) => respond(
                render_group(
                    &state,
                    &a,
                    &target,
                    id,
                    &ListQuery::default(),
                    Some((status, FormErrors::placed(message, GROUP_FIELDS), name)),
                )
                .await,
            ),
            None => failure_page(&a, e),
        },
    }
}

async fn change_roles(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    match mappings::change(&state, &a, &target, Subject::Group(id.clone()), &form).await {
        Ok(_) => see_other(&format!("{}/r/{target}/groups/{id}?notice=roles-changed", a.base())),
        Err(e) => failure_page(&a, e),
    }
}

async fn confirm_delete(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let group = id.clone();
    confirm_deletion(
        &state,
        &a,
        &target,
        AdminPermission::ManageUsers,
        move |conn, realm_id| {
            let group = group_api::load_group(conn, realm_id, &group)?;
            Ok(GroupTree::load(conn, realm_id)?.path(&group.id))
        },
        |path| {
            format!(
                "The group {path} will be deleted with its subgroups. Its members stay, but lose the roles the group gave them. This cannot be undone."
            )
        },
        Deletion {
            section: "groups",
            title: "Delete group",
            action: format!("/groups/{id}/delete"),
            cancel: format!("/groups/{id}"),
        },
    )
    .await
}

async fn delete_group(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    match group_api::delete_group(&state, &a.principal, &target, id).await {
        Ok(()) => see_other(&format!("{}/r/{target}/groups?notice=group-deleted", a.base())),
        Err(e) => failure_page(&a, e),
    }
}
