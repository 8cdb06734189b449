//! The account page (`/realms/{realm}/account`): a signed-in person's own settings, rendered on the
//! server. Sections sit side by side under one navigation: API Keys (issue 4, here), Personal info,
//! Password, Sessions and Applications (issue 5, the submodules). See docs/adr/012-account-page.md.
//!
//! - Signing in: without a live SSO session the page sends the browser to the realm's authorization
//!   endpoint as the built-in public client `account` (PKCE S256, state bound to a cookie), and its
//!   callback takes the code at once (single use) and checks it belongs to this browser's session.
//! - Forms carry a CSRF token: an HMAC, with a key derived from the master key, of the SSO session.
//! - A new secret is shown exactly once: POST, then redirect to a GET that *takes* it from the
//!   ephemeral store (see `hold_secret`).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::page_sign_in::{self, CallbackQuery, SignInClient};
use super::pages::{current_session, page_realm, read_form, realm_title};
use super::shown_once;
use super::views::{self, see_other, AccountFrame, ApiKeyRow, ApiKeysPage, ConfirmKeyActionPage, KeyForm, ShownSecret};
use crate::domain::api_keys::{ApiKey, Environment, KeyKind, KeyRuleError};
use crate::domain::dates::{format_rfc3339, parse_date_end_of_day, parse_rfc3339};
use crate::domain::defaults::CLIENT_ACCOUNT;
use crate::domain::User;
use crate::oauth::params::FormParams;
use crate::service::api_keys::{self as keys, ApiKeyError, NewApiKey};
use crate::service::realm_cache::RealmRuntime;
use crate::service::sessions::{self, SsoSession};
use crate::state::AppState;
use crate::store::db;

mod consents;
mod password;
mod profile;
mod sessions_section;

/// Binds a sign-in in progress (the `state` of the authorization request) to its browser.
const LOGIN_COOKIE: &str = "NEXUS_ACCOUNT_LOGIN";
const DESCRIPTION_MAX: usize = 200;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/realms/{realm}/account", web::get().to(index))
        .route("/realms/{realm}/account/", web::get().to(index))
        .route("/realms/{realm}/account/callback", web::get().to(callback))
        .route("/realms/{realm}/account/api-keys", web::get().to(api_keys_page))
        .route("/realms/{realm}/account/api-keys", web::post().to(generate))
        .route(
            "/realms/{realm}/account/api-keys/{id}/{action}",
            web::get().to(confirm_page),
        )
        .route(
            "/realms/{realm}/account/api-keys/{id}/{action}",
            web::post().to(key_action),
        );
    profile::routes(cfg);
    password::routes(cfg);
    sessions_section::routes(cfg);
    consents::routes(cfg);
}

fn base_path(realm: &RealmRuntime) -> String {
    format!("/realms/{}/account", realm.realm.name)
}

fn internal_error(realm: &RealmRuntime, e: impl std::fmt::Debug) -> HttpResponse {
    views::internal_error_page(realm_title(realm), "account page failure", e)
}

/// The signed-in person of a request.
struct Viewer {
    realm: Arc<RealmRuntime>,
    session: SsoSession,
    user: User,
}

/// The realm and the live SSO session of the browser; `Err` is the response to send: an error page,
/// or for a GET without a session the start of signing in.
async fn viewer(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    sign_in_if_needed: bool,
) -> Result<Viewer, HttpResponse> {
    let realm = page_realm(state, realm_name).await?;
    match current_session(state, &realm, req).await {
        Ok(Some((mut session, user))) => {
            if let Err(e) = sessions::touch(state, &realm.realm, &mut session).await {
                return Err(internal_error(&realm, e));
            }
            Ok(Viewer { realm, session, user })
        }
        Ok(None) if sign_in_if_needed => Err(sign_in_client(&realm).start(state, &realm)),
        // A form posted after the session ended: back to the page, which signs in again.
        Ok(None) => Err(see_other(&format!("{}/api-keys", base_path(&realm)))),
        Err(e) => Err(internal_error(&realm, e)),
    }
}

/// Records an event of the signed-in person on the account console (Keycloak's client
/// `account-console`), with their session and address; `error` for a refusal.
fn record_event(
    state: &AppState,
    req: &HttpRequest,
    viewer: &Viewer,
    event_type: &'static str,
    error: Option<&str>,
) -> crate::service::events::Event {
    let mut event = crate::service::events::Event::of_person(
        &viewer.realm.realm.id,
        event_type,
        state.clock.now_millis(),
        "account-console",
        Some(&viewer.user.id),
        super::client_address::client_ip(req, state),
    );
    event.session_id = Some(viewer.session.id.clone());
    event.error = error.map(str::to_owned);
    event
}

/// The CSRF token of the account forms (`SignInClient::csrf_token`).
fn csrf_token(state: &AppState, viewer: &Viewer) -> String {
    sign_in_client(&viewer.realm).csrf_token(state, &viewer.realm, &viewer.session.id)
}

/// The account page signs in as Keycloak's built-in `account` client.
fn sign_in_client(realm: &RealmRuntime) -> SignInClient {
    SignInClient {
        client_id: CLIENT_ACCOUNT,
        base: base_path(realm),
        landing: format!("{}/api-keys", base_path(realm)),
        cookie: LOGIN_COOKIE,
        name: "account-page",
        session_cookie: None,
    }
}

/// `GET /realms/{realm}/account[/]`: the first section.
async fn index(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    match viewer(&state, &req, &path, true).await {
        Ok(v) => see_other(&format!("{}/api-keys", base_path(&v.realm))),
        Err(resp) => resp,
    }
}

/// `GET /realms/{realm}/account/callback`: the end of signing in (`page_sign_in::callback`).
async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    page_sign_in::callback(&state, &req, &path, &query, sign_in_client).await
}

// ---------------------------------------------------------------------------------------------
// API Keys
// ---------------------------------------------------------------------------------------------

/// The layout's frame around `section` (the navigation's current entry).
fn frame<'a>(viewer: &'a Viewer, base: &'a str, logout_url: &'a str, section: &'a str) -> AccountFrame<'a> {
    AccountFrame {
        realm_title: realm_title(&viewer.realm),
        base,
        username: &viewer.user.username,
        logout_url,
        section,
    }
}

fn logout_url(realm: &RealmRuntime) -> String {
    format!("/realms/{}/protocol/openid-connect/logout", realm.realm.name)
}

fn row(key: &ApiKey, now: i64) -> ApiKeyRow {
    let status = if key.revoked {
        "revoked"
    } else if !key.usable(now) {
        "expired"
    } else {
        "active"
    };
    ApiKeyRow {
        id: key.id.clone(),
        prefix: key.display_prefix.clone(),
        description: key.description.clone().unwrap_or_default(),
        kind: key.kind.as_str(),
        environment: key.environment.as_str(),
        permissions: key.permissions.join(" "),
        created: format_rfc3339(key.created_at)[..10].to_owned(),
        created_iso: format_rfc3339(key.created_at),
        expires: format_rfc3339(key.expires_at)[..10].to_owned(),
        expires_iso: format_rfc3339(key.expires_at),
        last_used: key
            .last_used_at
            .map(|at| (format_rfc3339(at)[..10].to_owned(), format_rfc3339(at))),
        status,
    }
}

/// A new secret waiting for the one page view that shows it (`http::shown_once`).
#[derive(Serialize, Deserialize)]
struct HeldSecret {
    key_id: String,
    secret: String,
    action: String,
}

fn shown_scope(realm: &RealmRuntime) -> String {
    format!("account:{}", realm.realm.id)
}

/// Keeps a new secret for the page the POST redirects to, and returns that page's path.
async fn hold_secret(
    state: &AppState,
    viewer: &Viewer,
    key_id: &str,
    secret: String,
    action: &str,
) -> anyhow::Result<String> {
    let held = HeldSecret {
        key_id: key_id.to_owned(),
        secret,
        action: action.to_owned(),
    };
    let nonce = shown_once::hold(state, &shown_scope(&viewer.realm), &viewer.session.id, held).await?;
    Ok(format!("{}/api-keys?shown={nonce}", base_path(&viewer.realm)))
}

async fn take_secret(state: &AppState, viewer: &Viewer, nonce: &str) -> anyhow::Result<Option<ShownSecret>> {
    let held: Option<HeldSecret> =
        shown_once::take(state, &shown_scope(&viewer.realm), &viewer.session.id, nonce).await?;
    Ok(held.map(|held| ShownSecret {
        key_id: held.key_id,
        secret: held.secret,
        action: held.action,
    }))
}

#[derive(Deserialize)]
struct PageQuery {
    shown: Option<String>,
    notice: Option<String>,
}

fn notice_text(notice: Option<&str>) -> Option<&'static str> {
    match notice? {
        "deleted" => Some("The key was deleted. Its secret no longer works."),
        _ => None,
    }
}

/// The words for the old secret's grace period on Rotate (the realm's setting, 24 hours by default).
fn rotation_grace(realm: &RealmRuntime) -> String {
    let seconds = keys::rotation_grace_seconds(&realm.realm);
    match seconds {
        0 => "no grace period".to_owned(),
        s if s % 3600 == 0 => format!("{} hour{}", s / 3600, if s == 3600 { "" } else { "s" }),
        s if s % 60 == 0 => format!("{} minute{}", s / 60, if s == 60 { "" } else { "s" }),
        s => format!("{s} seconds"),
    }
}

async fn render_keys(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    shown: Option<&ShownSecret>,
    notice: Option<&str>,
    form: &KeyForm,
) -> HttpResponse {
    let (realm_id, user_id) = (viewer.realm.realm.id.clone(), viewer.user.id.clone());
    let loaded = state
        .db
        .run(move |conn| -> Result<(Vec<ApiKey>, Vec<String>), ApiKeyError> {
            let keys = keys::list(conn, &realm_id, &user_id)?;
            let mut scopes: Vec<String> = db::scopes::list(conn, &realm_id)?.into_iter().map(|s| s.name).collect();
            scopes.sort();
            Ok((keys, scopes))
        })
        .await;
    let (list, scopes) = match loaded {
        Ok(l) => l,
        Err(e) => return internal_error(&viewer.realm, e),
    };
    let now = state.now();
    let rows: Vec<ApiKeyRow> = list.iter().map(|k| row(k, now)).collect();
    let base = base_path(&viewer.realm);
    let logout = logout_url(&viewer.realm);
    let csrf = csrf_token(state, viewer);
    let grace = rotation_grace(&viewer.realm);
    views::account_page(
        status,
        &ApiKeysPage {
            frame: frame(viewer, &base, &logout, "api-keys"),
            csrf_token: &csrf,
            keys: &rows,
            shown,
            notice,
            form,
            scopes: &scopes,
            rotation_grace: &grace,
        },
    )
}

/// `GET /realms/{realm}/account/api-keys[?shown=…]`
async fn api_keys_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let viewer = match viewer(&state, &req, &path, true).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let shown = match query.shown.as_deref() {
        Some(nonce) => match take_secret(&state, &viewer, nonce).await {
            Ok(s) => s,
            Err(e) => return internal_error(&viewer.realm, e),
        },
        None => None,
    };
    let notice = notice_text(query.notice.as_deref());
    render_keys(
        &state,
        &viewer,
        StatusCode::OK,
        shown.as_ref(),
        notice,
        &KeyForm::default(),
    )
    .await
}

/// The form as typed (kept to show it again with messages).
fn typed_form(form: &FormParams) -> KeyForm {
    KeyForm {
        description: form.get("description").unwrap_or("").trim().to_owned(),
        expires: form.get("expires").unwrap_or("").trim().to_owned(),
        permissions: form.get("permissions").unwrap_or("").trim().to_owned(),
        kind: form.get("kind").unwrap_or("secret").to_owned(),
        environment: form.get("environment").unwrap_or("live").to_owned(),
        ..KeyForm::default()
    }
}

/// The typed form as the service's request; `Err` is the form with its messages.
fn parse_generate_form(mut typed: KeyForm, now: i64) -> Result<NewApiKey, Box<KeyForm>> {
    if typed.description.chars().count() > DESCRIPTION_MAX {
        typed.description_error = Some(format!("Use at most {DESCRIPTION_MAX} characters."));
    }
    let expires_at = if typed.expires.is_empty() {
        None
    } else {
        match parse_date_end_of_day(&typed.expires).or_else(|| parse_rfc3339(&typed.expires)) {
            Some(at) if at > now => Some(at),
            Some(_) => {
                typed.expires_error = Some("The expiry date must be in the future.".into());
                None
            }
            None => {
                typed.expires_error = Some("Enter a date as YYYY-MM-DD, or leave it empty.".into());
                None
            }
        }
    };
    let kind = KeyKind::parse(&typed.kind);
    if kind.is_none() {
        typed.kind_error = Some("Choose Secret or Publishable.".into());
    }
    let environment = Environment::parse(&typed.environment);
    if environment.is_none() {
        typed.general_error = Some("Choose Live or Test.".into());
    }
    match (kind, environment) {
        (Some(kind), Some(environment)) if !typed.has_errors() => Ok(NewApiKey {
            expires_at,
            description: (!typed.description.is_empty()).then(|| typed.description.clone()),
            permissions: (!typed.permissions.is_empty()).then(|| typed.permissions.clone()),
            kind,
            environment,
            ..NewApiKey::default()
        }),
        _ => Err(Box::new(typed)),
    }
}

/// The service's refusal, next to the field it is about.
fn refused_form(mut typed: KeyForm, error: ApiKeyError) -> Result<KeyForm, ApiKeyError> {
    match error {
        ApiKeyError::Rule(KeyRuleError::ExpiryNotInFuture) => {
            typed.expires_error = Some("The expiry date must be in the future.".into());
        }
        ApiKeyError::Rule(KeyRuleError::NotReadOnly(p)) => {
            typed.permissions_error = Some(format!(
                "A publishable key is read-only: it cannot hold `{p}`. Use read: permissions, or a secret key."
            ));
        }
        ApiKeyError::UnknownScope(p) => {
            typed.permissions_error = Some(format!("`{p}` is not a client scope of this realm."));
        }
        e @ (ApiKeyError::Rule(_)
        | ApiKeyError::RoleNotHeld(_)
        | ApiKeyError::DuplicateId(_)
        | ApiKeyError::DuplicateSecret) => {
            typed.general_error = Some(e.to_string());
        }
        e @ (ApiKeyError::NotFound | ApiKeyError::NotUsable | ApiKeyError::Database(_)) => return Err(e),
    }
    Ok(typed)
}

fn csrf_refused(realm: &RealmRuntime) -> HttpResponse {
    views::error_page(
        StatusCode::FORBIDDEN,
        realm_title(realm),
        "Invalid or missing CSRF token. Please reload your account page and try again.",
    )
}

async fn posted(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    payload: web::Payload,
) -> Result<(Viewer, FormParams), HttpResponse> {
    let viewer = viewer(state, req, realm_name, false).await?;
    let Some(form) = read_form(req, payload).await else {
        return Err(views::error_page(
            StatusCode::BAD_REQUEST,
            realm_title(&viewer.realm),
            "Invalid request.",
        ));
    };
    if !sign_in_client(&viewer.realm).csrf_ok(state, &viewer.realm, &viewer.session.id, &form) {
        return Err(csrf_refused(&viewer.realm));
    }
    Ok((viewer, form))
}

/// `POST /realms/{realm}/account/api-keys`: Generate New.
async fn generate(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let (viewer, form) = match posted(&state, &req, &path, payload).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let now = state.now();
    let request = match parse_generate_form(typed_form(&form), now) {
        Ok(r) => r,
        Err(typed) => return render_keys(&state, &viewer, StatusCode::BAD_REQUEST, None, None, &typed).await,
    };
    let master = state.master_key.clone();
    let (realm_id, user_id) = (viewer.realm.realm.id.clone(), viewer.user.id.clone());
    let created = state
        .db
        .transaction(move |conn| keys::create(conn, &master, &realm_id, &user_id, &user_id, request, now))
        .await;
    match created {
        Ok((key, secret)) => match hold_secret(&state, &viewer, &key.id, secret, "created").await {
            Ok(location) => see_other(&location),
            Err(e) => internal_error(&viewer.realm, e),
        },
        Err(e) => match refused_form(typed_form(&form), e) {
            Ok(typed) => render_keys(&state, &viewer, StatusCode::BAD_REQUEST, None, None, &typed).await,
            Err(e) => internal_error(&viewer.realm, e),
        },
    }
}

/// What a confirmation page says about an action on a key.
struct ActionText {
    title: &'static str,
    explanation: String,
    button: &'static str,
    danger: bool,
}

fn action_text(action: &str, realm: &RealmRuntime) -> Option<ActionText> {
    match action {
        "rotate" => Some(ActionText {
            title: "Rotate API key",
            explanation: format!(
                "Give this key a new secret? The current secret keeps working for {} so you can deploy \
                 the new one, then it stops.",
                rotation_grace(realm)
            ),
            button: "Rotate key",
            danger: false,
        }),
        "regenerate" => Some(ActionText {
            title: "Regenerate API key",
            explanation: "Give this key a new secret? The current secret stops working at once.".into(),
            button: "Regenerate key",
            danger: true,
        }),
        "delete" => Some(ActionText {
            title: "Delete API key",
            explanation: "Delete this key? Its secret stops working at once, and tokens minted from it stop too. \
                          This cannot be undone."
                .into(),
            button: "Delete key",
            danger: true,
        }),
        _ => None,
    }
}

fn no_such_key(realm: &RealmRuntime) -> HttpResponse {
    views::error_page(StatusCode::NOT_FOUND, realm_title(realm), "No such API key.")
}

/// `GET /realms/{realm}/account/api-keys/{id}/{action}`: "Are you sure?" (works without JavaScript).
async fn confirm_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (realm_name, id, action) = path.into_inner();
    let viewer = match viewer(&state, &req, &realm_name, true).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let Some(text) = action_text(&action, &viewer.realm) else {
        return no_such_key(&viewer.realm);
    };
    let (realm_id, user_id) = (viewer.realm.realm.id.clone(), viewer.user.id.clone());
    let key = match state
        .db
        .run(move |conn| keys::get(conn, &realm_id, &user_id, &id))
        .await
    {
        Ok(k) => k,
        Err(ApiKeyError::NotFound) => return no_such_key(&viewer.realm),
        Err(e) => return internal_error(&viewer.realm, e),
    };
    let key_row = row(&key, state.now());
    let base = base_path(&viewer.realm);
    let logout = logout_url(&viewer.realm);
    let csrf = csrf_token(&state, &viewer);
    views::account_page(
        StatusCode::OK,
        &ConfirmKeyActionPage {
            frame: frame(&viewer, &base, &logout, "api-keys"),
            csrf_token: &csrf,
            key: &key_row,
            action: &action,
            title: text.title,
            explanation: &text.explanation,
            button: text.button,
            danger: text.danger,
        },
    )
}

/// `POST /realms/{realm}/account/api-keys/{id}/{action}`: the confirmed action, on a key of the
/// signed-in person only (another person's key id is "no such key").
async fn key_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    payload: web::Payload,
) -> HttpResponse {
    let (realm_name, id, action) = path.into_inner();
    let (viewer, _form) = match posted(&state, &req, &realm_name, payload).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let (realm_id, user_id) = (viewer.realm.realm.id.clone(), viewer.user.id.clone());
    let base = base_path(&viewer.realm);
    match action.as_str() {
        "delete" => {
            match state
                .db
                .transaction(move |conn| keys::delete(conn, &realm_id, &user_id, &id))
                .await
            {
                Ok(()) => {
                    crate::http::admin::invalidate(&state, &realm_name).await;
                    see_other(&format!("{base}/api-keys?notice=deleted"))
                }
                Err(ApiKeyError::NotFound) => no_such_key(&viewer.realm),
                Err(e) => internal_error(&viewer.realm, e),
            }
        }
        "rotate" | "regenerate" => {
            let master = state.master_key.clone();
            let grace = keys::rotation_grace_seconds(&viewer.realm.realm);
            let now = state.now();
            let rotate = action == "rotate";
            let replaced = state
                .db
                .transaction(move |conn| {
                    if rotate {
                        keys::rotate(conn, &master, &realm_id, &user_id, &id, &user_id, now, grace)
                    } else {
                        keys::regenerate(conn, &master, &realm_id, &user_id, &id, &user_id, now)
                    }
                })
                .await;
            let done = if rotate { "rotated" } else { "regenerated" };
            if replaced.is_ok() {
                crate::http::admin::invalidate(&state, &realm_name).await;
            }
            match replaced {
                Ok((key, secret)) => match hold_secret(&state, &viewer, &key.id, secret, done).await {
                    Ok(location) => see_other(&location),
                    Err(e) => internal_error(&viewer.realm, e),
                },
                Err(ApiKeyError::NotFound) => no_such_key(&viewer.realm),
                Err(ApiKeyError::NotUsable) => views::error_page(
                    StatusCode::CONFLICT,
                    realm_title(&viewer.realm),
                    "This key is revoked or expired: it cannot get a new secret. Generate a new key instead.",
                ),
                Err(e) => internal_error(&viewer.realm, e),
            }
        }
        _ => no_such_key(&viewer.realm),
    }
}
