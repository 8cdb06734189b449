//! The console's pages and forms. Reads go to the store directly (lists are paged in the
//! database); every write goes through the admin API's own function, with the signed-in admin as
//! principal, so both enforce the same rules.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::views::{
    ClientForm, ClientPage, ClientRow, ClientsPage, ConfirmPage, Frame, KeyRow, KeysPage, NewUserPage, Pager, RealmRow,
    RealmsPage, Rights, RoleRow, RolesPage, SessionRow, SettingsForm, SettingsPage, UserForm, UserPage, UserRow,
    UsersPage,
};
use super::{callback, failure_page, internal_error, see_other, Admin, Posted, SignedIn};
use crate::domain::dates::format_rfc3339;
use crate::domain::KeyStatus;
use crate::error::AppError;
use crate::http::admin::repr::{ClientRepr, CredentialRepr, RealmRepr, RoleRepr, UserRepr};
use crate::http::admin::roles::{Container, MappingScope, Subject};
use crate::http::admin::{clients as client_api, realm_for, realms as realm_api, roles as role_api, users as user_api};
use crate::http::pages::realm_title;
use crate::http::shown_once;
use crate::http::views::page as render;
use crate::oauth::params::FormParams;
use crate::service::authz::AdminPermission;
use crate::service::sessions;
use crate::state::AppState;
use crate::store::db::{self, users::UserQuery};

const PAGE_SIZE: i64 = 20;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let at = |p: &str| format!("/admin/{{realm}}/console{p}");
    cfg.route(&at(""), web::get().to(index))
        .route(&at("/"), web::get().to(index))
        .route(&at("/callback"), web::get().to(callback))
        .route(&at("/realms"), web::get().to(realms_page))
        .route(&at("/realms"), web::post().to(create_realm))
        .route(&at("/r/{target}"), web::get().to(realm_home))
        .route(&at("/r/{target}/settings"), web::get().to(settings_page))
        .route(&at("/r/{target}/settings"), web::post().to(save_settings))
        .route(&at("/r/{target}/keys"), web::get().to(keys_page))
        .route(&at("/r/{target}/keys/rotate"), web::post().to(rotate_key))
        .route(&at("/r/{target}/users"), web::get().to(users_page))
        .route(&at("/r/{target}/users"), web::post().to(create_user))
        .route(&at("/r/{target}/users/new"), web::get().to(new_user_page))
        .route(&at("/r/{target}/users/{id}"), web::get().to(user_page))
        .route(&at("/r/{target}/users/{id}"), web::post().to(save_user))
        .route(&at("/r/{target}/users/{id}/password"), web::post().to(set_password))
        .route(&at("/r/{target}/users/{id}/roles"), web::post().to(change_roles))
        .route(
            &at("/r/{target}/users/{id}/sessions/{session}/end"),
            web::post().to(end_session),
        )
        .route(&at("/r/{target}/users/{id}/delete"), web::get().to(confirm_delete_user))
        .route(&at("/r/{target}/users/{id}/delete"), web::post().to(delete_user))
        .route(&at("/r/{target}/roles"), web::get().to(roles_page))
        .route(&at("/r/{target}/roles"), web::post().to(create_role))
        .route(&at("/r/{target}/clients"), web::get().to(clients_page))
        .route(&at("/r/{target}/clients"), web::post().to(create_client))
        .route(&at("/r/{target}/clients/{id}"), web::get().to(client_page))
        .route(
            &at("/r/{target}/clients/{id}/secret"),
            web::post().to(regenerate_secret),
        );
}

/// What every page's frame needs, owned, so the templates can borrow it.
struct Chrome {
    base: String,
    username: String,
    logout_url: String,
    csrf_token: String,
    target: String,
    rights: Rights,
    notice: Option<&'static str>,
}

impl Chrome {
    fn new(state: &AppState, admin: &Admin, target: &str, notice: Option<&str>) -> Self {
        Self {
            base: admin.base(),
            username: admin.principal.user.username.clone(),
            logout_url: format!("/realms/{}/protocol/openid-connect/logout", admin.home.realm.name),
            csrf_token: admin.csrf_token(state),
            target: target.to_owned(),
            rights: Rights::of(&admin.principal, target),
            notice: notice.and_then(notice_text),
        }
    }

    fn frame<'a>(&'a self, section: &'a str) -> Frame<'a> {
        Frame {
            base: &self.base,
            username: &self.username,
            logout_url: &self.logout_url,
            csrf_token: &self.csrf_token,
            target: &self.target,
            section,
            notice: self.notice,
            rights: self.rights,
        }
    }

    /// `{base}/r/{target}{rest}`.
    fn realm_path(&self, rest: &str) -> String {
        format!("{}/r/{}{rest}", self.base, self.target)
    }
}

/// Notices are named in the redirect's query and worded here, so no page repeats text from a URL.
fn notice_text(notice: &str) -> Option<&'static str> {
    Some(match notice {
        "realm-created" => "The realm was created.",
        "saved" => "Your changes were saved.",
        "user-created" => "The user was created.",
        "user-deleted" => "The user was deleted.",
        "password-set" => "The password was set.",
        "roles-changed" => "The role mappings were changed.",
        "session-ended" => "The session was signed out.",
        "role-created" => "The role was created.",
        "client-created" => "The client was created.",
        "key-rotated" => {
            "A new signing key is active. The old one keeps verifying the tokens it signed until they expire."
        }
        _ => return None,
    })
}

#[derive(Deserialize, Default)]
struct ListQuery {
    search: Option<String>,
    first: Option<i64>,
    notice: Option<String>,
    shown: Option<String>,
}

impl ListQuery {
    fn first(&self) -> i64 {
        self.first.unwrap_or(0).clamp(0, i64::MAX / 2)
    }
}

fn field(form: &FormParams, name: &str) -> String {
    form.get(name).unwrap_or_default().trim().to_owned()
}

fn checked(form: &FormParams, name: &str) -> bool {
    form.get(name).is_some_and(|v| v == "on" || v == "true")
}

/// The status and message of an admin-API error that belongs next to the form (bad input, a
/// conflict); `None` for the others, which get a page of their own (`failure_page`).
fn form_message(e: &AppError) -> Option<(StatusCode, String)> {
    match e {
        AppError::BadRequest(m) => Some((StatusCode::BAD_REQUEST, m.clone())),
        AppError::Conflict(m) => Some((StatusCode::CONFLICT, m.clone())),
        _ => None,
    }
}

fn respond(result: Result<HttpResponse, HttpResponse>) -> HttpResponse {
    result.unwrap_or_else(|resp| resp)
}

// ---------------------------------------------------------------------------------------------
// Home and realms
// ---------------------------------------------------------------------------------------------

/// `GET /admin/{realm}/console[/]`: a master admin's realm list, else their realm.
async fn index(SignedIn(a): SignedIn) -> HttpResponse {
    if a.principal.is_master_admin() || a.principal.may_create_realms() {
        see_other(&format!("{}/realms", a.base()))
    } else {
        see_other(&format!("{}/r/{}", a.base(), a.home.realm.name))
    }
}

async fn render_realms(
    state: &AppState,
    admin: &Admin,
    query: &ListQuery,
    status: StatusCode,
    error: Option<&str>,
    new_name: &str,
) -> HttpResponse {
    let first = query.first();
    let master = admin.principal.is_master_admin();
    let own = admin.home.realm.name.clone();
    let loaded = state
        .db
        .run(move |conn| -> Result<(Vec<crate::domain::Realm>, i64), db::DbError> {
            if master {
                Ok((db::realms::list(conn, first, PAGE_SIZE)?, db::realms::count(conn)?))
            } else {
                let found: Vec<_> = db::realms::find_by_name(conn, &own)?.into_iter().collect();
                let n = found.len() as i64;
                Ok((found, n))
            }
        })
        .await;
    let (realms, total) = match loaded {
        Ok(l) => l,
        Err(e) => return internal_error(realm_title(&admin.home), e),
    };
    let rows: Vec<RealmRow> = realms
        .iter()
        .map(|r| RealmRow {
            name: r.name.clone(),
            display_name: r.display_name.clone().unwrap_or_default(),
            enabled: r.enabled,
        })
        .collect();
    let chrome = Chrome::new(state, admin, &admin.home.realm.name, query.notice.as_deref());
    render(
        status,
        &RealmsPage {
            frame: chrome.frame("realms"),
            realms: &rows,
            may_create: admin.principal.may_create_realms(),
            error,
            new_name,
            pager: Pager {
                first,
                max: PAGE_SIZE,
                total,
                query: String::new(),
            },
        },
    )
}

async fn realms_page(state: web::Data<AppState>, SignedIn(a): SignedIn, query: web::Query<ListQuery>) -> HttpResponse {
    render_realms(&state, &a, &query, StatusCode::OK, None, "").await
}

async fn create_realm(state: web::Data<AppState>, Posted(admin, form): Posted) -> HttpResponse {
    let name = field(&form, "name");
    let repr: RealmRepr = match serde_json::from_value(json!({ "realm": name, "enabled": true })) {
        Ok(r) => r,
        Err(e) => return internal_error(realm_title(&admin.home), e),
    };
    match realm_api::create_realm(&state, &admin.principal, repr).await {
        Ok(realm) => see_other(&format!(
            "{}/r/{}/settings?notice=realm-created",
            admin.base(),
            realm.name
        )),
        Err(e) => match form_message(&e) {
            Some((status, message)) => {
                render_realms(&state, &admin, &ListQuery::default(), status, Some(&message), &name).await
            }
            None => failure_page(&admin, e),
        },
    }
}

/// `GET …/r/{target}`: the first section the admin may see.
async fn realm_home(SignedIn(a): SignedIn, path: web::Path<(String, String)>) -> HttpResponse {
    let (_, target) = path.into_inner();
    let rights = Rights::of(&a.principal, &target);
    let section = if rights.view_users {
        "users"
    } else if rights.view_clients {
        "clients"
    } else if rights.view_realm {
        "settings"
    } else {
        return failure_page(&a, AppError::Forbidden);
    };
    see_other(&format!("{}/r/{target}/{section}", a.base()))
}

// ---------------------------------------------------------------------------------------------
// Realm settings and keys
// ---------------------------------------------------------------------------------------------

fn settings_form(realm: &crate::domain::Realm) -> SettingsForm {
    let json = crate::http::admin::repr::realm_json(realm);
    // The representation shows the settings in effect (nexus's defaults until set).
    let text = |name: &str| {
        json.get(name)
            .and_then(Value::as_i64)
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    let has = |env: &str| {
        json.get("apiKeyEnvironments")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == env))
    };
    SettingsForm {
        display_name: realm.display_name.clone().unwrap_or_default(),
        enabled: realm.enabled,
        access_token_lifespan: realm.access_token_lifespan.to_string(),
        sso_session_idle_timeout: realm.sso_session_idle_timeout.to_string(),
        sso_session_max_lifespan: realm.sso_session_max_lifespan.to_string(),
        refresh_token_lifespan: realm.refresh_token_lifespan.to_string(),
        rate_limit_requests: text("rateLimitRequestsPerMinute"),
        rate_limit_failures: text("rateLimitFailedAuthPerMinute"),
        api_key_live: has("live"),
        api_key_test: has("test"),
    }
}

async fn settings_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    respond(
        async {
            let runtime = realm_for(&state, &a.principal, &target, AdminPermission::ViewRealm)
                .await
                .map_err(|e| failure_page(&a, e))?;
            let chrome = Chrome::new(&state, &a, &target, query.notice.as_deref());
            let form = settings_form(&runtime.realm);
            Ok(render(
                StatusCode::OK,
                &SettingsPage {
                    frame: chrome.frame("settings"),
                    form: &form,
                    error: None,
                },
            ))
        }
        .await,
    )
}

/// A whole number typed in a form, or the message for it.
fn whole_number(form: &FormParams, name: &str, label: &str) -> Result<Option<i64>, String> {
    let text = field(form, name);
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| format!("{label} must be a whole number."))
}

async fn save_settings(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    let typed = SettingsForm {
        display_name: field(&form, "displayName"),
        enabled: checked(&form, "enabled"),
        access_token_lifespan: field(&form, "accessTokenLifespan"),
        sso_session_idle_timeout: field(&form, "ssoSessionIdleTimeout"),
        sso_session_max_lifespan: field(&form, "ssoSessionMaxLifespan"),
        refresh_token_lifespan: field(&form, "refreshTokenLifespan"),
        rate_limit_requests: field(&form, "rateLimitRequestsPerMinute"),
        rate_limit_failures: field(&form, "rateLimitFailedAuthPerMinute"),
        api_key_live: checked(&form, "apiKeyLive"),
        api_key_test: checked(&form, "apiKeyTest"),
    };
    let numbers = (|| -> Result<Value, String> {
        let mut repr = json!({
            "displayName": typed.display_name,
            "enabled": typed.enabled,
        });
        for (name, label) in [
            ("accessTokenLifespan", "Access token lifespan"),
            ("ssoSessionIdleTimeout", "SSO session idle timeout"),
            ("ssoSessionMaxLifespan", "SSO session max lifespan"),
            ("refreshTokenLifespan", "Refresh token lifespan"),
            ("rateLimitRequestsPerMinute", "Requests per minute"),
            ("rateLimitFailedAuthPerMinute", "Failed authentications per minute"),
        ] {
            if let Some(n) = whole_number(&form, name, label)? {
                repr[name] = json!(n);
            }
        }
        let mut environments = Vec::new();
        if typed.api_key_live {
            environments.push("live");
        }
        if typed.api_key_test {
            environments.push("test");
        }
        repr["apiKeyEnvironments"] = json!(environments);
        Ok(repr)
    })();
    let result = match numbers {
        Err(message) => Err(AppError::bad_request(message)),
        Ok(repr) => match serde_json::from_value::<RealmRepr>(repr) {
            Ok(repr) => realm_api::update_realm(&state, &a.principal, &target, repr).await,
            Err(e) => Err(AppError::bad_request(e.to_string())),
        },
    };
    match result {
        Ok(()) => see_other(&format!("{}/r/{target}/settings?notice=saved", a.base())),
        Err(e) => match form_message(&e) {
            Some((status, message)) => {
                let chrome = Chrome::new(&state, &a, &target, None);
                render(
                    status,
                    &SettingsPage {
                        frame: chrome.frame("settings"),
                        form: &typed,
                        error: Some(&message),
                    },
                )
            }
            None => failure_page(&a, e),
        },
    }
}

async fn keys_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    respond(
        async {
            let runtime = realm_for(&state, &a.principal, &target, AdminPermission::ViewRealm)
                .await
                .map_err(|e| failure_page(&a, e))?;
            let realm_id = runtime.realm.id.clone();
            let records = state
                .db
                .run(move |conn| db::keys::list_for_realm(conn, &realm_id).map_err(db::DbError::from))
                .await
                .map_err(|e| internal_error(realm_title(&a.home), e))?;
            let now = state.now();
            let rows: Vec<KeyRow> = records
                .iter()
                .filter(|k| k.status == KeyStatus::Active || k.verify_until.is_none_or(|u| u > now))
                .map(|k| KeyRow {
                    kid: k.kid.clone(),
                    algorithm: k.algorithm.clone(),
                    status: if k.status == KeyStatus::Active {
                        "active"
                    } else {
                        "passive"
                    },
                    created: format_rfc3339(k.created_at),
                    valid_to: k.verify_until.map(format_rfc3339).unwrap_or_default(),
                })
                .collect();
            let chrome = Chrome::new(&state, &a, &target, query.notice.as_deref());
            Ok(render(
                StatusCode::OK,
                &KeysPage {
                    frame: chrome.frame("keys"),
                    keys: &rows,
                },
            ))
        }
        .await,
    )
}

async fn rotate_key(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    match realm_api::rotate_realm_key(&state, &a.principal, &target).await {
        Ok(_) => see_other(&format!("{}/r/{target}/keys?notice=key-rotated", a.base())),
        Err(e) => failure_page(&a, e),
    }
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

async fn users_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    respond(
        async {
            let runtime = realm_for(&state, &a.principal, &target, AdminPermission::ViewUsers)
                .await
                .map_err(|e| failure_page(&a, e))?;
            let search = query.search.clone().unwrap_or_default().trim().to_owned();
            if search.len() > 255 || search.chars().any(char::is_control) {
                return Err(failure_page(&a, AppError::bad_request("Invalid search.")));
            }
            let filter = UserQuery {
                search: Some(search.clone()).filter(|s| !s.is_empty()),
                ..UserQuery::default()
            };
            let (realm_id, first) = (runtime.realm.id.clone(), query.first());
            let (users, total) = state
                .db
                .run(move |conn| -> Result<_, db::DbError> {
                    Ok((
                        db::users::search(conn, &realm_id, &filter, first, PAGE_SIZE)?,
                        db::users::count(conn, &realm_id, &filter)?,
                    ))
                })
                .await
                .map_err(|e| internal_error(realm_title(&a.home), e))?;
            let rows: Vec<UserRow> = users
                .iter()
                .map(|u| UserRow {
                    id: u.id.clone(),
                    username: u.username.clone(),
                    email: u.email.clone().unwrap_or_default(),
                    name: u.full_name().unwrap_or_default(),
                    enabled: u.enabled,
                })
                .collect();
            let chrome = Chrome::new(&state, &a, &target, query.notice.as_deref());
            let search_query = serde_urlencoded::to_string([("search", search.as_str())]).unwrap_or_default();
            Ok(render(
                StatusCode::OK,
                &UsersPage {
                    frame: chrome.frame("users"),
                    users: &rows,
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
        .await,
    )
}

async fn new_user_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    respond(
        async {
            realm_for(&state, &a.principal, &target, AdminPermission::ManageUsers)
                .await
                .map_err(|e| failure_page(&a, e))?;
            let chrome = Chrome::new(&state, &a, &target, None);
            let form = UserForm {
                enabled: true,
                ..UserForm::default()
            };
            Ok(render(
                StatusCode::OK,
                &NewUserPage {
                    frame: chrome.frame("users"),
                    form: &form,
                    error: None,
                },
            ))
        }
        .await,
    )
}

fn user_form(form: &FormParams) -> UserForm {
    UserForm {
        username: field(form, "username"),
        email: field(form, "email"),
        first_name: field(form, "firstName"),
        last_name: field(form, "lastName"),
        enabled: checked(form, "enabled"),
        email_verified: checked(form, "emailVerified"),
    }
}

fn user_repr(typed: &UserForm) -> Value {
    json!({
        "username": typed.username,
        "email": typed.email,
        "firstName": typed.first_name,
        "lastName": typed.last_name,
        "enabled": typed.enabled,
        "emailVerified": typed.email_verified,
    })
}

async fn create_user(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    let typed = user_form(&form);
    let mut repr = user_repr(&typed);
    let password = form.get("password").unwrap_or_default().to_owned();
    if !password.is_empty() {
        repr["credentials"] =
            json!([{ "type": "password", "value": password, "temporary": checked(&form, "temporary") }]);
    }
    let result = match serde_json::from_value::<UserRepr>(repr) {
        Ok(repr) => user_api::create_user(&state, &a.principal, &target, repr).await,
        Err(e) => Err(AppError::bad_request(e.to_string())),
    };
    match result {
        Ok(id) => see_other(&format!("{}/r/{target}/users/{id}?notice=user-created", a.base())),
        Err(e) => match form_message(&e) {
            Some((status, message)) => {
                let chrome = Chrome::new(&state, &a, &target, None);
                render(
                    status,
                    &NewUserPage {
                        frame: chrome.frame("users"),
                        form: &typed,
                        error: Some(&message),
                    },
                )
            }
            None => failure_page(&a, e),
        },
    }
}

/// How a user page answers a refused form: the details as typed with their message, or the
/// message of the password form.
enum UserFailure {
    Details(StatusCode, UserForm, String),
    Password(StatusCode, String),
}

/// The user page; after a refused form, with what was typed and the message beside its form.
async fn render_user(
    state: &AppState,
    a: &Admin,
    target: &str,
    id: String,
    notice: Option<&str>,
    failure: Option<UserFailure>,
) -> Result<HttpResponse, HttpResponse> {
    let runtime = realm_for(state, &a.principal, target, AdminPermission::ViewUsers)
        .await
        .map_err(|e| failure_page(a, e))?;
    let realm_id = runtime.realm.id.clone();
    let loaded = state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let user = user_api::load_user(conn, &realm_id, &id)?;
            let mut direct: Vec<String> = db::roles::direct_roles_of_user(conn, &user.id)?
                .into_iter()
                .filter(|r| !r.client_role)
                .map(|r| r.name)
                .collect();
            direct.sort();
            let mut available: Vec<String> = db::roles::list_in_container(conn, &realm_id, None, 0, 1000)?
                .into_iter()
                .map(|r| r.name)
                .filter(|n| !direct.contains(n))
                .collect();
            available.sort();
            Ok((user, direct, available))
        })
        .await;
    let (user, roles, available) = loaded.map_err(|e| failure_page(a, e))?;
    let live = sessions::list_for_user(state, &runtime.realm, &user.id)
        .await
        .map_err(|e| internal_error(realm_title(&a.home), e))?;
    let session_rows: Vec<SessionRow> = live
        .iter()
        .map(|s| SessionRow {
            id: s.id.clone(),
            ip_address: s.ip_address.clone().unwrap_or_default(),
            started: format_rfc3339(s.started_at),
            last_access: format_rfc3339(s.last_seen),
            clients: s.clients.join(", "),
        })
        .collect();
    let stored = || UserForm {
        username: user.username.clone(),
        email: user.email.clone().unwrap_or_default(),
        first_name: user.first_name.clone().unwrap_or_default(),
        last_name: user.last_name.clone().unwrap_or_default(),
        enabled: user.enabled,
        email_verified: user.email_verified,
    };
    let (status, form, error, password_error) = match failure {
        None => (StatusCode::OK, stored(), None, None),
        Some(UserFailure::Details(status, typed, message)) => (status, typed, Some(message), None),
        Some(UserFailure::Password(status, message)) => (status, stored(), None, Some(message)),
    };
    let chrome = Chrome::new(state, a, target, notice);
    Ok(render(
        status,
        &UserPage {
            frame: chrome.frame("users"),
            id: &user.id,
            form: &form,
            service_account: user.service_account_client_id.is_some(),
            error: error.as_deref(),
            password_error: password_error.as_deref(),
            roles: &roles,
            available_roles: &available,
            sessions: &session_rows,
        },
    ))
}

async fn user_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    respond(async { render_user(&state, &a, &target, id, query.notice.as_deref(), None).await }.await)
}

async fn save_user(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let typed = user_form(&form);
    let result = match serde_json::from_value::<UserRepr>(user_repr(&typed)) {
        Ok(repr) => user_api::update_user(&state, &a.principal, &target, id.clone(), repr).await,
        Err(e) => Err(AppError::bad_request(e.to_string())),
    };
    match result {
        Ok(()) => see_other(&format!("{}/r/{target}/users/{id}?notice=saved", a.base())),
        Err(e) => match form_message(&e) {
            Some((status, message)) => respond(
                render_user(
                    &state,
                    &a,
                    &target,
                    id,
                    None,
                    Some(UserFailure::Details(status, typed, message)),
                )
                .await,
            ),
            None => failure_page(&a, e),
        },
    }
}

async fn set_password(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let password = form.get("password").unwrap_or_default().to_owned();
    let result = if password != form.get("confirm").unwrap_or_default() {
        Err(AppError::bad_request("The two passwords differ."))
    } else {
        let credential = CredentialRepr {
            kind: Some("password".into()),
            value: Some(password),
            temporary: Some(checked(&form, "temporary")),
        };
        user_api::set_password(&state, &a.principal, &target, id.clone(), credential).await
    };
    match result {
        Ok(()) => see_other(&format!("{}/r/{target}/users/{id}?notice=password-set", a.base())),
        Err(e) => match form_message(&e) {
            Some((status, message)) => respond(
                render_user(
                    &state,
                    &a,
                    &target,
                    id,
                    None,
                    Some(UserFailure::Password(status, message)),
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
    let (role, add) = match (form.get("add"), form.get("remove")) {
        (Some(role), _) if !role.is_empty() => (role.to_owned(), true),
        (_, Some(role)) if !role.is_empty() => (role.to_owned(), false),
        _ => return see_other(&format!("{}/r/{target}/users/{id}", a.base())),
    };
    let repr = RoleRepr {
        name: Some(role),
        ..RoleRepr::default()
    };
    match role_api::map_roles(
        &state,
        &a.principal,
        &target,
        Subject::User(id.clone()),
        MappingScope::Realm,
        vec![repr],
        add,
    )
    .await
    {
        Ok(()) => see_other(&format!("{}/r/{target}/users/{id}?notice=roles-changed", a.base())),
        Err(e) => failure_page(&a, e),
    }
}

async fn end_session(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, id, session_id) = path.into_inner();
    let result = async {
        let runtime = realm_for(&state, &a.principal, &target, AdminPermission::ManageUsers).await?;
        // Only a session of this user, in this realm.
        if let Some(session) = sessions::find(&state, &runtime.realm, &session_id).await? {
            if session.user_id == id {
                sessions::end(&state, &runtime.realm, &session_id)
                    .await
                    .map_err(AppError::internal)?;
            }
        }
        Ok::<(), AppError>(())
    }
    .await;
    match result {
        Ok(()) => see_other(&format!("{}/r/{target}/users/{id}?notice=session-ended", a.base())),
        Err(e) => failure_page(&a, e),
    }
}

async fn confirm_delete_user(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    respond(
        async {
            let runtime = realm_for(&state, &a.principal, &target, AdminPermission::ManageUsers)
                .await
                .map_err(|e| failure_page(&a, e))?;
            let (realm_id, user_id) = (runtime.realm.id.clone(), id.clone());
            let user = state
                .db
                .run(move |conn| user_api::load_user(conn, &realm_id, &user_id))
                .await
                .map_err(|e| failure_page(&a, e))?;
            let chrome = Chrome::new(&state, &a, &target, None);
            let explanation = format!(
                "The user {} will be deleted with their credentials, role mappings and refresh tokens. This cannot be undone.",
                user.username
            );
            let action = chrome.realm_path(&format!("/users/{id}/delete"));
            let cancel = chrome.realm_path(&format!("/users/{id}"));
            Ok(render(
                StatusCode::OK,
                &ConfirmPage {
                    frame: chrome.frame("users"),
                    title: "Delete user",
                    explanation: &explanation,
                    action: &action,
                    button: "Delete",
                    cancel: &cancel,
                },
            ))
        }
        .await,
    )
}

async fn delete_user(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    match user_api::delete_user(&state, &a.principal, &target, id).await {
        Ok(()) => see_other(&format!("{}/r/{target}/users?notice=user-deleted", a.base())),
        Err(e) => failure_page(&a, e),
    }
}

// ---------------------------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------------------------

async fn render_roles(
    state: &AppState,
    a: &Admin,
    target: &str,
    notice: Option<&str>,
    failed: Option<(StatusCode, String, String, String)>,
) -> Result<HttpResponse, HttpResponse> {
    let runtime = realm_for(state, &a.principal, target, AdminPermission::ViewRealm)
        .await
        .map_err(|e| failure_page(a, e))?;
    let realm_id = runtime.realm.id.clone();
    let roles = state
        .db
        .run(move |conn| db::roles::list_in_container(conn, &realm_id, None, 0, 1000).map_err(db::DbError::from))
        .await
        .map_err(|e| internal_error(realm_title(&a.home), e))?;
    let mut rows: Vec<RoleRow> = roles
        .into_iter()
        .map(|r| RoleRow {
            name: r.name,
            description: r.description.unwrap_or_default(),
        })
        .collect();
    rows.sort_by(|x, y| x.name.cmp(&y.name));
    let (status, error, name, description) = match failed {
        Some((status, error, name, description)) => (status, Some(error), name, description),
        None => (StatusCode::OK, None, String::new(), String::new()),
    };
    let chrome = Chrome::new(state, a, target, notice);
    Ok(render(
        status,
        &RolesPage {
            frame: chrome.frame("roles"),
            roles: &rows,
            error: error.as_deref(),
            new_name: &name,
            new_description: &description,
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
    respond(async { render_roles(&state, &a, &target, query.notice.as_deref(), None).await }.await)
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
            Some((status, message)) => {
                respond(render_roles(&state, &a, &target, None, Some((status, message, name, description))).await)
            }
            None => failure_page(&a, e),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

fn client_kind(client: &crate::domain::Client) -> &'static str {
    if client.bearer_only {
        "bearer-only"
    } else if client.public_client {
        "public"
    } else {
        "confidential"
    }
}

async fn render_clients(
    state: &AppState,
    a: &Admin,
    target: &str,
    query: &ListQuery,
    failed: Option<(StatusCode, String, ClientForm)>,
) -> Result<HttpResponse, HttpResponse> {
    let runtime = realm_for(state, &a.principal, target, AdminPermission::ViewClients)
        .await
        .map_err(|e| failure_page(a, e))?;
    let (realm_id, first) = (runtime.realm.id.clone(), query.first());
    let (clients, total) = state
        .db
        .run(move |conn| -> Result<_, db::DbError> {
            Ok((
                db::clients::list(conn, &realm_id, first, PAGE_SIZE)?,
                db::clients::count(conn, &realm_id)?,
            ))
        })
        .await
        .map_err(|e| internal_error(realm_title(&a.home), e))?;
    let rows: Vec<ClientRow> = clients
        .iter()
        .map(|c| ClientRow {
            id: c.id.clone(),
            client_id: c.client_id.clone(),
            kind: client_kind(c),
            enabled: c.enabled,
        })
        .collect();
    let (status, error, form) = match failed {
        Some((status, error, form)) => (status, Some(error), form),
        None => (
            StatusCode::OK,
            None,
            ClientForm {
                kind: "confidential".into(),
                ..ClientForm::default()
            },
        ),
    };
    let chrome = Chrome::new(state, a, target, query.notice.as_deref());
    Ok(render(
        status,
        &ClientsPage {
            frame: chrome.frame("clients"),
            clients: &rows,
            error: error.as_deref(),
            form: &form,
            pager: Pager {
                first,
                max: PAGE_SIZE,
                total,
                query: String::new(),
            },
        },
    ))
}

async fn clients_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    respond(async { render_clients(&state, &a, &target, &query, None).await }.await)
}

async fn create_client(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    let typed = ClientForm {
        client_id: field(&form, "clientId"),
        kind: field(&form, "kind"),
        redirect_uris: field(&form, "redirectUris"),
        service_account: checked(&form, "serviceAccountsEnabled"),
    };
    let redirect_uris: Vec<&str> = typed.redirect_uris.split_whitespace().collect();
    let public = typed.kind == "public";
    let result = if typed.kind != "public" && typed.kind != "confidential" {
        Err(AppError::bad_request("Choose confidential or public."))
    } else if public && typed.service_account {
        Err(AppError::bad_request("A public client cannot have a service account."))
    } else {
        let repr = json!({
            "clientId": typed.client_id,
            "publicClient": public,
            "redirectUris": redirect_uris,
            "standardFlowEnabled": !redirect_uris.is_empty(),
            "serviceAccountsEnabled": typed.service_account,
        });
        match serde_json::from_value::<ClientRepr>(repr) {
            Ok(repr) => client_api::create_client(&state, &a.principal, &target, repr).await,
            Err(e) => Err(AppError::bad_request(e.to_string())),
        }
    };
    match result {
        Ok(id) => see_other(&format!("{}/r/{target}/clients/{id}?notice=client-created", a.base())),
        Err(e) => match form_message(&e) {
            Some((status, message)) => respond(
                render_clients(
                    &state,
                    &a,
                    &target,
                    &ListQuery::default(),
                    Some((status, message, typed)),
                )
                .await,
            ),
            None => failure_page(&a, e),
        },
    }
}

fn shown_scope(a: &Admin) -> String {
    format!("console:{}", a.home.realm.id)
}

async fn client_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    respond(
        async {
            let runtime = realm_for(&state, &a.principal, &target, AdminPermission::ViewClients)
                .await
                .map_err(|e| failure_page(&a, e))?;
            let realm_id = runtime.realm.id.clone();
            let client = state
                .db
                .run(move |conn| client_api::load_client(conn, &realm_id, &id))
                .await
                .map_err(|e| failure_page(&a, e))?;
            let shown: Option<(String, String)> = match query.shown.as_deref() {
                Some(nonce) => shown_once::take(&state, &shown_scope(&a), &a.session.id, nonce)
                    .await
                    .map_err(|e| internal_error(realm_title(&a.home), e))?,
                None => None,
            };
            // Only the secret of this client is shown on its page.
            let shown_secret = shown.filter(|(owner, _)| *owner == client.id).map(|(_, secret)| secret);
            let chrome = Chrome::new(&state, &a, &target, query.notice.as_deref());
            Ok(render(
                StatusCode::OK,
                &ClientPage {
                    frame: chrome.frame("clients"),
                    id: &client.id,
                    client_id: &client.client_id,
                    kind: client_kind(&client),
                    confidential: client.is_confidential(),
                    redirect_uris: &client.redirect_uris,
                    web_origins: &client.web_origins,
                    service_account: client.service_accounts_enabled,
                    standard_flow: client.standard_flow_enabled,
                    consent_required: client.consent_required,
                    shown_secret: shown_secret.as_deref(),
                },
            ))
        }
        .await,
    )
}

/// Regenerates a client's secret and shows the new one once (`http::shown_once`).
async fn regenerate_secret(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let secret = match client_api::regenerate_client_secret(&state, &a.principal, &target, id.clone()).await {
        Ok(s) => s,
        Err(e) => return failure_page(&a, e),
    };
    match shown_once::hold(&state, &shown_scope(&a), &a.session.id, (id.clone(), secret)).await {
        Ok(nonce) => see_other(&format!("{}/r/{target}/clients/{id}?shown={nonce}", a.base())),
        Err(e) => internal_error(realm_title(&a.home), e),
    }
}
