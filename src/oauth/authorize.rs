//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636): validation in the
//! order that decides where an error goes. Until the client and its redirect URI are known to be
//! good, errors are shown to the person (never redirected); after that they go to the client.

use serde::{Deserialize, Serialize};

use super::code_grant::is_unreserved;
use super::params::FormParams;
use crate::domain::scopes;
use crate::service::realm_cache::ClientRuntime;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "query" => Some(Self::Query),
            "fragment" => Some(Self::Fragment),
            "form_post" => Some(Self::FormPost),
            _ => None,
        }
    }
}

/// Where and how the answer (a code or an error) goes back to the client.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ClientRedirect {
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
}

/// A validated authorization request, kept while the person logs in and consents.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AuthRequest {
    /// The public `clientId`.
    pub client_id: String,
    pub redirect: ClientRedirect,
    /// The negotiated `scope` string (what the tokens will carry).
    pub scope: String,
    /// Names of the client scopes granted by negotiation (consent is asked for these).
    pub scope_names: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
}

/// Why an authorization request failed, and so where the error goes.
#[derive(Debug, PartialEq)]
pub enum AuthorizeError {
    /// Shown on nexus's error page: the client or redirect URI cannot be trusted.
    Page(String),
    /// Sent to the client (RFC 6749 §4.1.2.1).
    Redirect(ClientRedirect, &'static str, String),
}

impl AuthorizeError {
    pub fn redirect(to: &ClientRedirect, error: &'static str, description: impl Into<String>) -> Self {
        Self::Redirect(to.clone(), error, description.into())
    }
}

/// Validates the request against the client (already looked up; `None` when unknown or disabled).
/// Relative registered redirect URIs are resolved against `public_url`.
pub fn validate(
    params: &FormParams,
    client: Option<&ClientRuntime>,
    public_url: &str,
) -> Result<AuthRequest, AuthorizeError> {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| AuthorizeError::Page("Invalid parameter: client_id".into()))?;
    let client = client
        .filter(|c| c.client.client_id == client_id)
        .ok_or_else(|| AuthorizeError::Page("Client not found.".into()))?;
    if !client.client.enabled {
        return Err(AuthorizeError::Page("Client disabled.".into()));
    }
    let redirect_uri = params
        .get("redirect_uri")
        .filter(|uri| redirect_uri_matches(uri, &client.client.redirect_uris, Some(public_url)))
        .ok_or_else(|| AuthorizeError::Page("Invalid parameter: redirect_uri".into()))?;
    let state = params.get("state").map(str::to_owned);
    // With a bad response_mode the error itself goes back the default way.
    let mut redirect = ClientRedirect {
        redirect_uri: redirect_uri.to_owned(),
        response_mode: ResponseMode::Query,
        state,
    };
    if let Some(mode) = params.get("response_mode") {
        redirect.response_mode = ResponseMode::parse(mode).ok_or_else(|| {
            AuthorizeError::redirect(&redirect, "invalid_request", "Invalid parameter: response_mode")
        })?;
    }
    let fail = |error: &'static str, description: &str| AuthorizeError::redirect(&redirect, error, description);
    if params.get("request").is_some() {
        return Err(fail("request_not_supported", "Request objects are not supported"));
    }
    if params.get("request_uri").is_some() {
        return Err(fail("request_uri_not_supported", "Request URIs are not supported"));
    }
    match params.get("response_type") {
        None => return Err(fail("invalid_request", "Missing parameter: response_type")),
        Some("code") => {}
        Some(_) => return Err(fail("unsupported_response_type", "Unsupported response_type")),
    }
    if !client.client.standard_flow_enabled {
        return Err(fail(
            "unauthorized_client",
            "Client is not allowed to initiate browser login with given response_type. Standard flow is disabled for the client.",
        ));
    }
    let granted = scopes::negotiate(params.get("scope"), &client.scopes)
        .map_err(|e| fail("invalid_scope", &format!("Invalid scopes: {}", e.0)))?;
    let (prompt_none, prompt_login, prompt_consent) =
        parse_prompt(params.get("prompt")).map_err(|d| fail("invalid_request", d))?;
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| fail("invalid_request", "Invalid parameter: max_age"))?,
        ),
    };
    let code_challenge = match (params.get("code_challenge"), params.get("code_challenge_method")) {
        (None, Some(_)) => return Err(fail("invalid_request", "Missing parameter: code_challenge")),
        (None, None) if !client.client.is_confidential() => {
            return Err(fail("invalid_request", "Missing parameter: code_challenge_method"))
        }
        (None, None) => None,
        (Some(_), None) | (Some(_), Some("plain")) => {
            return Err(fail(
                "invalid_request",
                "Invalid parameter: code_challenge_method: only S256 is supported",
            ))
        }
        (Some(challenge), Some("S256")) => {
            // BASE64URL of a SHA-256: 43 unreserved characters.
            if challenge.len() != 43 || !challenge.bytes().all(is_unreserved) {
                return Err(fail("invalid_request", "Invalid parameter: code_challenge"));
            }
            Some(challenge.to_owned())
        }
        (Some(_), Some(_)) => return Err(fail("invalid_request", "Invalid parameter: code_challenge_method")),
    };
    Ok(AuthRequest {
        client_id: client_id.to_owned(),
        redirect,
        scope: granted.scope_param,
        scope_names: granted.names.into_iter().collect(),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
        prompt_none,
        prompt_login,
        prompt_consent,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
    })
}

/// `prompt`: a space-separated set; `none` must stand alone. `select_account` is treated as
/// `login` (nexus has one account per browser session).
fn parse_prompt(value: Option<&str>) -> Result<(bool, bool, bool), &'static str> {
    let (mut none, mut login, mut consent) = (false, false, false);
    for p in value.unwrap_or("").split(' ').filter(|p| !p.is_empty()) {
        match p {
            "none" => none = true,
            "login" | "select_account" => login = true,
            "consent" => consent = true,
            _ => return Err("Invalid parameter: prompt"),
        }
    }
    if none && (login || consent) {
        return Err("Invalid parameter: prompt (none cannot be combined)");
    }
    Ok((none, login, consent))
}

/// Exact match against the registered URIs; a registered URI ending in `*` (Keycloak's wildcard)
/// matches any URI it is a prefix of. A URI with a fragment never matches (RFC 6749 §3.1.2).
pub fn redirect_uri_matches(wanted: &str, registered: &[String], public_url: Option<&str>) -> bool {
    if wanted.contains('#') || url::Url::parse(wanted).is_err() {
        return false;
    }
    registered.iter().any(|r| {
        // Keycloak registers relative URIs (the `account` client's `/realms/{realm}/account/*`) and
        // resolves them against the server's own URL; without that URL they never match.
        let resolved = match (r.starts_with('/'), public_url) {
            (false, _) => std::borrow::Cow::Borrowed(r.as_str()),
            (true, Some(base)) => std::borrow::Cow::Owned(format!("{}{r}", base.trim_end_matches('/'))),
            (true, None) => return false,
        };
        match resolved.strip_suffix('*') {
            Some(prefix) => wanted.starts_with(prefix),
            None => resolved == wanted,
        }
    })
}

/// The parameters of the answer to the client, in `response_mode`'s place.
pub fn redirect_location(to: &ClientRedirect, params: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params.to_vec();
    if let Some(state) = &to.state {
        pairs.push(("state", state));
    }
    let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let separator = match to.response_mode {
        ResponseMode::Fragment => '#',
        _ if to.redirect_uri.contains('?') => '&',
        _ => '?',
    };
    format!("{}{}{}", to.redirect_uri, separator, encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_or_by_registered_wildcard() {
        let registered = vec!["https://app.example/cb".to_owned(), "https://spa.example/*".to_owned()];
        assert!(redirect_uri_matches("https://app.example/cb", &registered, None));
        assert!(!redirect_uri_matches("https://app.example/cb/", &registered, None));
        assert!(!redirect_uri_matches("https://app.example/cb?x=1", &registered, None));
        assert!(!redirect_uri_matches("https://app.example/cbx", &registered, None));
        assert!(redirect_uri_matches(
            "https://spa.example/any/path?x=1",
            &registered,
            None
        ));
        assert!(!redirect_uri_matches("https://spa.example.evil/x", &registered, None));
        assert!(!redirect_uri_matches("https://app.example/cb#frag", &registered, None));
    }

    #[test]
    fn relative_redirect_uris_resolve_against_the_public_url() {
        let registered = vec!["/realms/acme/account/*".to_owned()];
        let base = Some("https://id.example/");
        assert!(redirect_uri_matches(
            "https://id.example/realms/acme/account/callback",
            &registered,
            base
        ));
        assert!(!redirect_uri_matches(
            "https://evil.example/realms/acme/account/x",
            &registered,
            base
        ));
        assert!(!redirect_uri_matches(
            "https://id.example/realms/other/account/x",
            &registered,
            base
        ));
        assert!(!redirect_uri_matches(
            "https://id.example/realms/acme/account/x",
            &registered,
            None
        ));
    }

    #[test]
    fn prompt_none_stands_alone() {
        assert_eq!(parse_prompt(Some("none")), Ok((true, false, false)));
        assert_eq!(parse_prompt(Some("login consent")), Ok((false, true, true)));
        assert!(parse_prompt(Some("none login")).is_err());
        assert!(parse_prompt(Some("bogus")).is_err());
    }

    #[test]
    fn answers_go_in_the_response_modes_place() {
        let mut to = ClientRedirect {
            redirect_uri: "https://app.example/cb?a=1".into(),
            response_mode: ResponseMode::Query,
            state: Some("s t".into()),
        };
        assert_eq!(
            redirect_location(&to, &[("code", "c")]),
            "https://app.example/cb?a=1&code=c&state=s+t"
        );
        to.response_mode = ResponseMode::Fragment;
        to.redirect_uri = "https://app.example/cb".into();
        assert_eq!(
            redirect_location(&to, &[("code", "c")]),
            "https://app.example/cb#code=c&state=s+t"
        );
    }
}
