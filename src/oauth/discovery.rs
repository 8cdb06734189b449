//! The OpenID Provider metadata of a realm, with Keycloak's field names. Lists only what is
//! implemented (front- and back-channel logout to clients are not: they say `false`).

use serde_json::{json, Value};

/// Client authentication at the token, introspection and revocation endpoints (one code path).
const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
];
/// `client_secret_jwt` signs with HS256; `private_key_jwt` with RS256 or ES256 (ADR 011).
const AUTH_SIGNING_ALGS: [&str; 3] = ["HS256", "RS256", "ES256"];

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
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": AUTH_SIGNING_ALGS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": AUTH_SIGNING_ALGS,
        "userinfo_signing_alg_values_supported": [],
        "frontchannel_logout_supported": false,
        "frontchannel_logout_session_supported": false,
        "backchannel_logout_supported": false,
        "backchannel_logout_session_supported": false,
        "grant_types_supported": [
            "authorization_code", "client_credentials", "password", "refresh_token",
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": AUTH_SIGNING_ALGS,
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
