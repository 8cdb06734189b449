//! Keycloak's OpenID Connect endpoints besides token and authorization: userinfo, introspection,
//! revocation, logout, and the pages keycloak-js frames. Handlers read the request, call
//! `oauth::{introspection, revocation, logout}`, and render in the protocol's shape (RFC 6749 /
//! 6750 / 7009 / 7662 JSON; HTML pages for what a browser is sent to).

use std::sync::Arc;

use actix_web::cookie::Cookie;
use actix_web::http::header::{CACHE_CONTROL, LOCATION, PRAGMA, WWW_AUTHENTICATE};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde_json::{json, Map, Value};

use super::body::{self, BodyError};
use super::cookies;
use super::cors::{self, CorsGrant};
use super::protocol::resolve_realm;
use super::session_iframes;
use super::views;
use crate::domain::scopes::{self, GrantedScopes};
use crate::oauth::bearer::bearer_token;
use crate::oauth::client_auth::{authenticate_client, claimed_client_id};
use crate::oauth::introspection::{self, claim_str, TokenState};
use crate::oauth::logout::{self, BrowserLogout, LogoutParams, PendingLogout};
use crate::oauth::params::FormParams;
use crate::oauth::revocation::{self, RevocationError};
use crate::oauth::tokens::add_profile_claims;
use crate::oauth::OAuthError;
use crate::service::events::{self, Event};
use crate::service::realm_cache::{ClientRuntime, RealmRuntime};
use crate::service::sessions;
use crate::state::AppState;

use super::protocol::method_not_allowed;

const OIDC: &str = "/realms/{realm}/protocol/openid-connect";

pub fn routes(cfg: &mut web::ServiceConfig) {
    let path = |suffix: &str| format!("{OIDC}{suffix}");
    cfg.service(
        web::resource(path("/userinfo"))
            .route(web::get().to(userinfo))
            .route(web::post().to(userinfo))
            .route(web::method(Method::OPTIONS).to(preflight))
            .default_service(web::to(method_not_allowed("GET, POST, OPTIONS"))),
    )
    .service(
        web::resource(path("/token/introspect"))
            .route(web::post().to(introspect))
            .default_service(web::to(method_not_allowed("POST"))),
    )
    .service(
        web::resource(path("/revoke"))
            .route(web::post().to(revoke))
            .route(web::method(Method::OPTIONS).to(preflight))
            .default_service(web::to(method_not_allowed("POST, OPTIONS"))),
    )
    .service(
        web::resource(path("/logout"))
            .route(web::get().to(logout_get))
            .route(web::post().to(logout_post))
            .route(web::method(Method::OPTIONS).to(preflight))
            .default_service(web::to(method_not_allowed("GET, POST, OPTIONS"))),
    )
    .service(
        web::resource(path("/logout/logout-confirm"))
            .route(web::post().to(logout_confirm))
            .default_service(web::to(method_not_allowed("POST"))),
    )
    .service(
        web::resource(path("/login-status-iframe.html"))
            .route(web::get().to(session_iframes::login_status_iframe))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(path("/login-status-iframe.html/init"))
            .route(web::get().to(session_iframes::login_status_iframe_init))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(path("/3p-cookies/step1.html"))
            .route(web::get().to(session_iframes::third_party_cookies_step1))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(path("/3p-cookies/step2.html"))
            .route(web::get().to(session_iframes::third_party_cookies_step2))
            .default_service(web::to(method_not_allowed("GET"))),
    );
}

fn authorization(req: &HttpRequest) -> Option<&str> {
    body::header(req, "authorization")
}

/// Reads an `application/x-www-form-urlencoded` body (RFC 6749 §3.2 rules: see `FormParams`).
async fn read_form(req: &HttpRequest, payload: web::Payload) -> Result<FormParams, OAuthError> {
    if body::media_type(req).as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let bytes = body::read_limited(payload).await.map_err(|e| match e {
        BodyError::TooLarge => OAuthError::invalid_request("Request body too large"),
        BodyError::Broken => OAuthError::invalid_request("Unreadable request body"),
    })?;
    FormParams::parse(&bytes)
}

fn no_store(response: &mut HttpResponse) {
    let headers = response.headers_mut();
    headers.insert(
        CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    headers.insert(PRAGMA, actix_web::http::header::HeaderValue::from_static("no-cache"));
}

fn with_cors(mut response: HttpResponse, grant: &CorsGrant) -> HttpResponse {
    cors::apply(response.headers_mut(), grant);
    response
}

fn oauth_error(e: &OAuthError, grant: &CorsGrant) -> HttpResponse {
    with_cors(e.error_response(), grant)
}

/// `OPTIONS` on userinfo, revoke and logout.
async fn preflight(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let grant = match resolve_realm(&state, &path).await {
        Ok(realm) => cors::preflight_grant(&state, &realm, cors::request_origin(req.headers())).await,
        Err(_) => CorsGrant::Deny,
    };
    let methods = if req.path().ends_with("/revoke") {
        "POST, OPTIONS"
    } else {
        "GET, POST, OPTIONS"
    };
    cors::preflight_response(&grant, methods)
}

// ---- userinfo (OIDC Core §5.3, RFC 6750) ----------------------------------------------------------

/// A 401 with RFC 6750's challenge; `error` is left out when no token was presented (§3.1).
fn bearer_challenge(realm: &RealmRuntime, error: Option<(&str, &str)>) -> HttpResponse {
    let realm_name = &realm.realm.name;
    let (challenge, body) = match error {
        Some((code, description)) => (
            format!(r#"Bearer realm="{realm_name}", error="{code}", error_description="{description}""#),
            json!({ "error": code, "error_description": description }),
        ),
        None => (
            format!(r#"Bearer realm="{realm_name}""#),
            json!({ "error": "invalid_token", "error_description": "Token not provided" }),
        ),
    };
    let mut response = HttpResponse::Unauthorized()
        .insert_header((WWW_AUTHENTICATE, challenge))
        .json(body);
    no_store(&mut response);
    response
}

/// `GET|POST …/userinfo`: the claims of the token's scopes about its user, read fresh.
#[tracing::instrument(skip_all, fields(realm = %path.as_str()))]
async fn userinfo(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let realm = match resolve_realm(&state, &path).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let origin = cors::request_origin(req.headers()).map(str::to_owned);
    // An API key presented itself (issue 4): the owner's claims, as far as the key's permissions
    // release them. No client, so no CORS grant.
    if let Some(presented) = super::key_auth::presented_key(&req) {
        return match super::key_auth::key_grant(&state, &req, presented, Some(&realm)).await {
            Ok(Some(granted)) => {
                let grant = &granted.grant;
                userinfo_response(&grant.owner, &scopes_of_key(&grant.key.permissions), &CorsGrant::Deny)
            }
            Ok(None) => bearer_challenge(&realm, Some(("invalid_token", "API key refused"))),
            Err(e) => {
                tracing::error!(error = %e, "checking an API key at userinfo failed");
                oauth_error(&OAuthError::ServerError, &CorsGrant::Deny)
            }
        };
    }
    let header_token = bearer_token(authorization(&req)).map(str::to_owned);
    let mut form_token = None;
    if req.method() == Method::POST && body::media_type(&req).as_deref() == Some("application/x-www-form-urlencoded") {
        match read_form(&req, payload).await {
            Ok(params) => form_token = params.get("access_token").map(str::to_owned),
            Err(e) => return oauth_error(&e, &CorsGrant::Deny),
        }
    }
    let token = match (header_token, form_token) {
        (Some(_), Some(_)) => {
            // RFC 6750 §2: one method per request.
            let e = OAuthError::invalid_request("More than one method used for including an access token");
            return oauth_error(&e, &CorsGrant::Deny);
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return bearer_challenge(&realm, None),
    };
    let active = match introspection::check_access_token(&state, &realm, &token).await {
        Ok(TokenState::Active(active)) => active,
        Ok(TokenState::Inactive(reason)) => {
            tracing::info!(reason, "userinfo refused");
            // Let the app read the 401 when the token names a client that registered its origin.
            let azp = crate::crypto::jwt::peek_claims(&token).and_then(|c| claim_str(&c, "azp").map(str::to_owned));
            let client = match azp {
                Some(azp) => state.realms.client(&realm, &azp).await.ok().flatten(),
                None => None,
            };
            let grant = cors::grant_for(client.as_ref().map(|c| &c.client), origin.as_deref());
            return with_cors(bearer_challenge(&realm, Some(("invalid_token", reason))), &grant);
        }
        Err(e) => return oauth_error(&e, &CorsGrant::Deny),
    };
    let scope = claim_str(&active.claims, "scope").unwrap_or_default();
    match &active.client {
        Some(client) => {
            let grant = cors::grant_for(Some(&client.client), origin.as_deref());
            userinfo_response(&active.user, &scopes_of_token(client, scope), &grant)
        }
        // Minted from an API key: its permissions, checked when the token was minted.
        None => {
            let permissions: Vec<String> = scope.split_whitespace().map(str::to_owned).collect();
            userinfo_response(&active.user, &scopes_of_key(&permissions), &CorsGrant::Deny)
        }
    }
}

fn userinfo_response(user: &crate::domain::User, granted: &GrantedScopes, grant: &CorsGrant) -> HttpResponse {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    add_profile_claims(&mut claims, user, granted);
    let mut response = HttpResponse::Ok().json(Value::Object(claims));
    no_store(&mut response);
    with_cors(response, grant)
}

/// An API key's permissions as granted scopes (they are realm scope names).
fn scopes_of_key(permissions: &[String]) -> GrantedScopes {
    GrantedScopes {
        names: permissions.iter().cloned().collect(),
        scope_param: permissions.join(" "),
    }
}

/// The scopes behind a token's `scope` claim, as the client's scopes stand now (a scope since
/// unlinked from the client no longer releases claims).
fn scopes_of_token(client: &ClientRuntime, scope: &str) -> GrantedScopes {
    let known = |name: &str| {
        name == "openid"
            || client.scopes.default.iter().any(|s| s.name == name)
            || client.scopes.optional.iter().any(|s| s.name == name)
    };
    let requested: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty() && known(s)).collect();
    scopes::negotiate(Some(&requested.join(" ")), &client.scopes).unwrap_or_else(|_| GrantedScopes {
        names: requested.iter().map(|s| s.to_string()).collect(),
        scope_param: requested.join(" "),
    })
}

// ---- events -----------------------------------------------------------------------------------

/// An event of `event_type` by the client a request named, if the realm keeps that type.
fn new_event(
    state: &AppState,
    req: &HttpRequest,
    realm: &RealmRuntime,
    event_type: &'static str,
    client_id: Option<String>,
) -> Option<Event> {
    if !realm.events.records(event_type) {
        return None;
    }
    let mut event = Event::new(&realm.realm.id, event_type, state.clock.now_millis());
    event.client_id = client_id;
    event.ip_address = super::client_address::client_ip(req, state).map(|ip| ip.to_string());
    Some(event)
}

/// Records the success (`kind.0`) or, with an error, the failure (`kind.1`) of a request.
fn record_event(
    state: &AppState,
    req: &HttpRequest,
    realm: &RealmRuntime,
    kind: (&'static str, &'static str),
    client_id: Option<String>,
    user_id: Option<&str>,
    error: Option<&'static str>,
) {
    let event_type = if error.is_some() { kind.1 } else { kind.0 };
    if let Some(mut event) = new_event(state, req, realm, event_type, client_id) {
        event.user_id = user_id.map(str::to_owned);
        event.error = error.map(str::to_owned);
        state.events.record(event);
    }
}

/// Keycloak's error names in events, where they differ from the protocol's.
fn event_error(e: &OAuthError) -> &'static str {
    match e {
        OAuthError::InvalidClient { .. } => "invalid_client_credentials",
        OAuthError::InvalidGrant(_) | OAuthError::InvalidToken(_) => "invalid_token",
        e => e.code(),
    }
}

// ---- introspection (RFC 7662) ---------------------------------------------------------------------

/// `POST …/token/introspect`: confidential clients only, as in Keycloak.
#[tracing::instrument(skip_all, fields(realm = %path.as_str()))]
async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let realm = match resolve_realm(&state, &path).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let mut named = None;
    let result = async {
        let params = read_form(&req, payload).await?;
        named = claimed_client_id(&params, authorization(&req));
        let client = authenticate_client(&state, &realm, &params, authorization(&req)).await?;
        if !client.client.is_confidential() {
            return Ok(Err(()));
        }
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("Token not provided."))?;
        introspection::check_hint(params.get("token_type_hint"))?;
        introspection::introspect(&state, &realm, token).await.map(Ok)
    }
    .await;
    let failed = match &result {
        Ok(Ok(_)) => None,
        Ok(Err(())) => Some("not_allowed"),
        Err(e) => Some(event_error(e)),
    };
    let subject = match &result {
        Ok(Ok(body)) => body.get("sub").and_then(Value::as_str),
        _ => None,
    };
    let kind = (events::INTROSPECT_TOKEN, events::INTROSPECT_TOKEN_ERROR);
    record_event(&state, &req, &realm, kind, named, subject, failed);
    let mut response = match result {
        Ok(Ok(body)) => HttpResponse::Ok().json(body),
        Ok(Err(())) => HttpResponse::Forbidden()
            .json(json!({ "error": "invalid_request", "error_description": "Client not allowed." })),
        Err(e) => {
            tracing::info!(error = e.code(), "introspection refused");
            e.error_response()
        }
    };
    no_store(&mut response);
    response
}

// ---- revocation (RFC 7009) ------------------------------------------------------------------------

/// `POST …/revoke`
#[tracing::instrument(skip_all, fields(realm = %path.as_str()))]
async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let realm = match resolve_realm(&state, &path).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let origin = cors::request_origin(req.headers()).map(str::to_owned);
    let params = match read_form(&req, payload).await {
        Ok(p) => p,
        Err(e) => {
            let client = cors::named_client(&state, &realm, None, authorization(&req)).await;
            return oauth_error(&e, &cors::grant_for(client.as_ref(), origin.as_deref()));
        }
    };
    let named = cors::named_client(&state, &realm, Some(&params), authorization(&req)).await;
    let grant = cors::grant_for(named.as_ref(), origin.as_deref());
    let result: Result<(), RevocationError> = async {
        let client = authenticate_client(&state, &realm, &params, authorization(&req)).await?;
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("Token not provided"))?;
        revocation::revoke(&state, &realm, &client, token).await
    }
    .await;
    let failed = match &result {
        Ok(()) => None,
        Err(RevocationError::UnsupportedTokenType) => Some("unsupported_token_type"),
        Err(RevocationError::OAuth(e)) => Some(event_error(e)),
    };
    let named = claimed_client_id(&params, authorization(&req));
    let kind = (events::REVOKE_GRANT, events::REVOKE_GRANT_ERROR);
    record_event(&state, &req, &realm, kind, named, None, failed);
    let mut response = match result {
        Ok(()) => HttpResponse::Ok().finish(),
        Err(RevocationError::UnsupportedTokenType) => HttpResponse::BadRequest()
            .json(json!({ "error": "unsupported_token_type", "error_description": "Unsupported token type" })),
        Err(RevocationError::OAuth(e)) => {
            tracing::info!(error = e.code(), "revocation refused");
            e.error_response()
        }
    };
    no_store(&mut response);
    with_cors(response, &grant)
}

// ---- logout (RP-Initiated Logout 1.0; Keycloak's back-channel logout) ----------------------------

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct ConfirmPage<'a> {
    realm_title: &'a str,
    action: &'a str,
    code: &'a str,
}

#[derive(Template)]
#[template(path = "logout_done.html")]
struct DonePage<'a> {
    realm_title: &'a str,
}

fn realm_title(realm: &RealmRuntime) -> &str {
    realm.realm.display_name.as_deref().unwrap_or(&realm.realm.name)
}

fn error_page(realm: &RealmRuntime, status: StatusCode, message: &str) -> HttpResponse {
    views::error_page(status, realm_title(realm), message)
}

/// `GET …/logout`: parameters in the query.
async fn logout_get(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let realm = match resolve_realm(&state, &path).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    match FormParams::parse(req.query_string().as_bytes()) {
        Ok(params) => browser_logout(&state, &req, &realm, &params).await,
        Err(e) => error_page(&realm, StatusCode::BAD_REQUEST, &e.description()),
    }
}

/// `POST …/logout`: with `refresh_token`, Keycloak's back-channel logout (JSON, 204); otherwise the
/// browser logout with its parameters in the form (keycloak-js's `logoutMethod: "POST"`).
async fn logout_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let realm = match resolve_realm(&state, &path).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let origin = cors::request_origin(req.headers()).map(str::to_owned);
    let params = match read_form(&req, payload).await {
        Ok(p) => p,
        Err(e) => {
            let client = cors::named_client(&state, &realm, None, authorization(&req)).await;
            return oauth_error(&e, &cors::grant_for(client.as_ref(), origin.as_deref()));
        }
    };
    if params.get("refresh_token").is_none() {
        return browser_logout(&state, &req, &realm, &params).await;
    }
    let named = cors::named_client(&state, &realm, Some(&params), authorization(&req)).await;
    let grant = cors::grant_for(named.as_ref(), origin.as_deref());
    let result = async {
        let client = authenticate_client(&state, &realm, &params, authorization(&req)).await?;
        let refresh_token = params.require("refresh_token")?;
        logout::logout_with_refresh_token(&state, &realm, &client, refresh_token).await
    }
    .await;
    let named = claimed_client_id(&params, authorization(&req));
    match &result {
        Ok(ended) => {
            if let Some(mut event) = new_event(&state, &req, &realm, events::LOGOUT, named) {
                event.user_id = Some(ended.user_id.clone());
                event.session_id = ended.session_id.clone();
                state.events.record(event);
            }
        }
        Err(e) => {
            let kind = (events::LOGOUT, events::LOGOUT_ERROR);
            record_event(&state, &req, &realm, kind, named, None, Some(event_error(e)));
        }
    }
    let mut response = match result {
        Ok(_) => HttpResponse::NoContent().finish(),
        Err(e) => {
            tracing::info!(error = e.code(), "back-channel logout refused");
            e.error_response()
        }
    };
    no_store(&mut response);
    with_cors(response, &grant)
}

async fn browser_logout(
    state: &AppState,
    req: &HttpRequest,
    realm: &Arc<RealmRuntime>,
    params: &FormParams,
) -> HttpResponse {
    let browser = match browser_session(state, req, realm).await {
        Ok(session) => session,
        Err(resp) => return resp,
    };
    let request = LogoutParams {
        id_token_hint: params.get("id_token_hint"),
        client_id: params.get("client_id"),
        post_logout_redirect_uri: params.get("post_logout_redirect_uri"),
        state: params.get("state"),
        redirect_uri: params.get("redirect_uri"),
    };
    match logout::browser_logout(state, realm, &request, browser.as_ref()).await {
        Ok(BrowserLogout::Refused(message)) => {
            tracing::info!(message, "logout refused");
            error_page(realm, StatusCode::BAD_REQUEST, message)
        }
        Ok(BrowserLogout::Confirm(pending)) => {
            let code = logout::confirmation_code(state, realm, &pending);
            let action = format!(
                "/realms/{}/protocol/openid-connect/logout/logout-confirm",
                realm.realm.name
            );
            views::page(
                StatusCode::OK,
                &ConfirmPage {
                    realm_title: realm_title(realm),
                    action: &action,
                    code: &code,
                },
            )
        }
        Ok(BrowserLogout::Proceed(pending)) => finish_logout(state, req, realm, &pending, browser.as_ref()).await,
        Err(_) => error_page(realm, StatusCode::INTERNAL_SERVER_ERROR, "Unexpected error"),
    }
}

/// `POST …/logout/logout-confirm`: the confirmation page's form.
async fn logout_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let realm = match resolve_realm(&state, &path).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let code = match read_form(&req, payload).await {
        Ok(params) => params.get("session_code").map(str::to_owned),
        Err(e) => return error_page(&realm, StatusCode::BAD_REQUEST, &e.description()),
    };
    match code.and_then(|code| logout::confirmed(&state, &realm, &code)) {
        Some(pending) => {
            let browser = match browser_session(&state, &req, &realm).await {
                Ok(session) => session,
                Err(resp) => return resp,
            };
            finish_logout(&state, &req, &realm, &pending, browser.as_ref()).await
        }
        None => error_page(
            &realm,
            StatusCode::BAD_REQUEST,
            "Logout failed: the confirmation has expired or is not valid.",
        ),
    }
}

/// The live session the browser's `KEYCLOAK_IDENTITY` cookie proves, if any.
async fn browser_session(
    state: &AppState,
    req: &HttpRequest,
    realm: &RealmRuntime,
) -> Result<Option<sessions::SsoSession>, HttpResponse> {
    let Some(cookie) = req.cookie(cookies::IDENTITY) else {
        return Ok(None);
    };
    sessions::from_cookie(state, &realm.realm, cookie.value())
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, "session lookup failed");
            error_page(realm, StatusCode::INTERNAL_SERVER_ERROR, "Unexpected error")
        })
}

/// Ends the sessions, clears the SSO cookies (unless the browser holds a live session this logout
/// does not end: a confirmation posted from elsewhere must not log it out), then sends the browser
/// back to the app (302) or shows that it is logged out.
async fn finish_logout(
    state: &AppState,
    req: &HttpRequest,
    realm: &RealmRuntime,
    pending: &PendingLogout,
    browser: Option<&sessions::SsoSession>,
) -> HttpResponse {
    let Ok(ended) = logout::end_sessions(state, realm, pending).await else {
        return error_page(realm, StatusCode::INTERNAL_SERVER_ERROR, "Unexpected error");
    };
    for session in ended {
        if let Some(mut event) = new_event(state, req, realm, events::LOGOUT, pending.client_id.clone()) {
            event.user_id = Some(session.user_id);
            event.session_id = session.session_id;
            state.events.record(event);
        }
    }
    let mut response = match &pending.redirect {
        Some(uri) => {
            let mut response = HttpResponse::Found().insert_header((LOCATION, uri.as_str())).finish();
            no_store(&mut response);
            response
        }
        None => views::page(
            StatusCode::OK,
            &DonePage {
                realm_title: realm_title(realm),
            },
        ),
    };
    let keeps_other_session = browser.is_some_and(|session| !pending.sessions.contains(&session.id));
    if !keeps_other_session {
        for cookie in cookies::expired_session_cookies(&realm.realm.name, &state.public_url) {
            add_cookie(&mut response, &cookie);
        }
    }
    response
}

fn add_cookie(response: &mut HttpResponse, cookie: &Cookie<'_>) {
    if let Err(e) = response.add_cookie(cookie) {
        tracing::error!(error = %e, "could not add a cookie");
    }
}
