//! Client authentication at the token endpoint: `client_secret_basic`, `client_secret_post`,
//! `client_secret_jwt` or `private_key_jwt` (exactly one of them, and the one the client is
//! configured for), or a public client naming itself.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use oxide_auth::primitives::registrar::Registrar;

use super::client_assertion::{self, AssertionFailure, CLIENT_ASSERTION_TYPE};
use super::params::FormParams;
use super::registrar::ClientRegistrar;
use super::OAuthError;
use crate::domain::names::{parse_client_id, MAX_NAME_LEN};
use crate::domain::ClientAuthenticator;
use crate::service::realm_cache::{ClientRuntime, RealmRuntime};
use crate::state::AppState;

/// Credentials from an `Authorization: Basic` header (RFC 6749 §2.3.1: form-urlencoded parts).
pub struct BasicCredentials {
    pub client_id: String,
    pub secret: String,
}

pub fn parse_basic(header: Option<&str>) -> Result<Option<BasicCredentials>, OAuthError> {
    let Some(value) = header else { return Ok(None) };
    let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")) else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_client("Malformed Basic credentials", true);
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some(BasicCredentials {
        client_id: decode(id),
        secret: decode(secret),
    }))
}

/// The client a refused request named (not proven): Basic credentials, else `client_id`.
pub fn claimed_client_id(params: &FormParams, authorization: Option<&str>) -> Option<String> {
    let named = match parse_basic(authorization) {
        Ok(Some(basic)) => Some(basic.client_id),
        _ => params.get("client_id").map(str::to_owned),
    };
    named.map(|id| id.chars().take(255).collect())
}

/// Whether the request carries client credentials of any kind (Basic, secret or assertion).
pub fn has_client_credentials(params: &FormParams, authorization: Option<&str>) -> Result<bool, OAuthError> {
    Ok(parse_basic(authorization)?.is_some()
        || ["client_secret", "client_assertion", "client_assertion_type"]
            .iter()
            .any(|name| params.get(name).is_some()))
}

/// Authenticates the calling client; returns it with what issuance needs.
pub async fn authenticate_client(
    state: &AppState,
    realm: &RealmRuntime,
    params: &FormParams,
    authorization: Option<&str>,
) -> Result<Arc<ClientRuntime>, OAuthError> {
    let basic = parse_basic(authorization)?;
    let used_basic = basic.is_some();
    let assertion_type = params.get("client_assertion_type");
    let assertion = params.get("client_assertion");
    if assertion_type.is_some() || assertion.is_some() {
        if used_basic || params.get("client_secret").is_some() {
            return Err(OAuthError::invalid_request("Multiple client authentication methods"));
        }
        let assertion_type =
            assertion_type.ok_or_else(|| OAuthError::invalid_request("Missing parameter: client_assertion_type"))?;
        if assertion_type != CLIENT_ASSERTION_TYPE {
            return Err(OAuthError::invalid_client("Unsupported client_assertion_type", false));
        }
        let assertion = assertion.ok_or_else(|| OAuthError::invalid_request("Missing parameter: client_assertion"))?;
        return client_assertion::authenticate(state, realm, assertion, params.get("client_id"))
            .await
            .map_err(AssertionFailure::into_client_error);
    }
    let (client_id, secret) = match (&basic, params.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request("Multiple client authentication methods"));
        }
        (Some(b), None) => {
            if params.get("client_id").is_some_and(|id| id != b.client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client",
                ));
            }
            (b.client_id.clone(), Some(b.secret.clone()))
        }
        (None, secret) => {
            let id = params
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client("Missing parameter: client_id", false))?;
            (id.to_owned(), secret.map(str::to_owned))
        }
    };
    let invalid = || OAuthError::invalid_client("Invalid client or Invalid client credentials", used_basic);
    // An id no client can have (empty, too long, control characters such as NUL, which PostgreSQL
    // refuses in text) is refused before it reaches the database.
    if client_id.is_empty() || client_id.len() > MAX_NAME_LEN || parse_client_id(&client_id).is_err() {
        return Err(invalid());
    }
    let client = state
        .realms
        .client(realm, &client_id)
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, "client lookup failed");
            OAuthError::ServerError
        })?
        .ok_or_else(invalid)?;
    if !client.client.enabled {
        return Err(invalid());
    }
    if client.client.bearer_only {
        return Err(OAuthError::UnauthorizedClient(
            "Bearer-only clients are not allowed to obtain tokens".into(),
        ));
    }
    let registrar = ClientRegistrar {
        client: &client,
        master: &state.master_key,
    };
    if client.client.is_confidential() && secret.is_none() {
        return Err(invalid());
    }
    // As in Keycloak, a client configured for a signed JWT cannot authenticate with its secret.
    if client.client.is_confidential() && client.client.authenticator != ClientAuthenticator::ClientSecret {
        return Err(invalid());
    }
    registrar
        .check(&client_id, secret.as_deref().map(str::as_bytes))
        .map_err(|_| invalid())?;
    Ok(client)
}
