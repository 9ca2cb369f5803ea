//! Hospitals' emergency requests and donors' answers to call-ups.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::models::{DonorResponse, EmergencyRequest, EmergencyRequestChanges};
use crate::repo::{split_cursor, Db, Page};
use crate::schema::{donor_responses, emergency_requests};
use crate::{DbConn, DbError};

/// The cursor's timestamp format: ISO 8601 with as many fraction digits as needed, which
/// parses back to the same microsecond.
const CURSOR_TS: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// Inserts a request.
pub fn insert_request(conn: &mut DbConn, row: &EmergencyRequest) -> Result<(), DbError> {
    diesel::insert_into(emergency_requests::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// One request, or None.
pub fn find_request(conn: &mut DbConn, id: &str) -> Result<Option<EmergencyRequest>, DbError> {
    Ok(emergency_requests::table
        .find(id)
        .select(EmergencyRequest::as_select())
        .first(conn)
        .optional()?)
}

/// Locks a request's row for the rest of the transaction (a no-op `UPDATE`: the row lock on
/// PostgreSQL, which `MultiConnection` cannot take with `FOR UPDATE`; SQLite's `BEGIN
/// IMMEDIATE` already holds the write lock), so that concurrent donations for one request
/// count their units one after the other. False when there is no such request.
pub fn lock_request(conn: &mut DbConn, id: &str) -> Result<bool, DbError> {
    let n = diesel::update(emergency_requests::table.find(id))
        .set(emergency_requests::status.eq(emergency_requests::status))
        .execute(conn)?;
    Ok(n > 0)
}

/// Requests, newest first (opened_at, then id, descending: one backward index scan),
/// optionally of one
/// hospital and in one status; keyset-paged with `"{opened_at}\t{id}"` (the instant as
/// `YYYY-MM-DDTHH:MM:SS[.ffffff]`). A cursor that does not parse is NotFound.
pub fn list_requests(
    conn: &mut DbConn,
    hospital_id: Option<&str>,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<EmergencyRequest>, DbError> {
    let mut q = emergency_requests::table
        .order((
            emergency_requests::opened_at.desc(),
            emergency_requests::id.desc(),
        ))
        .select(EmergencyRequest::as_select())
        .limit(limit + 1)
        .into_boxed::<Db>();
    if let Some(h) = hospital_id {
        q = q.filter(emergency_requests::hospital_id.eq(h.to_owned()));
    }
    if let Some(s) = status {
        q = q.filter(emergency_requests::status.eq(s.to_owned()));
    }
    if let Some(after) = after {
        let (at, id) = split_cursor(after)?;
        let at = NaiveDateTime::parse_from_str(at, CURSOR_TS).map_err(|_| DbError::BadCursor)?;
        q = q.filter(
            emergency_requests::opened_at
                .lt(at)
                .or(emergency_requests::opened_at
                    .eq(at)
                    .and(emergency_requests::id.lt(id.to_owned()))),
        );
    }
    let rows = q.load(conn)?;
    Ok(Page::from_overfetch(rows, limit, |r| {
        format!("{}\t{}", r.opened_at.format(CURSOR_TS), r.id)
    }))
}

/// Sets a request's status, units received and closing instant (None while open); NotFound
/// when it does not exist.
pub fn update_request_status(
    conn: &mut DbConn,
    id: &str,
    status: &str,
    units_received: i32,
    closed_at: Option<NaiveDateTime>,
) -> Result<(), DbError> {
    let n = diesel::update(emergency_requests::table.find(id))
        .set((
            emergency_requests::status.eq(status),
            emergency_requests::units_received.eq(units_received),
            emergency_requests::closed_at.eq(closed_at),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

/// Applies changes to a request (nothing to change is no write); NotFound when it does not
/// exist.
pub fn update_request(
    conn: &mut DbConn,
    id: &str,
    changes: &EmergencyRequestChanges,
) -> Result<(), DbError> {
    if *changes == EmergencyRequestChanges::default() {
        return Ok(());
    }
    let n = diesel::update(emergency_requests::table.find(id))
        .set(changes)
        .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

/// Records a donor's answer to a call-up.
pub fn insert_response(conn: &mut DbConn, row: &DonorResponse) -> Result<(), DbError> {
    diesel::insert_into(donor_responses::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The answers recorded for a request, by (recorded_at, id).
pub fn list_responses(conn: &mut DbConn, request_id: &str) -> Result<Vec<DonorResponse>, DbError> {
    Ok(donor_responses::table
        .filter(donor_responses::request_id.eq(request_id))
        .order((
            donor_responses::recorded_at.asc(),
            donor_responses::id.asc(),
        ))
        .select(DonorResponse::as_select())
        .load(conn)?)
}
