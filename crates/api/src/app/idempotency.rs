//! Idempotency keys: claiming, replaying, and the canonical request hash (the `Idempotency-Key`
//! header itself is read by `http::idempotency`).
//!
//! The key is claimed *first* in the request's write transaction, by inserting its record
//! inside a savepoint: the unique constraint on (principal, key) makes exactly one request the
//! owner. A racing retry either waits on the owner's uncommitted row (PostgreSQL) or on the
//! database's write lock (SQLite, `BEGIN IMMEDIATE`), then reads the owner's stored response.
//! When the owner's request fails, its transaction — the claim included — rolls back, so a
//! failed request records nothing and its retry is judged afresh.

use hienmau_db::models::IdempotencyRecord;
use hienmau_db::repo::idempotency;
use hienmau_db::DbConn;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::app::error::AppError;

/// A caller's idempotency key with the hash of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The key as the caller sent it.
    pub key: String,
    /// [`request_hash`] of what the request acts on and its body.
    pub request_hash: String,
}

impl IdempotencyKey {
    /// The key `key` of a request on `scope` with `body`.
    pub fn new(key: String, scope: &str, body: &Value) -> Self {
        Self {
            request_hash: request_hash(scope, body),
            key,
        }
    }
}

/// Writes `v` as JSON with object keys sorted at every level and no insignificant
/// whitespace, so two bodies that mean the same hash the same.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(inner) = map.get(k) {
                    write_canonical(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The SHA-256 (hex) of `scope` (what the request acts on, e.g. its method and path) and the
/// canonical JSON of `body`.
pub fn request_hash(scope: &str, body: &Value) -> String {
    let mut h = Sha256::new();
    h.update(scope.as_bytes());
    h.update([0u8]);
    h.update(canonical_json(body).as_bytes());
    hex::encode(h.finalize())
}

/// The outcome of claiming a key.
#[derive(Debug)]
pub enum Claim {
    /// This request owns the key: do the work, then [`finish`] with the record's id.
    Owner(String),
    /// An earlier request with the same key and body answered this; answer it again.
    Replay(StoredResponse),
}

/// A stored answer: the status and JSON body the first request was answered with, kept
/// with its key so that a repeat answers the same bytes. The HTTP layer renders it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// The JSON body, as first sent.
    pub body: String,
}

/// Claims `key` for `principal` inside the current write transaction. The same key with
/// another request hash is [`AppError::KeyReused`].
pub fn claim(
    conn: &mut DbConn,
    principal: &str,
    key: &str,
    request_hash: &str,
) -> Result<Claim, AppError> {
    let row = IdempotencyRecord {
        id: hienmau_db::new_id(),
        principal: principal.to_owned(),
        idem_key: key.to_owned(),
        request_hash: request_hash.to_owned(),
        // Overwritten by `finish` in the same transaction: no one ever reads these.
        response_status: 0,
        response_body: String::new(),
        created_at: hienmau_db::now(),
    };
    match idempotency::insert_or_get(conn, &row)? {
        None => Ok(Claim::Owner(row.id)),
        Some(winner) if winner.request_hash != request_hash => Err(AppError::KeyReused),
        Some(winner) => {
            let status = u16::try_from(winner.response_status)
                .ok()
                .filter(|s| (200..600).contains(s))
                .ok_or_else(|| AppError::internal("idempotency record without a response"))?;
            Ok(Claim::Replay(StoredResponse {
                status,
                body: winner.response_body,
            }))
        }
    }
}

/// Stores the owner's response in the key's record (same transaction as the work).
pub fn finish(conn: &mut DbConn, record_id: &str, status: u16, body: &str) -> Result<(), AppError> {
    idempotency::set_response(conn, record_id, i32::from(status), body)?;
    Ok(())
}

/// Runs `work` at most once per caller, key and body, inside the caller's write transaction:
/// claims the key first; a repeat answers the stored response (`true`: replayed); the owner's
/// response is stored with its work. Without a key, `work` just runs.
pub fn once(
    conn: &mut DbConn,
    principal: &str,
    key: Option<&IdempotencyKey>,
    work: impl FnOnce(&mut DbConn) -> Result<StoredResponse, AppError>,
) -> Result<(StoredResponse, bool), AppError> {
    let owner = match key {
        None => None,
        Some(k) => match claim(conn, principal, &k.key, &k.request_hash)? {
            Claim::Owner(record) => Some(record),
            Claim::Replay(stored) => return Ok((stored, true)),
        },
    };
    let response = work(conn)?;
    if let Some(record) = owner {
        finish(conn, &record, response.status, &response.body)?;
    }
    Ok((response, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_form_ignores_key_order_and_spacing() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": "é"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":"é","y":[1,2]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":{"x":"é","y":[1,2]},"b":1}"#);
        assert_eq!(request_hash("p", &a), request_hash("p", &b));
        assert_ne!(request_hash("p", &a), request_hash("q", &a));
        assert_ne!(
            request_hash("p", &json!({"a": 1})),
            request_hash("p", &json!({"a": "1"}))
        );
    }
}
