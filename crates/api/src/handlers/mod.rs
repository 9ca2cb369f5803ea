//! One small async handler per endpoint, grouped by area. Handlers validate input, check
//! scope, and do their database work in one closure on the blocking pool.

pub mod api_keys;
pub mod audit_log;
pub mod auth;
pub mod donations;
pub mod donors;
pub mod drives;
pub mod emergency;
pub mod honors;
pub mod ops;
pub mod org;
pub mod reports;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// `?limit=&cursor=` of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Items per page: default 50, at most 500 (larger values are capped); negative is 400.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page size; larger requests are capped.
pub const MAX_LIMIT: i64 = 500;

impl Paging {
    /// The page size to use.
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(l) if l < 0 => Err(ApiError::BadRequest(
                "limit must not be negative".to_owned(),
            )),
            Some(l) => Ok(l.clamp(1, MAX_LIMIT)),
        }
    }

    /// The decoded cursor (the repository's key), if any.
    pub fn after(&self) -> Result<Option<String>, ApiError> {
        self.cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()
    }
}

/// Cursors are opaque to clients: the repository's key, base64url-encoded.
pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// Reads a cursor made by [`encode_cursor`]; anything else is 400.
pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        // Keys are ids, dates and folded names joined by tabs: no other control character
        // (PostgreSQL refuses NUL in text, which would otherwise surface as a database error).
        .filter(|k| !k.chars().any(|c| c.is_control() && c != '\t'))
        .ok_or_else(|| ApiError::BadRequest("cursor is not one this API issued".to_owned()))
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    /// Maps a repository page.
    pub fn from_page<R>(page: hienmau_db::repo::Page<R>, f: impl FnMut(R) -> T) -> Self {
        ListResponse {
            items: page.items.into_iter().map(f).collect(),
            next_cursor: page.next.as_deref().map(encode_cursor),
        }
    }

    /// Pages a short list held in memory, ordered by `key`.
    pub fn paged_in_memory(
        items: Vec<T>,
        paging: &Paging,
        key: impl Fn(&T) -> String,
    ) -> Result<Self, ApiError> {
        let limit = paging.limit()?;
        let after = paging.after()?;
        let rest: Vec<T> = match after {
            Some(after) => items.into_iter().filter(|i| key(i) > after).collect(),
            None => items,
        };
        let page = hienmau_db::repo::Page::from_overfetch(rest, limit, &key);
        Ok(ListResponse {
            items: page.items,
            next_cursor: page.next.as_deref().map(encode_cursor),
        })
    }
}

/// The years a stored calendar date may fall in (the reports' range). Dates far outside it are
/// typing errors, and years past 9999 do not survive a round trip through SQLite's text dates.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// A field error when `day`'s year is outside [`YEARS`].
pub fn check_year(field: &str, day: chrono::NaiveDate, errors: &mut Vec<crate::error::FieldError>) {
    use chrono::Datelike;
    if !YEARS.contains(&day.year()) {
        errors.push(crate::error::FieldError::new(
            field,
            format!("must be in the years {} to {}", YEARS.start(), YEARS.end()),
        ));
    }
}

/// Trims a required text field; empty or longer than `max` characters is a field error.
pub fn required_text(
    field: &str,
    value: &str,
    max: usize,
    errors: &mut Vec<crate::error::FieldError>,
) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.push(crate::error::FieldError::new(field, "must not be empty"));
    } else if v.chars().count() > max {
        errors.push(crate::error::FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    } else if v.chars().any(forbidden_in_text) {
        errors.push(crate::error::FieldError::new(
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
) -> Result<Option<String>, ApiError> {
    let mut errors = Vec::new();
    let v = optional_text(field, value, max, &mut errors);
    ApiError::check(errors)?;
    Ok(v)
}

/// Trims an optional text field: blank becomes None; too long or control characters are errors.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<crate::error::FieldError>,
) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    Some(required_text(field, v, max, errors))
}

/// A JSON request body, read as the OpenAPI document describes it. Like `web::Json` (the
/// same size limit, content type check and problem answers, through `JsonConfig`), and also:
/// - the body must be a JSON object (serde alone would build a struct from an array);
/// - a whole number written with a zero fraction (`86.0`), which JSON Schema counts as an
///   integer, is read as that integer.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let body = actix_web::web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let mut value = body.await?.into_inner();
            if !value.is_object() {
                return Err(
                    ApiError::BadRequest("the body must be a JSON object".to_owned()).into(),
                );
            }
            whole_numbers(&mut value);
            serde_json::from_value(value)
                .map(Json)
                .map_err(|e| ApiError::BadRequest(format!("unreadable JSON: {e}")).into())
        })
    }
}

/// The largest magnitude at which every whole `f64` is exactly an integer we can read.
const EXACT_WHOLE_F64: f64 = 9_007_199_254_740_992.0; // 2^53

/// Rewrites whole numbers written as floats (`86.0`, `1e3`) as integers, everywhere in `v`.
fn whole_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() <= EXACT_WHOLE_F64 {
                    // Exact: |f| ≤ 2^53 fits an i64 without rounding.
                    #[allow(clippy::cast_possible_truncation)]
                    let i = f as i64;
                    *v = serde_json::Value::from(i);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(whole_numbers),
        _ => {}
    }
}
