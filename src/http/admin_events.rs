//! Admin events: every successful write of the admin REST API and of the admin console leaves one,
//! recorded here around the handlers rather than in each of them, so that no write (today's or a
//! new route's) escapes the log. The handler names the administrator ([`note_actor`], called where
//! the admin is authenticated); the request's method and path name the operation and the resource
//! (`domain::admin_events`); the request body, secrets removed, is the representation when the
//! realm keeps details. See docs/adr/021-admin-events.md.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::domain::admin_events::{admin_write, without_secrets, AdminWrite, CREATE};
use crate::domain::defaults::MASTER_REALM;
use crate::service::authz::AdminPrincipal;
use crate::service::events::AdminEvent;
use crate::state::AppState;

/// Bodies up to this size are kept as the representation; larger ones (a realm import) are
/// recorded without it rather than held in memory twice.
const REPRESENTATION_LIMIT: usize = 256 * 1024;

/// The administrator behind a request, left in its extensions by whoever authenticated them.
#[derive(Clone, Debug)]
pub struct AdminActor {
    pub realm_id: String,
    pub client_id: Option<String>,
    pub user_id: String,
}

/// Names the administrator of this request for its admin event.
pub fn note_actor(req: &HttpRequest, principal: &AdminPrincipal, client_id: Option<&str>) {
    req.extensions_mut().insert(AdminActor {
        realm_id: principal.user.realm_id.clone(),
        client_id: client_id.map(str::to_owned),
        user_id: principal.user.id.clone(),
    });
}

pub async fn record_admin_writes(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let write = admin_write(req.method().as_str(), req.path());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(write), Some(state)) = (write, state) else {
        return next.call(req).await;
    };
    // Creating or deleting a realm is logged in the master realm, where its administrators are.
    let logged_in = match (&write.realm, write.resource_path.is_empty(), write.operation) {
        (None, _, _) | (Some(_), true, crate::domain::admin_events::DELETE) => MASTER_REALM.to_owned(),
        (Some(realm), _, _) => realm.clone(),
    };
    let realm = match state.realms.realm(&logged_in).await {
        Ok(Some(realm)) if realm.events.admin_events_enabled => realm,
        _ => return next.call(req).await,
    };
    let body = if realm.events.admin_events_details_enabled {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        keep_body(&mut req).await.map(|body| (body, content_type))
    } else {
        None
    };
    let res = next.call(req).await?;
    // Console forms answer a success with 303 to the next page and a refusal with the form (4xx).
    if !(res.status().is_success() || res.status().is_redirection()) {
        return Ok(res);
    }
    let actor = res.request().extensions().get::<AdminActor>().cloned();
    let Some(actor) = actor else {
        // Not an administrator's write (a console sign-in redirect, an answer before authentication).
        return Ok(res);
    };
    // A REST create answers 201 with the new object's id ending `Location`; the console's realm
    // form sends the browser to the new realm's pages (`…/r/{realm}`).
    let location = res.headers().get(LOCATION).and_then(|v| v.to_str().ok());
    let created = match location {
        Some(location) if write.operation == CREATE && res.status().as_u16() == 201 => {
            location.rsplit('/').next().map(str::to_owned)
        }
        Some(location) if write.realm.is_none() => location
            .split("/r/")
            .nth(1)
            .and_then(|rest| rest.split(['/', '?']).next())
            .map(str::to_owned),
        // A console create sends the browser to the new object's page: `…/r/{realm}/users/{id}`.
        Some(location) if write.operation == CREATE => write.realm.as_deref().and_then(|realm| {
            let page = location.split('?').next()?;
            let prefix = format!("/r/{realm}/{}/", write.resource_path);
            let rest = &page[page.find(&prefix)? + prefix.len()..];
            rest.split('/').next().filter(|id| !id.is_empty()).map(str::to_owned)
        }),
        _ => None,
    };
    let ip = super::client_address::client_ip(res.request(), &state).map(|ip| ip.to_string());
    let event = AdminEvent {
        realm_id: realm.realm.id.clone(),
        time: state.clock.now_millis(),
        operation: write.operation,
        resource_type: write.resource_type,
        resource_path: resource_path(&write, created),
        auth_realm_id: Some(actor.realm_id),
        auth_client_id: actor.client_id,
        auth_user_id: Some(actor.user_id),
        auth_ip_address: ip,
        representation: body.and_then(|(body, content_type)| representation(&body, &content_type)),
    };
    state.events.record_admin(event);
    Ok(res)
}

/// The path of the written resource; for a REST create, the new object's (its id ends the
/// `Location`), as Keycloak logs it.
fn resource_path(write: &AdminWrite, created: Option<String>) -> String {
    match (created, write.realm.is_none()) {
        (Some(id), true) => id,
        (Some(id), false) => format!("{}/{}", write.resource_path, id),
        (None, _) => write.resource_path.clone(),
    }
}

/// Reads the body (when its declared length is within the limit) and puts it back for the handler.
async fn keep_body(req: &mut ServiceRequest) -> Option<web::Bytes> {
    let length: usize = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())?;
    if length == 0 || length > REPRESENTATION_LIMIT {
        return None;
    }
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::with_capacity(length);
    // A chunk past the limit (the body is longer than declared) or a broken stream.
    let mut held = None;
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) if body.len() + chunk.len() <= REPRESENTATION_LIMIT => body.extend_from_slice(&chunk),
            other => {
                held = Some(other);
                break;
            }
        }
    }
    let body = body.freeze();
    match held {
        None => {
            req.set_payload(Payload::from(body.clone()));
            Some(body)
        }
        Some(held) => {
            // The handler gets the request as sent (and answers a too long or broken body itself).
            let stream = futures_util::stream::iter([Ok(body), held]).chain(payload);
            req.set_payload(Payload::Stream {
                payload: Box::pin(stream),
            });
            None
        }
    }
}

/// The body as JSON without secrets: a JSON body as it is, a console form as an object of its
/// fields.
fn representation(body: &[u8], content_type: &str) -> Option<String> {
    let value = if content_type.starts_with("application/x-www-form-urlencoded") {
        let fields: Map<String, Value> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Value::Object(fields)
    } else {
        serde_json::from_slice(body).ok()?
    };
    match without_secrets(value) {
        // A console button (delete, sign out) sends nothing but its CSRF token.
        Value::Object(fields) if fields.is_empty() => None,
        clean => serde_json::to_string(&clean).ok(),
    }
}
