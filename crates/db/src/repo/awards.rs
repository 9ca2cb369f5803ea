//! Honors awarded to donors, one per (donor, tier).

use diesel::dsl::max;
use diesel::prelude::*;

use crate::models::Award;
use crate::schema::awards;
use crate::{DbConn, DbError};

/// Records an award; a second award at the same tier for the same donor is a unique
/// violation (on `tier`, by both backends' naming).
pub fn insert(conn: &mut DbConn, row: &Award) -> Result<(), DbError> {
    diesel::insert_into(awards::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A donor's awards, by tier.
pub fn list_for_donor(conn: &mut DbConn, donor_id: &str) -> Result<Vec<Award>, DbError> {
    Ok(awards::table
        .filter(awards::donor_id.eq(donor_id))
        .order(awards::tier.asc())
        .select(Award::as_select())
        .load(conn)?)
}

/// The highest tier awarded to the donor, or None.
pub fn highest_tier(conn: &mut DbConn, donor_id: &str) -> Result<Option<i32>, DbError> {
    Ok(awards::table
        .filter(awards::donor_id.eq(donor_id))
        .select(max(awards::tier))
        .first::<Option<i32>>(conn)?)
}
