//! Logout: OpenID Connect RP-Initiated Logout 1.0 for browsers, and Keycloak's back-channel logout
//! with a refresh token (what Keycloak's adapters and python-keycloak's `logout()` send).
//!
//! Browser logout follows Keycloak's rules: a valid `id_token_hint` (signature checked against the
//! realm's keys, expiry not: an app logs out with whatever ID token it has) names the client and
//! the session, and the browser is logged out at once; without one, or when the browser's session
//! is not the hinted one, the user confirms on a page first, so that a link cannot log anyone out.
//! `post_logout_redirect_uri` must be registered by the client in `post.logout.redirect.uris`
//! (`##`-separated; `+` = its redirect URIs; a trailing `*` only where registered); anything else is
//! an error page, never a redirect.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::introspection::{claim_str, verified_claims};
use super::OAuthError;
use crate::domain::Client;
use crate::service::realm_cache::{ClientRuntime, RealmRuntime};
use crate::service::sessions::{self, SsoSession};
use crate::state::AppState;

/// Client attribute listing the URIs a client may be sent back to after logout (Keycloak's name).
pub const POST_LOGOUT_REDIRECT_URIS: &str = "post.logout.redirect.uris";
/// How long a confirmation page stays usable.
const CONFIRMATION_LIFESPAN: Duration = Duration::from_secs(10 * 60);

/// The parameters of a browser logout request (query or form).
#[derive(Default, Debug)]
pub struct LogoutParams<'a> {
    pub id_token_hint: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
    /// Keycloak's pre-18 parameter, refused as Keycloak refuses it.
    pub redirect_uri: Option<&'a str>,
}

/// A checked logout: what to end and where to go afterwards (carried by the confirmation form).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PendingLogout {
    /// The sessions to end: the one the ID token names and the browser's own.
    pub sessions: Vec<String>,
    /// The registered `post_logout_redirect_uri`, `state` appended.
    pub redirect: Option<String>,
    /// The app that asked, for the `LOGOUT` event.
    #[serde(default)]
    pub client_id: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum BrowserLogout {
    /// Refused: an error page (400) with this message; never a redirect.
    Refused(&'static str),
    /// The user must confirm first.
    Confirm(PendingLogout),
    /// Log out now.
    Proceed(PendingLogout),
}

fn server_error(e: impl std::fmt::Debug) -> OAuthError {
    tracing::error!(error = ?e, "logout failed");
    OAuthError::ServerError
}

/// The URIs `client` registered for after logout (`+` expanded to its redirect URIs).
pub fn registered_post_logout_uris(client: &Client) -> Vec<String> {
    let entries: Vec<String> = match client.attributes.get(POST_LOGOUT_REDIRECT_URIS) {
        Some(Value::String(s)) => s.split("##").map(str::to_owned).collect(),
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let mut uris = Vec::new();
    for entry in entries
        .into_iter()
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
    {
        if entry == "+" {
            uris.extend(client.redirect_uris.iter().cloned());
        } else {
            uris.push(entry);
        }
    }
    uris
}

/// Exact match, or Keycloak's wildcard: a registered URI ending in `*` (without a query) matches
/// any URI starting with what precedes the `*`, its query ignored.
pub fn uri_matches(registered: &[String], candidate: &str) -> bool {
    registered.iter().any(|r| {
        if let Some(prefix) = r.strip_suffix('*').filter(|_| !r.contains('?')) {
            let path = candidate.split_once('?').map_or(candidate, |(p, _)| p);
            path.starts_with(prefix) || (prefix.len() > 1 && prefix.strip_suffix('/') == Some(path))
        } else {
            r == candidate
        }
    })
}

/// `uri` with `state` added to its query.
fn with_state(uri: &str, state: Option<&str>) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    if let Some(state) = state {
        url.query_pairs_mut().append_pair("state", state);
    }
    Some(url.into())
}

/// The verified claims of an ID token issued by `realm` (expired ones included).
fn verified_id_token(realm: &RealmRuntime, token: &str) -> Option<serde_json::Map<String, Value>> {
    verified_claims(realm, token).filter(|claims| claim_str(claims, "typ") == Some("ID"))
}

async fn find_client(
    state: &AppState,
    realm: &RealmRuntime,
    client_id: &str,
) -> Result<Option<std::sync::Arc<ClientRuntime>>, OAuthError> {
    state.realms.client(realm, client_id).await.map_err(server_error)
}

/// Decides a browser logout request; `browser` is the session the request's cookie proves.
pub async fn browser_logout(
    state: &AppState,
    realm: &RealmRuntime,
    params: &LogoutParams<'_>,
    browser: Option<&SsoSession>,
) -> Result<BrowserLogout, OAuthError> {
    use BrowserLogout::Refused;
    if params.redirect_uri.is_some() {
        return Ok(Refused("Invalid parameter: redirect_uri"));
    }
    if params.post_logout_redirect_uri.is_some() && params.id_token_hint.is_none() && params.client_id.is_none() {
        return Ok(Refused("Missing parameter: id_token_hint"));
    }
    let mut needs_confirmation = true;
    let mut client = match params.client_id {
        Some(id) => find_client(state, realm, id).await?,
        None => None,
    };
    let id_token = match params.id_token_hint {
        Some(hint) => match verified_id_token(realm, hint) {
            Some(claims) => Some(claims),
            None => return Ok(Refused("Invalid parameter: id_token_hint")),
        },
        None => None,
    };
    let token_client = id_token.as_ref().and_then(|t| claim_str(t, "azp"));
    match (params.client_id, token_client) {
        (None, Some(azp)) => {
            client = find_client(state, realm, azp).await?;
            needs_confirmation = client.is_none();
        }
        (Some(named), Some(azp)) if named != azp => return Ok(Refused("Invalid parameter: id_token_hint")),
        (Some(_), Some(_)) => needs_confirmation = client.is_none(),
        _ => {}
    }
    let client = client.filter(|c| c.client.enabled);
    let redirect = match params.post_logout_redirect_uri {
        Some(uri) => {
            let registered = client
                .as_ref()
                .map(|c| registered_post_logout_uris(&c.client))
                .unwrap_or_default();
            if !uri_matches(&registered, uri) {
                return Ok(Refused("Invalid redirect uri"));
            }
            match with_state(uri, params.state) {
                Some(redirect) => Some(redirect),
                None => return Ok(Refused("Invalid redirect uri")),
            }
        }
        None => None,
    };
    let hinted_session = id_token.as_ref().and_then(|t| claim_str(t, "sid"));
    match browser {
        // The browser is in another session than the one the app logs out: ask the user.
        Some(session) if hinted_session.is_some_and(|sid| sid != session.id) => needs_confirmation = true,
        Some(_) => {}
        // Nothing to log out in this browser and nothing hinted: go straight back to the app.
        None if params.id_token_hint.is_none() && client.is_some() && redirect.is_some() => {
            needs_confirmation = false;
        }
        None => {}
    }
    let mut sessions: Vec<String> = hinted_session.map(str::to_owned).into_iter().collect();
    if let Some(session) = browser {
        if !sessions.contains(&session.id) {
            sessions.push(session.id.clone());
        }
    }
    let pending = PendingLogout {
        sessions,
        redirect,
        client_id: client.map(|c| c.client.client_id.clone()),
    };
    Ok(if needs_confirmation {
        BrowserLogout::Confirm(pending)
    } else {
        BrowserLogout::Proceed(pending)
    })
}

/// What a confirmation form carries: the checked logout, for which realm, until when.
#[derive(Serialize, Deserialize)]
struct Confirmation {
    realm: String,
    exp: i64,
    #[serde(flatten)]
    pending: PendingLogout,
}

fn confirmation_mac(state: &AppState, payload: &str) -> String {
    state
        .master_key
        .keyed_hash(format!("logout-confirm:{payload}").as_bytes())
}

/// The code a confirmation page's form carries (its CSRF token): the checked logout, signed with
/// a key derived from the master key, valid for ten minutes. It names the sessions the browser's
/// cookie proved when the page was shown, so a form posted from another site (CSRF) can only end
/// the sessions of whoever obtained the code; nothing is stored until the user confirms.
pub fn confirmation_code(state: &AppState, realm: &RealmRuntime, pending: &PendingLogout) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let confirmation = Confirmation {
        realm: realm.realm.id.clone(),
        exp: state.now() + CONFIRMATION_LIFESPAN.as_secs() as i64,
        pending: pending.clone(),
    };
    let json = serde_json::to_vec(&confirmation).expect("a confirmation serializes");
    let payload = URL_SAFE_NO_PAD.encode(json);
    let mac = confirmation_mac(state, &payload);
    format!("{payload}.{mac}")
}

/// The logout a confirmation code stands for, if the code is intact, of this realm and not expired.
pub fn confirmed(state: &AppState, realm: &RealmRuntime, code: &str) -> Option<PendingLogout> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    if code.len() > 8 * 1024 {
        return None;
    }
    let (payload, mac) = code.rsplit_once('.')?;
    if !state
        .master_key
        .verify_keyed_hash(format!("logout-confirm:{payload}").as_bytes(), mac)
    {
        return None;
    }
    let confirmation: Confirmation = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    (confirmation.realm == realm.realm.id && confirmation.exp > state.now()).then_some(confirmation.pending)
}

/// A session a logout ended, for its `LOGOUT` event.
#[derive(Debug)]
pub struct EndedSession {
    pub user_id: String,
    pub session_id: Option<String>,
}

/// Ends the sessions of a logout (their online refresh tokens are revoked with them); the live ones
/// it ended.
pub async fn end_sessions(
    state: &AppState,
    realm: &RealmRuntime,
    pending: &PendingLogout,
) -> Result<Vec<EndedSession>, OAuthError> {
    let mut ended = Vec::with_capacity(pending.sessions.len());
    for id in &pending.sessions {
        if let Some(session) = sessions::find(state, &realm.realm, id).await.map_err(server_error)? {
            ended.push(EndedSession {
                user_id: session.user_id,
                session_id: Some(session.id),
            });
        }
        sessions::end(state, &realm.realm, id).await.map_err(server_error)?;
    }
    Ok(ended)
}

/// Keycloak's back-channel logout: the client presents one of its refresh tokens; the token's
/// rotation family is revoked and its session ended (also when the token already expired or was
/// used, as Keycloak does: logging out twice is not an error). Anything that is not a refresh
/// token of this client and realm is `invalid_grant`.
pub async fn logout_with_refresh_token(
    state: &AppState,
    realm: &RealmRuntime,
    client: &ClientRuntime,
    refresh_token: &str,
) -> Result<EndedSession, OAuthError> {
    let invalid = || OAuthError::InvalidGrant("Invalid refresh token".into());
    let claims = verified_claims(realm, refresh_token).ok_or_else(invalid)?;
    if !matches!(claim_str(&claims, "typ"), Some("Refresh" | "Offline")) {
        return Err(invalid());
    }
    if claim_str(&claims, "azp") != Some(client.client.client_id.as_str()) {
        return Err(OAuthError::InvalidGrant(
            "Invalid refresh token. Token client and authorized client don't match".into(),
        ));
    }
    super::revocation::revoke_refresh_family(state, realm, client, refresh_token).await?;
    if let Some(sid) = claim_str(&claims, "sid") {
        sessions::end(state, &realm.realm, sid).await.map_err(server_error)?;
    }
    Ok(EndedSession {
        user_id: claim_str(&claims, "sub").unwrap_or_default().to_owned(),
        session_id: claim_str(&claims, "sid").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered(uris: &[&str]) -> Vec<String> {
        uris.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_unless_a_wildcard_is_registered() {
        let exact = registered(&["https://app.example/bye"]);
        assert!(uri_matches(&exact, "https://app.example/bye"));
        assert!(!uri_matches(&exact, "https://app.example/bye/"));
        assert!(!uri_matches(&exact, "https://app.example/bye?x=1"));
        assert!(!uri_matches(&exact, "https://app.example/byebye"));
        assert!(!uri_matches(&[], "https://app.example/bye"));

        let wild = registered(&["https://app.example/*"]);
        assert!(uri_matches(&wild, "https://app.example/"));
        assert!(uri_matches(&wild, "https://app.example"));
        assert!(uri_matches(&wild, "https://app.example/any/path?q=1"));
        assert!(!uri_matches(&wild, "https://app.example.evil/"));
        assert!(!uri_matches(&wild, "https://evil.example/https://app.example/"));
    }

    #[test]
    fn state_is_appended_to_the_query() {
        assert_eq!(
            with_state("https://app.example/bye?lang=en", Some("a b&c")).as_deref(),
            Some("https://app.example/bye?lang=en&state=a+b%26c")
        );
        assert_eq!(
            with_state("https://app.example/bye", None).as_deref(),
            Some("https://app.example/bye")
        );
    }
}
