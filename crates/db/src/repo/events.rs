//! Donation events: one site on one day of a drive.

use diesel::prelude::*;

use crate::models::Event;
use crate::schema::events;
use crate::{DbConn, DbError};

/// Inserts an event.
pub fn insert(conn: &mut DbConn, row: &Event) -> Result<(), DbError> {
    diesel::insert_into(events::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// One event, or None.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Event>, DbError> {
    Ok(events::table
        .find(id)
        .select(Event::as_select())
        .first(conn)
        .optional()?)
}

/// The events of a drive, by (held_on, id).
pub fn list_for_drive(conn: &mut DbConn, drive_id: &str) -> Result<Vec<Event>, DbError> {
    Ok(events::table
        .filter(events::drive_id.eq(drive_id))
        .order((events::held_on.asc(), events::id.asc()))
        .select(Event::as_select())
        .load(conn)?)
}
