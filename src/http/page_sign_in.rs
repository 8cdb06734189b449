//! Signing a person in to one of nexus's own pages — the account page, the admin console — through
//! the realm's authorization endpoint, as Keycloak's built-in public clients `account` and
//! `security-admin-console` do (docs/adr/012-account-page.md, 015-admin-console.md).
//!
//! Nothing is stored for a sign-in in progress: its `state` is a random id also set in an HttpOnly
//! cookie, and the PKCE verifier is an HMAC of that id, so any node can finish it. The callback
//! takes the code (single use) and checks that it is this client's, for this redirect URI and
//! verifier, and of the SSO session the browser now holds. The pages themselves trust only that
//! session; they need no tokens. Their forms carry a CSRF token derived from that session.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::Sha256;

use super::pages::current_session;
use crate::crypto::secrets::{constant_time_eq, random_token_id};
use crate::oauth::code_grant::s256;
use crate::oauth::params::FormParams;
use crate::service::codes::{self, Redeemed};
use crate::service::realm_cache::RealmRuntime;
use crate::service::sessions::{self, SsoSession};
use crate::state::AppState;
use crate::store::ephemeral::EphemeralError;

/// How long a sign-in may take (as long as a login flow).
const LOGIN_LIFESPAN: i64 = 30 * 60;

/// One of nexus's pages that signs people in as a built-in public client of the realm.
pub struct SignInClient {
    /// The client's `clientId`.
    pub client_id: &'static str,
    /// The page's path (`/realms/{realm}/account`, `/admin/{realm}/console`); its callback is
    /// `{base}/callback`.
    pub base: String,
    /// Where the callback sends the browser once signed in.
    pub landing: String,
    /// The cookie that binds a sign-in in progress to its browser (path `{base}/`).
    pub cookie: &'static str,
    /// Names the page's derived keys (`{name} pkce`, `{name} csrf`, `{name} session`).
    pub name: &'static str,
    /// A page outside `/realms/{realm}/` never receives the SSO cookie (its path): the callback then
    /// sets this cookie (path `base`), naming the SSO session with a MAC, and the page reads it
    /// with `page_session`. `None` for pages that receive the SSO cookie.
    pub session_cookie: Option<&'static str>,
}

/// The query of the authorization response.
#[derive(Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// Why a callback did not sign the browser in.
#[derive(Debug)]
pub enum SignInFailure {
    /// A message for the error page.
    Refused(&'static str),
    Internal(anyhow::Error),
}

/// HMAC-SHA256 of `message` under the master key's derivation for `purpose`, in hex.
pub fn hmac_hex(state: &AppState, purpose: &str, message: &str) -> String {
    let key = state.master_key.derive_key(purpose);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose_secret()).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

impl SignInClient {
    pub fn redirect_uri(&self, state: &AppState) -> String {
        format!("{}{}/callback", state.public_url.trim_end_matches('/'), self.base)
    }

    fn pkce_verifier(&self, state: &AppState, realm: &RealmRuntime, login_id: &str) -> String {
        hmac_hex(
            state,
            &format!("{} pkce", self.name),
            &format!("{}:{login_id}", realm.realm.id),
        )
    }

    fn login_cookie(&self, state: &AppState, value: String, max_age: i64) -> Cookie<'static> {
        Cookie::build(self.cookie, value)
            .path(format!("{}/", self.base))
            .http_only(true)
            .secure(super::cookies::secure(&state.public_url))
            .same_site(SameSite::Lax)
            .max_age(time::Duration::seconds(max_age))
            .finish()
    }

    /// Removes the sign-in cookie (after a callback, whatever its outcome).
    pub fn clear_cookie(&self, state: &AppState) -> Cookie<'static> {
        self.login_cookie(state, String::new(), 0)
    }

    /// Sends the browser to the realm's authorization endpoint as this client.
    pub fn start(&self, state: &AppState, realm: &RealmRuntime) -> HttpResponse {
        let login_id = random_token_id();
        let challenge = s256(&self.pkce_verifier(state, realm, &login_id));
        let redirect_uri = self.redirect_uri(state);
        let query = serde_urlencoded::to_string([
            ("client_id", self.client_id),
            ("redirect_uri", redirect_uri.as_str()),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", login_id.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .unwrap_or_default();
        let mut response = HttpResponse::Found()
            .insert_header((
                "Location",
                format!("/realms/{}/protocol/openid-connect/auth?{query}", realm.realm.name),
            ))
            .insert_header(("Cache-Control", "no-store"))
            .finish();
        let _ = response.add_cookie(&self.login_cookie(state, login_id, LOGIN_LIFESPAN));
        response
    }

    /// Checks the authorization response: `Ok` when the browser is signed in to this page. The code
    /// is taken whatever the outcome (it cannot be used again).
    pub async fn finish(
        &self,
        state: &AppState,
        req: &HttpRequest,
        realm: &RealmRuntime,
        query: &CallbackQuery,
    ) -> Result<String, SignInFailure> {
        let login_id = req
            .cookie(self.cookie)
            .map(|c| c.value().to_owned())
            .unwrap_or_default();
        let state_ok = query
            .state
            .as_deref()
            .is_some_and(|s| !login_id.is_empty() && constant_time_eq(s.as_bytes(), login_id.as_bytes()));
        if !state_ok {
            return Err(SignInFailure::Refused(
                "Signing in did not complete in this browser. Please open the page again.",
            ));
        }
        if query.error.is_some() {
            return Err(SignInFailure::Refused("Signing in was cancelled."));
        }
        let Some(code) = query.code.as_deref() else {
            return Err(SignInFailure::Refused("Invalid request."));
        };
        let binding = match codes::redeem(state, code).await {
            Ok(Redeemed::Valid(binding)) => binding,
            Ok(_) => {
                return Err(SignInFailure::Refused(
                    "This sign-in link was already used or has expired. Please open the page again.",
                ))
            }
            Err(e) => return Err(SignInFailure::Internal(e.into())),
        };
        let client = match state.realms.client(realm, self.client_id).await {
            Ok(Some(c)) => c,
            Ok(None) => return Err(SignInFailure::Refused("Client not found.")),
            Err(e) => return Err(SignInFailure::Internal(e)),
        };
        let verifier = self.pkce_verifier(state, realm, &login_id);
        let pkce_ok = binding
            .code_challenge
            .as_deref()
            .is_some_and(|c| constant_time_eq(s256(&verifier).as_bytes(), c.as_bytes()));
        if binding.realm_id != realm.realm.id
            || binding.client_id != client.client.id
            || binding.redirect_uri != self.redirect_uri(state)
            || !pkce_ok
        {
            return Err(SignInFailure::Refused("Invalid sign-in. Please open the page again."));
        }
        let ended = SignInFailure::Refused("Your session has ended. Please open the page again.");
        if self.session_cookie.is_some() {
            // The SSO cookie does not reach this path; the code, taken once and bound to this
            // browser's sign-in cookie and PKCE verifier, names the session instead.
            return match sessions::find(state, &realm.realm, &binding.session_id).await {
                Ok(Some(session)) if session.user_id == binding.user_id => Ok(session.id),
                Ok(_) => Err(ended),
                Err(e) => Err(SignInFailure::Internal(e.into())),
            };
        }
        match current_session(state, realm, req).await {
            Ok(Some((session, user))) if session.id == binding.session_id && user.id == binding.user_id => {
                Ok(session.id)
            }
            Ok(_) => Err(ended),
            Err(e) => Err(SignInFailure::Internal(e)),
        }
    }

    /// The callback's answer: a 303 to `landing` once signed in, else an error page; the sign-in
    /// cookie is removed either way.
    async fn complete(
        &self,
        state: &AppState,
        req: &HttpRequest,
        realm: &RealmRuntime,
        query: &CallbackQuery,
    ) -> HttpResponse {
        let title = super::pages::realm_title(realm);
        let mut resp = match self.finish(state, req, realm, query).await {
            Ok(session_id) => {
                let mut resp = super::views::see_other(&self.landing);
                if let Some(name) = self.session_cookie {
                    let value = format!("{session_id}.{}", self.session_mac(state, realm, &session_id));
                    let cookie = Cookie::build(name, value)
                        .path(self.base.clone())
                        .http_only(true)
                        .secure(super::cookies::secure(&state.public_url))
                        .same_site(SameSite::Lax)
                        .finish();
                    let _ = resp.add_cookie(&cookie);
                }
                resp
            }
            Err(SignInFailure::Refused(message)) => super::views::error_page(StatusCode::BAD_REQUEST, title, message),
            Err(SignInFailure::Internal(e)) => {
                super::views::internal_error_page(title, "signing in to a page failed", e)
            }
        };
        let _ = resp.add_cookie(&self.clear_cookie(state));
        resp
    }

    fn session_mac(&self, state: &AppState, realm: &RealmRuntime, session_id: &str) -> String {
        hmac_hex(
            state,
            &format!("{} session", self.name),
            &format!("{}:{session_id}", realm.realm.id),
        )
    }

    /// The live SSO session named by the page's own session cookie (see `session_cookie`); `None`
    /// without one, and always for pages that read the SSO cookie itself (`pages::current_session`).
    pub async fn page_session(
        &self,
        state: &AppState,
        realm: &RealmRuntime,
        req: &HttpRequest,
    ) -> Result<Option<SsoSession>, EphemeralError> {
        let Some(cookie) = self.session_cookie.and_then(|name| req.cookie(name)) else {
            return Ok(None);
        };
        let Some((session_id, mac)) = cookie.value().split_once('.') else {
            return Ok(None);
        };
        if !constant_time_eq(mac.as_bytes(), self.session_mac(state, realm, session_id).as_bytes()) {
            return Ok(None);
        }
        sessions::find(state, &realm.realm, session_id).await
    }

    /// The CSRF token of the page's forms: bound to the SSO session (a new sign-in, a new token;
    /// another session's token is refused). Nothing is stored.
    pub fn csrf_token(&self, state: &AppState, realm: &RealmRuntime, session_id: &str) -> String {
        hmac_hex(
            state,
            &format!("{} csrf", self.name),
            &format!("{}:{session_id}", realm.realm.id),
        )
    }

    /// Whether a posted form carries the session's CSRF token (compared in constant time).
    pub fn csrf_ok(&self, state: &AppState, realm: &RealmRuntime, session_id: &str, form: &FormParams) -> bool {
        let expected = self.csrf_token(state, realm, session_id);
        form.get("csrf_token")
            .is_some_and(|given| constant_time_eq(given.as_bytes(), expected.as_bytes()))
    }
}

/// `GET {base}/callback` of a page: the end of signing in to it.
pub async fn callback(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    query: &CallbackQuery,
    client_of: fn(&RealmRuntime) -> SignInClient,
) -> HttpResponse {
    match super::pages::page_realm(state, realm_name).await {
        Ok(realm) => client_of(&realm).complete(state, req, &realm, query).await,
        Err(resp) => resp,
    }
}
