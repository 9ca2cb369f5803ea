//! Checks of free text and dates shared by every use case's validation.

use crate::app::error::{AppError, FieldError};
use crate::app::FieldCode;

/// The years a stored calendar date may fall in (the reports' range). Dates far outside it are
/// typing errors, and years past 9999 do not survive a round trip through SQLite's text dates.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// A field error when `day`'s year is outside [`YEARS`].
pub fn check_year(field: &str, day: chrono::NaiveDate, errors: &mut Vec<FieldError>) {
    use chrono::Datelike;
    if !YEARS.contains(&day.year()) {
        errors.push(FieldError::new(
            field,
            FieldCode::OutOfRange,
            format!("must be in the years {} to {}", YEARS.start(), YEARS.end()),
        ));
    }
}

/// Trims a required text field; empty, longer than `max` characters or with control
/// characters is a field error (the domain's text rule).
pub fn required_text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let v = value.trim();
    if let Err(problem) = hienmau_domain::text::check_text(v, max) {
        errors.push(FieldError::new(field, problem.code(), problem.to_string()));
    }
    v.to_owned()
}

pub use hienmau_domain::text::forbidden_in_text;

/// A free-text query parameter (such as `q`): trimmed, blank is None; longer than `max`
/// characters or with control characters is 422 naming the parameter.
pub fn query_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, AppError> {
    let mut errors = Vec::new();
    let v = optional_text(field, value, max, &mut errors);
    AppError::check(errors)?;
    Ok(v)
}

/// Trims an optional text field: blank becomes None; too long or control characters are errors.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    Some(required_text(field, v, max, errors))
}
