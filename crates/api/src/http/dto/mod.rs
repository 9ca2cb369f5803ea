//! Request and response types shared by every area: paging and list pages, and the OpenAPI
//! names of types the use cases define without knowing of OpenAPI.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod deferrals;
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
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::error::ApiError;

/// For PATCH bodies: tells an absent field (`None`) from an explicit `null` (`Some(None)`).
/// Use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The `Location` of a created resource: `collection` is its collection's path below the API
/// base (`/donors`).
pub fn location(collection: &str, id: &str) -> String {
    format!("{}{collection}/{id}", crate::http::routes::API)
}

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

// The document's name for `hienmau_domain::Role`, which knows nothing of OpenAPI.
/// A user's role (see the contract's table).
#[derive(ToSchema)]
#[schema(as = Role)]
#[serde(rename_all = "snake_case")]
pub enum RoleSchema {
    /// Everything.
    Admin,
    /// Drives, events, donations and reports of one chapter's subtree; donors.
    Coordinator,
    /// One hospital's emergency requests.
    Hospital,
    /// Reads donors, honors and reports; records awards.
    Honors,
}
