//! Honors awarded to donors: at most one award in force per (donor, tier). A voided award
//! (a correction) is kept for the audit, counts for nothing, and leaves the tier free to be
//! awarded again (the unique index `awards_donor_tier_idx` holds only awards not voided).

use chrono::NaiveDateTime;
use diesel::dsl::max;
use diesel::prelude::*;

use crate::models::Award;
use crate::schema::awards;
use crate::{DbConn, DbError};

/// Records an award; a second award in force at the same tier for the same donor is a unique
/// violation (on `tier`, by both backends' naming).
pub fn insert(conn: &mut DbConn, row: &Award) -> Result<(), DbError> {
    diesel::insert_into(awards::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// One award, voided or not.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Award>, DbError> {
    Ok(awards::table
        .find(id)
        .select(Award::as_select())
        .first(conn)
        .optional()?)
}

/// Voids an award in force; false when there is none with this id (or it is voided already).
pub fn void(
    conn: &mut DbConn,
    id: &str,
    reason: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<bool, DbError> {
    let n = diesel::update(
        awards::table
            .filter(awards::id.eq(id))
            .filter(awards::voided.eq(false)),
    )
    .set((
        awards::voided.eq(true),
        awards::void_reason.eq(reason),
        awards::voided_at.eq(at),
        awards::voided_by.eq(by),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// A donor's awards, voided ones included, by tier (then the day of the award and id).
pub fn list_for_donor(conn: &mut DbConn, donor_id: &str) -> Result<Vec<Award>, DbError> {
    Ok(awards::table
        .filter(awards::donor_id.eq(donor_id))
        .order((
            awards::tier.asc(),
            awards::awarded_on.asc(),
            awards::id.asc(),
        ))
        .select(Award::as_select())
        .load(conn)?)
}

/// The highest tier of the donor's awards in force (not voided), or None.
pub fn highest_tier(conn: &mut DbConn, donor_id: &str) -> Result<Option<i32>, DbError> {
    Ok(awards::table
        .filter(awards::donor_id.eq(donor_id))
        .filter(awards::voided.eq(false))
        .select(max(awards::tier))
        .first::<Option<i32>>(conn)?)
}
