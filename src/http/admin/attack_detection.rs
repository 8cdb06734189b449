//! `/admin/realms/{realm}/attack-detection/brute-force/users`: Keycloak's view of brute-force
//! detection per user, and clearing it for one user or the whole realm.

use crate::http::openapi::schemas::BruteForceStatus;
use crate::http::openapi::{op, Api, Errors};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::{admin_realm, no_content};
use crate::domain::User;
use crate::error::AppError;
use crate::service::authz::AdminPermission;
use crate::service::brute_force::{Guard, DISABLED_BY_PERMANENT_LOCKOUT, DISABLED_REASON};
use crate::state::AppState;
use crate::store::db::{self, DbError};

pub fn routes(api: &mut Api) {
    api.section("Attack detection", Errors::Keycloak)
        .delete(
            "/admin/realms/{realm}/attack-detection/brute-force/users",
            clear_all,
            op("Clear every user's login failures and temporary locks").no_content(),
        )
        .get(
            "/admin/realms/{realm}/attack-detection/brute-force/users/{id}",
            user_status,
            op("A user's brute-force status").returns::<BruteForceStatus>(),
        )
        .delete(
            "/admin/realms/{realm}/attack-detection/brute-force/users/{id}",
            clear_user,
            op("Clear a user's login failures and lock").no_content(),
        );
}

async fn find_user(state: &AppState, realm_id: &str, id: &str) -> Result<Option<User>, AppError> {
    if id.len() > 64 || !super::roles::storable(id) {
        return Ok(None);
    }
    let (realm_id, id) = (realm_id.to_owned(), id.to_owned());
    Ok(state
        .db
        .run(move |conn| db::users::find(conn, &realm_id, &id).map_err(DbError::from))
        .await?)
}

/// `{"disabled", "numFailures", "lastFailure" (epoch ms), "lastIPFailure"}`. Like Keycloak, an
/// unknown user id answers the zeros of a user without failures.
async fn user_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, user_id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewUsers).await?;
    let Some(user) = find_user(&state, &realm.realm.id, &user_id).await? else {
        return Ok(HttpResponse::Ok().json(json!({
            "disabled": false, "numFailures": 0, "lastFailure": 0, "lastIPFailure": "n/a",
        })));
    };
    let guard = Guard::open(&state, &realm.realm).await?;
    let status = guard.status(&user.id).await?;
    let permanently_locked = !user.enabled
        && user
            .attributes
            .get(DISABLED_REASON)
            .is_some_and(|v| v.to_string().contains(DISABLED_BY_PERMANENT_LOCKOUT));
    Ok(HttpResponse::Ok().json(json!({
        "disabled": status.disabled || permanently_locked,
        "numFailures": status.num_failures,
        "lastFailure": status.last_failure.saturating_mul(1000),
        "lastIPFailure": status.last_ip_failure.as_deref().unwrap_or("n/a"),
    })))
}

/// Clears one user's failures and lock (204 whether or not there were any, as in Keycloak).
async fn clear_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, user_id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ManageUsers).await?;
    let Some(user) = find_user(&state, &realm.realm.id, &user_id).await? else {
        return Ok(no_content());
    };
    let guard = Guard::open(&state, &realm.realm).await?;
    guard.clear_user(&user.id).await?;
    tracing::info!(realm = %realm.realm.name, user_id = %user_id, "brute-force state of a user cleared");
    Ok(no_content())
}

/// Clears every user's and address's failures and locks in the realm.
async fn clear_all(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(&state, &req, &path, AdminPermission::ManageUsers).await?;
    let guard = Guard::open(&state, &realm.realm).await?;
    guard.clear_realm().await?;
    tracing::info!(realm = %realm.realm.name, "brute-force state of the realm cleared");
    Ok(no_content())
}
