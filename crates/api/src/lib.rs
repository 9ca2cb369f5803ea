//! The hienmau HTTP API (actix-web) and the `hienmau` command line.
//!
//! The layers point one way (see docs/ARCHITECTURE.md):
//! - [`http`]: actix-web: the route table and its policies, extractors, authentication,
//!   request and response types, problem+json, OpenAPI, start-up and limits. Handlers read
//!   the request, call one use case and map its answer.
//! - [`app`]: the use cases, one module per capability. Each is a plain function over a
//!   connection inside the caller's transaction that owns its scope checks, its audit entries
//!   and its transaction script; it knows nothing of HTTP.
//! - below them, the domain crate (pure rules) and the persistence crate (repositories).
//!
//! The command line ([`cli`]), [`demo`] and [`import`] call the use cases, never handlers.

pub mod app;
pub mod background;
pub mod cli;
pub mod demo;
pub mod http;
pub mod import;
pub mod settings;

pub use http::server::app;
pub use http::state::AppState;
