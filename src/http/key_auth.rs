//! API keys presented as credentials (issue 4): `Authorization-PSK: <secret>` (seed 001),
//! `Authorization: Bearer <secret>` (seeds 002, 003) and HTTP Basic `<id>:<secret>` (seed 004),
//! accepted by the admin, account and API-key APIs beside access tokens.

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::client_address::client_ip;
use std::sync::Arc;

use crate::service::api_keys::{self, KeyCheck, KeyGrant, Presented};
use crate::service::events::{self, Event};
use crate::service::realm_cache::{CachedKeyGrant, RealmRuntime};
use crate::state::AppState;

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

/// A key that was granted: the name of its realm, and what it may act as.
pub struct GrantedKey {
    pub realm_name: String,
    pub grant: Arc<KeyGrant>,
}

/// The realm and grant of a presented key; `None` for any refused key (unknown, wrong id, another
/// realm than `realm`, revoked, expired, from an address outside its allowlist, of an environment
/// the realm refuses, owner disabled): callers answer all of them alike. Every use and every
/// refusal that can be pinned on a realm is recorded as an event (off the request path).
pub async fn key_grant(
    state: &AppState,
    req: &HttpRequest,
    presented: PresentedKey,
    realm: Option<&RealmRuntime>,
) -> Result<Option<GrantedKey>, api_keys::ApiKeyError> {
    let (secret, id) = match presented {
        PresentedKey::Secret(secret) => (secret, None),
        PresentedKey::IdAndSecret(id, secret) => (secret, Some(id)),
    };
    check_key(state, req, &secret, id.as_deref(), realm, "header").await
}

/// Checks a key id/secret pair or a bare secret and records the outcome (see `key_grant`).
/// `presented_as` says how the request carried it (event detail `auth_method`).
///
/// When the endpoint names the realm, a key granted before is judged from the realm's cache
/// (ADR 014): no database read, so key for token costs about what client_credentials does.
pub async fn check_key(
    state: &AppState,
    req: &HttpRequest,
    secret: &str,
    key_id: Option<&str>,
    realm: Option<&RealmRuntime>,
    presented_as: &'static str,
) -> Result<Option<GrantedKey>, api_keys::ApiKeyError> {
    if secret.len() > 512 || key_id.is_some_and(|id| id.len() > 512) {
        return Ok(None);
    }
    let now = state.now();
    let address = client_ip(req, state);
    let secret_hash = state.master_key.keyed_hash(secret.as_bytes());
    let presented = Presented {
        secret_hash: &secret_hash,
        key_id,
        realm_id: realm.map(|r| r.realm.id.as_str()),
        address,
    };
    let cached = realm.and_then(|r| Some((r, r.cached_key(&secret_hash)?)));
    let outcome = match cached {
        Some((runtime, hit)) => {
            match api_keys::judge(&hit.grant.key, hit.matched, &presented, Some(&runtime.realm), now) {
                Ok(()) => Ok(GrantedKey {
                    realm_name: runtime.realm.name.clone(),
                    grant: hit.grant.clone(),
                }),
                Err(refusal) => Err(api_keys::Refused::of_key(refusal, &hit.grant.key)),
            }
        }
        None => {
            let generation = state.realms.generation();
            let (hash, id, realm_id) = (
                secret_hash.clone(),
                key_id.map(str::to_owned),
                presented.realm_id.map(str::to_owned),
            );
            let check = state
                .db
                .run(move |conn| {
                    let presented = Presented {
                        secret_hash: &hash,
                        key_id: id.as_deref(),
                        realm_id: realm_id.as_deref(),
                        address,
                    };
                    api_keys::check_presented(conn, presented, now)
                })
                .await?;
            match check {
                KeyCheck::Granted {
                    realm: key_realm,
                    grant,
                    matched,
                } => {
                    let grant: Arc<KeyGrant> = Arc::from(grant);
                    if let Some(runtime) = realm {
                        let entry = CachedKeyGrant {
                            grant: grant.clone(),
                            matched,
                        };
                        state
                            .realms
                            .remember_key(runtime, secret_hash.clone(), entry, generation);
                    }
                    Ok(GrantedKey {
                        realm_name: key_realm.name,
                        grant,
                    })
                }
                KeyCheck::Refused(refused) => Err(refused),
            }
        }
    };
    let record = |realm_id: String, event_type: &'static str| {
        let mut event = Event::new(realm_id, event_type, state.clock.now_millis());
        event.ip_address = address.map(|ip| ip.to_string());
        event.details.insert("auth_method".into(), presented_as.into());
        event
            .details
            .insert("request".into(), format!("{} {}", req.method(), req.path()));
        event
    };
    match outcome {
        Ok(granted) => {
            let grant = &granted.grant;
            let mut event = record(grant.key.realm_id.clone(), events::API_KEY_USED);
            event.user_id = Some(grant.owner.id.clone());
            event
                .details
                .insert(events::DETAIL_API_KEY_ID.into(), grant.key.id.clone());
            state.events.record(event);
            Ok(Some(granted))
        }
        Err(api_keys::Refused { refusal, realm_id, key }) => {
            if let Some(realm_id) = realm_id {
                let mut event = record(realm_id, events::API_KEY_REFUSED);
                event.error = Some(refusal.as_str().to_owned());
                if let Some((key_id, owner_id)) = key {
                    event.user_id = Some(owner_id);
                    event.details.insert(events::DETAIL_API_KEY_ID.into(), key_id);
                }
                state.events.record(event);
            }
            tracing::info!(refusal = refusal.as_str(), "API key refused");
            Ok(None)
        }
    }
}
