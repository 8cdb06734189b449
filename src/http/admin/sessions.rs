//! SSO sessions in the admin API (Keycloak's `UserSessionRepresentation`): list a user's sessions,
//! end one. Ending all of a user's sessions is `POST /users/{id}/logout` (users.rs).

use crate::http::openapi::schemas::UserSessionRepresentation;
use crate::http::openapi::{op, Api, Errors};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::users::load_user;
use super::{admin_realm, no_content};
use crate::error::AppError;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::service::sessions::{self, SsoSession};
use crate::state::AppState;

pub fn routes(api: &mut Api) {
    api.section("Sessions", Errors::Keycloak)
        .get(
            "/admin/realms/{realm}/users/{id}/sessions",
            user_sessions,
            op("The user's sessions").returns_list::<UserSessionRepresentation>(),
        )
        .delete(
            "/admin/realms/{realm}/sessions/{session}",
            end_session,
            op("End a session").no_content(),
        )
        .post(
            "/admin/realms/{realm}/logout-all",
            logout_all,
            op("End every session of the realm").returns_json("Keycloak's `GlobalRequestResult`"),
        );
}

pub fn representation(session: &SsoSession, username: &str) -> Value {
    let clients: serde_json::Map<String, Value> = session
        .clients
        .iter()
        .map(|c| (c.clone(), Value::String(c.clone())))
        .collect();
    json!({
        "id": session.id,
        "username": username,
        "userId": session.user_id,
        "ipAddress": session.ip_address.clone().unwrap_or_default(),
        "start": session.started_at * 1000,
        "lastAccess": session.last_seen * 1000,
        "rememberMe": false,
        "clients": clients,
        "transientUser": false,
    })
}

/// `GET /admin/realms/{realm}/users/{id}/sessions`
async fn user_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewUsers).await?;
    let realm_id = realm.realm.id.clone();
    let user = state.db.run(move |conn| load_user(conn, &realm_id, &id)).await?;
    let live = sessions::list_for_user(&state, &realm.realm, &user.id).await?;
    let body: Vec<Value> = live.iter().map(|s| representation(s, &user.username)).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `DELETE /admin/realms/{realm}/sessions/{session}`: ends it (and its online refresh tokens).
/// Like Keycloak, a session that does not exist (any more) is not an error.
async fn end_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, session_id) = path.into_inner();
    let principal = super::auth::authenticate(&state, &req).await?;
    end_session_in(&state, &principal, &realm_name, &session_id).await?;
    Ok(no_content())
}

/// Ends a session of the realm if it is live (the admin API and the console).
pub async fn end_session_in(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    session_id: &str,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    if sessions::find(state, &realm.realm, session_id).await?.is_some() {
        sessions::end(state, &realm.realm, session_id)
            .await
            .map_err(AppError::internal)?;
    }
    Ok(())
}

/// `POST /admin/realms/{realm}/logout-all`: ends every SSO session of the realm. Keycloak answers
/// with a `GlobalRequestResult` about the clients it told (nexus tells none: no admin URLs).
async fn logout_all(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let principal = super::auth::authenticate(&state, &req).await?;
    sign_out_everyone(&state, &principal, &path).await?;
    Ok(HttpResponse::Ok().json(json!({ "successRequests": [], "failedRequests": [] })))
}

/// Ends every session of the realm (the admin API and the console); how many.
pub async fn sign_out_everyone(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
) -> Result<usize, AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    sessions::end_all_for_realm(state, &realm.realm)
        .await
        .map_err(AppError::internal)
}
