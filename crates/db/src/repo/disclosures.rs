//! Donors disclosed for an emergency request: who its candidates showed to a caller of its
//! hospital. A row is written once per (request, donor), the first time, and never removed: a
//! later decline takes the donor off the candidates, not off what the hospital has seen.

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::models::EmergencyDisclosure;
use crate::schema::emergency_disclosures;
use crate::{DbConn, DbError};

/// How many distinct donors have been disclosed for the request.
pub fn count(conn: &mut DbConn, request_id: &str) -> Result<i64, DbError> {
    Ok(emergency_disclosures::table
        .filter(emergency_disclosures::request_id.eq(request_id))
        .select(count_star())
        .first(conn)?)
}

/// Which of `donor_ids` have been disclosed for the request.
pub fn among(
    conn: &mut DbConn,
    request_id: &str,
    donor_ids: &[String],
) -> Result<Vec<String>, DbError> {
    if donor_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(emergency_disclosures::table
        .filter(emergency_disclosures::request_id.eq(request_id))
        .filter(emergency_disclosures::donor_id.eq_any(donor_ids))
        .select(emergency_disclosures::donor_id)
        .load(conn)?)
}

/// True when the donor has been disclosed for the request.
pub fn is_disclosed(conn: &mut DbConn, request_id: &str, donor_id: &str) -> Result<bool, DbError> {
    Ok(emergency_disclosures::table
        .find((request_id, donor_id))
        .select(emergency_disclosures::donor_id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Records donors disclosed for the first time (the caller has checked, under the request's
/// lock, that none of them is recorded yet).
pub fn insert(
    conn: &mut DbConn,
    request_id: &str,
    donor_ids: &[String],
    at: NaiveDateTime,
) -> Result<(), DbError> {
    for donor_id in donor_ids {
        diesel::insert_into(emergency_disclosures::table)
            .values(&EmergencyDisclosure {
                request_id: request_id.to_owned(),
                donor_id: donor_id.clone(),
                disclosed_at: at,
            })
            .execute(conn)?;
    }
    Ok(())
}
