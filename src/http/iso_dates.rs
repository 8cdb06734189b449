//! Seed 003's `request_iso8601: true`: a request with this header gets every date of a JSON answer
//! as `yyyy-MM-ddTHH:mm:ssZ`. Nexus's own APIs already answer so; the Keycloak-compatible ones keep
//! Keycloak's epoch milliseconds unless asked. Protocol answers (tokens, introspection, JWKS) are
//! left alone: their numeric dates are fixed by the RFCs.

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::middleware::Next;
use serde_json::Value;

use crate::domain::dates::format_rfc3339;

pub const HEADER: &str = "request_iso8601";

/// Fields of nexus's answers that hold epoch milliseconds (Keycloak's representations).
const MILLISECOND_FIELDS: [&str; 7] = [
    "createdTimestamp",
    "createdDate",
    "lastUpdatedDate",
    "start",
    "lastAccess",
    "lastFailure",
    "time",
];

/// Largest answer rewritten (larger ones pass unchanged rather than being held in memory twice).
const MAX_REWRITTEN: usize = 8 * 1024 * 1024;

fn wants_iso(req: &ServiceRequest) -> bool {
    req.headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        && !req.path().contains("/protocol/")
}

pub async fn rewrite(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let wanted = wants_iso(&req);
    let res = next.call(req).await?.map_into_boxed_body();
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !wanted || !is_json {
        return Ok(res);
    }
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let Ok(bytes) = body::to_bytes_limited(body, MAX_REWRITTEN).await else {
        // Too large to rewrite: the answer was consumed, so say so rather than send half of it.
        let res = actix_web::HttpResponse::InternalServerError().finish();
        return Ok(ServiceResponse::new(req, res));
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(e) => return Err(actix_web::error::ErrorInternalServerError(e.to_string())),
    };
    let rewritten = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut json) => {
            to_iso_dates(&mut json);
            serde_json::to_vec(&json).map_or(bytes, Into::into)
        }
        Err(_) => bytes,
    };
    head.headers_mut().remove(CONTENT_LENGTH);
    head.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let res = head.set_body(BoxBody::new(rewritten));
    Ok(ServiceResponse::new(req, res))
}

/// Rewrites every millisecond date field (at any depth) as an ISO 8601 UTC date; a zero stays a
/// zero (Keycloak's "never").
pub fn to_iso_dates(json: &mut Value) {
    match json {
        Value::Object(map) => {
            for (name, value) in map.iter_mut() {
                if MILLISECOND_FIELDS.contains(&name.as_str()) {
                    if let Some(ms) = value.as_i64().filter(|ms| *ms > 0) {
                        *value = Value::String(format_rfc3339(ms.div_euclid(1000)));
                        continue;
                    }
                }
                to_iso_dates(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_iso_dates),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn millisecond_dates_become_iso_at_any_depth() {
        let mut answer = json!([
            { "id": "u1", "createdTimestamp": 1_795_356_300_000_i64, "attributes": { "start": 0 } },
            { "sessions": [{ "start": 1_795_356_300_999_i64, "lastAccess": 1_795_356_301_000_i64 }] },
            { "expiresAt": "2026-11-22T14:05:00Z", "count": 3 }
        ]);
        to_iso_dates(&mut answer);
        assert_eq!(answer[0]["createdTimestamp"], "2026-11-22T14:05:00Z");
        assert_eq!(answer[0]["attributes"]["start"], 0, "zero means never");
        assert_eq!(answer[1]["sessions"][0]["start"], "2026-11-22T14:05:00Z");
        assert_eq!(answer[1]["sessions"][0]["lastAccess"], "2026-11-22T14:05:01Z");
        assert_eq!(answer[2]["expiresAt"], "2026-11-22T14:05:00Z");
        assert_eq!(answer[2]["count"], 3);
    }
}
