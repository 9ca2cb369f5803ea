//! The hienmau HTTP API (actix-web) and the `hienmau` command line.
//!
//! Layout: [`settings`] (typed configuration), [`startup`] (state, secret, pool, migrations),
//! [`app`] (the actix application: middleware, framework error handlers), [`routes`] (every
//! route and its policy), [`auth`] (tokens, passwords, the policy middleware), [`handlers`]
//! (one small handler per endpoint), [`error`] (problem+json), [`openapi`].

pub mod app;
pub mod audit;
pub mod auth;
pub mod background;
pub mod cli;
pub mod demo;
pub mod error;
pub mod handlers;
pub mod import;
pub mod limits;
pub mod openapi;
pub mod routes;
pub mod services;
pub mod settings;
pub mod startup;
pub mod state;

pub use app::app;
pub use state::AppState;
