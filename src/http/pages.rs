//! The browser side of the authorization code flow: the authorization endpoint, the login and
//! consent pages and their form posts (docs/adr/007-sessions-codes-refresh.md).
//!
//! A login in progress is a *flow*: the validated request, kept in the ephemeral store under a
//! random tab id, bound to the browser by the `AUTH_SESSION_ID` cookie. Forms carry a CSRF token
//! derived from that cookie and the tab id, so a form only works in the browser that loaded it.

use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::body;
use super::views::{self, ConsentItem, ConsentPage, LoginPage};
use crate::crypto::secrets::{constant_time_eq, generate_secret, random_token_id};
use crate::domain::User;
use crate::oauth::authorize::{self, AuthRequest, AuthorizeError, ClientRedirect, ResponseMode};
use crate::oauth::params::FormParams;
use crate::service::codes::{self, AuthorizationCode};
use crate::service::consents;
use crate::service::login::{login_event, verify_password_login, LoginAttempt, LoginError};
use crate::service::realm_cache::{ClientRuntime, RealmRuntime};
use crate::service::sessions::{self, SsoSession};
use crate::state::AppState;
use crate::store::db;

/// The SSO session cookie (HttpOnly): `{sessionId}.{secret}`.
const SESSION_COOKIE: &str = super::cookies::IDENTITY;
/// Binds a login in progress to its browser (HttpOnly).
pub const BROWSER_COOKIE: &str = "AUTH_SESSION_ID";
/// How long a person has to finish logging in (Keycloak's `accessCodeLifespanLogin`).
const FLOW_LIFESPAN: i64 = 30 * 60;

const NEUTRAL_LOGIN_ERROR: &str = "Invalid username or password.";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/realms/{realm}/protocol/openid-connect/auth")
            .route(web::get().to(authorize_endpoint))
            .route(web::post().to(authorize_endpoint)),
    )
    .service(
        web::resource("/realms/{realm}/login-actions/authenticate")
            .route(web::post().to(login_action))
            .wrap(actix_web::middleware::from_fn(super::rate_limit::login)),
    )
    .service(web::resource("/realms/{realm}/login-actions/consent").route(web::post().to(consent_action)))
    .service(web::resource("/resources/nexus.css").route(web::get().to(views::stylesheet)))
    .service(web::resource("/resources/account.js").route(web::get().to(views::account_script)));
}

/// A login or consent in progress.
#[derive(Serialize, Deserialize)]
struct Flow {
    request: AuthRequest,
    browser_hash: String,
    created_at: i64,
    /// Set once the person is authenticated (the consent step).
    user_id: Option<String>,
    session_id: Option<String>,
    acr: String,
    /// The scopes the consent page asked for.
    consent_scopes: Vec<String>,
}

#[derive(Deserialize)]
struct TabQuery {
    tab_id: Option<String>,
}

fn flow_key(realm: &RealmRuntime, tab_id: &str) -> String {
    format!("flow:{}:{}", realm.realm.id, tab_id)
}

pub(crate) fn realm_title(realm: &RealmRuntime) -> &str {
    realm.realm.display_name.as_deref().unwrap_or(&realm.realm.name)
}

fn internal_error(realm: &RealmRuntime, e: impl std::fmt::Debug) -> HttpResponse {
    views::internal_error_page(realm_title(realm), "browser flow failure", e)
}

pub(crate) async fn page_realm(state: &AppState, name: &str) -> Result<Arc<RealmRuntime>, HttpResponse> {
    match super::protocol::resolve_realm(state, name).await {
        Ok(realm) => Ok(realm),
        Err(resp) => {
            let message = if resp.status() == StatusCode::FORBIDDEN {
                "Realm not enabled."
            } else {
                "Realm does not exist."
            };
            Err(views::error_page(resp.status(), "nexus", message))
        }
    }
}

/// An HttpOnly, SameSite=Lax cookie on the realm's path (the SSO and browser cookies).
fn cookie<'c>(state: &AppState, realm: &RealmRuntime, name: &'c str, value: String) -> Cookie<'c> {
    Cookie::build(name, value)
        .path(super::cookies::realm_path(&realm.realm.name))
        .http_only(true)
        .secure(super::cookies::secure(&state.public_url))
        .same_site(SameSite::Lax)
        .finish()
}

/// `GET|POST /realms/{realm}/protocol/openid-connect/auth`
async fn authorize_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let realm = match page_realm(&state, &path).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let title = realm_title(&realm);
    let raw = if req.method() == Method::POST {
        if body::media_type(&req).as_deref() != Some("application/x-www-form-urlencoded") {
            return views::error_page(StatusCode::BAD_REQUEST, title, "Invalid request: expected a form.");
        }
        match body::read_limited(payload).await {
            Ok(bytes) => bytes.to_vec(),
            Err(_) => return views::error_page(StatusCode::BAD_REQUEST, title, "Invalid request."),
        }
    } else {
        req.query_string().as_bytes().to_vec()
    };
    let params = match FormParams::parse(&raw) {
        Ok(p) => p,
        Err(e) => return views::error_page(StatusCode::BAD_REQUEST, title, &e.description()),
    };
    let client = match params.get("client_id") {
        Some(id) => match state.realms.client(&realm, id).await {
            Ok(c) => c,
            Err(e) => return internal_error(&realm, e),
        },
        None => None,
    };
    let request = match authorize::validate(&params, client.as_deref(), &state.public_url) {
        Ok(r) => r,
        Err(AuthorizeError::Page(message)) => return views::error_page(StatusCode::BAD_REQUEST, title, &message),
        Err(AuthorizeError::Redirect(to, error, description)) => {
            return error_redirect(&realm, &to, error, &description)
        }
    };
    let Some(client) = client else {
        return views::error_page(StatusCode::BAD_REQUEST, title, "Client not found.");
    };
    let current = match current_session(&state, &realm, &req).await {
        Ok(c) => c,
        Err(e) => return internal_error(&realm, e),
    };
    let now = state.now();
    let authenticated = current.filter(|(session, _)| {
        !request.prompt_login && request.max_age.is_none_or(|max| now - session.auth_time <= max)
    });
    match authenticated {
        Some((mut session, user)) => {
            if let Err(e) = sessions::touch(&state, &realm.realm, &mut session).await {
                return internal_error(&realm, e);
            }
            let flow = Flow {
                request,
                browser_hash: String::new(),
                created_at: now,
                user_id: None,
                session_id: None,
                acr: "0".into(),
                consent_scopes: Vec::new(),
            };
            proceed(&state, &realm, &client, &req, flow, None, &session, &user).await
        }
        None if request.prompt_none => error_redirect(
            &realm,
            &request.redirect,
            "login_required",
            "The user is not logged in and prompt=none",
        ),
        None => start_login(&state, &realm, &req, request).await,
    }
}

/// The live SSO session of the browser's cookie and its (enabled) user.
pub(crate) async fn current_session(
    state: &AppState,
    realm: &RealmRuntime,
    req: &HttpRequest,
) -> anyhow::Result<Option<(SsoSession, User)>> {
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(session) = sessions::from_cookie(state, &realm.realm, cookie.value()).await? else {
        return Ok(None);
    };
    let realm_id = realm.realm.id.clone();
    let user_id = session.user_id.clone();
    let user = state
        .db
        .run(move |conn| db::users::find(conn, &realm_id, &user_id).map_err(db::DbError::from))
        .await?;
    Ok(user.filter(|u| u.enabled).map(|u| (session, u)))
}

/// The browser's id (from its cookie, or a new one to set).
fn browser_id(req: &HttpRequest) -> (String, bool) {
    match req.cookie(BROWSER_COOKIE) {
        Some(c) if !c.value().is_empty() && c.value().len() <= 64 => (c.value().to_owned(), false),
        _ => (generate_secret(), true),
    }
}

fn csrf_token(state: &AppState, realm: &RealmRuntime, tab_id: &str, browser: &str) -> String {
    state
        .master_key
        .keyed_hash(format!("csrf:{}:{tab_id}:{browser}", realm.realm.id).as_bytes())
}

fn action_url(realm: &RealmRuntime, action: &str, tab_id: &str) -> String {
    format!("/realms/{}/login-actions/{action}?tab_id={tab_id}", realm.realm.name)
}

async fn save_flow(state: &AppState, realm: &RealmRuntime, tab_id: &str, flow: &Flow) -> anyhow::Result<()> {
    let value = serde_json::to_string(flow)?;
    state
        .ephemeral
        .put(
            &flow_key(realm, tab_id),
            &value,
            Duration::from_secs(FLOW_LIFESPAN as u64),
        )
        .await?;
    Ok(())
}

/// Shows the login page for a new flow.
async fn start_login(state: &AppState, realm: &RealmRuntime, req: &HttpRequest, request: AuthRequest) -> HttpResponse {
    let (browser, is_new) = browser_id(req);
    let tab_id = random_token_id();
    let username = request.login_hint.clone().unwrap_or_default();
    let flow = Flow {
        request,
        browser_hash: state.master_key.keyed_hash(browser.as_bytes()),
        created_at: state.now(),
        user_id: None,
        session_id: None,
        acr: "1".into(),
        consent_scopes: Vec::new(),
    };
    if let Err(e) = save_flow(state, realm, &tab_id, &flow).await {
        return internal_error(realm, e);
    }
    let mut response = login_page(state, realm, &tab_id, &browser, &username, None);
    if is_new {
        let _ = response.add_cookie(&cookie(state, realm, BROWSER_COOKIE, browser));
    }
    response
}

fn login_page(
    state: &AppState,
    realm: &RealmRuntime,
    tab_id: &str,
    browser: &str,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    let action = action_url(realm, "authenticate", tab_id);
    let csrf = csrf_token(state, realm, tab_id, browser);
    views::page(
        StatusCode::OK,
        &LoginPage {
            realm_title: realm_title(realm),
            action: &action,
            csrf_token: &csrf,
            username,
            error,
        },
    )
}

/// A form post's flow, checked: same browser, valid CSRF token, not expired. `Err` is the page.
async fn posted_flow(
    state: &AppState,
    realm: &RealmRuntime,
    req: &HttpRequest,
    query: &TabQuery,
    form: &FormParams,
) -> Result<(String, String, Flow), HttpResponse> {
    let title = realm_title(realm);
    let timed_out = || {
        views::error_page(
            StatusCode::BAD_REQUEST,
            title,
            "Your login attempt timed out. Login will start from the beginning.",
        )
    };
    let tab_id = query
        .tab_id
        .as_deref()
        .filter(|t| !t.is_empty() && t.len() <= 64)
        .ok_or_else(timed_out)?;
    let browser = req
        .cookie(BROWSER_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(timed_out)?;
    let raw = state
        .ephemeral
        .get(&flow_key(realm, tab_id))
        .await
        .map_err(|e| internal_error(realm, e))?
        .ok_or_else(timed_out)?;
    let flow: Flow = serde_json::from_str(&raw).map_err(|e| internal_error(realm, e))?;
    if !state
        .master_key
        .verify_keyed_hash(browser.as_bytes(), &flow.browser_hash)
        || state.now() - flow.created_at > FLOW_LIFESPAN
    {
        return Err(timed_out());
    }
    let expected = csrf_token(state, realm, tab_id, &browser);
    match form.get("csrf_token") {
        Some(given) if constant_time_eq(given.as_bytes(), expected.as_bytes()) => {}
        _ => {
            return Err(views::error_page(
                StatusCode::BAD_REQUEST,
                title,
                "Invalid or missing CSRF token. Please go back to the application and try again.",
            ))
        }
    }
    Ok((tab_id.to_owned(), browser, flow))
}

pub(crate) async fn read_form(req: &HttpRequest, payload: web::Payload) -> Option<FormParams> {
    if body::media_type(req).as_deref() != Some("application/x-www-form-urlencoded") {
        return None;
    }
    let bytes = body::read_limited(payload).await.ok()?;
    FormParams::parse(&bytes).ok()
}

/// A login-actions form post, checked (realm, form body, flow of this browser, CSRF token).
struct Posted {
    realm: Arc<RealmRuntime>,
    form: FormParams,
    tab_id: String,
    browser: String,
    flow: Flow,
}

async fn posted(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    query: &TabQuery,
    payload: web::Payload,
) -> Result<Posted, HttpResponse> {
    let realm = page_realm(state, realm_name).await?;
    let Some(form) = read_form(req, payload).await else {
        return Err(views::error_page(
            StatusCode::BAD_REQUEST,
            realm_title(&realm),
            "Invalid request.",
        ));
    };
    let (tab_id, browser, flow) = posted_flow(state, &realm, req, query, &form).await?;
    Ok(Posted {
        realm,
        form,
        tab_id,
        browser,
        flow,
    })
}

/// `POST /realms/{realm}/login-actions/authenticate?tab_id=…`: the login form.
async fn login_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<TabQuery>,
    payload: web::Payload,
) -> HttpResponse {
    let Posted {
        realm,
        form,
        tab_id,
        browser,
        flow,
    } = match posted(&state, &req, &path, &query, payload).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let username = form.get("username").unwrap_or("");
    let attempt = LoginAttempt {
        username,
        password: form.get("password").unwrap_or(""),
        ip: super::client_address::client_ip(&req, &state),
    };
    let verified = verify_password_login(&state, &realm, &attempt).await;
    if let Err(e) = &verified {
        let event = login_event(&state, &realm, &flow.request.client_id, &attempt, Err(e));
        state.events.record(event);
    }
    let user = match verified {
        Ok(user) => user,
        Err(LoginError::Internal) => return internal_error(&realm, "login failed"),
        Err(LoginError::NotFullySetUp) => {
            return login_page(
                &state,
                &realm,
                &tab_id,
                &browser,
                username,
                Some("Your account is not fully set up. Contact your administrator."),
            )
        }
        // A disabled account gets the neutral message too: the page must not confirm a password.
        Err(LoginError::InvalidCredentials | LoginError::Disabled) => {
            super::rate_limit::failed(&req);
            return login_page(&state, &realm, &tab_id, &browser, username, Some(NEUTRAL_LOGIN_ERROR));
        }
    };
    let Ok(Some(client)) = state.realms.client(&realm, &flow.request.client_id).await else {
        return views::error_page(StatusCode::BAD_REQUEST, realm_title(&realm), "Client not found.");
    };
    // The same person logging in again (prompt=login, max_age) keeps their session; anyone else
    // gets a new one.
    let existing = match current_session(&state, &realm, &req).await {
        Ok(c) => c.filter(|(_, u)| u.id == user.id),
        Err(e) => return internal_error(&realm, e),
    };
    let (session, new_cookie) = match existing {
        Some((mut session, _)) => {
            if let Err(e) = sessions::reauthenticated(&state, &realm.realm, &mut session).await {
                return internal_error(&realm, e);
            }
            (session, None)
        }
        None => match sessions::create(&state, &realm.realm, &user.id, true, attempt.ip).await {
            Ok(new) => (new.session, new.cookie_value),
            Err(e) => return internal_error(&realm, e),
        },
    };
    let mut event = login_event(
        &state,
        &realm,
        &client.client.client_id,
        &attempt,
        Ok((&user, &session.id)),
    );
    event.details.insert("auth_method".into(), "openid-connect".into());
    state.events.record(event);
    let mut response = proceed(
        &state,
        &realm,
        &client,
        &req,
        flow,
        Some((&tab_id, &browser)),
        &session,
        &user,
    )
    .await;
    if let Some(value) = new_cookie {
        let _ = response.add_cookie(&cookie(&state, &realm, SESSION_COOKIE, value));
        // The script-readable twin that keycloak-js's session-status iframe compares with `sid`.
        let status = super::cookies::session_status_cookie(
            &realm.realm.name,
            &user.id,
            &session.id,
            realm.realm.sso_session_max_lifespan,
            &state.public_url,
        );
        let _ = response.add_cookie(&status);
    }
    response
}

/// Authenticated: ask for consent if needed, else answer the client with a code.
#[allow(clippy::too_many_arguments)]
async fn proceed(
    state: &AppState,
    realm: &RealmRuntime,
    client: &ClientRuntime,
    req: &HttpRequest,
    mut flow: Flow,
    tab: Option<(&str, &str)>,
    session: &SsoSession,
    user: &User,
) -> HttpResponse {
    if client.client.consent_required {
        let wanted = consent_scope_names(client, &flow.request);
        let missing = if flow.request.prompt_consent {
            Ok(wanted)
        } else {
            consents::missing_consent(state, &user.id, &client.client.id, wanted).await
        };
        let missing = match missing {
            Ok(m) => m,
            Err(e) => return internal_error(realm, e),
        };
        if !missing.is_empty() {
            if flow.request.prompt_none {
                return error_redirect(
                    realm,
                    &flow.request.redirect,
                    "consent_required",
                    "Consent required and prompt=none",
                );
            }
            return consent_page(state, realm, client, req, flow, tab, session, user, missing).await;
        }
    }
    if let Some((tab_id, _)) = tab {
        // The flow is finished: its forms cannot be posted again.
        let _ = state.ephemeral.delete(&flow_key(realm, tab_id)).await;
    }
    flow.session_id = Some(session.id.clone());
    issue_code(state, realm, client, &flow, session, user).await
}

/// The names of the granted scopes a person is asked about (Keycloak's `display.on.consent.screen`).
fn consent_scope_names(client: &ClientRuntime, request: &AuthRequest) -> Vec<String> {
    client
        .scopes
        .default
        .iter()
        .chain(client.scopes.optional.iter())
        .filter(|s| request.scope_names.contains(&s.name))
        .filter(|s| s.attributes.get("display.on.consent.screen").and_then(|v| v.as_str()) != Some("false"))
        .map(|s| s.name.clone())
        .collect()
}

/// Keycloak's message keys for the built-in scopes' consent texts, in English.
fn consent_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "${profileScopeConsentText}" => "User profile",
        "${emailScopeConsentText}" => "Email address",
        "${rolesScopeConsentText}" => "User roles",
        "${offlineAccessScopeConsentText}" => "Offline Access",
        "${phoneScopeConsentText}" => "Phone number",
        "${addressScopeConsentText}" => "Address",
        _ => return None,
    })
}

#[allow(clippy::too_many_arguments)]
async fn consent_page(
    state: &AppState,
    realm: &RealmRuntime,
    client: &ClientRuntime,
    req: &HttpRequest,
    mut flow: Flow,
    tab: Option<(&str, &str)>,
    session: &SsoSession,
    user: &User,
    missing: Vec<String>,
) -> HttpResponse {
    // A flow that skipped the login page (single sign-on) starts here, bound to this browser.
    let (tab_id, browser, new_browser) = match tab {
        Some((t, b)) => (t.to_owned(), b.to_owned(), false),
        None => {
            let (browser, is_new) = browser_id(req);
            flow.browser_hash = state.master_key.keyed_hash(browser.as_bytes());
            (random_token_id(), browser, is_new)
        }
    };
    flow.user_id = Some(user.id.clone());
    flow.session_id = Some(session.id.clone());
    let items: Vec<ConsentItem> = client
        .scopes
        .default
        .iter()
        .chain(client.scopes.optional.iter())
        .filter(|s| missing.contains(&s.name))
        .map(|s| {
            let configured = s.attributes.get("consent.screen.text").and_then(|v| v.as_str());
            let text = match configured {
                Some(key) => consent_text(key).map(str::to_owned).or_else(|| Some(key.to_owned())),
                None => s.description.clone(),
            };
            ConsentItem {
                name: s.name.clone(),
                text: text.filter(|t| !t.is_empty()),
            }
        })
        .collect();
    flow.consent_scopes = missing;
    if let Err(e) = save_flow(state, realm, &tab_id, &flow).await {
        return internal_error(realm, e);
    }
    let action = action_url(realm, "consent", &tab_id);
    let csrf = csrf_token(state, realm, &tab_id, &browser);
    let client_name = client.client.name.as_deref().unwrap_or(&client.client.client_id);
    let mut response = views::page(
        StatusCode::OK,
        &ConsentPage {
            realm_title: realm_title(realm),
            client_name,
            scopes: &items,
            action: &action,
            csrf_token: &csrf,
        },
    );
    if new_browser {
        let _ = response.add_cookie(&cookie(state, realm, BROWSER_COOKIE, browser));
    }
    response
}

/// `POST /realms/{realm}/login-actions/consent?tab_id=…`: Yes or No.
async fn consent_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<TabQuery>,
    payload: web::Payload,
) -> HttpResponse {
    let Posted {
        realm,
        form,
        tab_id,
        flow,
        ..
    } = match posted(&state, &req, &path, &query, payload).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let (Some(user_id), Some(session_id)) = (flow.user_id.clone(), flow.session_id.clone()) else {
        return views::error_page(StatusCode::BAD_REQUEST, realm_title(&realm), "Invalid request.");
    };
    // Single use: a second post of the same form finds nothing.
    if let Err(e) = state.ephemeral.delete(&flow_key(&realm, &tab_id)).await {
        return internal_error(&realm, e);
    }
    if form.get("accept").is_none() {
        return error_redirect(&realm, &flow.request.redirect, "access_denied", "Consent denied");
    }
    let session = match sessions::find(&state, &realm.realm, &session_id).await {
        Ok(Some(s)) if s.user_id == user_id => s,
        Ok(_) => {
            return views::error_page(
                StatusCode::BAD_REQUEST,
                realm_title(&realm),
                "Your session has ended. Please log in again.",
            )
        }
        Err(e) => return internal_error(&realm, e),
    };
    let Ok(Some(client)) = state.realms.client(&realm, &flow.request.client_id).await else {
        return views::error_page(StatusCode::BAD_REQUEST, realm_title(&realm), "Client not found.");
    };
    let realm_id = realm.realm.id.clone();
    let user = match state
        .db
        .run(move |conn| db::users::find(conn, &realm_id, &user_id).map_err(db::DbError::from))
        .await
    {
        Ok(Some(u)) if u.enabled => u,
        Ok(_) => return views::error_page(StatusCode::BAD_REQUEST, realm_title(&realm), "Account is disabled."),
        Err(e) => return internal_error(&realm, e),
    };
    if let Err(e) = consents::grant(
        &state,
        &realm.realm.id,
        &user.id,
        &client.client.id,
        flow.consent_scopes.clone(),
    )
    .await
    {
        return internal_error(&realm, e);
    }
    issue_code(&state, &realm, &client, &flow, &session, &user).await
}

/// Issues the code and sends it to the client in the request's response mode.
async fn issue_code(
    state: &AppState,
    realm: &RealmRuntime,
    client: &ClientRuntime,
    flow: &Flow,
    session: &SsoSession,
    user: &User,
) -> HttpResponse {
    let request = &flow.request;
    let binding = AuthorizationCode {
        realm_id: realm.realm.id.clone(),
        client_id: client.client.id.clone(),
        redirect_uri: request.redirect.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        session_id: session.id.clone(),
        user_id: user.id.clone(),
        scope: request.scope.clone(),
        auth_time: session.auth_time,
        acr: flow.acr.clone(),
        issued_at: state.now(),
    };
    let code = match codes::issue(state, &binding).await {
        Ok(c) => c,
        Err(e) => return internal_error(realm, e),
    };
    respond_to_client(
        &request.redirect,
        &[("code", &code), ("session_state", &session.id), ("iss", &realm.issuer)],
    )
}

/// An error for the client, at its (validated) redirect URI.
fn error_redirect(realm: &RealmRuntime, to: &ClientRedirect, error: &str, description: &str) -> HttpResponse {
    respond_to_client(
        to,
        &[
            ("error", error),
            ("error_description", description),
            ("iss", &realm.issuer),
        ],
    )
}

fn respond_to_client(to: &ClientRedirect, params: &[(&str, &str)]) -> HttpResponse {
    match to.response_mode {
        ResponseMode::FormPost => {
            let mut fields: Vec<(&str, &str)> = params.to_vec();
            if let Some(state) = &to.state {
                fields.push(("state", state));
            }
            views::form_post(&to.redirect_uri, &fields)
        }
        _ => HttpResponse::Found()
            .insert_header(("Location", authorize::redirect_location(to, params)))
            .insert_header(("Cache-Control", "no-store"))
            .finish(),
    }
}
