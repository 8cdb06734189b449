//! Applications (`/realms/{realm}/account/consents`): the clients the person consented to, with
//! the scopes granted and when, and withdrawing a consent after a confirmation page (no JavaScript
//! needed). Withdrawing is the account REST API's own operation (`http::account::withdraw_consent`:
//! the consent goes, and the person's refresh tokens of that client are revoked).
//!
//! Not `/account/applications`: that path is Keycloak's account REST API (JSON, bearer token).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{base_path, csrf_token, frame, internal_error, logout_url, posted, record_event, viewer, Viewer};
use crate::domain::dates::format_rfc3339;
use crate::http::account::{scope_display_text, scopes_by_name, withdraw_consent, AccountError};
use crate::http::pages::realm_title;
use crate::http::views::{self, see_other, AccountFrame};
use crate::service::consent_records::{self, Consent};
use crate::service::events;
use crate::state::AppState;
use crate::store::db::DbError;

const SECTION: &str = "consents";

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/realms/{realm}/account/consents", web::get().to(page))
        .route("/realms/{realm}/account/consents/revoke", web::get().to(confirm_page))
        .route("/realms/{realm}/account/consents/revoke", web::post().to(revoke));
}

/// A granted scope as the person reads it.
pub(super) struct GrantedScope {
    pub name: String,
    /// The consent-screen text (as on the consent page).
    pub text: String,
    pub description: Option<String>,
}

/// A consented application in the list.
pub(super) struct ConsentRow {
    pub client_id: String,
    /// The client's name, or its `clientId`.
    pub title: String,
    pub description: Option<String>,
    pub scopes: Vec<GrantedScope>,
    pub granted: String,
    pub granted_iso: String,
    pub updated: String,
    pub updated_iso: String,
    /// The confirmation page's URL (the `clientId` percent-encoded in its query).
    pub revoke_url: String,
}

#[derive(Template)]
#[template(path = "account/consents.html")]
struct ConsentsPage<'a> {
    frame: AccountFrame<'a>,
    consents: &'a [ConsentRow],
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "account/confirm_revoke.html")]
struct ConfirmRevokePage<'a> {
    frame: AccountFrame<'a>,
    csrf_token: &'a str,
    consent: &'a ConsentRow,
}

#[derive(Deserialize)]
struct PageQuery {
    notice: Option<String>,
}

#[derive(Deserialize)]
struct RevokeQuery {
    client: Option<String>,
}

fn notice_text(notice: Option<&str>) -> Option<&'static str> {
    match notice? {
        "revoked" => Some("Access was removed. The application must ask for your consent again."),
        _ => None,
    }
}

fn day(at: i64) -> (String, String) {
    let iso = format_rfc3339(at);
    (iso[..10].to_owned(), iso)
}

/// The person's consents as rows, ordered by `clientId`.
async fn load(state: &AppState, viewer: &Viewer) -> Result<Vec<ConsentRow>, DbError> {
    let (realm_id, user_id) = (viewer.realm.realm.id.clone(), viewer.user.id.clone());
    let base = base_path(&viewer.realm);
    state
        .db
        .run(move |conn| -> Result<Vec<ConsentRow>, DbError> {
            let consents = consent_records::consents_of(conn, &realm_id, &user_id)?;
            let scopes = scopes_by_name(conn, &realm_id)?;
            Ok(consents
                .iter()
                .map(|consent: &Consent| {
                    let client = &consent.client;
                    let (granted, granted_iso) = day(consent.created_at);
                    let (updated, updated_iso) = day(consent.updated_at);
                    let query =
                        serde_urlencoded::to_string([("client", client.client_id.as_str())]).unwrap_or_default();
                    ConsentRow {
                        client_id: client.client_id.clone(),
                        title: client
                            .name
                            .clone()
                            .filter(|n| !n.is_empty())
                            .unwrap_or_else(|| client.client_id.clone()),
                        description: client.description.clone().filter(|d| !d.is_empty()),
                        scopes: consent
                            .scopes
                            .iter()
                            .map(|name| {
                                let scope = scopes.get(name);
                                GrantedScope {
                                    name: name.clone(),
                                    text: scope_display_text(name, scope),
                                    description: scope.and_then(|s| s.description.clone()).filter(|d| !d.is_empty()),
                                }
                            })
                            .collect(),
                        granted,
                        granted_iso,
                        updated,
                        updated_iso,
                        revoke_url: format!("{base}/consents/revoke?{query}"),
                    }
                })
                .collect())
        })
        .await
}

/// `GET /realms/{realm}/account/consents[?notice=…]`
async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let viewer = match viewer(&state, &req, &path, true).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let rows = match load(&state, &viewer).await {
        Ok(r) => r,
        Err(e) => return internal_error(&viewer.realm, e),
    };
    let base = base_path(&viewer.realm);
    let logout = logout_url(&viewer.realm);
    views::account_page(
        StatusCode::OK,
        &ConsentsPage {
            frame: frame(&viewer, &base, &logout, SECTION),
            consents: &rows,
            notice: notice_text(query.notice.as_deref()),
        },
    )
}

fn no_such_application(viewer: &Viewer) -> HttpResponse {
    views::error_page(
        StatusCode::NOT_FOUND,
        realm_title(&viewer.realm),
        "No such application among the ones you consented to.",
    )
}

/// `GET /realms/{realm}/account/consents/revoke?client={clientId}`: "Remove access?" (works
/// without JavaScript). Only a client the person consented to has one.
async fn confirm_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<RevokeQuery>,
) -> HttpResponse {
    let viewer = match viewer(&state, &req, &path, true).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let rows = match load(&state, &viewer).await {
        Ok(r) => r,
        Err(e) => return internal_error(&viewer.realm, e),
    };
    let Some(consent) = query
        .client
        .as_deref()
        .and_then(|client| rows.iter().find(|r| r.client_id == client))
    else {
        return no_such_application(&viewer);
    };
    let base = base_path(&viewer.realm);
    let logout = logout_url(&viewer.realm);
    let csrf = csrf_token(&state, &viewer);
    views::account_page(
        StatusCode::OK,
        &ConfirmRevokePage {
            frame: frame(&viewer, &base, &logout, SECTION),
            csrf_token: &csrf,
            consent,
        },
    )
}

/// `POST /realms/{realm}/account/consents/revoke` (form field `client`: the `clientId`): withdraws
/// the consent as the account REST API's `DELETE …/applications/{client}/consent` does.
async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let (viewer, form) = match posted(&state, &req, &path, payload).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let client_id = form.get("client").unwrap_or("").to_owned();
    match withdraw_consent(&state, &viewer.realm, &viewer.user, client_id.clone()).await {
        Ok(()) => {
            let mut event = record_event(&state, &req, &viewer, events::REVOKE_GRANT, None);
            event.details.insert("revoked_client".into(), client_id);
            state.events.record(event);
            see_other(&format!("{}/consents?notice=revoked", base_path(&viewer.realm)))
        }
        Err(AccountError::NotFound(_)) => no_such_application(&viewer),
        Err(e) => internal_error(&viewer.realm, e),
    }
}
