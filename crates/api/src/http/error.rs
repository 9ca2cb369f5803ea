//! The API's one error type, answered as RFC 9457 problem+json with a stable `code`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use chrono::NaiveDate;
use hienmau_db::DbError;

use crate::app::AppError;
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::app::FieldError;

// The document's name for `FieldError`, which the use cases build without knowing of OpenAPI.
/// One invalid field of a request.
#[derive(ToSchema)]
#[schema(as = FieldError)]
pub struct FieldErrorSchema {
    /// The field's name as in the request (`snake_case`).
    pub field: String,
    /// Why, as a stable code: translate by it, not by the message.
    pub code: FieldCodeSchema,
    /// What is wrong with it (English).
    pub message: String,
}

// The document's name for `hienmau_domain::FieldCode`.
/// The stable code of a field's fault.
#[derive(ToSchema)]
#[schema(as = FieldCode)]
#[serde(rename_all = "snake_case")]
pub enum FieldCodeSchema {
    /// Missing, empty or null where a value is needed.
    Required,
    /// Longer than the field allows.
    TooLong,
    /// Not of the field's form (a CCCD, a phone number, a username, a blood group, control
    /// characters in text).
    InvalidFormat,
    /// Outside the values or dates allowed (in the future, outside a drive's dates, outside
    /// the years kept, a number outside its bounds).
    OutOfRange,
    /// Below a minimum a rule sets (a password's length, a deferral's minimum days, a tier
    /// the donor has not reached).
    BelowMinimum,
    /// Names a record that does not exist (or that the caller may not use).
    NotFound,
    /// Given where it may not be, or in a combination the rules refuse.
    NotAllowed,
}

/// The problem+json body of every 4xx and 5xx answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:hienmau:problem:<code>`).
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The stable machine-readable code (see the contract's table).
    pub code: String,
    /// The request's id, as in its `X-Request-Id` header (set on the way out, by
    /// `http::request_id`): quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Per-field validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<FieldErrorSchema>>)]
    pub errors: Option<Vec<FieldError>>,
    /// For 409 on a duplicate: the id of the record that already exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
    /// For `donor_not_eligible`: why (`interval`, `too_young`, `deferred`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `donor_not_eligible`: the first day the donor may give again; null when never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_eligible_on: Option<Option<NaiveDate>>,
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body or a parameter cannot be read as the expected shape and types.
    #[error("{0}")]
    BadRequest(String),
    /// 422: well-formed but breaks a rule; per-field errors.
    #[error("{detail}")]
    Validation {
        /// Summary.
        detail: String,
        /// The fields at fault.
        errors: Vec<FieldError>,
    },
    /// 401.
    #[error("authentication required")]
    Unauthorized,
    /// 403.
    #[error("your role may not do this")]
    Forbidden,
    /// 404, also for objects outside the caller's scope.
    #[error("not found")]
    NotFound,
    /// 405: the path exists, the method does not.
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// 409.
    #[error("{detail}")]
    Conflict {
        /// What conflicts.
        detail: String,
        /// The existing record, where there is one.
        existing_id: Option<String>,
    },
    /// 413.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 422 `donor_not_eligible`.
    #[error("{message}")]
    NotEligible {
        /// The rule's code.
        reason: String,
        /// The rule's explanation.
        message: String,
        /// The first day the donor may give again; None when never.
        next_eligible_on: Option<NaiveDate>,
    },
    /// 422 `incompatible_donor`: an emergency unit of another component than the request's,
    /// or from a donor whose group is unknown or incompatible with the patient's.
    #[error("{0}")]
    IncompatibleDonor(String),
    /// 422 `idempotency_key_reused`.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// 429 with `Retry-After`.
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// 429 `disclosure_limit` (no `Retry-After`: waiting does not help, raising
    /// `units_needed` or the request's cap does).
    #[error("{0}")]
    DisclosureLimit(String),
    /// 503: the database does not answer.
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// 500: a bug. The cause is logged, never returned.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 500 whose cause goes to the log only.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    /// The stable code of the contract.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) | ApiError::Validation { .. } => "invalid_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict { .. } => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::NotEligible { .. } => "donor_not_eligible",
            ApiError::IncompatibleDonor(_) => "incompatible_donor",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::DisclosureLimit(_) => "disclosure_limit",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "Unreadable request",
            ApiError::Validation { .. } => "Invalid request",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::Forbidden => "Forbidden",
            ApiError::NotFound => "Not found",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::PayloadTooLarge(_) => "Payload too large",
            ApiError::NotEligible { .. } => "Donor not eligible",
            ApiError::IncompatibleDonor(_) => "Incompatible donor",
            ApiError::IdempotencyKeyReused => "Idempotency key reused",
            ApiError::RateLimited { .. } => "Too many requests",
            ApiError::DisclosureLimit(_) => "Disclosure limit reached",
            ApiError::Unavailable => "Service unavailable",
            ApiError::Internal(_) => "Internal error",
        }
    }

    /// The problem body.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let mut p = Problem {
            type_: format!("urn:hienmau:problem:{}", self.code()),
            title: self.title().to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: self.code().to_owned(),
            instance: None,
            errors: None,
            existing_id: None,
            reason: None,
            next_eligible_on: None,
        };
        match self {
            ApiError::Validation { errors, .. } => p.errors = Some(errors.clone()),
            ApiError::Conflict { existing_id, .. } => p.existing_id = existing_id.clone(),
            ApiError::NotEligible {
                reason,
                next_eligible_on,
                ..
            } => {
                p.reason = Some(reason.clone());
                p.next_eligible_on = Some(*next_eligible_on);
            }
            _ => {}
        }
        p
    }
}

/// The content type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. }
            | ApiError::NotEligible { .. }
            | ApiError::IncompatibleDonor(_)
            | ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } | ApiError::DisclosureLimit(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            ApiError::RateLimited { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unavailable => {
                res.insert_header((header::RETRY_AFTER, "2"));
            }
            ApiError::Unauthorized => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        // Serialising a struct of strings cannot fail; an empty body would still be a problem.
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => ApiError::NotFound,
            DbError::BadCursor => {
                ApiError::BadRequest("cursor is not one this API issued".to_owned())
            }
            DbError::UniqueViolation { constraint } => ApiError::Conflict {
                detail: format!("already exists ({})", conflict_subject(&constraint)),
                existing_id: None,
            },
            DbError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::Unavailable
            }
            other => ApiError::internal(other),
        }
    }
}

/// Names the field of a unique violation without echoing the backend's message.
fn conflict_subject(constraint: &str) -> &'static str {
    for (needle, subject) in [
        ("national_id", "national_id"),
        ("unit_code", "unit_code"),
        ("username", "username"),
        ("client_ref", "client_ref"),
        ("tier", "award"),
    ] {
        if constraint.contains(needle) {
            return subject;
        }
    }
    "record"
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => ApiError::NotFound,
            AppError::Forbidden => ApiError::Forbidden,
            AppError::Unreadable(detail) => ApiError::BadRequest(detail),
            AppError::Invalid { detail, errors } => ApiError::Validation { detail, errors },
            AppError::Conflict {
                detail,
                existing_id,
            } => ApiError::Conflict {
                detail,
                existing_id,
            },
            AppError::NotEligible {
                reason,
                message,
                next_eligible_on,
            } => ApiError::NotEligible {
                reason,
                message,
                next_eligible_on,
            },
            AppError::IncompatibleDonor(detail) => ApiError::IncompatibleDonor(detail),
            AppError::KeyReused => ApiError::IdempotencyKeyReused,
            AppError::RateLimited { retry_after_secs } => {
                ApiError::RateLimited { retry_after_secs }
            }
            AppError::DisclosureLimit(detail) => ApiError::DisclosureLimit(detail),
            AppError::Database(e) => e.into(),
            AppError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(e)
    }
}
