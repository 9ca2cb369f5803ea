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
