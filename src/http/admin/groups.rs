//! `/admin/realms/{realm}/groups`: the group tree (paths like `/parent/child`), members, and the
//! groups' role mappings (which their members inherit, as do members of subgroups).

use super::repr::UserRepr;
use crate::http::openapi::{op, Api, Errors};
use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::repr::{group_json, multivalued_attributes, GroupRepr};
use super::roles::{self as role_api};
use super::{admin_realm, invalidate, no_content, read_json, urlencode, Paging};
use crate::domain::names::parse_plain_name;
use crate::domain::Group;
use crate::error::AppError;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::service::new_id;
use crate::state::AppState;
use crate::store::db::{self, DbConnection};

pub fn routes(api: &mut Api) {
    api.section("Groups", Errors::Keycloak)
        .get(
            "/admin/realms/{realm}/groups",
            list,
            op("List top-level groups")
                .params::<ListQuery>()
                .returns_list::<GroupRepr>(),
        )
        .post(
            "/admin/realms/{realm}/groups",
            create_top_level,
            op("Create a top-level group")
                .body::<GroupRepr>()
                .created()
                .status(409, "A sibling has that name"),
        )
        .get(
            "/admin/realms/{realm}/groups/count",
            count,
            op("Count groups").params::<CountQuery>().returns_json("`{count}`"),
        )
        .get(
            "/admin/realms/{realm}/group-by-path/{path:.*}",
            by_path,
            op("Find a group by its path").returns::<GroupRepr>(),
        )
        .get(
            "/admin/realms/{realm}/groups/{id}",
            get,
            op("Get a group").returns::<GroupRepr>(),
        )
        .put(
            "/admin/realms/{realm}/groups/{id}",
            update,
            op("Update a group").body::<GroupRepr>().no_content(),
        )
        .delete(
            "/admin/realms/{realm}/groups/{id}",
            delete,
            op("Delete a group and its subgroups").no_content(),
        )
        .get(
            "/admin/realms/{realm}/groups/{id}/children",
            children,
            op("List a group's subgroups")
                .params::<ListQuery>()
                .returns_list::<GroupRepr>(),
        )
        .post(
            "/admin/realms/{realm}/groups/{id}/children",
            create_child,
            op("Create a subgroup")
                .body::<GroupRepr>()
                .created()
                .status(409, "A sibling has that name"),
        )
        .get(
            "/admin/realms/{realm}/groups/{id}/members",
            members,
            op("List a group's members")
                .params::<MembersQuery>()
                .returns_list::<UserRepr>(),
        );
    super::roles::mapping_routes(api, "/admin/realms/{realm}/groups/{group_id}", "group");
}

/// Every group of a realm, indexed, for paths and child counts (realms have few groups).
pub struct GroupTree {
    groups: HashMap<String, Group>,
    /// parent id (`None` for top level) → child ids, by name.
    children: HashMap<Option<String>, Vec<String>>,
}

impl GroupTree {
    pub fn load(conn: &mut DbConnection, realm_id: &str) -> diesel::QueryResult<Self> {
        let all = db::roles::all_groups(conn, realm_id)?;
        let mut children: HashMap<Option<String>, Vec<String>> = HashMap::new();
        for g in &all {
            children.entry(g.parent_id.clone()).or_default().push(g.id.clone());
        }
        let groups = all.into_iter().map(|g| (g.id.clone(), g)).collect();
        Ok(Self { groups, children })
    }

    pub fn get(&self, id: &str) -> Option<&Group> {
        self.groups.get(id)
    }

    /// `/a/b/c`; a broken parent chain ends the walk rather than looping.
    pub fn path(&self, id: &str) -> String {
        let mut parts = Vec::new();
        let mut current = self.groups.get(id);
        while let Some(group) = current {
            if parts.len() > self.groups.len() {
                break;
            }
            parts.push(group.name.as_str());
            current = group.parent_id.as_deref().and_then(|p| self.groups.get(p));
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }

    pub fn children_of(&self, parent: Option<&str>) -> Vec<&Group> {
        self.children
            .get(&parent.map(str::to_owned))
            .map(|ids| ids.iter().filter_map(|id| self.groups.get(id)).collect())
            .unwrap_or_default()
    }

    pub fn child_count(&self, id: &str) -> usize {
        self.children.get(&Some(id.to_owned())).map_or(0, Vec::len)
    }

    /// The group at `/a/b` (leading and trailing slashes optional).
    pub fn find_by_path(&self, path: &str) -> Option<&Group> {
        let trimmed = path.trim_matches('/');
        if trimmed.is_empty() {
            return None;
        }
        let mut parent: Option<String> = None;
        let mut found = None;
        for name in trimmed.split('/') {
            let group = self
                .children_of(parent.as_deref())
                .into_iter()
                .find(|g| g.name == name)?;
            parent = Some(group.id.clone());
            found = Some(group);
        }
        found
    }

    /// Whether `ancestor` is `id` or above it.
    pub fn is_ancestor_or_self(&self, ancestor: &str, id: &str) -> bool {
        let mut current = Some(id);
        let mut steps = 0;
        while let Some(cur) = current {
            if cur == ancestor {
                return true;
            }
            steps += 1;
            if steps > self.groups.len() {
                return false;
            }
            current = self.groups.get(cur).and_then(|g| g.parent_id.as_deref());
        }
        false
    }

    pub fn json(&self, group: &Group) -> Value {
        group_json(group, &self.path(&group.id), self.child_count(&group.id))
    }

    /// The group with, as `subGroups`, only the branches below it that match `needle`; `None`
    /// when neither it nor anything below matches (Keycloak's group search).
    fn search_json(&self, group: &Group, needle: &str, exact: bool, depth: usize) -> Option<Value> {
        let matches = if exact {
            group.name == needle
        } else {
            group.name.to_lowercase().contains(needle)
        };
        let sub: Vec<Value> = if depth > 64 {
            Vec::new()
        } else {
            self.children_of(Some(&group.id))
                .into_iter()
                .filter_map(|c| self.search_json(c, needle, exact, depth + 1))
                .collect()
        };
        if !matches && sub.is_empty() {
            return None;
        }
        let mut out = self.json(group);
        out["subGroups"] = Value::Array(sub);
        Some(out)
    }
}

pub(crate) fn parse_group_name(name: Option<&str>) -> Result<String, AppError> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| AppError::bad_request("Group name is missing"))?;
    let name = parse_plain_name("group name", name).map_err(|e| AppError::bad_request(e.to_string()))?;
    // Paths are `/`-separated; a `/` inside a name would make them ambiguous.
    if name.contains('/') {
        return Err(AppError::bad_request("Group name must not contain '/'"));
    }
    Ok(name)
}

pub(crate) fn sibling_conflict(parent: Option<&str>, name: &str) -> AppError {
    match parent {
        None => AppError::conflict(format!("Top level group named '{name}' already exists.")),
        Some(_) => AppError::conflict(format!("Sibling group named '{name}' already exists.")),
    }
}

pub fn load_group(conn: &mut DbConnection, realm_id: &str, id: &str) -> Result<Group, AppError> {
    if !role_api::storable(id) {
        return Err(AppError::not_found("Could not find group by id"));
    }
    db::roles::find_group(conn, realm_id, id)?.ok_or_else(|| AppError::not_found("Could not find group by id"))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    search: Option<String>,
    exact: Option<String>,
    brief_representation: Option<String>,
    // Not `#[serde(flatten)] Paging`: flattened numbers fail to parse from a query string.
    first: Option<i64>,
    max: Option<i64>,
}

fn list_groups(tree: &GroupTree, parent: Option<&str>, query: &ListQuery) -> Vec<Value> {
    let exact = role_api::query_flag(query.exact.as_deref());
    let search = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let groups = tree.children_of(parent).into_iter();
    let values: Vec<Value> = match search {
        Some(s) => {
            let needle = if exact { s.to_owned() } else { s.to_lowercase() };
            groups.filter_map(|g| tree.search_json(g, &needle, exact, 0)).collect()
        }
        None => groups.map(|g| tree.json(g)).collect(),
    };
    let brief = query
        .brief_representation
        .as_deref()
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    values
        .into_iter()
        .skip(Paging::new(query.first, query.max).offset())
        .take(Paging::new(query.first, query.max).limit(100))
        .map(|mut v| {
            if brief {
                if let Value::Object(map) = &mut v {
                    map.remove("attributes");
                }
            }
            v
        })
        .collect()
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(&state, &req, &path, AdminPermission::ViewUsers).await?;
    let realm_id = realm.realm.id.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            Ok(list_groups(&GroupTree::load(conn, &realm_id)?, None, &query))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn children(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewUsers).await?;
    let realm_id = realm.realm.id.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            let tree = GroupTree::load(conn, &realm_id)?;
            if tree.get(&id).is_none() {
                return Err(AppError::not_found("Could not find group by id"));
            }
            Ok(list_groups(&tree, Some(&id), &query))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct CountQuery {
    search: Option<String>,
    top: Option<String>,
}

/// `{"count": n}`: every group, the top-level ones with `top=true`, or those whose name contains `search`.
async fn count(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<CountQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(&state, &req, &path, AdminPermission::ViewUsers).await?;
    let realm_id = realm.realm.id.clone();
    let n = state
        .db
        .run(move |conn| -> Result<usize, AppError> {
            let all = db::roles::all_groups(conn, &realm_id)?;
            let search = query
                .search
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase);
            Ok(match search {
                Some(s) => all.iter().filter(|g| g.name.to_lowercase().contains(&s)).count(),
                None if role_api::query_flag(query.top.as_deref()) => {
                    all.iter().filter(|g| g.parent_id.is_none()).count()
                }
                None => all.len(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "count": n })))
}

/// The full representation: also the group's directly mapped realm and client role names.
fn full_json(conn: &mut DbConnection, realm_id: &str, tree: &GroupTree, group: &Group) -> Result<Value, AppError> {
    let mut out = tree.json(group);
    let roles = db::roles::direct_roles_of_group(conn, &group.id)?;
    let client_ids: HashMap<String, String> = db::clients::client_ids_by_id(conn, realm_id)?.into_iter().collect();
    let mut client_roles: serde_json::Map<String, Value> = serde_json::Map::new();
    let mut realm_roles = Vec::new();
    for role in roles {
        if !role.client_role {
            realm_roles.push(json!(role.name));
        } else if let Some(client_id) = client_ids.get(&role.container_id) {
            if let Value::Array(list) = client_roles.entry(client_id.clone()).or_insert_with(|| json!([])) {
                list.push(json!(role.name));
            }
        }
    }
    out["realmRoles"] = Value::Array(realm_roles);
    out["clientRoles"] = Value::Object(client_roles);
    Ok(out)
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
            let tree = GroupTree::load(conn, &realm_id)?;
            let group = tree
                .get(&id)
                .ok_or_else(|| AppError::not_found("Could not find group by id"))?;
            full_json(conn, &realm_id, &tree, group)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn by_path(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, group_path) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewUsers).await?;
    let realm_id = realm.realm.id.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Value, AppError> {
            let tree = GroupTree::load(conn, &realm_id)?;
            let group = tree
                .find_by_path(&group_path)
                .ok_or_else(|| AppError::not_found("Group path does not exist"))?;
            full_json(conn, &realm_id, &tree, group)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn create_top_level(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    create_or_move(&state, &req, &path, None, payload).await
}

async fn create_child(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (realm_name, parent) = path.into_inner();
    create_or_move(&state, &req, &realm_name, Some(parent), payload).await
}

/// Keycloak's `POST /groups` and `POST /groups/{id}/children`: a representation with the `id` of an
/// existing group moves that group here (204); otherwise a new group is created (201 + Location).
async fn create_or_move(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    parent: Option<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (principal, _) = admin_realm(state, req, realm_name, AdminPermission::ManageUsers).await?;
    let repr: GroupRepr = read_json(req, payload).await?;
    Ok(match save_group(state, &principal, realm_name, parent, repr).await? {
        Some(id) => group_created(req, realm_name, &id),
        None => no_content(),
    })
}

/// Creates a group below `parent` (the top when `None`), or with the `id` of an existing group
/// moves that one there (the admin API and the console); the new group's id.
pub async fn save_group(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    parent: Option<String>,
    repr: GroupRepr,
) -> Result<Option<String>, AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    let attributes = repr
        .attributes
        .clone()
        .map(|a| multivalued_attributes(a).map_err(AppError::bad_request))
        .transpose()?;
    let realm_id = realm.realm.id.clone();
    // Validated up front for a new group; a move may leave the name out.
    let name = match (&repr.id, &repr.name) {
        (Some(_), None) => None,
        (_, name) => Some(parse_group_name(name.as_deref())?),
    };
    let outcome = state
        .db
        .transaction(move |conn| -> Result<Option<String>, AppError> {
            let tree = GroupTree::load(conn, &realm_id)?;
            if let Some(parent_id) = &parent {
                if tree.get(parent_id).is_none() {
                    return Err(AppError::not_found("Could not find group by id"));
                }
            }
            let siblings = tree.children_of(parent.as_deref());
            if let Some(id) = &repr.id {
                let mut group = tree
                    .get(id)
                    .cloned()
                    .ok_or_else(|| AppError::not_found("Could not find child by id"))?;
                if let Some(parent_id) = &parent {
                    if tree.is_ancestor_or_self(&group.id, parent_id) {
                        return Err(AppError::bad_request("A group cannot be moved below itself"));
                    }
                }
                if let Some(name) = name {
                    group.name = name;
                }
                if siblings.iter().any(|s| s.id != group.id && s.name == group.name) {
                    return Err(sibling_conflict(parent.as_deref(), &group.name));
                }
                group.parent_id = parent.clone();
                if let Some(attributes) = attributes {
                    group.attributes = attributes;
                }
                db::roles::update_group(conn, &group)?;
                return Ok(None);
            }
            let name = name.unwrap_or_default();
            if siblings.iter().any(|s| s.name == name) {
                return Err(sibling_conflict(parent.as_deref(), &name));
            }
            let group = Group {
                id: new_id(),
                realm_id: realm_id.clone(),
                parent_id: parent.clone(),
                name,
                attributes: attributes.unwrap_or_default(),
            };
            db::roles::insert_group(conn, &group)?;
            Ok(Some(group.id))
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(outcome)
}

/// 201 whose `Location` is `/admin/realms/{realm}/groups/{id}`, for subgroups too (as Keycloak).
fn group_created(req: &HttpRequest, realm_name: &str, id: &str) -> HttpResponse {
    let base = req.connection_info();
    let location = format!(
        "{}://{}/admin/realms/{}/groups/{}",
        base.scheme(),
        base.host(),
        urlencode(realm_name),
        urlencode(id)
    );
    HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (principal, _) = admin_realm(&state, &req, &realm_name, AdminPermission::ManageUsers).await?;
    let repr: GroupRepr = read_json(&req, payload).await?;
    update_group(&state, &principal, &realm_name, id, repr).await?;
    Ok(no_content())
}

/// Renames a group or replaces its attributes (the admin API and the console).
pub async fn update_group(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
    repr: GroupRepr,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    let name = repr.name.as_deref().map(|n| parse_group_name(Some(n))).transpose()?;
    let attributes = repr
        .attributes
        .map(|a| multivalued_attributes(a).map_err(AppError::bad_request))
        .transpose()?;
    let realm_id = realm.realm.id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let tree = GroupTree::load(conn, &realm_id)?;
            let mut group = tree
                .get(&id)
                .cloned()
                .ok_or_else(|| AppError::not_found("Could not find group by id"))?;
            if let Some(name) = name.filter(|n| *n != group.name) {
                if tree
                    .children_of(group.parent_id.as_deref())
                    .iter()
                    .any(|s| s.name == name)
                {
                    return Err(sibling_conflict(group.parent_id.as_deref(), &name));
                }
                group.name = name;
            }
            if let Some(attributes) = attributes {
                group.attributes = attributes;
            }
            db::roles::update_group(conn, &group)?;
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}

async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (principal, _) = admin_realm(&state, &req, &realm_name, AdminPermission::ManageUsers).await?;
    delete_group(&state, &principal, &realm_name, id).await?;
    Ok(no_content())
}

/// Deletes a group with its subgroups (the admin API and the console).
pub async fn delete_group(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    let realm_id = realm.realm.id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let tree = GroupTree::load(conn, &realm_id)?;
            let group = tree
                .get(&id)
                .ok_or_else(|| AppError::not_found("Could not find group by id"))?;
            // Subgroups, memberships and role mappings go with it (foreign keys cascade); delete
            // the subtree bottom-up anyway so no backend's cascade depth matters.
            let mut order = vec![group.id.clone()];
            let mut i = 0;
            while i < order.len() {
                let below: Vec<String> = tree.children_of(Some(&order[i])).iter().map(|g| g.id.clone()).collect();
                order.extend(below);
                i += 1;
            }
            for gid in order.iter().rev() {
                db::roles::delete_group(conn, &realm_id, gid)?;
            }
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct MembersQuery {
    brief_representation: Option<String>,
    // Not `#[serde(flatten)] Paging`: flattened numbers fail to parse from a query string.
    first: Option<i64>,
    max: Option<i64>,
}

async fn members(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<MembersQuery>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewUsers).await?;
    let realm_id = realm.realm.id.clone();
    let brief = role_api::query_flag(query.brief_representation.as_deref());
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            let group = load_group(conn, &realm_id, &id)?;
            let users = db::roles::members(
                conn,
                &group.id,
                Paging::new(query.first, query.max).first(),
                Paging::new(query.first, query.max).max(100),
            )?;
            super::users::users_json(conn, &realm_id, &users, brief)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
