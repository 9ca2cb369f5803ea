//! Stored responses for `Idempotency-Key` retries.
//!
//! Exactly-once comes from the unique constraint on (principal, key): the first writer's
//! insert wins, a racing one gets a unique violation inside its savepoint and reads the winner.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::models::IdempotencyRecord;
use crate::schema::idempotency_keys;
use crate::{DbConn, DbError};

/// Inserts a record inside a savepoint. `Ok(None)`: inserted. `Ok(Some(winner))`: another
/// request with the same key got there first; the surrounding transaction stays usable.
pub fn insert_or_get(
    conn: &mut DbConn,
    row: &IdempotencyRecord,
) -> Result<Option<IdempotencyRecord>, DbError> {
    let inserted = crate::conn::savepoint(conn, |c| {
        diesel::insert_into(idempotency_keys::table)
            .values(row)
            .execute(c)?;
        Ok(())
    });
    match inserted {
        Ok(()) => Ok(None),
        Err(DbError::UniqueViolation { .. }) => Ok(Some(get(conn, &row.principal, &row.idem_key)?)),
        Err(e) => Err(e),
    }
}

/// The record for a caller's key, or None.
pub fn find(
    conn: &mut DbConn,
    principal: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>, DbError> {
    Ok(idempotency_keys::table
        .filter(idempotency_keys::principal.eq(principal))
        .filter(idempotency_keys::idem_key.eq(key))
        .select(IdempotencyRecord::as_select())
        .first(conn)
        .optional()?)
}

fn get(conn: &mut DbConn, principal: &str, key: &str) -> Result<IdempotencyRecord, DbError> {
    find(conn, principal, key)?.ok_or(DbError::NotFound)
}

/// Stores the final response of the request that owns the record.
pub fn set_response(conn: &mut DbConn, id: &str, status: i32, body: &str) -> Result<(), DbError> {
    diesel::update(idempotency_keys::table.find(id))
        .set((
            idempotency_keys::response_status.eq(status),
            idempotency_keys::response_body.eq(body),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes records older than `before` (keys are kept at least 24 hours); returns how many.
pub fn purge_older_than(conn: &mut DbConn, before: NaiveDateTime) -> Result<usize, DbError> {
    Ok(
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
            .execute(conn)?,
    )
}
