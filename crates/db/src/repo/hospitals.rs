//! Hospitals.

use diesel::prelude::*;

use crate::models::Hospital;
use crate::schema::hospitals;
use crate::{DbConn, DbError};

/// Inserts a hospital.
pub fn insert(conn: &mut DbConn, row: &Hospital) -> Result<(), DbError> {
    diesel::insert_into(hospitals::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// One hospital, or None.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Hospital>, DbError> {
    Ok(hospitals::table
        .find(id)
        .select(Hospital::as_select())
        .first(conn)
        .optional()?)
}

/// Every hospital, by name.
pub fn list(conn: &mut DbConn) -> Result<Vec<Hospital>, DbError> {
    Ok(hospitals::table
        .order((hospitals::name.asc(), hospitals::id.asc()))
        .select(Hospital::as_select())
        .load(conn)?)
}
