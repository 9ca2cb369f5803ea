//! The HTTP layer: everything that knows about actix-web and utoipa.

pub mod access_log;
pub mod auth;
pub mod dto;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod idempotency;
pub mod limits;
pub mod openapi;
pub mod request_id;
pub mod routes;
pub mod server;
pub mod startup;
pub mod state;
pub mod stream;
pub mod tls;
pub mod web;
