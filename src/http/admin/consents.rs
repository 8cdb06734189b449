//! `/admin/realms/{realm}/users/{id}/consents`: the clients a user consented to (and holds offline
//! tokens of), and withdrawing one, in Keycloak's shapes.

use crate::http::openapi::schemas::UserConsentRepresentation;
use crate::http::openapi::{op, Api, Errors};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::roles::storable;
use super::users::load_user;
use super::{admin_realm, no_content};
use crate::error::AppError;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::service::consent_records;
use crate::state::AppState;
use crate::store::db;

pub fn routes(api: &mut Api) {
    api.section("Consents", Errors::Keycloak)
        .get(
            "/admin/realms/{realm}/users/{id}/consents",
            list,
            op("The user's consents").returns_list::<UserConsentRepresentation>(),
        )
        .delete(
            "/admin/realms/{realm}/users/{id}/consents/{client}",
            revoke,
            op("Withdraw the user's consent to a client (by clientId)").no_content(),
        );
}

fn offline_grant(client_internal_id: &str) -> Value {
    json!([{ "client": client_internal_id, "key": "Offline Token" }])
}

/// Keycloak's list: one entry per consented client (`additionalGrants` names an offline token of
/// it), then one per client the user holds only offline tokens of.
async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, user_id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewUsers).await?;
    let realm_id = realm.realm.id.clone();
    let now = state.now();
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            let user = load_user(conn, &realm_id, &user_id)?;
            let consents = consent_records::consents_of(conn, &realm_id, &user.id)?;
            let offline: Vec<_> = consent_records::clients_with_tokens(conn, &realm_id, &user.id, now)?
                .into_iter()
                .filter(|h| h.offline)
                .map(|h| h.client)
                .collect();
            let mut out: Vec<Value> = consents
                .iter()
                .map(|c| {
                    let has_offline = offline.iter().any(|o| o.id == c.client.id);
                    json!({
                        "clientId": c.client.client_id,
                        "grantedClientScopes": c.scopes,
                        "createdDate": c.created_at.saturating_mul(1000),
                        "lastUpdatedDate": c.updated_at.saturating_mul(1000),
                        "additionalGrants": if has_offline { offline_grant(&c.client.id) } else { json!([]) },
                    })
                })
                .collect();
            out.extend(
                offline
                    .iter()
                    .filter(|o| !consents.iter().any(|c| c.client.id == o.id))
                    .map(|o| {
                        json!({
                            "clientId": o.client_id,
                            "grantedClientScopes": [],
                            "createdDate": null,
                            "lastUpdatedDate": null,
                            "additionalGrants": offline_grant(&o.id),
                        })
                    }),
            );
            Ok(out)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Withdraws the consent to the client (public `clientId`) and revokes the user's refresh tokens of
/// it. 404 for an unknown client, or when there was neither a consent nor an offline token.
async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, user_id, client_id) = path.into_inner();
    let principal = super::auth::authenticate(&state, &req).await?;
    revoke_consent(&state, &principal, &realm_name, user_id, client_id).await?;
    Ok(no_content())
}

/// Withdraws a user's consent to a client (public `clientId`) and revokes their refresh tokens of
/// it (the admin API and the console).
pub async fn revoke_consent(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    user_id: String,
    client_id: String,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageUsers).await?;
    let realm_id = realm.realm.id.clone();
    let now = state.now();
    let revoked = state
        .db
        .transaction(move |conn| -> Result<_, AppError> {
            let user = load_user(conn, &realm_id, &user_id)?;
            let client = storable(&client_id)
                .then(|| db::clients::find_by_client_id(conn, &realm_id, &client_id))
                .transpose()?
                .flatten()
                .ok_or_else(|| AppError::not_found("Client not found"))?;
            Ok(consent_records::revoke(conn, &user.id, &client.id, now)?)
        })
        .await?;
    if !revoked.anything() {
        return Err(AppError::not_found("Consent nor offline token not found"));
    }
    Ok(())
}
