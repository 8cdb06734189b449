//! Access and refresh tokens: Keycloak's claims, signed RS256 with the realm's active key.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::OAuthError;
use crate::crypto::jwt;
use crate::domain::roles::EffectiveRoles;
use crate::domain::scopes::GrantedScopes;
use crate::domain::{Client, User};
use crate::service::realm_cache::RealmRuntime;

/// What an access token is about.
pub struct TokenSubject<'a> {
    pub user: &'a User,
    pub roles: &'a EffectiveRoles,
    pub is_service_account: bool,
    /// "1" when the user entered a password for these tokens, "0" for single sign-on (Keycloak).
    pub acr: &'a str,
}

pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: i64,
    pub jti: String,
}

/// Signs an access token for `subject` as `client` with the granted scopes.
pub fn issue_access_token(
    realm: &RealmRuntime,
    client: &Client,
    subject: &TokenSubject<'_>,
    scopes: &GrantedScopes,
    session_id: Option<&str>,
    now: i64,
) -> Result<IssuedAccessToken, OAuthError> {
    let lifespan = client
        .access_token_lifespan
        .unwrap_or(realm.realm.access_token_lifespan);
    let jti = uuid::Uuid::new_v4().to_string();
    let mut claims = Map::with_capacity(24);
    claims.insert("exp".into(), json!(now + lifespan));
    claims.insert("iat".into(), json!(now));
    claims.insert("jti".into(), json!(jti));
    claims.insert("iss".into(), json!(realm.issuer));
    let audiences: Vec<&String> = subject
        .roles
        .clients
        .keys()
        .filter(|c| *c != &client.client_id)
        .collect();
    match audiences.as_slice() {
        [] => {}
        [one] => {
            claims.insert("aud".into(), json!(one));
        }
        many => {
            claims.insert("aud".into(), json!(many));
        }
    }
    claims.insert("sub".into(), json!(subject.user.id));
    claims.insert("typ".into(), json!("Bearer"));
    claims.insert("azp".into(), json!(client.client_id));
    if let Some(sid) = session_id {
        claims.insert("sid".into(), json!(sid));
        claims.insert("session_state".into(), json!(sid));
    }
    claims.insert("acr".into(), json!(subject.acr));
    if scopes.names.contains("web-origins") && !client.web_origins.is_empty() {
        claims.insert("allowed-origins".into(), json!(client.web_origins));
    }
    if scopes.names.contains("roles") {
        claims.insert("realm_access".into(), json!({ "roles": subject.roles.realm }));
        let resource: Map<String, Value> = subject
            .roles
            .clients
            .iter()
            .map(|(client_id, roles)| (client_id.clone(), json!({ "roles": roles })))
            .collect();
        claims.insert("resource_access".into(), Value::Object(resource));
    }
    claims.insert("scope".into(), json!(scopes.scope_param));
    add_profile_claims(&mut claims, subject.user, scopes);
    if subject.is_service_account {
        claims.insert("client_id".into(), json!(client.client_id));
    }
    let key = realm.signing_key().ok_or(OAuthError::ServerError)?;
    let signer = key.signer.as_ref().ok_or(OAuthError::ServerError)?;
    let token = jwt::sign(claims, signer, "JWT").map_err(|e| {
        tracing::error!(error = %e, "signing failed");
        OAuthError::ServerError
    })?;
    Ok(IssuedAccessToken {
        token,
        expires_in: lifespan,
        jti,
    })
}

/// Signs an access token minted from an API key (issue 4): the owner as `sub`, the key's
/// permissions as `scope`, the roles of the grant, `api_key_id` and `nx_env`; no client, no session.
pub fn issue_api_key_token(
    realm: &RealmRuntime,
    grant: &crate::service::api_keys::KeyGrant,
    lifespan: i64,
    now: i64,
) -> Result<IssuedAccessToken, OAuthError> {
    let jti = uuid::Uuid::new_v4().to_string();
    let scope_param = grant.key.permissions.join(" ");
    let scopes = GrantedScopes {
        names: grant.key.permissions.iter().cloned().collect(),
        scope_param,
    };
    let mut claims = Map::with_capacity(20);
    claims.insert("exp".into(), json!(now + lifespan));
    claims.insert("iat".into(), json!(now));
    claims.insert("jti".into(), json!(jti));
    claims.insert("iss".into(), json!(realm.issuer));
    claims.insert("sub".into(), json!(grant.owner.id));
    claims.insert("typ".into(), json!("Bearer"));
    claims.insert("realm_access".into(), json!({ "roles": grant.roles.realm }));
    if !grant.roles.clients.is_empty() {
        let resource: Map<String, Value> = grant
            .roles
            .clients
            .iter()
            .map(|(client_id, roles)| (client_id.clone(), json!({ "roles": roles })))
            .collect();
        claims.insert("resource_access".into(), Value::Object(resource));
    }
    claims.insert("scope".into(), json!(scopes.scope_param));
    claims.insert("api_key_id".into(), json!(grant.key.id));
    claims.insert("nx_env".into(), json!(grant.key.environment.as_str()));
    claims.insert("nx_key_kind".into(), json!(grant.key.kind.as_str()));
    add_profile_claims(&mut claims, &grant.owner, &scopes);
    let key = realm.signing_key().ok_or(OAuthError::ServerError)?;
    let signer = key.signer.as_ref().ok_or(OAuthError::ServerError)?;
    let token = jwt::sign(claims, signer, "JWT").map_err(|e| {
        tracing::error!(error = %e, "signing failed");
        OAuthError::ServerError
    })?;
    Ok(IssuedAccessToken {
        token,
        expires_in: lifespan,
        jti,
    })
}

/// The `profile` and `email` scope claims, as Keycloak's default mappers add them.
pub fn add_profile_claims(claims: &mut Map<String, Value>, user: &User, scopes: &GrantedScopes) {
    if scopes.names.contains("email") {
        claims.insert("email_verified".into(), json!(user.email_verified));
        if let Some(email) = &user.email {
            claims.insert("email".into(), json!(email));
        }
    }
    if scopes.names.contains("profile") {
        if let Some(name) = user.full_name() {
            claims.insert("name".into(), json!(name));
        }
        claims.insert("preferred_username".into(), json!(user.username));
        if let Some(v) = &user.first_name {
            claims.insert("given_name".into(), json!(v));
        }
        if let Some(v) = &user.last_name {
            claims.insert("family_name".into(), json!(v));
        }
    } else {
        // Keycloak always carries the username (basic scope); clients rely on it.
        claims.insert("preferred_username".into(), json!(user.username));
    }
}

/// What an ID token says about the authentication behind it.
pub struct IdTokenContext<'a> {
    pub session_id: Option<&'a str>,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    /// The access token issued beside it, for `at_hash`.
    pub access_token: &'a str,
    /// "1" when the user entered their password for this authorization, "0" for single sign-on.
    pub acr: &'a str,
}

/// Signs an OpenID Connect ID token (OIDC Core §2) with the claims of the granted scopes.
pub fn issue_id_token(
    realm: &RealmRuntime,
    client: &Client,
    user: &User,
    scopes: &GrantedScopes,
    context: &IdTokenContext<'_>,
    now: i64,
) -> Result<String, OAuthError> {
    let lifespan = client
        .access_token_lifespan
        .unwrap_or(realm.realm.access_token_lifespan);
    let mut claims = Map::with_capacity(20);
    claims.insert("exp".into(), json!(now + lifespan));
    claims.insert("iat".into(), json!(now));
    claims.insert("auth_time".into(), json!(context.auth_time));
    claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    claims.insert("iss".into(), json!(realm.issuer));
    claims.insert("aud".into(), json!(client.client_id));
    claims.insert("sub".into(), json!(user.id));
    claims.insert("typ".into(), json!("ID"));
    claims.insert("azp".into(), json!(client.client_id));
    if let Some(nonce) = context.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if let Some(sid) = context.session_id {
        claims.insert("sid".into(), json!(sid));
        claims.insert("session_state".into(), json!(sid));
    }
    claims.insert("at_hash".into(), json!(at_hash(context.access_token)));
    claims.insert("acr".into(), json!(context.acr));
    add_profile_claims(&mut claims, user, scopes);
    let key = realm.signing_key().ok_or(OAuthError::ServerError)?;
    let signer = key.signer.as_ref().ok_or(OAuthError::ServerError)?;
    jwt::sign(claims, signer, "JWT").map_err(|_| OAuthError::ServerError)
}

/// OIDC Core §3.1.3.6: the left half of the SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// What a refresh token says beyond its realm, client and user.
pub struct RefreshClaims<'a> {
    pub jti: &'a str,
    pub scope: &'a str,
    pub session_id: Option<&'a str>,
    pub issued_at: i64,
    pub expires_at: i64,
    /// Keycloak's `typ` says `Offline` for offline tokens.
    pub offline: bool,
}

/// Signs a refresh token (a JWT, as Keycloak's: adapters such as keycloak-js read its `exp`; only
/// nexus verifies it).
pub fn sign_refresh_token(
    realm: &RealmRuntime,
    client: &Client,
    user_id: &str,
    refresh: &RefreshClaims<'_>,
) -> Result<String, OAuthError> {
    let RefreshClaims {
        jti,
        scope,
        session_id,
        issued_at: now,
        expires_at,
        offline,
    } = *refresh;
    let mut claims = Map::new();
    claims.insert("exp".into(), json!(expires_at));
    claims.insert("iat".into(), json!(now));
    claims.insert("jti".into(), json!(jti));
    claims.insert("iss".into(), json!(realm.issuer));
    claims.insert("aud".into(), json!(realm.issuer));
    claims.insert("sub".into(), json!(user_id));
    claims.insert("typ".into(), json!(if offline { "Offline" } else { "Refresh" }));
    claims.insert("azp".into(), json!(client.client_id));
    if let Some(sid) = session_id {
        claims.insert("sid".into(), json!(sid));
    }
    claims.insert("scope".into(), json!(scope));
    // HS512 with the realm's internal key, as Keycloak: only nexus reads refresh tokens back.
    realm.internal_key.sign(claims, "JWT").map_err(|e| {
        tracing::error!(error = %e, "signing failed");
        OAuthError::ServerError
    })
}

/// Keycloak's token response.
#[derive(Serialize, Debug)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(rename = "not-before-policy")]
    pub not_before_policy: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_state: Option<String>,
    pub scope: String,
    /// Whom the tokens are for: the event of the request names them. Not part of the response.
    #[serde(skip)]
    pub user_id: String,
}
