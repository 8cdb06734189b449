//! Authenticating the administrator behind an admin request: a valid access token of an enabled user,
//! whose *current* roles (from the database, not the token) decide what they may do.

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;

use crate::error::AppError;
use crate::oauth::bearer::{bearer_token, verify_access_token};
use crate::service::authz::AdminPrincipal;
use crate::state::AppState;

pub async fn authenticate(state: &AppState, req: &HttpRequest) -> Result<AdminPrincipal, AppError> {
    // An API key acts as its owner, with at most the key's role.
    if let Some(presented) = crate::http::key_auth::presented_key(req) {
        let granted = crate::http::key_auth::key_grant(state, req, presented, None)
            .await
            .map_err(AppError::internal)?
            .ok_or(AppError::Unauthorized)?;
        let principal = AdminPrincipal {
            realm_name: granted.realm_name,
            user: granted.grant.owner.clone(),
            roles: granted.grant.roles.clone(),
        };
        crate::http::admin_events::note_actor(req, &principal, None);
        return Ok(principal);
    }
    let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let token = bearer_token(header).ok_or(AppError::Unauthorized)?;
    let verified = verify_access_token(&state.realms, token, state.now())
        .await
        .ok_or(AppError::Unauthorized)?;
    let user_id = verified.subject().ok_or(AppError::Unauthorized)?.to_owned();
    let realm_id = verified.realm.realm.id.clone();
    let iat = verified
        .claims
        .get("iat")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    let loaded = crate::service::roles::user_with_roles(&state.db, &realm_id, &user_id).await?;
    let (user, mut roles) = loaded.ok_or(AppError::Unauthorized)?;
    if !user.enabled || iat < user.not_before {
        return Err(AppError::Unauthorized);
    }
    // A token minted from an API key acts with at most the roles it carries (the key's role), of
    // those the owner still holds, and only while its key works.
    if let Some(key_id) = verified.claims.get("api_key_id").and_then(serde_json::Value::as_str) {
        let (realm_id, key_id, now) = (realm_id.clone(), key_id.to_owned(), state.now());
        let usable = state
            .db
            .run(move |conn| crate::service::api_keys::key_is_usable(conn, &realm_id, &key_id, now))
            .await
            .map_err(AppError::internal)?;
        if !usable {
            return Err(AppError::Unauthorized);
        }
        roles = roles.limited_to_claims(&verified.claims);
    }
    let principal = AdminPrincipal {
        realm_name: verified.realm.realm.name.clone(),
        user,
        roles,
    };
    let client = verified.claims.get("azp").and_then(serde_json::Value::as_str);
    crate::http::admin_events::note_actor(req, &principal, client);
    Ok(principal)
}
