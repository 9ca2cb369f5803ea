//! The use cases' one error type. It says what went wrong in business terms; the HTTP layer
//! maps it to a status and a problem+json `code` in one `From` (`http::error`).

use chrono::NaiveDate;
use hienmau_db::DbError;
use serde::Serialize;

pub use hienmau_domain::FieldCode;

/// One invalid field of a command.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldError {
    /// The field's name as in the request (`snake_case`).
    pub field: String,
    /// Why, as a stable code (clients translate by it).
    pub code: FieldCode,
    /// What is wrong with it (English).
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, code: FieldCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Everything a use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The object does not exist, or is outside the actor's scope (the two are not told apart,
    /// so another tenant's objects do not leak).
    #[error("not found")]
    NotFound,
    /// The actor's role may not do this.
    #[error("your role may not do this")]
    Forbidden,
    /// A value that cannot be read at all (a paging cursor this API did not issue, a negative
    /// limit): 400 rather than 422.
    #[error("{0}")]
    Unreadable(String),
    /// Well-formed but breaks a rule; per-field errors.
    #[error("{detail}")]
    Invalid {
        /// Summary.
        detail: String,
        /// The fields at fault.
        errors: Vec<FieldError>,
    },
    /// The command conflicts with what is stored.
    #[error("{detail}")]
    Conflict {
        /// What conflicts.
        detail: String,
        /// The existing record, where there is one.
        existing_id: Option<String>,
    },
    /// The donor may not give (an eligibility rule refused).
    #[error("{message}")]
    NotEligible {
        /// The rule's code.
        reason: String,
        /// The rule's explanation.
        message: String,
        /// The first day the donor may give again; None when never.
        next_eligible_on: Option<NaiveDate>,
    },
    /// An emergency unit that may not go to the request's patient: another component, or a
    /// donor whose blood group is unknown or incompatible.
    #[error("{0}")]
    IncompatibleDonor(String),
    /// An idempotency key was used before with a different command.
    #[error("this Idempotency-Key was used with a different request")]
    KeyReused,
    /// A per-caller limit was reached.
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// An emergency request's candidates would disclose a donor past the request's cap.
    #[error("{0}")]
    DisclosureLimit(String),
    /// The database refused or could not be reached.
    #[error(transparent)]
    Database(#[from] DbError),
    /// A broken invariant: a bug. The cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// An invalid command with one field at fault.
    pub fn field(field: &str, code: FieldCode, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::Invalid {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError::new(field, code, message)],
        }
    }

    /// Invalid with the fields at fault, or Ok when there are none.
    pub fn check(errors: Vec<FieldError>) -> Result<(), AppError> {
        if errors.is_empty() {
            return Ok(());
        }
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Err(AppError::Invalid { detail, errors })
    }

    /// A broken invariant, with its cause for the log.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::Internal(cause.to_string())
    }

    /// A conflict with no existing record to point at.
    pub fn conflict(detail: impl Into<String>) -> Self {
        AppError::Conflict {
            detail: detail.into(),
            existing_id: None,
        }
    }

    /// True when the database refused a write on a unique constraint whose name contains
    /// `needle` (a column name): how a use case tells "already exists" from other failures.
    pub fn is_unique_violation_on(&self, needle: &str) -> bool {
        matches!(self, AppError::Database(DbError::UniqueViolation { constraint }) if constraint.contains(needle))
    }
}

impl From<hienmau_domain::DomainError> for AppError {
    /// A domain error on its own names no field; use cases that know the field use
    /// [`AppError::field`] instead.
    fn from(e: hienmau_domain::DomainError) -> Self {
        AppError::Invalid {
            detail: e.to_string(),
            errors: Vec::new(),
        }
    }
}
