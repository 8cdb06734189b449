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
    claims.insert("acr".into(), json!("1"));
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

/// What a refresh token says beyond its realm, client and user.
pub struct RefreshClaims<'a> {
    pub jti: &'a str,
    pub scope: &'a str,
    pub session_id: Option<&'a str>,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// Signs a refresh token (a JWT, as Keycloak's: adapters such as keycloak-js read its `exp`).
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
    } = *refresh;
    let mut claims = Map::new();
    claims.insert("exp".into(), json!(expires_at));
    claims.insert("iat".into(), json!(now));
    claims.insert("jti".into(), json!(jti));
    claims.insert("iss".into(), json!(realm.issuer));
    claims.insert("aud".into(), json!(realm.issuer));
    claims.insert("sub".into(), json!(user_id));
    claims.insert("typ".into(), json!("Refresh"));
    claims.insert("azp".into(), json!(client.client_id));
    if let Some(sid) = session_id {
        claims.insert("sid".into(), json!(sid));
    }
    claims.insert("scope".into(), json!(scope));
    let key = realm.signing_key().ok_or(OAuthError::ServerError)?;
    let signer = key.signer.as_ref().ok_or(OAuthError::ServerError)?;
    jwt::sign(claims, signer, "JWT").map_err(|_| OAuthError::ServerError)
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
}
