//! The token endpoint's grants: `client_credentials`, `password`, `refresh_token`, and RFC 7523's
//! jwt-bearer (a service's own assertion, acting as its service account: ADR 011).

use std::sync::Arc;

use super::client_assertion::{self, AssertionFailure, JWT_BEARER_GRANT};
use super::client_auth::{authenticate_client, claimed_client_id, has_client_credentials};
use super::params::FormParams;
use super::tokens::{
    issue_access_token, issue_id_token, sign_refresh_token, IdTokenContext, IssuedAccessToken, RefreshClaims,
    TokenResponse, TokenSubject,
};
use super::OAuthError;
use crate::domain::roles::EffectiveRoles;
use crate::domain::scopes::{self, GrantedScopes};
use crate::domain::User;
use crate::service::events::{self, Event};
use crate::service::login::{login_event, verify_password_login, LoginAttempt, LoginError};
use crate::service::realm_cache::{ClientRuntime, RealmRuntime};
use crate::service::roles::effective_roles_of;
use crate::service::sessions;
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
    ip: Option<std::net::IpAddr>,
) -> Result<(TokenResponse, &'static str), OAuthError> {
    let grant_type = params.require("grant_type")?;
    // Reject unknown grants before touching client credentials.
    let grant: &'static str = match grant_type {
        "client_credentials" => "client_credentials",
        "password" => "password",
        "refresh_token" => "refresh_token",
        "authorization_code" => "authorization_code",
        JWT_BEARER_GRANT => "jwt_bearer",
        other => {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "Unsupported grant_type: {}",
                truncate(other)
            )));
        }
    };
    let outcome = grant_tokens(state, realm, grant, params, authorization, ip).await;
    if let Some(event) = token_event(state, realm, grant, params, authorization, ip, &outcome) {
        state.events.record(event);
    }
    outcome.map(|(response, _)| (response, grant))
}

async fn grant_tokens(
    state: &AppState,
    realm: &RealmRuntime,
    grant: &'static str,
    params: &FormParams,
    authorization: Option<&str>,
    ip: Option<std::net::IpAddr>,
) -> Result<(TokenResponse, Arc<ClientRuntime>), OAuthError> {
    let client = if grant == "jwt_bearer" {
        jwt_bearer_client(state, realm, params, authorization).await?
    } else {
        authenticate_client(state, realm, params, authorization).await?
    };
    let response = match grant {
        "client_credentials" | "jwt_bearer" => client_credentials(state, realm, &client, params)?,
        "password" => password_grant(state, realm, &client, params, ip).await?,
        "authorization_code" => super::code_grant::exchange(state, realm, &client, params).await?,
        _ => refresh_token_grant(state, realm, &client, params).await?,
    };
    Ok((response, client))
}

/// Keycloak's event of a token request: `CLIENT_LOGIN`, `CODE_TO_TOKEN` or `REFRESH_TOKEN`, or
/// its `_ERROR`. The password grant leaves `LOGIN` events itself (they name the username); here
/// only its refusals before the password is looked at. Building the event costs a few small
/// allocations; storing it is the writer task's job, off this request's path.
fn token_event(
    state: &AppState,
    realm: &RealmRuntime,
    grant: &'static str,
    params: &FormParams,
    authorization: Option<&str>,
    ip: Option<std::net::IpAddr>,
    outcome: &Result<(TokenResponse, Arc<ClientRuntime>), OAuthError>,
) -> Option<Event> {
    let (success, failure) = match grant {
        "client_credentials" | "jwt_bearer" => (events::CLIENT_LOGIN, events::CLIENT_LOGIN_ERROR),
        "authorization_code" => (events::CODE_TO_TOKEN, events::CODE_TO_TOKEN_ERROR),
        "refresh_token" => (events::REFRESH_TOKEN, events::REFRESH_TOKEN_ERROR),
        _ => (events::LOGIN, events::LOGIN_ERROR),
    };
    let kept = match outcome {
        Ok(_) => success,
        Err(_) => failure,
    };
    if !realm.events.records(kept) {
        return None;
    }
    let now = state.clock.now_millis();
    let mut event = match outcome {
        Ok(_) if grant == "password" => return None,
        Ok((response, client)) => {
            let mut event = Event::new(&realm.realm.id, success, now);
            event.client_id = Some(client.client.client_id.clone());
            event.user_id = Some(response.user_id.clone());
            event.session_id = response.session_state.clone();
            event.details.insert("scope".into(), response.scope.clone());
            event
        }
        // Once the password grant has checked the password it has recorded LOGIN_ERROR itself;
        // these are the refusals that come before.
        Err(e)
            if grant == "password"
                && !matches!(
                    e,
                    OAuthError::InvalidClient { .. }
                        | OAuthError::InvalidRequest(_)
                        | OAuthError::UnauthorizedClient(_)
                        | OAuthError::InvalidScope(_)
                ) =>
        {
            return None
        }
        Err(e) => {
            let mut event = Event::new(&realm.realm.id, failure, now);
            event.client_id = claimed_client_id(params, authorization);
            event.error = Some(event_error(grant, e).to_owned());
            event
        }
    };
    event.ip_address = ip.map(|ip| ip.to_string());
    event
        .details
        .insert("grant_type".into(), grant_type_detail(grant).into());
    Some(event)
}

/// Keycloak's error names in events (`Errors.java`), where they differ from the protocol's.
fn event_error(grant: &str, e: &OAuthError) -> &'static str {
    match (grant, e) {
        (_, OAuthError::InvalidClient { .. }) => "invalid_client_credentials",
        (_, OAuthError::InvalidUserCredentials(_)) => "invalid_user_credentials",
        ("authorization_code", OAuthError::InvalidGrant(_)) => "invalid_code",
        ("refresh_token", OAuthError::InvalidGrant(_)) => "invalid_token",
        (_, OAuthError::UnauthorizedClient(_)) => "not_allowed",
        (_, e) => e.code(),
    }
}

fn grant_type_detail(grant: &'static str) -> &'static str {
    if grant == "jwt_bearer" {
        JWT_BEARER_GRANT
    } else {
        grant
    }
}

/// RFC 7523 §2.1 as nexus reads it: the assertion is the service's own (`iss` = `sub` = its
/// client_id), signed as its configured JWT method signs `client_assertion`, and it authenticates
/// the client. Client authentication sent alongside is optional but must be the same client.
async fn jwt_bearer_client(
    state: &AppState,
    realm: &RealmRuntime,
    params: &FormParams,
    authorization: Option<&str>,
) -> Result<Arc<ClientRuntime>, OAuthError> {
    let assertion = params.require("assertion")?;
    let authenticated = if has_client_credentials(params, authorization)? {
        Some(authenticate_client(state, realm, params, authorization).await?)
    } else {
        None
    };
    let expected = match &authenticated {
        Some(client) => Some(client.client.client_id.as_str()),
        None => params.get("client_id"),
    };
    client_assertion::authenticate(state, realm, assertion, expected)
        .await
        .map_err(AssertionFailure::into_grant_error)
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
    // Dual control (ADR 016): the flag travels with the cached client, so this costs no query.
    if client.client.pending_approval.is_some() {
        return Err(OAuthError::UnauthorizedClient(
            "Service account awaits approval by a second administrator".into(),
        ));
    }
    if !account.user.enabled {
        return Err(OAuthError::InvalidGrant("Service account disabled".into()));
    }
    let granted = negotiate_scope(client, params)?;
    let now = state.now();
    let subject = TokenSubject {
        user: &account.user,
        roles: &account.roles,
        is_service_account: true,
        acr: "1",
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
        user_id: account.user.id.clone(),
    })
}

/// RFC 6749 §4.3, for clients with `directAccessGrantsEnabled` only. Starts a session without a
/// browser, as Keycloak does, so that a logout with the refresh token ends its access tokens too.
async fn password_grant(
    state: &AppState,
    realm: &RealmRuntime,
    client: &Arc<ClientRuntime>,
    params: &FormParams,
    ip: Option<std::net::IpAddr>,
) -> Result<TokenResponse, OAuthError> {
    if !client.client.direct_access_grants_enabled {
        return Err(OAuthError::UnauthorizedClient(
            "Client not allowed for direct access grants".into(),
        ));
    }
    let username = params.require("username")?;
    let password_given = params.require("password")?;
    let granted = negotiate_scope(client, params)?;
    let attempt = LoginAttempt {
        username,
        password: password_given,
        ip,
    };
    let verified = verify_password_login(state, realm, &attempt).await;
    if let Err(e) = &verified {
        let mut event = login_event(state, realm, &client.client.client_id, &attempt, Err(e));
        event.details.insert("grant_type".into(), "password".into());
        state.events.record(event);
    }
    let user = match verified {
        Ok(user) => user,
        Err(LoginError::InvalidCredentials) => {
            return Err(OAuthError::InvalidUserCredentials("Invalid user credentials".into()))
        }
        Err(LoginError::Disabled) => return Err(OAuthError::InvalidGrant("Account disabled".into())),
        Err(LoginError::NotFullySetUp) => return Err(OAuthError::InvalidGrant("Account is not fully set up".into())),
        Err(LoginError::Internal) => return Err(OAuthError::ServerError),
    };
    let realm_id = realm.realm.id.clone();
    let user_id = user.id.clone();
    let roles = state
        .db
        .run(move |conn| effective_roles_of(conn, &realm_id, &user_id).map_err(DbError::from))
        .await
        .map_err(server_error)?;
    let mut session = sessions::create(state, &realm.realm, &user.id, false, ip)
        .await
        .map_err(server_error)?
        .session;
    sessions::touch_for_client(state, &realm.realm, &mut session, &client.client.client_id)
        .await
        .map_err(server_error)?;
    let mut event = login_event(
        state,
        realm,
        &client.client.client_id,
        &attempt,
        Ok((&user, &session.id)),
    );
    event.details.insert("grant_type".into(), "password".into());
    state.events.record(event);
    let grant = UserGrant {
        user: &user,
        roles: &roles,
        granted: &granted,
        session: Some(SessionRef {
            id: &session.id,
            auth_time: session.auth_time,
        }),
        nonce: None,
        acr: "1",
    };
    Ok(issue_new_family(state, realm, client, &grant).await?.response)
}

/// The session tokens are issued in.
#[derive(Clone, Copy)]
pub struct SessionRef<'a> {
    pub id: &'a str,
    pub auth_time: i64,
}

/// Everything user tokens are issued from.
pub struct UserGrant<'a> {
    pub user: &'a User,
    pub roles: &'a EffectiveRoles,
    pub granted: &'a GrantedScopes,
    pub session: Option<SessionRef<'a>>,
    pub nonce: Option<&'a str>,
    pub acr: &'a str,
}

/// A token response and what identifies its tokens, for revoking them later (code replay).
pub struct IssuedTokens {
    pub response: TokenResponse,
    pub family_id: String,
    pub access_jti: String,
    pub access_expires_at: i64,
}

/// Issues access, ID (with `openid`) and refresh tokens; the refresh token starts a new family.
pub async fn issue_new_family(
    state: &AppState,
    realm: &RealmRuntime,
    client: &ClientRuntime,
    grant: &UserGrant<'_>,
) -> Result<IssuedTokens, OAuthError> {
    let now = state.now();
    let session_id = grant.session.map(|s| s.id);
    let (refresh, row) = new_refresh_token(
        state,
        realm,
        client,
        &grant.user.id,
        grant.granted,
        session_id,
        None,
        now,
    )?;
    let family_id = row.family_id.clone();
    state
        .db
        .run(move |conn| db::refresh::insert(conn, &row).map_err(DbError::from))
        .await
        .map_err(server_error)?;
    let (response, access) = token_response(realm, client, grant, refresh, now)?;
    Ok(IssuedTokens {
        response,
        family_id,
        access_jti: access.jti,
        access_expires_at: now + access.expires_in,
    })
}

/// Signs a refresh token of `family` (a new family when `None`) and the row that tracks it.
/// With `offline_access` granted it is an offline token: not bound to the session's end.
#[allow(clippy::too_many_arguments)]
fn new_refresh_token(
    state: &AppState,
    realm: &RealmRuntime,
    client: &ClientRuntime,
    user_id: &str,
    granted: &GrantedScopes,
    session_id: Option<&str>,
    family: Option<String>,
    now: i64,
) -> Result<(String, RefreshTokenRow), OAuthError> {
    let lifespan = realm.realm.refresh_token_lifespan;
    let offline = granted.names.contains("offline_access");
    let jti = uuid::Uuid::new_v4().to_string();
    let refresh = sign_refresh_token(
        realm,
        &client.client,
        user_id,
        &RefreshClaims {
            jti: &jti,
            scope: &granted.scope_param,
            session_id,
            issued_at: now,
            expires_at: now + lifespan,
            offline,
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
        session_id: session_id.map(str::to_owned),
        issued_at: now,
        expires_at: now + lifespan,
        rotated: false,
        revoked: false,
        offline,
    };
    Ok((refresh, row))
}

/// Signs the access (and ID) token and assembles Keycloak's response around an already stored
/// refresh token.
fn token_response(
    realm: &RealmRuntime,
    client: &ClientRuntime,
    grant: &UserGrant<'_>,
    refresh: String,
    now: i64,
) -> Result<(TokenResponse, IssuedAccessToken), OAuthError> {
    let subject = TokenSubject {
        user: grant.user,
        roles: grant.roles,
        is_service_account: grant.user.service_account_client_id.is_some(),
        acr: grant.acr,
    };
    let session_id = grant.session.map(|s| s.id);
    let access = issue_access_token(realm, &client.client, &subject, grant.granted, session_id, now)?;
    let id_token = if grant.granted.scope_param.split(' ').any(|s| s == "openid") {
        let context = IdTokenContext {
            session_id,
            auth_time: grant.session.map(|s| s.auth_time).unwrap_or(now),
            nonce: grant.nonce,
            access_token: &access.token,
            acr: grant.acr,
        };
        Some(issue_id_token(
            realm,
            &client.client,
            grant.user,
            grant.granted,
            &context,
            now,
        )?)
    } else {
        None
    };
    let response = TokenResponse {
        access_token: access.token.clone(),
        expires_in: access.expires_in,
        refresh_expires_in: realm.realm.refresh_token_lifespan,
        refresh_token: Some(refresh),
        token_type: "Bearer",
        id_token,
        not_before_policy: realm.realm.not_before,
        session_state: session_id.map(str::to_owned),
        scope: grant.granted.scope_param.clone(),
        user_id: grant.user.id.clone(),
    };
    Ok((response, access))
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
    let claims = realm
        .internal_key
        .verify(&presented)
        .map_err(|_| OAuthError::InvalidGrant("Invalid refresh token".into()))?;
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
        row.session_id.as_deref(),
        Some(row.family_id.clone()),
        now,
    )?;
    let session_id = row.session_id.clone();
    let online = !row.offline;
    let issued_at = row.issued_at;
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
            // An online token keeps its session alive; one whose session the ephemeral store lost
            // (restart, flush) brings it back without a browser. Offline tokens carry no session.
            let session = match (&session_id, online) {
                (Some(id), true) => {
                    Some(continue_session(state, realm, &client.client.client_id, id, &user.id, issued_at).await?)
                }
                _ => None,
            };
            let grant = UserGrant {
                user: &user,
                roles: &roles,
                granted: &granted,
                session: session.as_ref().map(|s| SessionRef {
                    id: &s.id,
                    auth_time: s.auth_time,
                }),
                nonce: None,
                acr: "1",
            };
            Ok(token_response(realm, client, &grant, refresh, now)?.0)
        }
    }
}

async fn continue_session(
    state: &AppState,
    realm: &RealmRuntime,
    client_id: &str,
    id: &str,
    user_id: &str,
    issued_at: i64,
) -> Result<sessions::SsoSession, OAuthError> {
    match sessions::find(state, &realm.realm, id).await.map_err(server_error)? {
        Some(mut session) if session.user_id == user_id => {
            sessions::touch_for_client(state, &realm.realm, &mut session, client_id)
                .await
                .map_err(server_error)?;
            Ok(session)
        }
        Some(_) => Err(OAuthError::InvalidGrant("Session not active".into())),
        None => sessions::resume(state, &realm.realm, id, user_id, issued_at)
            .await
            .map_err(server_error),
    }
}
