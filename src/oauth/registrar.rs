//! oxide-auth's `Registrar` seam implemented over nexus's clients: client authentication, redirect
//! URI binding (exact match, or Keycloak's registered trailing `*`) and scope negotiation. See docs/adr/001-oxide-auth-seams.md for why
//! nexus drives its own token endpoint around these seams instead of oxide-auth's fixed flows.

use std::borrow::Cow;

use oxide_auth::endpoint::{PreGrant, Scope};
use oxide_auth::primitives::registrar::{BoundClient, ClientUrl, ExactUrl, RegisteredUrl, Registrar, RegistrarError};

use crate::crypto::secrets::MasterKey;
use crate::domain::scopes;
use crate::service::realm_cache::ClientRuntime;

/// One client of a realm, already loaded from the realm cache.
pub struct ClientRegistrar<'a> {
    pub client: &'a ClientRuntime,
    pub master: &'a MasterKey,
}

impl Registrar for ClientRegistrar<'_> {
    fn bound_redirect<'b>(&self, bound: ClientUrl<'b>) -> Result<BoundClient<'b>, RegistrarError> {
        if bound.client_id != self.client.client.client_id {
            return Err(RegistrarError::Unspecified);
        }
        let registered = &self.client.client.redirect_uris;
        // The same rule as the authorization endpoint: exact, or under a registered trailing `*`
        // (relative registrations are not resolved here: nexus's own endpoint resolves them).
        let chosen = match &bound.redirect_uri {
            Some(wanted) if super::authorize::redirect_uri_matches(wanted.as_str(), registered, None) => {
                wanted.as_str().to_owned()
            }
            Some(_) => return Err(RegistrarError::Unspecified),
            // Without a redirect_uri, only an unambiguous, exact registration can be used.
            None if registered.len() == 1 && !registered[0].ends_with('*') => registered[0].clone(),
            None => return Err(RegistrarError::Unspecified),
        };
        let exact: ExactUrl = chosen.parse().map_err(|_| RegistrarError::Unspecified)?;
        Ok(BoundClient {
            client_id: bound.client_id,
            redirect_uri: Cow::Owned(RegisteredUrl::Exact(exact)),
        })
    }

    fn negotiate(&self, bound: BoundClient, scope: Option<Scope>) -> Result<PreGrant, RegistrarError> {
        let requested = scope.map(|s| s.to_string());
        let granted =
            scopes::negotiate(requested.as_deref(), &self.client.scopes).map_err(|_| RegistrarError::Unspecified)?;
        let scope: Scope = if granted.scope_param.is_empty() {
            "openid".parse().map_err(|_| RegistrarError::Unspecified)?
        } else {
            granted.scope_param.parse().map_err(|_| RegistrarError::Unspecified)?
        };
        Ok(PreGrant {
            client_id: bound.client_id.into_owned(),
            redirect_uri: bound.redirect_uri.into_owned(),
            scope,
        })
    }

    /// Confidential clients must present their secret; it is compared as a keyed hash in constant time.
    fn check(&self, client_id: &str, passphrase: Option<&[u8]>) -> Result<(), RegistrarError> {
        let client = &self.client.client;
        if client_id != client.client_id {
            return Err(RegistrarError::Unspecified);
        }
        if !client.is_confidential() {
            return Ok(());
        }
        match (passphrase, client.secret_hash.as_deref()) {
            (Some(presented), Some(stored)) if self.master.verify_keyed_hash(presented, stored) => Ok(()),
            _ => Err(RegistrarError::Unspecified),
        }
    }
}
