//! The use cases, one module per capability.
//!
//! Each use case is a plain function
//! `fn(tx: &mut DbConn, ctx: &Ctx, actor: &Actor, cmd) -> Result<Out, AppError>` that owns its
//! scope checks, its audit entries and its transaction script. The caller (an HTTP handler,
//! the command line, `demo`, `import`, the tests, the benchmark) owns the transaction. Nothing
//! here imports actix-web, utoipa or the `http` modules: `tests/tests/architecture.rs` fails
//! if it does.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod deferrals;
pub mod donations;
pub mod donors;
pub mod drives;
pub mod emergency;
pub mod error;
pub mod honors;
pub mod idempotency;
pub mod maintenance;
pub mod org;
pub mod reports;
pub mod scope;
pub mod screening;
pub mod validate;

use std::sync::Arc;

use chrono::NaiveDateTime;
use hienmau_db::{DbConn, DbError};
use hienmau_domain::calendar::Zone;

pub use error::{AppError, FieldCode, FieldError};
pub use scope::{Actor, Principal};

use crate::settings::Settings;

/// What every use case may read besides its command: the settings in force, the zone of
/// calendar days and the moment the request is taken to happen.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The loaded settings (eligibility rules, honor tiers, limits).
    pub settings: Arc<Settings>,
    /// The zone of calendar days.
    pub zone: Zone,
    /// "Now" for this request (UTC, to the microsecond the databases keep).
    pub now: NaiveDateTime,
}

impl Ctx {
    /// A context at the current instant.
    pub fn new(settings: Arc<Settings>, zone: Zone) -> Self {
        Self {
            settings,
            zone,
            now: hienmau_db::now(),
        }
    }

    /// Today in the configured zone.
    pub fn today(&self) -> chrono::NaiveDate {
        self.zone.day_of(self.now.and_utc())
    }
}

/// The error of a savepoint body: diesel's transaction API wants an error it can build from
/// its own.
struct SavepointError<E>(E);

impl<E: From<DbError>> From<diesel::result::Error> for SavepointError<E> {
    fn from(e: diesel::result::Error) -> Self {
        SavepointError(E::from(DbError::from_diesel(e)))
    }
}

/// Runs `f` in a savepoint: when it fails, only what `f` did is undone and the surrounding
/// transaction stays usable (PostgreSQL otherwise aborts it after a failed statement).
pub fn savepoint<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DbError>,
{
    use diesel::Connection;
    conn.transaction::<T, SavepointError<E>, _>(|c| f(c).map_err(SavepointError))
        .map_err(|e| e.0)
}
