//! One small async handler per endpoint, grouped by area. A handler reads the request, calls
//! one use case in `crate::app` on the blocking pool (`AppState::write` or `AppState::read`)
//! and maps its answer; it never calls another handler module.

pub mod api_keys;
pub mod audit_log;
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

pub use crate::http::dto::{ListResponse, Paging};
pub use crate::http::extract::Json;
