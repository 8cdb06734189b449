//! Verifying nexus's own access tokens presented as `Authorization: Bearer`.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::crypto::jwt;
use crate::service::realm_cache::{RealmCache, RealmRuntime};

pub struct VerifiedAccessToken {
    pub realm: Arc<RealmRuntime>,
    pub claims: Map<String, Value>,
}

impl VerifiedAccessToken {
    pub fn subject(&self) -> Option<&str> {
        self.claims.get("sub").and_then(Value::as_str)
    }
}

/// Checks signature (the issuing realm's keys), issuer, type, expiry and the realm's not-before.
/// The realm is taken from `iss`, so a token is only ever valid in the realm that issued it.
pub async fn verify_access_token(cache: &RealmCache, token: &str, now: i64) -> Option<VerifiedAccessToken> {
    let unverified = jwt::peek_claims(token)?;
    let issuer = unverified.get("iss")?.as_str()?;
    let realm_name = issuer.strip_prefix(&format!("{}/realms/", cache.public_url()))?;
    let realm = cache.realm(realm_name).await.ok()??;
    if !realm.realm.enabled {
        return None;
    }
    let claims = jwt::verify(token, &realm.keys).ok()?;
    if claims.get("iss").and_then(Value::as_str) != Some(realm.issuer.as_str()) {
        return None;
    }
    if claims.get("typ").and_then(Value::as_str) != Some("Bearer") {
        return None;
    }
    let exp = claims.get("exp").and_then(Value::as_i64)?;
    let iat = claims.get("iat").and_then(Value::as_i64)?;
    if exp <= now || iat < realm.realm.not_before {
        return None;
    }
    Some(VerifiedAccessToken { realm, claims })
}

/// The token of an `Authorization: Bearer …` header value.
pub fn bearer_token(header: Option<&str>) -> Option<&str> {
    let value = header?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}
