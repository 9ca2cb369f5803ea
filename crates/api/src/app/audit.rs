//! The audit log: who saw or changed what, written in the same transaction as the act, and
//! hash-chained so that `hienmau audit verify` detects a changed, deleted or reordered entry.

use hienmau_db::models::{AuditEntry, NewAuditEntry};
use hienmau_db::repo::Page;
use hienmau_db::DbConn;
use sha2::Digest;

use crate::app::error::AppError;
use crate::app::scope::Actor;

/// An entry to append.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    action: &'static str,
    actor_user_id: Option<String>,
    actor_key_id: Option<String>,
    hospital_id: Option<String>,
    request_id: Option<String>,
    http_request_id: Option<String>,
    donor_ids: Vec<String>,
    detail: serde_json::Value,
}

impl AuditRecord {
    /// An action by the caller.
    pub fn by(user: &Actor, action: &'static str, detail: serde_json::Value) -> Self {
        Self {
            action,
            actor_user_id: user.user_id().map(str::to_owned),
            actor_key_id: user.key_id().map(str::to_owned),
            hospital_id: user.hospital_id.clone(),
            request_id: None,
            http_request_id: user.http_request_id.clone(),
            donor_ids: Vec::new(),
            detail,
        }
    }

    /// An action with no authenticated caller (sign-in attempts, the CLI).
    pub fn system(action: &'static str, detail: serde_json::Value) -> Self {
        Self {
            action,
            actor_user_id: None,
            actor_key_id: None,
            hospital_id: None,
            request_id: None,
            http_request_id: None,
            donor_ids: Vec::new(),
            detail,
        }
    }

    /// Sets the acting user.
    pub fn by_user(mut self, user_id: Option<String>) -> Self {
        self.actor_user_id = user_id;
        self
    }

    /// The emergency request concerned.
    pub fn request(mut self, request_id: &str) -> Self {
        self.request_id = Some(request_id.to_owned());
        self
    }

    /// The HTTP request that wrote the entry (for entries without an authenticated caller).
    pub fn http_request(mut self, http_request_id: Option<String>) -> Self {
        self.http_request_id = http_request_id;
        self
    }

    /// The hospital concerned.
    pub fn hospital(mut self, hospital_id: Option<String>) -> Self {
        self.hospital_id = hospital_id;
        self
    }

    /// The donors whose personal data the action disclosed or changed.
    pub fn donors(mut self, donor_ids: Vec<String>) -> Self {
        self.donor_ids = donor_ids;
        self
    }
}

/// Appends an entry on `conn` (inside the caller's transaction).
pub fn append(conn: &mut DbConn, record: AuditRecord) -> Result<(), AppError> {
    hienmau_db::repo::audit::lock_chain(conn)?;
    let prev_hash = hienmau_db::repo::audit::last_hash(conn)?;
    let mut entry = NewAuditEntry {
        id: hienmau_db::new_id(),
        at: hienmau_db::now(),
        action: record.action.to_owned(),
        actor_user_id: record.actor_user_id,
        actor_key_id: record.actor_key_id,
        hospital_id: record.hospital_id,
        request_id: record.request_id,
        donor_ids: serde_json::to_string(&record.donor_ids).map_err(AppError::internal)?,
        detail: record.detail.to_string(),
        prev_hash,
        hash: None,
        http_request_id: record.http_request_id,
    };
    entry.hash = Some(entry_hash(&Chained::from(&entry)));
    hienmau_db::repo::audit::append(conn, &entry)?;
    Ok(())
}

/// The fields an entry's hash covers, in a fixed order.
#[derive(Debug, serde::Serialize)]
pub struct Chained<'a> {
    prev_hash: Option<&'a str>,
    id: &'a str,
    at: String,
    action: &'a str,
    actor_user_id: Option<&'a str>,
    actor_key_id: Option<&'a str>,
    hospital_id: Option<&'a str>,
    request_id: Option<&'a str>,
    donor_ids: &'a str,
    detail: &'a str,
    // Absent from entries written before the column existed, so that their hashes still hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    http_request_id: Option<&'a str>,
}

fn timestamp(at: &chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

impl<'a> From<&'a NewAuditEntry> for Chained<'a> {
    fn from(e: &'a NewAuditEntry) -> Self {
        Chained {
            prev_hash: e.prev_hash.as_deref(),
            id: &e.id,
            at: timestamp(&e.at),
            action: &e.action,
            actor_user_id: e.actor_user_id.as_deref(),
            actor_key_id: e.actor_key_id.as_deref(),
            hospital_id: e.hospital_id.as_deref(),
            request_id: e.request_id.as_deref(),
            donor_ids: &e.donor_ids,
            detail: &e.detail,
            http_request_id: e.http_request_id.as_deref(),
        }
    }
}

impl<'a> From<&'a AuditEntry> for Chained<'a> {
    fn from(e: &'a AuditEntry) -> Self {
        Chained {
            prev_hash: e.prev_hash.as_deref(),
            id: &e.id,
            at: timestamp(&e.at),
            action: &e.action,
            actor_user_id: e.actor_user_id.as_deref(),
            actor_key_id: e.actor_key_id.as_deref(),
            hospital_id: e.hospital_id.as_deref(),
            request_id: e.request_id.as_deref(),
            donor_ids: &e.donor_ids,
            detail: &e.detail,
            http_request_id: e.http_request_id.as_deref(),
        }
    }
}

/// SHA-256 (hex) of the entry's fields, the previous entry's hash included: changing,
/// deleting or reordering any entry breaks every link after it.
pub fn entry_hash(fields: &Chained<'_>) -> String {
    // JSON of named strings and nulls is an unambiguous encoding of the fields.
    let canonical = serde_json::to_string(fields).unwrap_or_default();
    hex::encode(sha2::Sha256::digest(canonical.as_bytes()))
}

/// What `hienmau audit verify` found.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// Entries read.
    pub entries: u64,
    /// The first broken entry (its sequence number) and why; None when the chain holds.
    pub broken: Option<(i64, String)>,
}

/// Walks the whole log in order, in pages, recomputing every hash and link.
///
/// Detects a changed entry (its hash no longer matches), a deleted or reordered one (the next
/// entry's `prev_hash` no longer names its predecessor). The newest entries removed together
/// leave a shorter valid chain: compare the count and last hash with an earlier copy (for
/// example a daily export) to detect that.
pub fn verify(conn: &mut DbConn) -> Result<Verification, AppError> {
    let mut entries = 0u64;
    let mut prev: Option<String> = None;
    let mut after = None;
    loop {
        let page = hienmau_db::repo::audit::page_in_order(conn, after, 1_000)?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        for e in &page {
            entries += 1;
            if e.prev_hash != prev {
                return Ok(Verification {
                    entries,
                    broken: Some((e.seq, "does not follow the entry before it (an entry was deleted, inserted or moved)".to_owned())),
                });
            }
            let expected = entry_hash(&Chained::from(e));
            if e.hash.as_deref() != Some(expected.as_str()) {
                return Ok(Verification {
                    entries,
                    broken: Some((
                        e.seq,
                        "its content does not match its hash (the entry was changed)".to_owned(),
                    )),
                });
            }
            prev = e.hash.clone();
        }
    }
    Ok(Verification {
        entries,
        broken: None,
    })
}

/// A page of the log, newest first: `limit` entries before `before`, the key of the last entry
/// of the previous page (its sequence number); a key this log never gave is unreadable.
pub fn list(
    conn: &mut DbConn,
    before: Option<&str>,
    limit: i64,
) -> Result<Page<AuditEntry>, AppError> {
    let before = before
        .map(|key| {
            key.parse::<i64>()
                .map_err(|_| AppError::Unreadable("cursor is not one this API issued".to_owned()))
        })
        .transpose()?;
    Ok(hienmau_db::repo::audit::list(conn, before, limit)?)
}
