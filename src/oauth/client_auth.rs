//! Client authentication at the token endpoint: `client_secret_basic` or `client_secret_post`
//! (exactly one of them), or a public client naming itself.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use oxide_auth::primitives::registrar::Registrar;

use super::params::FormParams;
use super::registrar::ClientRegistrar;
use super::OAuthError;
use crate::crypto::secrets::MasterKey;
use crate::domain::names::{parse_client_id, MAX_NAME_LEN};
use crate::service::realm_cache::{ClientRuntime, RealmCache, RealmRuntime};

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

/// Authenticates the calling client; returns it with what issuance needs.
pub async fn authenticate_client(
    cache: &RealmCache,
    master: &MasterKey,
    realm: &RealmRuntime,
    params: &FormParams,
    authorization: Option<&str>,
) -> Result<Arc<ClientRuntime>, OAuthError> {
    let basic = parse_basic(authorization)?;
    let used_basic = basic.is_some();
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
    let client = cache
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
        master,
    };
    if client.client.is_confidential() && secret.is_none() {
        return Err(invalid());
    }
    registrar
        .check(&client_id, secret.as_deref().map(str::as_bytes))
        .map_err(|_| invalid())?;
    Ok(client)
}
