//! The `Idempotency-Key` header and the replay of a stored answer (the claim and the storage
//! are the use cases', in [`crate::app::idempotency`]).

use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::Value;

use crate::app::idempotency::{IdempotencyKey, StoredResponse};
use crate::http::error::ApiError;

/// The request header.
pub const HEADER: &str = "Idempotency-Key";
/// The longest key accepted.
pub const MAX_KEY_CHARS: usize = 255;

/// Reads the optional `Idempotency-Key` header: 1 to 255 visible ASCII characters, else 400.
pub fn key_from(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get(HEADER) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::BadRequest(format!(
            "{HEADER} must be 1 to {MAX_KEY_CHARS} visible ASCII characters"
        ))
    };
    let s = v.to_str().map_err(|_| bad())?.trim();
    if s.is_empty() || s.len() > MAX_KEY_CHARS || !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(s.to_owned()))
}

/// The request's key, if it has one, with the hash of `scope` (what it acts on) and `body`.
pub fn keyed(
    headers: &HeaderMap,
    scope: &str,
    body: &Value,
) -> Result<Option<IdempotencyKey>, ApiError> {
    Ok(key_from(headers)?.map(|k| IdempotencyKey::new(k, scope, body)))
}

/// A stored answer as an HTTP response; a replay says so in an `Idempotency-Key: replayed`
/// header (the status and body are the first response's).
pub fn respond(stored: StoredResponse, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CONTENT_TYPE, "application/json"));
    if replayed {
        res.insert_header((HEADER, "replayed"));
    }
    res.body(stored.body)
}
