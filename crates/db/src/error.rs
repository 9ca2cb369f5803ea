//! The persistence layer's one error type.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What can go wrong in the persistence layer, in terms the API layer can map to statuses.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A paging cursor that this layer did not make.
    #[error("unreadable cursor")]
    BadCursor,
    /// A unique constraint refused the write; `constraint` names it where the backend says.
    #[error("unique constraint violated: {constraint}")]
    UniqueViolation {
        /// The constraint or column list the backend reported.
        constraint: String,
    },
    /// A foreign key refused the write (a referenced row is missing).
    #[error("foreign key violated: {0}")]
    ForeignKeyViolation(String),
    /// The database cannot be reached or the pool has no connection to give in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Any other database error: a bug or an invariant the schema enforces.
    #[error("database error: {0}")]
    Other(DieselError),
}

impl DbError {
    /// Maps a diesel error, distinguishing what callers handle from what they only report.
    pub fn from_diesel(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => DbError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                DbError::UniqueViolation {
                    constraint: info
                        .constraint_name()
                        .map(str::to_owned)
                        .unwrap_or_else(|| info.message().to_owned()),
                }
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
                DbError::ForeignKeyViolation(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                DbError::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(_, ref info) if is_connection_loss(info.message()) => {
                DbError::Unavailable(info.message().to_owned())
            }
            DieselError::BrokenTransactionManager => {
                DbError::Unavailable("broken transaction manager".to_owned())
            }
            other => DbError::Other(other),
        }
    }

    /// True for a unique violation on the constraint whose name or message contains `needle`
    /// (a column name such as `national_id` works on both backends).
    pub fn is_unique_on(&self, needle: &str) -> bool {
        matches!(self, DbError::UniqueViolation { constraint } if constraint.contains(needle))
    }
}

/// libpq reports a server that went away as an unknown error with a message.
fn is_connection_loss(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("server closed the connection")
        || m.contains("terminating connection")
        || m.contains("connection refused")
        || m.contains("no connection to the server")
        || m.contains("could not connect")
        || m.contains("the database system is")
}

impl From<r2d2::Error> for DbError {
    fn from(e: r2d2::Error) -> Self {
        DbError::Unavailable(e.to_string())
    }
}

impl From<diesel::ConnectionError> for DbError {
    fn from(e: diesel::ConnectionError) -> Self {
        DbError::Unavailable(e.to_string())
    }
}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        DbError::from_diesel(e)
    }
}
