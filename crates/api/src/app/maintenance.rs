//! Housekeeping that keeps the database from growing without bound.

use chrono::Duration;
use hienmau_db::repo::idempotency;
use hienmau_db::DbConn;

use crate::app::{AppError, Ctx};

/// Deletes the stored `Idempotency-Key` answers older than the configured retention; returns
/// how many. A re-send of a purged key is treated as a new request, which is why the
/// retention may not be shorter than a day.
pub fn purge_idempotency_keys(tx: &mut DbConn, ctx: &Ctx) -> Result<usize, AppError> {
    let retention = Duration::hours(i64::from(ctx.settings.idempotency_retention_hours));
    Ok(idempotency::purge_older_than(tx, ctx.now - retention)?)
}
