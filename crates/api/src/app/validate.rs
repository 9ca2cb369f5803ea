//! Checks of free text and dates shared by every use case's validation.

use crate::app::error::{AppError, FieldError};

/// The years a stored calendar date may fall in (the reports' range). Dates far outside it are
/// typing errors, and years past 9999 do not survive a round trip through SQLite's text dates.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// A field error when `day`'s year is outside [`YEARS`].
pub fn check_year(field: &str, day: chrono::NaiveDate, errors: &mut Vec<FieldError>) {
    use chrono::Datelike;
    if !YEARS.contains(&day.year()) {
        errors.push(FieldError::new(
            field,
            format!("must be in the years {} to {}", YEARS.start(), YEARS.end()),
        ));
    }
}

/// Trims a required text field; empty or longer than `max` characters is a field error.
pub fn required_text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    } else if v.chars().any(forbidden_in_text) {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    v.to_owned()
}

/// Characters no text field accepts: control characters (C0, DEL, C1; NUL is also refused by
/// PostgreSQL) and the bidirectional overrides and isolates that make text display other than
/// it reads ("Trojan source").
pub fn forbidden_in_text(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

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
