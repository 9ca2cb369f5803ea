//! Repositories per aggregate. Every function takes `&mut DbConn` and leaves transactions to
//! the caller (use [`crate::write_tx`] for writes that must be atomic).

pub mod api_keys;
pub mod audit;
pub mod awards;
pub mod candidates;
pub mod chapters;
pub mod disclosures;
pub mod donations;
pub mod donors;
pub mod drives;
pub mod emergency;
pub mod events;
pub mod honors;
pub mod hospitals;
pub mod idempotency;
pub(crate) mod raw;
pub mod reports;
pub mod rules;
pub mod users;

use crate::{DbConn, DbError};

/// The backend type of [`DbConn`], for boxed queries and expressions.
pub(crate) type Db = <DbConn as diesel::Connection>::Backend;

/// Escapes `\`, `%` and `_` for a `LIKE … ESCAPE '\'` pattern (SQLite has no default escape
/// character, so every LIKE over user input names it).
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `%s%` with `s` escaped: "contains".
pub(crate) fn like_contains(s: &str) -> String {
    format!("%{}%", like_escape(s))
}

/// `s%` with `s` escaped: "starts with".
pub(crate) fn like_prefix(s: &str) -> String {
    format!("{}%", like_escape(s))
}

/// Splits a two-part keyset cursor `"{key}\t{id}"` (ids never contain a tab, so the last tab
/// separates). A cursor that does not parse is `BadCursor` (the API answers 400).
pub(crate) fn split_cursor(cursor: &str) -> Result<(&str, &str), DbError> {
    cursor.rsplit_once('\t').ok_or(DbError::BadCursor)
}

/// A keyset page: the rows and, when more follow, the key to continue after.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows of this page, in order.
    pub items: Vec<T>,
    /// Present when another page follows: pass it back as the cursor.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says that more follow.
    pub fn from_overfetch(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&key)
        } else {
            None
        };
        Page { items: rows, next }
    }
}
