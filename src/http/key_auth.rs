//! API keys presented as credentials (issue 4): `Authorization-PSK: <secret>` (seed 001),
//! `Authorization: Bearer <secret>` (seeds 002, 003) and HTTP Basic `<id>:<secret>` (seed 004),
//! accepted by the admin, account and API-key APIs beside access tokens.

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::crypto::secrets::constant_time_eq;
use crate::domain::Realm;
use crate::service::api_keys::{self, KeyGrant};
use crate::state::AppState;
use crate::store::db;

pub const PSK_HEADER: &str = "Authorization-PSK";

/// A key as the request presents it.
#[derive(Debug, PartialEq, Eq)]
pub enum PresentedKey {
    Secret(String),
    IdAndSecret(String, String),
}

/// The API key the request presents, if it presents one rather than an access token. A Bearer
/// value that looks like a JWT (three dot-separated parts) is an access token; key secrets have no dots.
pub fn presented_key(req: &HttpRequest) -> Option<PresentedKey> {
    if let Some(psk) = req.headers().get(PSK_HEADER).and_then(|v| v.to_str().ok()) {
        let psk = psk.trim();
        return (!psk.is_empty()).then(|| PresentedKey::Secret(psk.to_owned()));
    }
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!rest.is_empty() && !rest.contains('.')).then(|| PresentedKey::Secret(rest.to_owned()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = String::from_utf8(STANDARD.decode(rest).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        return Some(PresentedKey::IdAndSecret(id.to_owned(), secret.to_owned()));
    }
    None
}

/// The realm and grant of a presented key; `None` for any refused key (unknown, wrong id, revoked,
/// expired, owner disabled): callers answer all of them alike.
pub async fn key_grant(
    state: &AppState,
    presented: PresentedKey,
) -> Result<Option<(Realm, KeyGrant)>, api_keys::ApiKeyError> {
    let (secret, id) = match presented {
        PresentedKey::Secret(secret) => (secret, None),
        PresentedKey::IdAndSecret(id, secret) => (secret, Some(id)),
    };
    if secret.len() > 512 {
        return Ok(None);
    }
    let master = state.master_key.clone();
    let now = state.now();
    state
        .db
        .run(move |conn| -> Result<_, api_keys::ApiKeyError> {
            let Some(grant) = api_keys::grant_for_secret(conn, &master, &secret, now)? else {
                return Ok(None);
            };
            if let Some(id) = &id {
                if !constant_time_eq(id.as_bytes(), grant.key.id.as_bytes()) {
                    return Ok(None);
                }
            }
            let realm = db::realms::find(conn, &grant.key.realm_id)?;
            Ok(realm.filter(|r| r.enabled).map(|r| (r, grant)))
        })
        .await
}
