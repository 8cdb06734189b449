//! Service JWTs (RFC 7523): a client's own signed assertion, as `client_assertion`
//! (`client_secret_jwt` / `private_key_jwt`) or as the jwt-bearer grant's `assertion`. The rules
//! and why: docs/adr/011-service-jwts.md.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::OAuthError;
use crate::crypto::client_keys::ATTR_SIGNING_ALG;
use crate::domain::ClientAuthenticator;
use crate::service::realm_cache::{ClientRuntime, RealmRuntime};
use crate::state::AppState;

/// RFC 7523 §2.2: the only `client_assertion_type`.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// RFC 7523 §2.1: the grant.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// An assertion's `exp` may be at most this far ahead of nexus's clock (plus `CLOCK_SKEW`).
pub const MAX_LIFETIME: i64 = 3600;
/// Tolerance, in seconds, between the client's clock and nexus's, for `exp`, `nbf` and `iat`.
pub const CLOCK_SKEW: i64 = 60;
const MAX_JTI_LEN: usize = 256;
const GENERIC: &str = "Invalid client or Invalid client credentials";

/// Why an assertion was refused; the caller picks the error code (client authentication answers
/// `invalid_client`, the grant `invalid_grant`).
#[derive(Debug, PartialEq, Eq)]
pub enum AssertionFailure {
    Invalid(String),
    /// A bearer-only client: it may not obtain tokens at all.
    Unauthorized(String),
    Internal,
}

impl AssertionFailure {
    pub fn into_client_error(self) -> OAuthError {
        match self {
            Self::Invalid(d) => OAuthError::invalid_client(d, false),
            Self::Unauthorized(d) => OAuthError::UnauthorizedClient(d),
            Self::Internal => OAuthError::ServerError,
        }
    }

    pub fn into_grant_error(self) -> OAuthError {
        match self {
            Self::Invalid(d) => OAuthError::InvalidGrant(d),
            Self::Unauthorized(d) => OAuthError::UnauthorizedClient(d),
            Self::Internal => OAuthError::ServerError,
        }
    }
}

fn refuse(reason: &str) -> AssertionFailure {
    AssertionFailure::Invalid(reason.to_owned())
}

/// Verifies a client's assertion and consumes its `jti`; returns the client it authenticates.
/// `expected_client` is a `client_id` the request named otherwise (it must be the same).
pub async fn authenticate(
    state: &AppState,
    realm: &RealmRuntime,
    token: &str,
    expected_client: Option<&str>,
) -> Result<Arc<ClientRuntime>, AssertionFailure> {
    // Unverified, only to find the client whose key verifies it.
    let peeked = crate::crypto::jwt::peek_claims(token).ok_or_else(|| refuse("Malformed assertion"))?;
    let client_id = peeked
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| refuse("The assertion has no sub"))?;
    if expected_client.is_some_and(|expected| expected != client_id) {
        return Err(refuse("client_id does not match the assertion"));
    }
    let client = state
        .realms
        .client(realm, client_id)
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, "client lookup failed");
            AssertionFailure::Internal
        })?
        .ok_or_else(|| refuse(GENERIC))?;
    if !client.client.enabled || !client.client.is_confidential() {
        if client.client.bearer_only {
            return Err(AssertionFailure::Unauthorized(
                "Bearer-only clients are not allowed to obtain tokens".into(),
            ));
        }
        return Err(refuse(GENERIC));
    }
    let allowed = allowed_algorithms(&client);
    let claims = match client.assertion_keys.verify(token, &allowed) {
        Ok(claims) => claims,
        Err(e) => {
            // The reason may name the client's configuration: logged, not answered.
            tracing::info!(client_id = %client.client.client_id, reason = %e, "client assertion refused");
            return Err(refuse(GENERIC));
        }
    };
    let token_endpoint = format!("{}/protocol/openid-connect/token", realm.issuer);
    let now = state.now();
    let checked = check_claims(&claims, client_id, &[&token_endpoint, &realm.issuer], now).map_err(|reason| {
        tracing::info!(client_id = %client.client.client_id, reason, "client assertion refused");
        refuse(reason)
    })?;
    // Single use: the first to store the marker wins, on every node sharing the ephemeral store.
    // The marker lives as long as the assertion could still be accepted.
    let key = format!(
        "assertion-jti:{}:{}:{}",
        realm.realm.id,
        client.client.id,
        hex::encode(Sha256::digest(checked.jti.as_bytes()))
    );
    let ttl = Duration::from_secs((checked.exp + CLOCK_SKEW - now).max(1) as u64);
    match state.ephemeral.put_if_absent(&key, "1", ttl).await {
        Ok(true) => Ok(client),
        Ok(false) => {
            tracing::warn!(client_id = %client.client.client_id, "client assertion replayed");
            Err(refuse("Token reuse detected"))
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot record an assertion's jti");
            Err(AssertionFailure::Internal)
        }
    }
}

/// The client's configured JWT method decides the algorithms (never `none`), narrowed by
/// Keycloak's `token.endpoint.auth.signing.alg` when set.
fn allowed_algorithms(client: &ClientRuntime) -> Vec<Algorithm> {
    let by_method: &[Algorithm] = match client.client.authenticator {
        ClientAuthenticator::ClientSecretJwt => &[Algorithm::HS256],
        ClientAuthenticator::ClientJwt => &[Algorithm::RS256, Algorithm::ES256],
        ClientAuthenticator::ClientSecret | ClientAuthenticator::Unsupported => &[],
    };
    let pinned = client.client.attribute(ATTR_SIGNING_ALG);
    by_method
        .iter()
        .copied()
        .filter(|alg| {
            pinned
                .as_deref()
                .is_none_or(|p| p.parse::<Algorithm>().ok() == Some(*alg))
        })
        .collect()
}

/// What the replay check needs of valid claims.
#[derive(Debug, PartialEq, Eq)]
pub struct CheckedClaims {
    pub jti: String,
    pub exp: i64,
}

/// RFC 7523 §3 on verified claims: `iss` = `sub` = the client, `aud` names nexus (token endpoint
/// or issuer), `exp` present, not past and at most `MAX_LIFETIME` ahead, `nbf`/`iat` not in the
/// future, `jti` present. `CLOCK_SKEW` is allowed on each time.
pub fn check_claims(
    claims: &Map<String, Value>,
    client_id: &str,
    audiences: &[&str],
    now: i64,
) -> Result<CheckedClaims, &'static str> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err("The assertion's iss and sub must be the client_id");
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => audiences.contains(&aud.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| audiences.contains(&aud)),
        _ => false,
    };
    if !aud_ok {
        return Err("The assertion's aud must be the token endpoint or the realm issuer");
    }
    let time = |name: &str| -> Result<Option<i64>, &'static str> {
        match claims.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
                .map(Some)
                .ok_or("The assertion has a malformed time claim"),
            Some(_) => Err("The assertion has a malformed time claim"),
        }
    };
    let exp = time("exp")?.ok_or("The assertion has no exp")?;
    if exp + CLOCK_SKEW <= now {
        return Err("The assertion has expired");
    }
    if exp > now + MAX_LIFETIME + CLOCK_SKEW {
        return Err("The assertion's exp is more than one hour ahead");
    }
    if time("nbf")?.is_some_and(|nbf| nbf > now + CLOCK_SKEW) {
        return Err("The assertion is not valid yet");
    }
    if time("iat")?.is_some_and(|iat| iat > now + CLOCK_SKEW) {
        return Err("The assertion was issued in the future");
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or("The assertion needs a jti (at most 256 characters)")?;
    Ok(CheckedClaims {
        jti: jti.to_owned(),
        exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_000_000;
    const AUDS: &[&str] = &["https://n/realms/r/protocol/openid-connect/token", "https://n/realms/r"];

    fn claims(extra: Value) -> Map<String, Value> {
        let mut base = json!({ "iss": "svc", "sub": "svc", "aud": AUDS[0], "exp": NOW + 60, "jti": "j1" });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                if v.is_null() {
                    base.remove(k);
                } else {
                    base.insert(k.clone(), v.clone());
                }
            }
        }
        base.as_object().cloned().unwrap_or_default()
    }

    fn check(extra: Value) -> Result<CheckedClaims, &'static str> {
        check_claims(&claims(extra), "svc", AUDS, NOW)
    }

    #[test]
    fn valid_claims_pass() {
        assert_eq!(
            check(json!({})),
            Ok(CheckedClaims {
                jti: "j1".into(),
                exp: NOW + 60
            })
        );
        assert!(check(json!({ "aud": ["other", AUDS[1]] })).is_ok());
        assert!(check(json!({ "exp": NOW + 3600, "iat": NOW, "nbf": NOW })).is_ok());
        // Within the clock skew either way.
        assert!(check(json!({ "exp": NOW - 30, "iat": NOW + 30 })).is_ok());
    }

    #[test]
    fn each_rule_refuses() {
        for (extra, why) in [
            (json!({ "iss": "other" }), "iss"),
            (json!({ "sub": "other" }), "sub"),
            (json!({ "iss": null }), "no iss"),
            (json!({ "aud": "https://n/realms/other" }), "aud"),
            (json!({ "aud": ["x", "y"] }), "aud list"),
            (json!({ "aud": null }), "no aud"),
            (json!({ "exp": null }), "no exp"),
            (json!({ "exp": "soon" }), "exp string"),
            (json!({ "exp": NOW - CLOCK_SKEW }), "expired"),
            (json!({ "exp": NOW + MAX_LIFETIME + CLOCK_SKEW + 1 }), "too long"),
            (json!({ "nbf": NOW + 120 }), "nbf"),
            (json!({ "iat": NOW + 120 }), "iat"),
            (json!({ "jti": null }), "no jti"),
            (json!({ "jti": "" }), "empty jti"),
            (json!({ "jti": "x".repeat(300) }), "long jti"),
        ] {
            assert!(check(extra).is_err(), "{why} must be refused");
        }
    }
}
