//! The token endpoint's grants: `client_credentials`, `password`, `refresh_token`.

use std::sync::Arc;

use super::client_auth::authenticate_client;
use super::params::FormParams;
use super::tokens::{issue_access_token, sign_refresh_token, RefreshClaims, TokenResponse, TokenSubject};
use super::OAuthError;
use crate::crypto::{jwt, password};
use crate::domain::roles::EffectiveRoles;
use crate::domain::scopes::{self, GrantedScopes};
use crate::domain::User;
use crate::service::realm_cache::{ClientRuntime, RealmRuntime};
use crate::service::roles::effective_roles_of;
use crate::state::AppState;
use crate::store::db::{self, refresh::RefreshTokenRow, DbError};

fn server_error(e: impl std::fmt::Debug) -> OAuthError {
    tracing::error!(error = ?e, "token endpoint failure");
    OAuthError::ServerError
}

/// Dispatches on `grant_type`; the realm has been resolved and the body parsed.
pub async fn token(
    state: &AppState,
    realm: &RealmRuntime,
    params: &FormParams,
    authorization: Option<&str>,
) -> Result<(TokenResponse, &'static str), OAuthError> {
    let grant_type = params.require("grant_type")?;
    // Reject unknown grants before touching client credentials.
    let grant: &'static str = match grant_type {
        "client_credentials" => "client_credentials",
        "password" => "password",
        "refresh_token" => "refresh_token",
        other => {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "Unsupported grant_type: {}",
                truncate(other)
            )));
        }
    };
    let client = authenticate_client(&state.realms, &state.master_key, realm, params, authorization).await?;
    let response = match grant {
        "client_credentials" => client_credentials(state, realm, &client, params)?,
        "password" => password_grant(state, realm, &client, params).await?,
        _ => refresh_token_grant(state, realm, &client, params).await?,
    };
    Ok((response, grant))
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

fn negotiate_scope(client: &ClientRuntime, params: &FormParams) -> Result<GrantedScopes, OAuthError> {
    scopes::negotiate(params.get("scope"), &client.scopes)
        .map_err(|e| OAuthError::InvalidScope(format!("Invalid scopes: {}", e.0)))
}

/// RFC 6749 §4.4: the client acts as its own service account. No database work on this path.
fn client_credentials(
    state: &AppState,
    realm: &RealmRuntime,
    client: &ClientRuntime,
    params: &FormParams,
) -> Result<TokenResponse, OAuthError> {
    if !client.client.is_confidential() {
        return Err(OAuthError::UnauthorizedClient(
            "Public client not allowed to retrieve service account".into(),
        ));
    }
    let account = client
        .service_account
        .as_ref()
        .filter(|_| client.client.service_accounts_enabled)
        .ok_or_else(|| OAuthError::UnauthorizedClient("Client not enabled to retrieve service account".into()))?;
    if !account.user.enabled {
        return Err(OAuthError::InvalidGrant("Service account disabled".into()));
    }
    let granted = negotiate_scope(client, params)?;
    let now = state.now();
    let subject = TokenSubject {
        user: &account.user,
        roles: &account.roles,
        is_service_account: true,
    };
    let access = issue_access_token(realm, &client.client, &subject, &granted, None, now)?;
    Ok(TokenResponse {
        access_token: access.token,
        expires_in: access.expires_in,
        refresh_expires_in: 0,
        refresh_token: None,
        token_type: "Bearer",
        id_token: None,
        not_before_policy: realm.realm.not_before,
        session_state: None,
        scope: granted.scope_param,
    })
}

/// RFC 6749 §4.3, for clients with `directAccessGrantsEnabled` only.
async fn password_grant(
    state: &AppState,
    realm: &RealmRuntime,
    client: &Arc<ClientRuntime>,
    params: &FormParams,
) -> Result<TokenResponse, OAuthError> {
    if !client.client.direct_access_grants_enabled {
        return Err(OAuthError::UnauthorizedClient(
            "Client not allowed for direct access grants".into(),
        ));
    }
    let username = params.require("username")?.to_owned();
    let password_given = params.require("password")?.to_owned();
    // A name no user can have (control characters such as NUL, which PostgreSQL refuses in text,
    // or over-long) is wrong credentials, without a database round trip.
    if crate::domain::names::parse_username(&username).is_err() {
        return Err(OAuthError::InvalidUserCredentials("Invalid user credentials".into()));
    }
    let granted = negotiate_scope(client, params)?;
    let realm_id = realm.realm.id.clone();
    let lookup = state
        .db
        .run(move |conn| -> Result<_, DbError> {
            let user = match db::users::find_by_username(conn, &realm_id, &username)? {
                Some(u) => Some(u),
                None if username.contains('@') => {
                    let mut found = db::users::find_by_email(conn, &realm_id, &username)?;
                    if found.len() == 1 {
                        found.pop()
                    } else {
                        None
                    }
                }
                None => None,
            };
            let credential = match &user {
                Some(u) => db::users::password_of(conn, &u.id)?,
                None => None,
            };
            // The hash runs even for an unknown user, so timing does not tell which part was wrong.
            let hash = credential.as_ref().map(|c| c.secret_data.clone());
            let valid = password::verify_password(&password_given, hash.as_deref().unwrap_or(password::dummy_hash()));
            let valid = valid && hash.is_some();
            let roles = match (&user, valid) {
                (Some(u), true) => Some(effective_roles_of(conn, &realm_id, &u.id)?),
                _ => None,
            };
            Ok((user, valid, credential.is_some_and(|c| c.temporary), roles))
        })
        .await
        .map_err(server_error)?;
    let (user, valid, temporary, roles) = lookup;
    let (Some(user), true, Some(roles)) = (user, valid, roles) else {
        return Err(OAuthError::InvalidUserCredentials("Invalid user credentials".into()));
    };
    if !user.enabled {
        return Err(OAuthError::InvalidGrant("Account disabled".into()));
    }
    if temporary {
        return Err(OAuthError::InvalidGrant("Account is not fully set up".into()));
    }
    issue_with_refresh(state, realm, client, &user, &roles, &granted).await
}

/// Issues an access token and a new refresh-token family.
async fn issue_with_refresh(
    state: &AppState,
    realm: &RealmRuntime,
    client: &ClientRuntime,
    user: &User,
    roles: &EffectiveRoles,
    granted: &GrantedScopes,
) -> Result<TokenResponse, OAuthError> {
    let now = state.now();
    let (refresh, row) = new_refresh_token(state, realm, client, &user.id, granted, None, now)?;
    state
        .db
        .run(move |conn| db::refresh::insert(conn, &row).map_err(DbError::from))
        .await
        .map_err(server_error)?;
    token_response(realm, client, user, roles, granted, refresh, now)
}

/// Signs a refresh token of `family` (a new family when `None`) and the row that tracks it.
fn new_refresh_token(
    state: &AppState,
    realm: &RealmRuntime,
    client: &ClientRuntime,
    user_id: &str,
    granted: &GrantedScopes,
    family: Option<String>,
    now: i64,
) -> Result<(String, RefreshTokenRow), OAuthError> {
    let lifespan = realm.realm.refresh_token_lifespan;
    let jti = uuid::Uuid::new_v4().to_string();
    let refresh = sign_refresh_token(
        realm,
        &client.client,
        user_id,
        &RefreshClaims {
            jti: &jti,
            scope: &granted.scope_param,
            session_id: None,
            issued_at: now,
            expires_at: now + lifespan,
        },
    )?;
    let row = RefreshTokenRow {
        id: jti,
        token_hash: state.master_key.keyed_hash(refresh.as_bytes()),
        family_id: family.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        realm_id: realm.realm.id.clone(),
        client_id: client.client.id.clone(),
        user_id: user_id.to_owned(),
        scope: granted.scope_param.clone(),
        session_id: None,
        issued_at: now,
        expires_at: now + lifespan,
        rotated: false,
        revoked: false,
    };
    Ok((refresh, row))
}

/// Signs the access token and assembles Keycloak's response around an already stored refresh token.
fn token_response(
    realm: &RealmRuntime,
    client: &ClientRuntime,
    user: &User,
    roles: &EffectiveRoles,
    granted: &GrantedScopes,
    refresh: String,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let subject = TokenSubject {
        user,
        roles,
        is_service_account: user.service_account_client_id.is_some(),
    };
    let access = issue_access_token(realm, &client.client, &subject, granted, None, now)?;
    Ok(TokenResponse {
        access_token: access.token,
        expires_in: access.expires_in,
        refresh_expires_in: realm.realm.refresh_token_lifespan,
        refresh_token: Some(refresh),
        token_type: "Bearer",
        id_token: None,
        not_before_policy: realm.realm.not_before,
        session_state: None,
        scope: granted.scope_param.clone(),
    })
}

enum RefreshOutcome {
    /// The user and their current roles (boxed: the other variants are small).
    Valid(Box<(User, EffectiveRoles)>),
    Reused,
    Invalid(&'static str),
}

/// RFC 6749 §6 with rotation: each refresh token works once; presenting a used one revokes its family.
///
/// The successor token is signed first, then claimed-and-stored in one transaction: a concurrent
/// replay either finds the presented token unclaimed (and wins instead), or waits on the claim's
/// row lock and revokes the family after the successor exists, so the successor dies with it.
async fn refresh_token_grant(
    state: &AppState,
    realm: &RealmRuntime,
    client: &Arc<ClientRuntime>,
    params: &FormParams,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.require("refresh_token")?.to_owned();
    // The signature check keeps garbage away from the database.
    let claims =
        jwt::verify(&presented, &realm.keys).map_err(|_| OAuthError::InvalidGrant("Invalid refresh token".into()))?;
    if claims.get("iss").and_then(|v| v.as_str()) != Some(realm.issuer.as_str()) {
        return Err(OAuthError::InvalidGrant("Invalid refresh token".into()));
    }
    let hash = state.master_key.keyed_hash(presented.as_bytes());
    let now = state.now();
    let row = state
        .db
        .run(move |conn| db::refresh::find_by_hash(conn, &hash).map_err(DbError::from))
        .await
        .map_err(server_error)?
        .ok_or_else(|| OAuthError::InvalidGrant("Invalid refresh token".into()))?;
    if row.realm_id != realm.realm.id || row.client_id != client.client.id {
        return Err(OAuthError::InvalidGrant(
            "Invalid refresh token. Token client and authorized client don't match".into(),
        ));
    }
    if row.revoked || row.expires_at <= now {
        return Err(OAuthError::InvalidGrant("Token is not active".into()));
    }
    // A refresh may narrow the scope, never widen it.
    let requested = params.get("scope").unwrap_or(&row.scope).to_owned();
    let original: std::collections::HashSet<&str> = row.scope.split(' ').collect();
    if requested.split(' ').any(|s| !s.is_empty() && !original.contains(s)) {
        return Err(OAuthError::InvalidScope(
            "Invalid scopes: scope exceeds the original grant".into(),
        ));
    }
    let granted = scopes::negotiate(Some(&requested), &client.scopes)
        .map_err(|e| OAuthError::InvalidScope(format!("Invalid scopes: {}", e.0)))?;
    let (refresh, successor) = new_refresh_token(
        state,
        realm,
        client,
        &row.user_id,
        &granted,
        Some(row.family_id.clone()),
        now,
    )?;
    let realm_id = realm.realm.id.clone();
    let outcome = state
        .db
        .transaction(move |conn| -> Result<RefreshOutcome, DbError> {
            if !db::refresh::claim_rotation(conn, &row.id)? {
                // A replay. The first update waits for any rotation of this family still holding
                // a row lock; the second also catches the token such a rotation just added.
                db::refresh::revoke_family(conn, &row.family_id)?;
                db::refresh::revoke_family(conn, &row.family_id)?;
                return Ok(RefreshOutcome::Reused);
            }
            let Some(user) = db::users::find(conn, &realm_id, &row.user_id)? else {
                return Ok(RefreshOutcome::Invalid("User not found"));
            };
            if !user.enabled {
                return Ok(RefreshOutcome::Invalid("User disabled"));
            }
            let roles = effective_roles_of(conn, &realm_id, &user.id)?;
            db::refresh::insert(conn, &successor)?;
            Ok(RefreshOutcome::Valid(Box::new((user, roles))))
        })
        .await
        .map_err(server_error)?;
    match outcome {
        RefreshOutcome::Invalid(msg) => Err(OAuthError::InvalidGrant(msg.into())),
        RefreshOutcome::Reused => Err(OAuthError::InvalidGrant(
            "Maximum allowed refresh token reuse exceeded".into(),
        )),
        RefreshOutcome::Valid(valid) => {
            let (user, roles) = *valid;
            token_response(realm, client, &user, &roles, &granted, refresh, now)
        }
    }
}
