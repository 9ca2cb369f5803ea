//! Business operations shared by several endpoints, over a connection inside the caller's
//! write transaction: recording and voiding donations (event donations, the offline batch and
//! emergency-request donations use the same code) and `Idempotency-Key` handling.

pub mod donations;
pub mod idempotency;

use hienmau_db::{DbConn, DbError};

use crate::error::ApiError;

/// The error of a savepoint body: diesel's transaction API wants an error it can build from
/// its own, which [`ApiError`] is not.
struct SavepointError(ApiError);

impl From<diesel::result::Error> for SavepointError {
    fn from(e: diesel::result::Error) -> Self {
        SavepointError(DbError::from_diesel(e).into())
    }
}

/// Runs `f` in a savepoint: when it fails, only what `f` did is undone and the surrounding
/// transaction stays usable (PostgreSQL otherwise aborts it after a failed statement).
pub fn savepoint<T, F>(conn: &mut DbConn, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConn) -> Result<T, ApiError>,
{
    use diesel::Connection;
    conn.transaction::<T, SavepointError, _>(|c| f(c).map_err(SavepointError))
        .map_err(|e| e.0)
}
