//! The audit log: who saw or changed what, written in the same transaction as the act, and
//! chained with a keyed hash (HMAC-SHA256) so that `hienmau audit verify` detects a changed,
//! deleted or reordered entry, even one re-chained by someone who can write the database.
//!
//! **Keys.** The key is kept outside the database (`HIENMAU_AUDIT_KEY`, or on SQLite a file
//! beside the database). Each entry stores the fingerprint of the key that hashed it (never
//! the key), and the fingerprint is covered by the hash. The chain starts with an
//! `audit_keyed` entry (a new log) or an `audit_rekeyed` entry (a log written before keys,
//! re-hashed once under the key at start-up after its unkeyed chain was verified).
//!
//! **Rotation** happens at start-up: when the configured key is not the chain's but the
//! chain's key is listed among the previous keys (`HIENMAU_AUDIT_PREVIOUS_KEYS`), an
//! `audit_key_rotated` entry naming both fingerprints is appended, hashed with the new key,
//! which hashes every entry from it on. The fingerprint may change only at such an entry, so
//! `verify` needs every key the chain has used.
//!
//! **Which key an append uses.** The keys loaded by this process are kept in a keyring, and
//! an append continues with the key of the chain's head (read in the same query as its hash):
//! the ~20 use cases that append take no key, and several databases in one process (the
//! tests) each continue with their own. A head whose key this process does not hold (another
//! instance rotated the key) fails the append rather than fork the chain.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use hienmau_db::models::{AuditEntry, NewAuditEntry};
use hienmau_db::repo::Page;
use hienmau_db::{DbConn, DbError};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

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

/// The action of the entry that starts a new keyed chain.
pub const KEYED: &str = "audit_keyed";
/// The action of the entry that records the re-keying of a log written before keys.
pub const REKEYED: &str = "audit_rekeyed";
/// The action of the entry from which a new key takes over.
pub const KEY_ROTATED: &str = "audit_key_rotated";

/// An audit key. Debug shows only the fingerprint.
#[derive(Clone)]
pub struct AuditKey {
    mac: Hmac<Sha256>,
    fingerprint: String,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", self.fingerprint)
    }
}

impl AuditKey {
    /// A key from its secret text (the caller checks its length and strength).
    pub fn new(secret: &str) -> Result<Self, String> {
        let mac =
            <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
        // A domain-separated digest, cut to 64 bits: it names the key in entries and logs
        // without revealing anything usable about a key of 128 bits or more.
        let mut d = Sha256::new();
        d.update(b"hienmau audit key fingerprint\0");
        d.update(secret.as_bytes());
        let fingerprint = hex::encode(&d.finalize()[..8]);
        Ok(Self { mac, fingerprint })
    }

    /// The fingerprint stored in entries and named in logs.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn hash(&self, fields: &Chained<'_>) -> String {
        let mut mac = self.mac.clone();
        mac.update(canonical(fields).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The keys a process holds: the current one (hashes new entries) and earlier ones (to
/// recognise a rotation at start-up and to verify older entries).
#[derive(Debug, Clone)]
pub struct AuditKeys {
    /// Hashes new entries.
    pub current: AuditKey,
    /// Keys the chain used before.
    pub previous: Vec<AuditKey>,
}

impl AuditKeys {
    fn by_fingerprint(&self, fp: &str) -> Option<&AuditKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.fingerprint == fp)
    }
}

/// The current keys loaded by this process, by fingerprint (see the module documentation).
static KEYRING: LazyLock<RwLock<HashMap<String, AuditKey>>> = LazyLock::new(Default::default);

fn install(key: &AuditKey) {
    let mut ring = KEYRING
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    ring.insert(key.fingerprint.clone(), key.clone());
}

fn installed(fp: &str) -> Option<AuditKey> {
    KEYRING
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(fp)
        .cloned()
}

/// Appends an entry on `conn` (inside the caller's transaction), hashed with the key the
/// chain's head names.
pub fn append(conn: &mut DbConn, record: AuditRecord) -> Result<(), AppError> {
    hienmau_db::repo::audit::lock_chain(conn)?;
    let head = hienmau_db::repo::audit::head(conn)?;
    let key = match head.as_ref().and_then(|h| h.key_fp.as_deref()) {
        // 503, not 500: the instance is stale, not broken (another one rotated the key), and
        // a client retrying may reach an instance restarted with the new key.
        Some(fp) => installed(fp).ok_or_else(|| {
            AppError::Database(hienmau_db::DbError::Unavailable(format!(
                "the audit chain continues with key {fp}, which this process was not started \
                 with (another instance rotated HIENMAU_AUDIT_KEY?): restart with the current key"
            )))
        })?,
        None => {
            return Err(AppError::internal(
                "the audit chain is not keyed: start-up (startup::migrate) keys it first",
            ))
        }
    };
    append_with(conn, head.and_then(|h| h.hash), record, &key)
}

fn append_with(
    conn: &mut DbConn,
    prev_hash: Option<String>,
    record: AuditRecord,
    key: &AuditKey,
) -> Result<(), AppError> {
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
        key_fp: Some(key.fingerprint.clone()),
    };
    entry.hash = Some(key.hash(&Chained::from(&entry)));
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
    // Absent from entries written before keys (their unkeyed hashes are checked once, before
    // they are re-keyed).
    #[serde(skip_serializing_if = "Option::is_none")]
    key_fp: Option<&'a str>,
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
            key_fp: e.key_fp.as_deref(),
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
            key_fp: e.key_fp.as_deref(),
        }
    }
}

// JSON of named strings and nulls is an unambiguous encoding of the fields.
fn canonical(fields: &Chained<'_>) -> String {
    serde_json::to_string(fields).unwrap_or_default()
}

/// Plain SHA-256 (hex) of the entry's fields: the hash of entries written before the chain
/// was keyed, checked once before they are re-keyed. Anyone can recompute it, so it is never
/// accepted by `verify`.
pub fn unkeyed_hash(fields: &Chained<'_>) -> String {
    hex::encode(Sha256::digest(canonical(fields).as_bytes()))
}

/// HMAC-SHA256 (hex) of the entry's fields under `key`, the previous entry's hash and the
/// key's fingerprint included: changing, deleting or reordering any entry breaks every link
/// after it, and only a holder of the key can re-chain.
pub fn keyed_hash(fields: &Chained<'_>, key: &AuditKey) -> String {
    key.hash(fields)
}

/// What `hienmau audit verify` found.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// Entries read.
    pub entries: u64,
    /// The first broken entry (its sequence number) and why; None when the chain holds.
    pub broken: Option<(i64, String)>,
    /// The newest entry read (sequence number, hash): an anchor to keep elsewhere and pass
    /// later as `--expect SEQ:HASH`.
    pub head: Option<(i64, String)>,
}

fn broken(entries: u64, seq: i64, why: impl Into<String>) -> Verification {
    Verification {
        entries,
        broken: Some((seq, why.into())),
        head: None,
    }
}

/// Whether `e` may change the key from `prev_fp`: only a rotation entry naming both.
fn is_rotation(e: &AuditEntry, prev_fp: Option<&str>) -> bool {
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
    e.action == KEY_ROTATED
        && detail["previous"].as_str() == prev_fp
        && detail["fingerprint"].as_str() == e.key_fp.as_deref()
}

/// Walks the whole log in order, in pages, recomputing every keyed hash and link with the
/// given keys, and checks each anchor of `expect` (sequence number, hash).
///
/// Detects a changed entry (its hash no longer matches), one re-chained without the key, a
/// deleted or reordered one (the next entry's `prev_hash` no longer names its predecessor), a
/// key change outside a rotation entry, and an entry hashed with a key not given. The newest
/// entries removed together leave a shorter valid chain, and a log rewritten by a holder of
/// the key is valid: an anchor kept elsewhere (`--expect`, or the head logged every hour)
/// detects both.
pub fn verify(
    conn: &mut DbConn,
    keys: &AuditKeys,
    expect: &[(i64, String)],
) -> Result<Verification, AppError> {
    let mut entries = 0u64;
    let mut prev: Option<(i64, Option<String>, Option<String>)> = None;
    let mut found = vec![false; expect.len()];
    let mut after = None;
    loop {
        let page = hienmau_db::repo::audit::page_in_order(conn, after, 1_000)?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        for e in &page {
            entries += 1;
            let (prev_hash, prev_fp) = match &prev {
                Some((_, h, fp)) => (h.clone(), fp.clone()),
                None => (None, None),
            };
            if e.prev_hash != prev_hash {
                return Ok(broken(
                    entries,
                    e.seq,
                    "does not follow the entry before it (an entry was deleted, inserted or moved)",
                ));
            }
            let Some(fp) = e.key_fp.as_deref() else {
                return Ok(broken(entries, e.seq, "is not keyed (written before keys and not re-keyed at start-up, or inserted by hand)"));
            };
            if prev.is_some()
                && prev_fp.as_deref() != Some(fp)
                && !is_rotation(e, prev_fp.as_deref())
            {
                return Ok(broken(
                    entries,
                    e.seq,
                    "changes the key outside a key rotation entry (the entry was changed)",
                ));
            }
            let Some(key) = keys.by_fingerprint(fp) else {
                return Ok(broken(
                    entries,
                    e.seq,
                    format!(
                        "is hashed with key {fp}, which was not given (pass the earlier keys in \
                     HIENMAU_AUDIT_PREVIOUS_KEYS)"
                    ),
                ));
            };
            if e.hash.as_deref() != Some(key.hash(&Chained::from(e)).as_str()) {
                return Ok(broken(entries, e.seq, "its content does not match its hash (the entry was changed, or re-chained without the key)"));
            }
            for (i, (seq, hash)) in expect.iter().enumerate().filter(|(_, (s, _))| *s == e.seq) {
                found[i] = true;
                if e.hash.as_deref() != Some(hash.as_str()) {
                    return Ok(broken(entries, *seq, "does not have the expected hash (the log was rewritten since the anchor was taken)"));
                }
            }
            prev = Some((e.seq, e.hash.clone(), e.key_fp.clone()));
        }
    }
    if let Some(i) = found.iter().position(|f| !f) {
        let seq = expect[i].0;
        return Ok(broken(
            entries,
            seq,
            "is missing (entries were deleted since the anchor was taken)",
        ));
    }
    Ok(Verification {
        entries,
        broken: None,
        head: prev.and_then(|(seq, hash, _)| hash.map(|h| (seq, h))),
    })
}

/// Why the chain cannot be prepared at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The process must not start (the message names the setting or the entry at fault).
    #[error("{0}")]
    Refused(String),
    /// The database failed.
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<DbError> for ChainError {
    fn from(e: DbError) -> Self {
        ChainError::App(e.into())
    }
}

/// What start-up did to the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// A new log: its first entry names the key.
    Started,
    /// The chain already continues with the current key.
    Unchanged,
    /// The current key took over from the chain's previous key.
    Rotated {
        /// The fingerprint of the key the chain used before.
        from: String,
    },
    /// A log written before keys was verified and re-hashed under the key.
    Rekeyed {
        /// The entries re-keyed.
        entries: u64,
    },
}

/// Whether the log holds entries hashed with a key: then a missing key is never replaced by
/// a new one (the chain could no longer be verified, and a new key would hide a rewrite).
pub fn has_keyed_entries(conn: &mut DbConn) -> Result<bool, AppError> {
    Ok(hienmau_db::repo::audit::any_keyed(conn)?)
}

/// The newest entry (sequence number, hash), logged periodically as an anchor.
pub fn head(conn: &mut DbConn) -> Result<Option<(i64, String)>, AppError> {
    Ok(hienmau_db::repo::audit::head(conn)?.and_then(|h| h.hash.map(|hash| (h.seq, hash))))
}

/// Makes the chain continue with `keys.current`, inside the caller's write transaction (at
/// start-up, before the instance serves): starts a new log, re-keys a log written before keys,
/// or rotates from a previous key; refuses a key that is neither the chain's nor its
/// successor. Then this process appends with the key.
pub fn prepare(conn: &mut DbConn, keys: &AuditKeys) -> Result<Prepared, ChainError> {
    hienmau_db::repo::audit::lock_chain(conn)?;
    let current = &keys.current;
    let prepared = match hienmau_db::repo::audit::head(conn)? {
        None => {
            let detail = serde_json::json!({ "fingerprint": current.fingerprint });
            append_with(conn, None, AuditRecord::system(KEYED, detail), current)?;
            Prepared::Started
        }
        Some(head) => match head.key_fp {
            None if hienmau_db::repo::audit::any_keyed(conn)? => {
                return Err(ChainError::Refused(format!(
                    "audit log: entry {} is not keyed although earlier entries are (it was not \
                     written by hienmau); run `hienmau audit verify`",
                    head.seq
                )))
            }
            None => Prepared::Rekeyed {
                entries: rekey(conn, current)?,
            },
            Some(fp) if fp == current.fingerprint => Prepared::Unchanged,
            Some(fp) if keys.previous.iter().any(|k| k.fingerprint == fp) => {
                let detail =
                    serde_json::json!({ "fingerprint": current.fingerprint, "previous": fp });
                append_with(
                    conn,
                    head.hash,
                    AuditRecord::system(KEY_ROTATED, detail),
                    current,
                )?;
                Prepared::Rotated { from: fp }
            }
            Some(fp) => {
                return Err(ChainError::Refused(format!(
                    "HIENMAU_AUDIT_KEY: this key ({}) is not the audit log's (it continues with \
                     key {fp}); to rotate, list the old key in HIENMAU_AUDIT_PREVIOUS_KEYS",
                    current.fingerprint
                )))
            }
        },
    };
    install(current);
    Ok(prepared)
}

/// Re-keys a log written before keys, in the caller's transaction: verifies its unkeyed
/// chain (a broken one is not blessed with a key), re-hashes every entry under `key` page by
/// page (the append-only trigger lets an unkeyed entry be re-keyed once), and records the
/// migration as an entry naming the old head.
fn rekey(conn: &mut DbConn, key: &AuditKey) -> Result<u64, ChainError> {
    use hienmau_db::repo::audit;
    let mut old_head: Option<(i64, String)> = None;
    let mut after = None;
    loop {
        let page = audit::page_in_order(conn, after, 1_000)?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        for e in &page {
            let prev = old_head.as_ref().map(|(_, h)| h.clone());
            let intact = e.prev_hash == prev
                && e.hash.as_deref() == Some(unkeyed_hash(&Chained::from(e)).as_str());
            let Some(hash) = e.hash.clone().filter(|_| intact) else {
                return Err(ChainError::Refused(format!(
                    "audit log: the unkeyed log is broken at entry {} (changed, deleted or \
                     moved); it is not re-keyed: restore it from a backup",
                    e.seq
                )));
            };
            old_head = Some((e.seq, hash));
        }
    }
    let mut entries = 0u64;
    let mut prev: Option<String> = None;
    let mut after = None;
    loop {
        let page = audit::page_in_order(conn, after, 1_000)?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        for mut e in page {
            e.prev_hash = prev.take();
            e.key_fp = Some(key.fingerprint.clone());
            let hash = key.hash(&Chained::from(&e));
            audit::rekey(conn, e.seq, e.prev_hash.as_deref(), &hash, &key.fingerprint)?;
            prev = Some(hash);
            entries += 1;
        }
    }
    let detail = serde_json::json!({
        "fingerprint": key.fingerprint,
        "entries": entries,
        "unkeyed_head": old_head.map(|(seq, hash)| serde_json::json!({ "seq": seq, "hash": hash })),
    });
    append_with(conn, prev, AuditRecord::system(REKEYED, detail), key)?;
    Ok(entries)
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
