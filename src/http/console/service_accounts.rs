//! The console's view of every service account of a realm: the client it belongs to, its roles
//! and how many API keys it holds.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::common::{respond, Chrome, ListQuery};
use super::mappings::role_label;
use super::views::{ServiceAccountRow, ServiceAccountsPage};
use super::{failure_page, SignedIn};
use crate::error::AppError;
use crate::http::admin::realm_for;
use crate::http::views::page as render;
use crate::service::api_keys;
use crate::service::authz::AdminPermission;
use crate::state::AppState;
use crate::store::db;

/// Clients a realm may have and still be listed on one page.
const MAX_CLIENTS: i64 = 5000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/admin/{realm}/console/r/{target}/service-accounts",
        web::get().to(service_accounts_page),
    );
}

async fn service_accounts_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    respond(
        async {
            // Service accounts are clients' users: both rights are needed to see them.
            realm_for(&state, &a.principal, &target, AdminPermission::ViewClients)
                .await
                .map_err(|e| failure_page(&a, e))?;
            let runtime = realm_for(&state, &a.principal, &target, AdminPermission::ViewUsers)
                .await
                .map_err(|e| failure_page(&a, e))?;
            let realm_id = runtime.realm.id.clone();
            let rows = state
                .db
                .run(move |conn| -> Result<Vec<ServiceAccountRow>, AppError> {
                    let client_ids: HashMap<String, String> =
                        db::clients::client_ids_by_id(conn, &realm_id)?.into_iter().collect();
                    let mut rows = Vec::new();
                    for client in db::clients::list(conn, &realm_id, 0, MAX_CLIENTS)? {
                        if !client.service_accounts_enabled {
                            continue;
                        }
                        let Some(user) = db::users::find_service_account(conn, &client.id)? else {
                            continue;
                        };
                        let mut roles: Vec<String> = db::roles::direct_roles_of_user(conn, &user.id)?
                            .iter()
                            .map(|r| role_label(r, &client_ids))
                            .collect();
                        roles.sort();
                        let keys = api_keys::list(conn, &realm_id, &user.id).map_err(AppError::internal)?;
                        rows.push(ServiceAccountRow {
                            client_uuid: client.id.clone(),
                            client_id: client.client_id.clone(),
                            user_id: user.id,
                            enabled: client.enabled && user.enabled,
                            roles: roles.join(", "),
                            api_keys: keys.len(),
                        });
                    }
                    Ok(rows)
                })
                .await
                .map_err(|e| failure_page(&a, e))?;
            let chrome = Chrome::new(&state, &a, &target, query.notice.as_deref());
            Ok(render(
                StatusCode::OK,
                &ServiceAccountsPage {
                    frame: chrome.frame("service-accounts"),
                    accounts: &rows,
                },
            ))
        }
        .await,
    )
}
