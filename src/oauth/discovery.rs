//! The OpenID Provider metadata of a realm, with Keycloak's field names. Lists only what is
//! implemented (front- and back-channel logout to clients are not: they say `false`).

use serde_json::{json, Value};

pub fn provider_metadata(issuer: &str) -> Value {
    let oidc = format!("{issuer}/protocol/openid-connect");
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{oidc}/auth"),
        "token_endpoint": format!("{oidc}/token"),
        "jwks_uri": format!("{oidc}/certs"),
        "userinfo_endpoint": format!("{oidc}/userinfo"),
        "introspection_endpoint": format!("{oidc}/token/introspect"),
        "revocation_endpoint": format!("{oidc}/revoke"),
        "end_session_endpoint": format!("{oidc}/logout"),
        "check_session_iframe": format!("{oidc}/login-status-iframe.html"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "userinfo_signing_alg_values_supported": [],
        "frontchannel_logout_supported": false,
        "frontchannel_logout_session_supported": false,
        "backchannel_logout_supported": false,
        "backchannel_logout_session_supported": false,
        "grant_types_supported": ["authorization_code", "client_credentials", "password", "refresh_token"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": [],
        "scopes_supported": ["openid", "profile", "email", "roles", "web-origins", "offline_access"],
        "claims_supported": [
            "aud", "sub", "iss", "exp", "iat", "jti", "typ", "azp", "scope", "auth_time", "nonce", "sid",
            "at_hash", "acr", "session_state", "name", "given_name", "family_name", "preferred_username",
            "email", "email_verified", "realm_access", "resource_access", "client_id"
        ],
        "acr_values_supported": ["0", "1"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "authorization_response_iss_parameter_supported": true,
        "tls_client_certificate_bound_access_tokens": false,
    })
}
