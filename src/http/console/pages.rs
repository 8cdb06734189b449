//! The console's pages and forms. Reads go to the store directly (lists are paged in the
//! database); every write goes through the admin API's own function, with the signed-in admin as
//! principal, so both enforce the same rules.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::common::{
    checked, confirm_deletion, field, form_message, respond, Chrome, Deletion, FormErrors, ListQuery, PAGE_SIZE,
};
use super::mappings;
use super::views::{
    ApiKeyForm, ConsentRow, GroupOption, KeyRow, KeysPage, MappingsView, NewUserPage, Pager, RealmRow, RealmsPage,
    Rights, SessionRow, SettingsForm, SettingsPage, UserForm, UserKeyRow, UserPage, UserRow, UsersPage,
};
use super::{callback, failure_page, internal_error, see_other, Admin, Posted, SignedIn};
use crate::domain::dates::format_rfc3339;
use crate::domain::KeyStatus;
use crate::error::AppError;
use crate::http::admin::groups::GroupTree;
use crate::http::admin::repr::{CredentialRepr, RealmRepr, UserRepr};
use crate::http::admin::roles::Subject;
use crate::http::admin::{consents as consent_api, realm_for, realms as realm_api, users as user_api};
use crate::http::api_keys as key_api;
use crate::http::pages::realm_title;
use crate::http::shown_once;
use crate::http::views::page as render;
use crate::oauth::params::FormParams;
use crate::service::authz::AdminPermission;
use crate::service::{api_keys, consent_records, sessions};
use crate::state::AppState;
use crate::store::db::{self, users::UserQuery};

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
        .route(&at("/r/{target}/users/{id}/groups"), web::post().to(change_groups))
        .route(&at("/r/{target}/users/{id}/api-keys"), web::post().to(create_api_key))
        .route(
            &at("/r/{target}/users/{id}/api-keys/{key}/delete"),
            web::get().to(confirm_delete_api_key),
        )
        .route(
            &at("/r/{target}/users/{id}/api-keys/{key}/delete"),
            web::post().to(delete_api_key),
        )
        .route(
            &at("/r/{target}/users/{id}/consents/{client}/revoke"),
            web::post().to(revoke_consent),
        )
        .route(
            &at("/r/{target}/users/{id}/sessions/{session}/end"),
            web::post().to(end_session),
        )
        .route(&at("/r/{target}/users/{id}/delete"), web::get().to(confirm_delete_user))
        .route(&at("/r/{target}/users/{id}/delete"), web::post().to(delete_user));
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
        brute_force: json
            .get("bruteForceProtected")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        permanent_lockout: json.get("permanentLockout").and_then(Value::as_bool).unwrap_or(false),
        dual_control: json.get("dualControl").and_then(Value::as_bool).unwrap_or(false),
        failure_factor: text("failureFactor"),
        wait_increment: text("waitIncrementSeconds"),
        max_failure_wait: text("maxFailureWaitSeconds"),
        max_delta: text("maxDeltaTimeSeconds"),
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
                    errors: &FormErrors::default(),
                },
            ))
        }
        .await,
    )
}

/// A whole number typed in a form, or the message for its field.
fn whole_number(form: &FormParams, name: &'static str, label: &str) -> Result<Option<i64>, FormErrors> {
    let text = field(form, name);
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| FormErrors::at(name, format!("{label} must be a whole number.")))
}

/// Where the admin API's messages about realm settings belong (it names the setting).
const SETTINGS_FIELDS: &[(&str, &[&str])] = &[
    ("displayName", &["displayName"]),
    ("accessTokenLifespan", &["accessTokenLifespan"]),
    ("ssoSessionIdleTimeout", &["ssoSessionIdleTimeout"]),
    ("ssoSessionMaxLifespan", &["ssoSessionMaxLifespan"]),
    ("refreshTokenLifespan", &["refreshTokenLifespan"]),
    ("rateLimitRequestsPerMinute", &["rateLimitRequestsPerMinute"]),
    ("rateLimitFailedAuthPerMinute", &["rateLimitFailedAuthPerMinute"]),
    ("apiKeyEnvironments", &["apiKeyEnvironments"]),
    ("failureFactor", &["failureFactor"]),
    ("waitIncrementSeconds", &["waitIncrementSeconds"]),
    ("maxFailureWaitSeconds", &["maxFailureWaitSeconds"]),
    ("maxDeltaTimeSeconds", &["maxDeltaTimeSeconds"]),
];

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
        brute_force: checked(&form, "bruteForceProtected"),
        permanent_lockout: checked(&form, "permanentLockout"),
        dual_control: checked(&form, "dualControl"),
        failure_factor: field(&form, "failureFactor"),
        wait_increment: field(&form, "waitIncrementSeconds"),
        max_failure_wait: field(&form, "maxFailureWaitSeconds"),
        max_delta: field(&form, "maxDeltaTimeSeconds"),
    };
    let numbers = (|| -> Result<Value, FormErrors> {
        let mut repr = json!({
            "displayName": typed.display_name,
            "enabled": typed.enabled,
            "bruteForceProtected": typed.brute_force,
            "permanentLockout": typed.permanent_lockout,
            "dualControl": typed.dual_control,
        });
        for (name, label) in [
            ("accessTokenLifespan", "Access token lifespan"),
            ("ssoSessionIdleTimeout", "SSO session idle timeout"),
            ("ssoSessionMaxLifespan", "SSO session max lifespan"),
            ("refreshTokenLifespan", "Refresh token lifespan"),
            ("rateLimitRequestsPerMinute", "Requests per minute"),
            ("rateLimitFailedAuthPerMinute", "Failed authentications per minute"),
            ("failureFactor", "Failures before a lockout"),
            ("waitIncrementSeconds", "Wait increment"),
            ("maxFailureWaitSeconds", "Longest wait"),
            ("maxDeltaTimeSeconds", "Failure reset time"),
        ] {
            if let Some(n) = whole_number(&form, name, label)? {
                // The REST API stores any number and falls back to the default for one out of
                // range (as a Keycloak import may carry); a person typing is told instead.
                let at_least_one = matches!(
                    name,
                    "failureFactor" | "waitIncrementSeconds" | "maxFailureWaitSeconds" | "maxDeltaTimeSeconds"
                );
                if at_least_one && !(1..=31_536_000).contains(&n) {
                    return Err(FormErrors::at(name, format!("{label} must be from 1 to 31536000.")));
                }
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
        Err(errors) => Err(errors),
        Ok(repr) => {
            let saved = match serde_json::from_value::<RealmRepr>(repr) {
                Ok(repr) => realm_api::update_realm(&state, &a.principal, &target, repr).await,
                Err(e) => Err(AppError::bad_request(e.to_string())),
            };
            match saved {
                Ok(()) => Ok(()),
                Err(e) => match form_message(&e) {
                    Some((_, message)) => Err(FormErrors::placed(message, SETTINGS_FIELDS)),
                    None => return failure_page(&a, e),
                },
            }
        }
    };
    match result {
        Ok(()) => see_other(&format!("{}/r/{target}/settings?notice=saved", a.base())),
        Err(errors) => {
            let chrome = Chrome::new(&state, &a, &target, None);
            render(
                StatusCode::BAD_REQUEST,
                &SettingsPage {
                    frame: chrome.frame("settings"),
                    form: &typed,
                    errors: &errors,
                },
            )
        }
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
                    errors: &FormErrors::default(),
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
                        errors: &FormErrors::placed(message, USER_FIELDS),
                    },
                )
            }
            None => failure_page(&a, e),
        },
    }
}

/// Where the admin API's messages about a user belong on the user forms.
const USER_FIELDS: &[(&str, &[&str])] = &[
    ("email", &["email"]),
    ("firstName", &["firstName", "first name"]),
    ("lastName", &["lastName", "last name"]),
    ("username", &["username", "user exists", "user name"]),
];

/// How a user page answers a refused form: the details as typed with their message, or the
/// message of the password form.
enum UserFailure {
    Details(StatusCode, UserForm, FormErrors),
    Password(StatusCode, FormErrors),
    ApiKey(StatusCode, ApiKeyForm, FormErrors),
}

/// Where a key rule's message belongs on the new-key form.
const KEY_FIELDS: &[(&str, &[&str])] = &[
    ("keyExpires", &["expires"]),
    ("keyKind", &["kind"]),
    ("keyEnvironment", &["environment"]),
    ("keyDescription", &["description"]),
];

/// Everything a user page lists besides the details.
struct UserExtras {
    user: crate::domain::User,
    mappings: MappingsView,
    groups: Vec<GroupOption>,
    other_groups: Vec<GroupOption>,
    consents: Vec<ConsentRow>,
    api_keys: Vec<UserKeyRow>,
}

fn key_row(key: &crate::domain::api_keys::ApiKey, now: i64) -> UserKeyRow {
    UserKeyRow {
        id: key.id.clone(),
        prefix: key.display_prefix.clone(),
        description: key.description.clone().unwrap_or_default(),
        kind: key.kind.as_str(),
        environment: key.environment.as_str(),
        status: if key.revoked {
            "revoked"
        } else if key.pending_approval.is_some() {
            "awaiting approval"
        } else if now >= key.expires_at {
            "expired"
        } else {
            "active"
        },
        expires: format_rfc3339(key.expires_at),
        last_used: key.last_used_at.map(format_rfc3339).unwrap_or_default(),
    }
}

/// The user page; after a refused form, with what was typed and the message beside its field.
async fn render_user(
    state: &AppState,
    a: &Admin,
    target: &str,
    id: String,
    query: &ListQuery,
    failure: Option<UserFailure>,
) -> Result<HttpResponse, HttpResponse> {
    let notice = query.notice.as_deref();
    let runtime = realm_for(state, &a.principal, target, AdminPermission::ViewUsers)
        .await
        .map_err(|e| failure_page(a, e))?;
    let realm_id = runtime.realm.id.clone();
    let manage = a.principal.may(target, AdminPermission::ManageUsers);
    let action = format!("{}/r/{target}/users/{id}/roles", a.base());
    let now = state.now();
    let loaded = state
        .db
        .run(move |conn| -> Result<UserExtras, AppError> {
            let user = user_api::load_user(conn, &realm_id, &id)?;
            let direct = db::roles::direct_roles_of_user(conn, &user.id)?;
            let mappings = mappings::view(conn, &realm_id, &direct, action, manage)?;
            let tree = GroupTree::load(conn, &realm_id)?;
            let member_of: Vec<String> = db::roles::groups_of_user(conn, &user.id)?
                .into_iter()
                .map(|g| g.id)
                .collect();
            let mut all: Vec<GroupOption> = db::roles::all_groups(conn, &realm_id)?
                .into_iter()
                .map(|g| GroupOption {
                    path: tree.path(&g.id),
                    id: g.id,
                })
                .collect();
            all.sort_by(|x, y| x.path.cmp(&y.path));
            let (groups, other_groups): (Vec<_>, Vec<_>) = all.into_iter().partition(|g| member_of.contains(&g.id));
            let consents = consent_records::consents_of(conn, &realm_id, &user.id)?
                .into_iter()
                .map(|c| ConsentRow {
                    client_id: c.client.client_id,
                    scopes: c.scopes.join(" "),
                    granted: format_rfc3339(c.updated_at),
                })
                .collect();
            let api_keys = api_keys::list(conn, &realm_id, &user.id)
                .map_err(AppError::internal)?
                .iter()
                .map(|k| key_row(k, now))
                .collect();
            Ok(UserExtras {
                user,
                mappings,
                groups,
                other_groups,
                consents,
                api_keys,
            })
        })
        .await;
    let extras = loaded.map_err(|e| failure_page(a, e))?;
    let user = &extras.user;
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
    let none = FormErrors::default();
    let new_key = || ApiKeyForm {
        kind: "secret".into(),
        environment: "live".into(),
        ..ApiKeyForm::default()
    };
    let (status, form, errors, password_errors, key_form, key_errors) = match failure {
        None => (StatusCode::OK, stored(), none.clone(), none.clone(), new_key(), none),
        Some(UserFailure::Details(status, typed, errors)) => (status, typed, errors, none.clone(), new_key(), none),
        Some(UserFailure::Password(status, errors)) => (status, stored(), none.clone(), errors, new_key(), none),
        Some(UserFailure::ApiKey(status, typed, errors)) => (status, stored(), none.clone(), none, typed, errors),
    };
    // A key secret just generated for this user, shown this once.
    let shown: Option<(String, String)> = match query.shown.as_deref() {
        Some(nonce) => shown_once::take(state, &shown_scope(a), &a.session.id, nonce)
            .await
            .map_err(|e| internal_error(realm_title(&a.home), e))?,
        None => None,
    };
    let shown_secret = shown.filter(|(owner, _)| *owner == user.id).map(|(_, secret)| secret);
    let chrome = Chrome::new(state, a, target, notice);
    Ok(render(
        status,
        &UserPage {
            frame: chrome.frame("users"),
            id: &user.id,
            form: &form,
            service_account: user.service_account_client_id.is_some(),
            errors: &errors,
            password_errors: &password_errors,
            mappings: &extras.mappings,
            groups: &extras.groups,
            other_groups: &extras.other_groups,
            sessions: &session_rows,
            consents: &extras.consents,
            api_keys: &extras.api_keys,
            key_form: &key_form,
            key_errors: &key_errors,
            shown_secret: shown_secret.as_deref(),
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
    respond(async { render_user(&state, &a, &target, id, &query, None).await }.await)
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
                    &ListQuery::default(),
                    Some(UserFailure::Details(
                        status,
                        typed,
                        FormErrors::placed(message, USER_FIELDS),
                    )),
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
                    &ListQuery::default(),
                    Some(UserFailure::Password(status, FormErrors::at("password", message))),
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
    match mappings::change(&state, &a, &target, Subject::User(id.clone()), &form).await {
        Ok(true) => see_other(&format!("{}/r/{target}/users/{id}?notice=roles-changed", a.base())),
        Ok(false) => see_other(&format!("{}/r/{target}/users/{id}", a.base())),
        Err(e) => failure_page(&a, e),
    }
}

/// Joins (`join=<group id>`) or leaves (`leave=<group id>`) a group.
async fn change_groups(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let (group, join) = match (field(&form, "join"), field(&form, "leave")) {
        (join, _) if !join.is_empty() => (join, true),
        (_, leave) if !leave.is_empty() => (leave, false),
        _ => return see_other(&format!("{}/r/{target}/users/{id}", a.base())),
    };
    match user_api::set_group_membership(&state, &a.principal, &target, id.clone(), group, join).await {
        Ok(()) => see_other(&format!(
            "{}/r/{target}/users/{id}?notice=groups-changed#groups",
            a.base()
        )),
        Err(e) => failure_page(&a, e),
    }
}

fn shown_scope(a: &Admin) -> String {
    format!("console:{}", a.home.realm.id)
}

/// Creates an API key for the user through the admin API's own operation and shows its secret once.
async fn create_api_key(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let typed = ApiKeyForm {
        description: field(&form, "keyDescription"),
        kind: field(&form, "keyKind"),
        environment: field(&form, "keyEnvironment"),
        expires: field(&form, "keyExpires"),
    };
    let mut body = json!({ "kind": typed.kind, "environment": typed.environment });
    if !typed.description.is_empty() {
        body["description"] = json!(typed.description);
    }
    if !typed.expires.is_empty() {
        match crate::domain::dates::parse_date_end_of_day(&typed.expires) {
            Some(at) => body["expiresAt"] = json!(format_rfc3339(at)),
            None => {
                let errors = FormErrors::at("keyExpires", "Enter a date as yyyy-mm-dd.");
                return respond(
                    render_user(
                        &state,
                        &a,
                        &target,
                        id,
                        &ListQuery::default(),
                        Some(UserFailure::ApiKey(StatusCode::BAD_REQUEST, typed, errors)),
                    )
                    .await,
                );
            }
        }
    }
    let created =
        key_api::create_key_as_admin(&state, &a.principal, &target, id.clone(), body.to_string().as_bytes()).await;
    match created {
        Ok((key, secret)) => {
            let notice = if key.pending_approval.is_some() {
                "api-key-created-pending-approval"
            } else {
                "api-key-created"
            };
            match shown_once::hold(&state, &shown_scope(&a), &a.session.id, (id.clone(), secret)).await {
                Ok(nonce) => see_other(&format!(
                    "{}/r/{target}/users/{id}?notice={notice}&shown={nonce}#api-keys",
                    a.base()
                )),
                Err(e) => internal_error(realm_title(&a.home), e),
            }
        }
        Err(failure) => match failure.form_message() {
            Ok((status, message)) => respond(
                render_user(
                    &state,
                    &a,
                    &target,
                    id,
                    &ListQuery::default(),
                    Some(UserFailure::ApiKey(
                        status,
                        typed,
                        FormErrors::placed(message, KEY_FIELDS),
                    )),
                )
                .await,
            ),
            Err(e) => failure_page(&a, e),
        },
    }
}

async fn confirm_delete_api_key(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String, String, String)>,
) -> HttpResponse {
    let (_, target, id, key) = path.into_inner();
    if let Err(e) = realm_for(&state, &a.principal, &target, AdminPermission::ManageUsers).await {
        return failure_page(&a, e);
    }
    let chrome = Chrome::new(&state, &a, &target, None);
    let explanation = format!(
        "The API key {key} stops working at once, and so do the tokens it was exchanged for. This cannot be undone."
    );
    chrome.confirm(
        "users",
        "Delete API key",
        &explanation,
        &format!("/users/{id}/api-keys/{key}/delete"),
        &format!("/users/{id}"),
    )
}

async fn delete_api_key(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, id, key) = path.into_inner();
    match key_api::delete_key_as_admin(&state, &a.principal, &target, id.clone(), key).await {
        Ok(()) => see_other(&format!(
            "{}/r/{target}/users/{id}?notice=api-key-deleted#api-keys",
            a.base()
        )),
        Err(failure) => match failure.form_message() {
            Ok((_, message)) => failure_page(&a, AppError::bad_request(message)),
            Err(e) => failure_page(&a, e),
        },
    }
}

async fn revoke_consent(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, id, client_id) = path.into_inner();
    match consent_api::revoke_consent(&state, &a.principal, &target, id.clone(), client_id).await {
        Ok(()) => see_other(&format!(
            "{}/r/{target}/users/{id}?notice=consent-revoked#consents",
            a.base()
        )),
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
    let user = id.clone();
    confirm_deletion(
        &state,
        &a,
        &target,
        AdminPermission::ManageUsers,
        move |conn, realm_id| Ok(user_api::load_user(conn, realm_id, &user)?.username),
        |name| {
            format!(
                "The user {name} will be deleted with their credentials, role mappings and refresh tokens. This cannot be undone."
            )
        },
        Deletion {
            section: "users",
            title: "Delete user",
            action: format!("/users/{id}/delete"),
            cancel: format!("/users/{id}"),
        },
    )
    .await
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
