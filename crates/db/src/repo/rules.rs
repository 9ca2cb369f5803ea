//! The fingerprints of the configuration that stored derived figures were computed with.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::schema::{donors, rules_fingerprints};
use crate::{DbConn, DbError};

/// The name the eligibility rules' fingerprint is kept under.
pub const ELIGIBILITY: &str = "eligibility";

/// The stored fingerprint of `name`, if any.
pub fn fingerprint(conn: &mut DbConn, name: &str) -> Result<Option<String>, DbError> {
    Ok(rules_fingerprints::table
        .find(name)
        .select(rules_fingerprints::fingerprint)
        .first(conn)
        .optional()?)
}

/// Stores the fingerprint of `name`.
pub fn set_fingerprint(
    conn: &mut DbConn,
    name: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let n = diesel::update(rules_fingerprints::table.find(name))
        .set((
            rules_fingerprints::fingerprint.eq(fingerprint),
            rules_fingerprints::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(rules_fingerprints::table)
            .values((
                rules_fingerprints::name.eq(name),
                rules_fingerprints::fingerprint.eq(fingerprint),
                rules_fingerprints::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Up to `limit` donor ids after `after`, in id order: the keyset pages of a recomputation.
pub fn donor_ids_after(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    let mut q = donors::table
        .select(donors::id)
        .order(donors::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(donors::id.gt(after.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// Holds PostgreSQL's advisory lock of the recomputation for the rest of the transaction, so
/// that of several instances starting together one recomputes and the others wait, then find
/// the fingerprint up to date. SQLite's write transaction already excludes other writers.
pub fn lock_recomputation(conn: &mut DbConn) -> Result<(), DbError> {
    const LOCK: i64 = 0x6869_656e_6d61_7501; // "hienmau" + 1: not the migrations' lock
    match conn {
        DbConn::Pg(c) => {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<BigInt, _>(LOCK)
                .execute(c)?;
        }
        DbConn::Sqlite(_) => {}
    }
    Ok(())
}
