//! hienmau persistence: one diesel code path for SQLite (the embedded default) and PostgreSQL.
//!
//! - [`conn`]: the connection enum, the pool, the write transaction helper, migrations.
//! - [`schema`]: the tables, written by hand to the portable column types.
//! - [`models`]: per table a row struct, an insert struct (the row itself where every column
//!   is known at insert time) and a changeset.
//! - [`repo`]: repositories per aggregate; functions over `&mut DbConn` returning
//!   `Result<_, DbError>`. The caller owns the transaction.

pub mod conn;
pub mod error;
pub mod models;
pub mod repo;
pub mod schema;
#[cfg(feature = "testing")]
#[expect(
    clippy::expect_used,
    reason = "test databases fail the test by panicking"
)]
pub mod testing;

pub use conn::{
    migrate, open_pool, savepoint, write_tx, Backend, DbConn, DbPool, DbUrl, PoolSettings,
    PooledConn,
};
pub use error::DbError;

/// The current UTC instant truncated to microseconds, the precision both backends store, so a
/// value written and read back compares equal.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::microseconds(1)).unwrap_or(now)
}

/// A new random id, as stored (UUID v4 text).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
