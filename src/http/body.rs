//! Reading request bodies with a hard size limit and content-type checks, so that oversized or
//! mistyped bodies get the caller's protocol error instead of actix's generic one.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{Bytes, BytesMut, Payload};
use actix_web::HttpRequest;
use futures_util::StreamExt;

/// Largest body any endpoint accepts.
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Broken,
}

pub async fn read_limited(payload: Payload) -> Result<Bytes, BodyError> {
    read_limited_to(payload, MAX_BODY).await
}

/// `read_limited` with another limit (realm imports: `admin::MAX_IMPORT_BODY`).
pub async fn read_limited_to(mut payload: Payload, max: usize) -> Result<Bytes, BodyError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The media type of the request without parameters, lower-cased.
pub fn media_type(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

pub fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}
