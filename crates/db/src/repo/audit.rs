//! The audit log: append and read. There is deliberately no update or delete here, and the
//! database refuses both with a trigger.

use diesel::prelude::*;

use crate::models::{AuditEntry, NewAuditEntry};
use crate::repo::Page;
use crate::schema::audit_log;
use crate::{DbConn, DbError};

/// Appends an entry.
pub fn append(conn: &mut DbConn, entry: &NewAuditEntry) -> Result<(), DbError> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(conn)?;
    Ok(())
}

/// Entries newest first, keyset-paged on the sequence number.
pub fn list(
    conn: &mut DbConn,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Page<AuditEntry>, DbError> {
    let mut q = audit_log::table
        .order(audit_log::seq.desc())
        .select(AuditEntry::as_select())
        .limit(limit + 1)
        .into_boxed();
    if let Some(before) = before_seq {
        q = q.filter(audit_log::seq.lt(before));
    }
    let rows = q.load(conn)?;
    Ok(Page::from_overfetch(rows, limit, |e| e.seq.to_string()))
}

/// Every entry in order of appending (for verification and exports).
pub fn all_in_order(conn: &mut DbConn) -> Result<Vec<AuditEntry>, DbError> {
    Ok(audit_log::table
        .order(audit_log::seq.asc())
        .select(AuditEntry::as_select())
        .load(conn)?)
}

/// Serialises appends to the hash chain for the rest of the transaction: each entry carries
/// the hash of the one before, so two writers must not read the same "last" entry.
pub fn lock_chain(conn: &mut DbConn) -> Result<(), DbError> {
    use diesel::connection::SimpleConnection;
    match conn {
        // A transaction-scoped advisory lock: released at commit or rollback, and shared by
        // every instance on the database.
        DbConn::Pg(c) => c.batch_execute("SELECT pg_advisory_xact_lock(7370233000001)")?,
        // Write transactions begin IMMEDIATE: this one already holds the database's only
        // write lock.
        DbConn::Sqlite(_) => {}
    }
    Ok(())
}

/// The hash of the newest entry (None for an empty log).
pub fn last_hash(conn: &mut DbConn) -> Result<Option<String>, DbError> {
    Ok(head(conn)?.and_then(|h| h.hash))
}

/// The newest entry's place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Head {
    /// Its sequence number.
    pub seq: i64,
    /// Its hash.
    pub hash: Option<String>,
    /// The fingerprint of the key that hashed it (None: written before the chain was keyed).
    pub key_fp: Option<String>,
}

/// The newest entry's sequence number, hash and key fingerprint (None for an empty log): one
/// query gives an append both its link and the key the chain continues with.
pub fn head(conn: &mut DbConn) -> Result<Option<Head>, DbError> {
    Ok(audit_log::table
        .order(audit_log::seq.desc())
        .select((audit_log::seq, audit_log::hash, audit_log::key_fp))
        .first::<Head>(conn)
        .optional()?)
}

/// Whether any entry was hashed with a key.
pub fn any_keyed(conn: &mut DbConn) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(
        audit_log::table.filter(audit_log::key_fp.is_not_null()),
    ))
    .get_result(conn)?)
}

/// Re-keys one entry written before the chain was keyed: its link, hash and key fingerprint,
/// nothing else. The append-only trigger lets exactly this through, once per entry (see
/// migration 2026-11-29-000013_audit_keys).
pub fn rekey(
    conn: &mut DbConn,
    seq: i64,
    prev_hash: Option<&str>,
    hash: &str,
    key_fp: &str,
) -> Result<(), DbError> {
    diesel::update(
        audit_log::table
            .filter(audit_log::seq.eq(seq))
            .filter(audit_log::key_fp.is_null()),
    )
    .set((
        audit_log::prev_hash.eq(prev_hash),
        audit_log::hash.eq(hash),
        audit_log::key_fp.eq(key_fp),
    ))
    .execute(conn)?;
    Ok(())
}

/// Entries in order of appending after `after_seq`, at most `limit` (keyset pages for a
/// verification that reads the whole log in flat memory).
pub fn page_in_order(
    conn: &mut DbConn,
    after_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    let mut q = audit_log::table
        .order(audit_log::seq.asc())
        .select(AuditEntry::as_select())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after_seq {
        q = q.filter(audit_log::seq.gt(after));
    }
    Ok(q.load(conn)?)
}
