//! Keycloak's account REST API, the part about applications: `/realms/{realm}/account/applications`
//! lists the clients a user consented to or holds tokens of, and lets them withdraw a consent. The
//! caller is the user, with an access token of that realm.

use std::collections::HashMap;

use actix_web::http::header::AUTHORIZATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};

use super::openapi::schemas::{AccountApplication, AccountConsent};
use super::openapi::{op, Api, Errors};
use crate::domain::defaults::CLIENT_ACCOUNT;
use crate::domain::{Client, ClientScope, User};
use crate::oauth::bearer::{bearer_token, verify_access_token};
use crate::service::consent_records::{self, Consent};
use crate::service::realm_cache::RealmRuntime;
use crate::service::sessions::access_token_is_live;
use crate::state::AppState;
use crate::store::db::{self, DbConnection, DbError};

pub fn routes(api: &mut Api) {
    api.section("Account", Errors::Keycloak)
        .get(
            "/realms/{realm}/account/applications",
            applications,
            op("Applications you consented to or hold tokens of")
                .params::<ApplicationsQuery>()
                .returns_list::<AccountApplication>(),
        )
        .get(
            "/realms/{realm}/account/applications/{client}/consent",
            get_consent,
            op("Your consent to an application (by clientId)").returns::<AccountConsent>(),
        )
        .delete(
            "/realms/{realm}/account/applications/{client}/consent",
            revoke_consent,
            op("Withdraw your consent to an application").no_content(),
        );
}

/// Errors of the account API, in Keycloak's shapes.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("realm not found")]
    RealmNotFound,
    /// No, or no valid, bearer token of this realm's user.
    #[error("unauthorized")]
    Unauthorized,
    /// The user lacks the `account` role the endpoint needs.
    #[error("forbidden")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DbError> for AccountError {
    fn from(e: DbError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<diesel::result::Error> for AccountError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

impl ResponseError for AccountError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::RealmNotFound | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            Self::RealmNotFound => json!({ "error": "Realm does not exist" }),
            Self::Unauthorized => json!({ "error": "HTTP 401 Unauthorized" }),
            Self::Forbidden => json!({ "error": "HTTP 403 Forbidden" }),
            Self::NotFound(m) => json!({ "errorMessage": m }),
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "account API internal error");
                json!({ "error": "unknown_error" })
            }
        };
        let mut builder = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthorized) {
            builder.insert_header(("WWW-Authenticate", "Bearer"));
        }
        builder.insert_header(("Cache-Control", "no-store")).json(body)
    }
}

/// Roles of the `account` client, as Keycloak names them.
const MANAGE_ACCOUNT: &str = "manage-account";
const VIEW_APPLICATIONS: &str = "view-applications";
const VIEW_CONSENT: &str = "view-consent";
const MANAGE_CONSENT: &str = "manage-consent";

/// The user behind the request and the realm of the path.
pub(crate) struct AccountUser {
    pub(crate) realm: std::sync::Arc<RealmRuntime>,
    pub(crate) user: User,
    account_roles: Vec<String>,
    /// The key a token was minted from (`api_key_id`), when it was.
    pub(crate) api_key_id: Option<String>,
}

impl AccountUser {
    /// Keycloak's `auth.requireOneOf(...)` over the user's current `account` roles.
    fn require_one_of(&self, roles: &[&str]) -> Result<(), AccountError> {
        if roles.iter().any(|r| self.account_roles.iter().any(|have| have == r)) {
            Ok(())
        } else {
            Err(AccountError::Forbidden)
        }
    }
}

/// Authenticates the caller: a live access token issued by the path's realm, of an enabled user
/// whose tokens were not invalidated since; the `account` roles come from the database, not the
/// token, so a role removed takes effect at once.
pub(crate) async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
) -> Result<AccountUser, AccountError> {
    if realm_name.len() > crate::domain::names::MAX_NAME_LEN {
        return Err(AccountError::RealmNotFound);
    }
    let realm = match state.realms.realm(realm_name).await {
        Ok(Some(realm)) if realm.realm.enabled => realm,
        Ok(_) => return Err(AccountError::RealmNotFound),
        Err(e) => return Err(AccountError::Internal(format!("{e:#}"))),
    };
    // An API key acts as its owner, with at most the key's role; like a token minted from a key,
    // it may read but not create or change keys.
    if let Some(presented) = crate::http::key_auth::presented_key(req) {
        let grant = crate::http::key_auth::key_grant(state, req, presented, Some(&realm))
            .await
            .map_err(|e| AccountError::Internal(e.to_string()))?
            .ok_or(AccountError::Unauthorized)?
            .grant;
        // `key_grant` refused keys of other realms; checked again as the rule that matters here.
        if grant.key.realm_id != realm.realm.id {
            return Err(AccountError::Unauthorized);
        }
        let account_roles = grant
            .roles
            .clients
            .get(CLIENT_ACCOUNT)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default();
        return Ok(AccountUser {
            realm,
            user: grant.owner.clone(),
            account_roles,
            api_key_id: Some(grant.key.id.clone()),
        });
    }
    let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let token = bearer_token(header).ok_or(AccountError::Unauthorized)?;
    let verified = verify_access_token(&state.realms, token, state.now())
        .await
        .ok_or(AccountError::Unauthorized)?;
    // A token is only valid in the realm that issued it.
    if verified.realm.realm.id != realm.realm.id {
        return Err(AccountError::Unauthorized);
    }
    let live = access_token_is_live(state, &realm.realm, &verified.claims)
        .await
        .map_err(|e| AccountError::Internal(e.to_string()))?;
    if !live {
        return Err(AccountError::Unauthorized);
    }
    let user_id = verified.subject().ok_or(AccountError::Unauthorized)?.to_owned();
    let iat = verified.claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
    let api_key_id = verified
        .claims
        .get("api_key_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let realm_id = realm.realm.id.clone();
    // Tokens minted from an API key stop working with their key.
    if let Some(key_id) = api_key_id.clone() {
        let (realm_id, now) = (realm_id.clone(), state.now());
        let usable = state
            .db
            .run(move |conn| crate::service::api_keys::key_is_usable(conn, &realm_id, &key_id, now))
            .await
            .map_err(|e| AccountError::Internal(e.to_string()))?;
        if !usable {
            return Err(AccountError::Unauthorized);
        }
    }
    let loaded = crate::service::roles::user_with_roles(&state.db, &realm_id, &user_id).await?;
    let (user, roles) = loaded.ok_or(AccountError::Unauthorized)?;
    if !user.enabled || iat < user.not_before {
        return Err(AccountError::Unauthorized);
    }
    let account_roles = roles
        .clients
        .get(CLIENT_ACCOUNT)
        .map(|r| r.iter().cloned().collect())
        .unwrap_or_default();
    Ok(AccountUser {
        realm,
        user,
        account_roles,
        api_key_id,
    })
}

/// English texts of Keycloak's consent-screen message keys (`${profileScopeConsentText}`, …).
fn message(key: &str) -> Option<&'static str> {
    Some(match key {
        "profileScopeConsentText" => "User profile",
        "emailScopeConsentText" => "Email address",
        "addressScopeConsentText" => "Address",
        "phoneScopeConsentText" => "Phone number",
        "offlineAccessScopeConsentText" => "Offline Access",
        "rolesScopeConsentText" => "User roles",
        "organizationScopeConsentText" => "Organization",
        "samlRoleListScopeConsentText" => "Your roles",
        _ => return None,
    })
}

/// A consent-screen text with its `${key}` resolved when nexus knows the key.
fn display_text(text: &str) -> String {
    match text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
        Some(key) => message(key).map_or_else(|| key.to_owned(), str::to_owned),
        None => text.to_owned(),
    }
}

/// A granted scope's consent-screen text (its `consent.screen.text` attribute), or its name.
fn consent_screen_text<'a>(name: &'a str, scope: Option<&'a ClientScope>) -> &'a str {
    scope
        .and_then(|s| s.attributes.get("consent.screen.text"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or(name)
}

/// What a person reads about a granted scope (the account API's `displayText`).
pub(crate) fn scope_display_text(name: &str, scope: Option<&ClientScope>) -> String {
    display_text(consent_screen_text(name, scope))
}

/// Keycloak's `ConsentRepresentation`: `grantedScopes` of `{id, name, displayText}` (`name` is the
/// scope's consent-screen text, or its name), dates in epoch milliseconds.
fn consent_json(consent: &Consent, scopes: &HashMap<String, ClientScope>) -> Value {
    let granted: Vec<Value> = consent
        .scopes
        .iter()
        .map(|name| {
            let scope = scopes.get(name);
            let text = consent_screen_text(name, scope);
            json!({
                "id": scope.map_or(name.as_str(), |s| s.id.as_str()),
                "name": text,
                "displayText": display_text(text),
            })
        })
        .collect();
    json!({
        "grantedScopes": granted,
        "createdDate": consent.created_at.saturating_mul(1000),
        "lastUpdatedDate": consent.updated_at.saturating_mul(1000),
    })
}

pub(crate) fn scopes_by_name(
    conn: &mut DbConnection,
    realm_id: &str,
) -> diesel::QueryResult<HashMap<String, ClientScope>> {
    Ok(db::scopes::list(conn, realm_id)?
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect())
}

/// Keycloak's `effectiveUrl`: `baseUrl` resolved against `rootUrl` (`${authBaseUrl}` is nexus's
/// public URL), or against nexus itself when there is no `rootUrl`.
fn effective_url(client: &Client, public_url: &str) -> Option<String> {
    let root = client.root_url.as_deref().filter(|r| !r.is_empty()).map(|r| {
        r.replace("${authBaseUrl}", public_url)
            .replace("${authAdminUrl}", public_url)
    });
    match client.base_url.as_deref().filter(|b| !b.is_empty()) {
        None => root,
        Some(base) if base.contains("://") => Some(base.to_owned()),
        Some(base) => {
            let base = base.replace("${authBaseUrl}", public_url);
            if base.contains("://") {
                return Some(base);
            }
            let root = root.unwrap_or_else(|| public_url.to_owned());
            Some(format!("{}{}", root.trim_end_matches('/'), base))
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ApplicationsQuery {
    name: Option<String>,
}

/// Keycloak's `ClientRepresentation` list of the account API: clients the user consented to or
/// holds refresh tokens of (`inUse`: an online one; `offlineAccess`: an offline one).
async fn applications(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ApplicationsQuery>,
) -> Result<HttpResponse, AccountError> {
    let caller = authenticate(&state, &req, &path).await?;
    caller.require_one_of(&[MANAGE_ACCOUNT, VIEW_APPLICATIONS])?;
    let realm_id = caller.realm.realm.id.clone();
    let user_id = caller.user.id.clone();
    let public_url = state.public_url.clone();
    let now = state.now();
    let needle = query.into_inner().name.map(|n| n.to_lowercase());
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AccountError> {
            let consents = consent_records::consents_of(conn, &realm_id, &user_id)?;
            let holders = consent_records::clients_with_tokens(conn, &realm_id, &user_id, now)?;
            // Whether the tokens include online (in use) and offline ones, per client.
            let usage = |client: &Client| -> (bool, bool) {
                let mut in_use = false;
                let mut offline = false;
                for h in holders.iter().filter(|h| h.client.id == client.id) {
                    offline |= h.offline;
                    in_use = true;
                }
                (in_use, offline)
            };
            let mut clients: Vec<Client> = consents.iter().map(|c| c.client.clone()).collect();
            for holder in &holders {
                if !clients.iter().any(|c| c.id == holder.client.id) {
                    clients.push(holder.client.clone());
                }
            }
            clients.retain(|c| !c.bearer_only && !c.client_id.is_empty());
            if let Some(needle) = &needle {
                clients.retain(|c| c.name.as_deref().is_some_and(|n| n.to_lowercase().contains(needle)));
            }
            clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
            let scopes = scopes_by_name(conn, &realm_id)?;
            Ok(clients
                .iter()
                .map(|client| {
                    let (in_use, offline) = usage(client);
                    let mut rep = json!({
                        "clientId": client.client_id,
                        "clientName": client.name,
                        "description": client.description,
                        "userConsentRequired": client.consent_required,
                        "inUse": in_use,
                        "offlineAccess": offline,
                        "rootUrl": client.root_url,
                        "baseUrl": client.base_url,
                        "effectiveUrl": effective_url(client, &public_url),
                    });
                    if let Some(consent) = consents.iter().find(|c| c.client.id == client.id) {
                        rep["consent"] = consent_json(consent, &scopes);
                    }
                    rep
                })
                .collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The client by public `clientId`, 404 in Keycloak's words when the realm has none.
fn client_or_404(conn: &mut DbConnection, realm_id: &str, client_id: &str) -> Result<Client, AccountError> {
    let found = if crate::http::admin::roles::storable(client_id) {
        db::clients::find_by_client_id(conn, realm_id, client_id)?
    } else {
        None
    };
    found.ok_or_else(|| AccountError::NotFound(format!("No client with clientId: {client_id} found.")))
}

/// The user's consent to a client: 200 with it, 204 when there is none, 404 for an unknown client.
async fn get_consent(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AccountError> {
    let (realm_name, client_id) = path.into_inner();
    let caller = authenticate(&state, &req, &realm_name).await?;
    caller.require_one_of(&[MANAGE_ACCOUNT, VIEW_CONSENT, MANAGE_CONSENT])?;
    let realm_id = caller.realm.realm.id.clone();
    let user_id = caller.user.id.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Option<Value>, AccountError> {
            let client = client_or_404(conn, &realm_id, &client_id)?;
            let Some(consent) = consent_records::consent_to(conn, &realm_id, &user_id, &client)? else {
                return Ok(None);
            };
            Ok(Some(consent_json(&consent, &scopes_by_name(conn, &realm_id)?)))
        })
        .await?;
    Ok(match body {
        Some(body) => HttpResponse::Ok().json(body),
        None => HttpResponse::NoContent().finish(),
    })
}

/// Withdraws the user's consent to a client and revokes their refresh tokens of it: 204 (also when
/// there was nothing to withdraw, as Keycloak answers), 404 for an unknown client.
async fn revoke_consent(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AccountError> {
    let (realm_name, client_id) = path.into_inner();
    let caller = authenticate(&state, &req, &realm_name).await?;
    caller.require_one_of(&[MANAGE_ACCOUNT, MANAGE_CONSENT])?;
    withdraw_consent(&state, &caller.realm, &caller.user, client_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Withdraws `user`'s consent to the client with the public `client_id` and revokes their refresh
/// tokens of it, in one transaction: the account API's `DELETE …/consent` and the account page's
/// Applications section both do it through here. `NotFound` (Keycloak's words) for an unknown
/// client; withdrawing nothing is not an error.
pub(crate) async fn withdraw_consent(
    state: &AppState,
    realm: &RealmRuntime,
    user: &User,
    client_id: String,
) -> Result<(), AccountError> {
    let realm_id = realm.realm.id.clone();
    let user_id = user.id.clone();
    let now = state.now();
    let logged_client = client_id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AccountError> {
            let client = client_or_404(conn, &realm_id, &client_id)?;
            consent_records::revoke(conn, &user_id, &client.id, now)?;
            Ok(())
        })
        .await?;
    tracing::info!(realm = %realm.realm.name, user_id = %user.id, client_id = %logged_client, "consent withdrawn by the user");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_texts_resolve_known_keys_only() {
        assert_eq!(display_text("${profileScopeConsentText}"), "User profile");
        assert_eq!(display_text("${somethingElse}"), "somethingElse");
        assert_eq!(display_text("Read your invoices"), "Read your invoices");
    }
}
