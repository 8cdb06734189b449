//! The OpenID Provider metadata of a realm, with Keycloak's field names. Lists only what is
//! implemented; later features add their endpoints here.

use serde_json::{json, Value};

pub fn provider_metadata(issuer: &str) -> Value {
    let oidc = format!("{issuer}/protocol/openid-connect");
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{oidc}/token"),
        "jwks_uri": format!("{oidc}/certs"),
        "grant_types_supported": ["client_credentials", "password", "refresh_token"],
        "response_types_supported": [],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": [],
        "scopes_supported": ["openid", "profile", "email", "roles", "web-origins", "offline_access"],
        "claims_supported": [
            "aud", "sub", "iss", "exp", "iat", "jti", "typ", "azp", "scope", "name", "given_name",
            "family_name", "preferred_username", "email", "email_verified", "realm_access",
            "resource_access", "client_id"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "tls_client_certificate_bound_access_tokens": false,
    })
}
