//! CORS for the endpoints single-page apps call (Keycloak: token, userinfo, logout, revoke, certs).
//!
//! A response is readable by the origin of the request only when the client concerned registered
//! that origin in its `webOrigins`: the client the request names (token, revoke, logout) or the
//! client a presented access token was issued to (userinfo). `+` stands for the origins of the
//! client's redirect URIs. Such an origin is answered with itself and
//! `Access-Control-Allow-Credentials: true` (keycloak-js sends its token requests with
//! `credentials: "include"`); `*` lets any origin read, but then never with credentials. Other
//! origins get no CORS headers. Every response says `Vary: Origin`. The JWKS is public: `*`.
//!
//! A preflight cannot name its client (no body, no `Authorization`), so it is answered for an origin
//! some enabled client of the realm registered; the actual request is checked against its client.

use std::collections::HashSet;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, ORIGIN, VARY};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::{self, BytesMut};
use actix_web::{HttpMessage, HttpResponse};
use futures_util::StreamExt;

use crate::domain::Client;
use crate::oauth::client_auth::parse_basic;
use crate::oauth::params::FormParams;
use crate::service::realm_cache::RealmRuntime;
use crate::state::AppState;
use crate::store::db::{self, DbError};

const ALLOW_ORIGIN: &str = "access-control-allow-origin";
const ALLOW_CREDENTIALS: &str = "access-control-allow-credentials";
const ALLOW_METHODS: &str = "access-control-allow-methods";
const ALLOW_HEADERS: &str = "access-control-allow-headers";
const MAX_AGE: &str = "access-control-max-age";
const REQUEST_HEADERS_ALLOWED: &str = "Origin, Accept, X-Requested-With, Content-Type, Access-Control-Request-Method, \
                                       Access-Control-Request-Headers, Authorization, DPoP";
/// How long a browser may cache a preflight answer (Keycloak's value).
const PREFLIGHT_MAX_AGE: &str = "3600";
/// Preflights look the origin up among this many clients of the realm at most.
const PREFLIGHT_CLIENT_SCAN: i64 = 10_000;

/// What the origin of a request may do with the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsGrant {
    /// No CORS headers: the browser keeps the response from the page.
    Deny,
    /// `Access-Control-Allow-Origin: <origin>` with credentials.
    Origin(String),
    /// `Access-Control-Allow-Origin: *`, no credentials.
    AnyOrigin,
}

/// The `Origin` of a request, when it names one (`null` names none).
pub fn request_origin(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(ORIGIN)?.to_str().ok()?.trim();
    (!value.is_empty() && value != "null").then_some(value)
}

/// `scheme://host[:port]` of an absolute http(s) URL, as browsers write it in `Origin`.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    Some(parsed.origin().ascii_serialization())
}

/// The origins a client registered: `webOrigins` with `+` expanded to its redirect URIs' origins.
#[derive(Debug, Default)]
pub struct WebOrigins {
    origins: HashSet<String>,
    any: bool,
}

impl WebOrigins {
    pub fn of(client: &Client) -> Self {
        let mut allowed = Self::default();
        for entry in &client.web_origins {
            match entry.as_str() {
                "*" => allowed.any = true,
                "+" => allowed
                    .origins
                    .extend(client.redirect_uris.iter().filter_map(|uri| origin_of(uri))),
                origin => {
                    allowed.origins.insert(origin.trim_end_matches('/').to_owned());
                }
            }
        }
        allowed
    }

    /// Exactly this origin is registered (not merely `*`).
    pub fn contains(&self, origin: &str) -> bool {
        self.origins.contains(origin)
    }

    /// `*` is registered.
    pub fn any(&self) -> bool {
        self.any
    }

    pub fn grant(&self, origin: &str) -> CorsGrant {
        if self.contains(origin) {
            CorsGrant::Origin(origin.to_owned())
        } else if self.any {
            CorsGrant::AnyOrigin
        } else {
            CorsGrant::Deny
        }
    }
}

/// The grant for a request from `origin` about `client` (none known: no CORS).
pub fn grant_for(client: Option<&Client>, origin: Option<&str>) -> CorsGrant {
    match (client, origin) {
        (Some(client), Some(origin)) if client.enabled => WebOrigins::of(client).grant(origin),
        _ => CorsGrant::Deny,
    }
}

/// Adds the grant's headers, and `Vary: Origin` whatever the grant (caches must not mix answers).
pub fn apply(headers: &mut HeaderMap, grant: &CorsGrant) {
    headers.append(VARY, HeaderValue::from_static("Origin"));
    match grant {
        CorsGrant::Deny => {}
        CorsGrant::Origin(origin) => {
            if let Ok(value) = HeaderValue::from_str(origin) {
                headers.insert(HeaderName::from_static(ALLOW_ORIGIN), value);
                headers.insert(
                    HeaderName::from_static(ALLOW_CREDENTIALS),
                    HeaderValue::from_static("true"),
                );
            }
        }
        CorsGrant::AnyOrigin => {
            headers.insert(HeaderName::from_static(ALLOW_ORIGIN), HeaderValue::from_static("*"));
        }
    }
}

/// The answer to a preflight: the grant's headers plus what the actual request may use.
pub fn preflight_response(grant: &CorsGrant, methods: &'static str) -> HttpResponse {
    let mut response = HttpResponse::Ok().finish();
    let headers = response.headers_mut();
    apply(headers, grant);
    if *grant != CorsGrant::Deny {
        headers.insert(
            HeaderName::from_static(ALLOW_METHODS),
            HeaderValue::from_static(methods),
        );
        headers.insert(
            HeaderName::from_static(ALLOW_HEADERS),
            HeaderValue::from_static(REQUEST_HEADERS_ALLOWED),
        );
        headers.insert(
            HeaderName::from_static(MAX_AGE),
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
    }
    response
}

/// The grant for a preflight from `origin`: an origin some enabled client of the realm registered.
pub async fn preflight_grant(state: &AppState, realm: &RealmRuntime, origin: Option<&str>) -> CorsGrant {
    let Some(origin) = origin else {
        return CorsGrant::Deny;
    };
    let realm_id = realm.realm.id.clone();
    let clients = state
        .db
        .run(move |conn| db::clients::list(conn, &realm_id, 0, PREFLIGHT_CLIENT_SCAN).map_err(DbError::from))
        .await;
    let clients = match clients {
        Ok(clients) => clients,
        Err(e) => {
            tracing::error!(error = ?e, "client lookup for a CORS preflight failed");
            return CorsGrant::Deny;
        }
    };
    let mut any = false;
    for client in clients.iter().filter(|c| c.enabled) {
        let allowed = WebOrigins::of(client);
        if allowed.contains(origin) {
            return CorsGrant::Origin(origin.to_owned());
        }
        any |= allowed.any();
    }
    if any {
        // Some client lets any origin read, without credentials; the actual request decides.
        CorsGrant::AnyOrigin
    } else {
        CorsGrant::Deny
    }
}

/// The client a form request names: HTTP Basic's user, else the `client_id` parameter. Not
/// authenticated: CORS only decides who may read the answer, and the answer is the same either way.
pub async fn named_client(
    state: &AppState,
    realm: &RealmRuntime,
    params: Option<&FormParams>,
    authorization: Option<&str>,
) -> Option<Client> {
    let client_id = match parse_basic(authorization) {
        Ok(Some(basic)) => basic.client_id,
        _ => params?.get("client_id")?.to_owned(),
    };
    match state.realms.client(realm, &client_id).await {
        Ok(found) => found.map(|c| c.client.clone()),
        Err(e) => {
            tracing::error!(error = ?e, "client lookup for CORS failed");
            None
        }
    }
}

/// Middleware of the token endpoint (wrapping its resource in `protocol.rs`): answers preflights
/// and lets the origins of the client named in the form read the answer.
pub async fn token_endpoint<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let origin = request_origin(req.headers()).map(str::to_owned);
    // Server-to-server token requests carry no Origin: nothing to decide, no extra lookup.
    if origin.is_none() && req.method() != Method::OPTIONS {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let realm_name = req.match_info().get("realm").unwrap_or_default().to_owned();
    let realm = match state.realms.realm(&realm_name).await {
        Ok(Some(realm)) if realm.realm.enabled => Some(realm),
        _ => None,
    };
    if req.method() == Method::OPTIONS {
        let grant = match &realm {
            Some(realm) => preflight_grant(&state, realm, origin.as_deref()).await,
            None => CorsGrant::Deny,
        };
        return Ok(req.into_response(preflight_response(&grant, "POST, OPTIONS")));
    }
    let (Some(origin), Some(realm)) = (origin, realm) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    // The client is named in the body, which the handler reads too: read it here and hand it back.
    let body = read_for_peek(&mut req).await;
    req.set_payload(Payload::from(body.clone()));
    let params = FormParams::parse(&body).ok();
    let authorization = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let client = named_client(&state, &realm, params.as_ref(), authorization.as_deref()).await;
    let mut response = next.call(req).await?.map_into_boxed_body();
    apply(response.headers_mut(), &grant_for(client.as_ref(), Some(&origin)));
    Ok(response)
}

/// Middleware for public documents (JWKS): any origin may read, without credentials.
pub async fn any_origin<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let has_origin = request_origin(req.headers()).is_some();
    if req.method() == Method::OPTIONS {
        let grant = if has_origin {
            CorsGrant::AnyOrigin
        } else {
            CorsGrant::Deny
        };
        return Ok(req.into_response(preflight_response(&grant, "GET, OPTIONS")));
    }
    let mut response = next.call(req).await?.map_into_boxed_body();
    let grant = if has_origin {
        CorsGrant::AnyOrigin
    } else {
        CorsGrant::Deny
    };
    apply(response.headers_mut(), &grant);
    Ok(response)
}

/// Reads the request body, stopping just past the size any endpoint accepts (the handler then
/// refuses it as too large, as without this middleware).
async fn read_for_peek(req: &mut ServiceRequest) -> web::Bytes {
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else { break };
        body.extend_from_slice(&chunk);
        if body.len() > super::body::MAX_BODY {
            break;
        }
    }
    body.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(web_origins: &[&str], redirect_uris: &[&str]) -> Client {
        Client {
            id: "id".into(),
            realm_id: "r".into(),
            client_id: "spa".into(),
            name: None,
            description: None,
            enabled: true,
            public_client: true,
            bearer_only: false,
            secret_encrypted: None,
            secret_hash: None,
            service_accounts_enabled: false,
            direct_access_grants_enabled: false,
            standard_flow_enabled: true,
            implicit_flow_enabled: false,
            consent_required: false,
            full_scope_allowed: true,
            root_url: None,
            base_url: None,
            admin_url: None,
            redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
            web_origins: web_origins.iter().map(|s| s.to_string()).collect(),
            protocol: "openid-connect".into(),
            access_token_lifespan: None,
            attributes: Default::default(),
            created_at: 0,
            authenticator: crate::domain::ClientAuthenticator::ClientSecret,
            pending_approval: None,
        }
    }

    #[test]
    fn registered_origins_plus_and_star() {
        let c = client(&["https://app.example"], &[]);
        assert_eq!(
            grant_for(Some(&c), Some("https://app.example")),
            CorsGrant::Origin("https://app.example".into())
        );
        assert_eq!(grant_for(Some(&c), Some("https://evil.example")), CorsGrant::Deny);
        assert_eq!(grant_for(Some(&c), None), CorsGrant::Deny);

        let plus = client(
            &["+"],
            &["http://localhost:3000/*", "https://app.example:8443/cb", "myapp://cb"],
        );
        assert_eq!(
            grant_for(Some(&plus), Some("http://localhost:3000")),
            CorsGrant::Origin("http://localhost:3000".into())
        );
        assert_eq!(
            grant_for(Some(&plus), Some("https://app.example:8443")),
            CorsGrant::Origin("https://app.example:8443".into())
        );
        assert_eq!(grant_for(Some(&plus), Some("https://app.example")), CorsGrant::Deny);

        let star = client(&["*"], &[]);
        assert_eq!(
            grant_for(Some(&star), Some("https://any.example")),
            CorsGrant::AnyOrigin
        );

        let mut disabled = client(&["https://app.example"], &[]);
        disabled.enabled = false;
        assert_eq!(grant_for(Some(&disabled), Some("https://app.example")), CorsGrant::Deny);
    }

    #[test]
    fn credentials_only_with_an_exact_origin() {
        let mut headers = HeaderMap::new();
        apply(&mut headers, &CorsGrant::AnyOrigin);
        assert_eq!(headers.get(ALLOW_ORIGIN).map(|v| v.as_bytes()), Some(&b"*"[..]));
        assert!(headers.get(ALLOW_CREDENTIALS).is_none());
        let mut headers = HeaderMap::new();
        apply(&mut headers, &CorsGrant::Origin("https://a.example".into()));
        assert_eq!(headers.get(ALLOW_CREDENTIALS).map(|v| v.as_bytes()), Some(&b"true"[..]));
        assert_eq!(headers.get(VARY).map(|v| v.as_bytes()), Some(&b"Origin"[..]));
    }
}
