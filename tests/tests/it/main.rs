//! The integration tests, one binary (one link, one process to start): each module is an
//! area of the contract, run on SQLite and, with `TEST_DATABASE_URL`, on PostgreSQL.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers outside #[test] functions fail the test by panicking"
)]

mod drive_support;
mod emergency_support;
mod honors_support;

mod abuse;
mod architecture;
mod audit_chain;
mod audit_keyed;
mod auth;
mod authz_matrix;
mod batch;
mod crash_loop;
mod deferrals;
mod demo;
mod donations;
mod donor_search;
mod donors;
mod drives;
mod emergency;
mod emergency_disclosure;
mod emergency_gate;
mod emergency_matching;
mod file_modes;
mod honors;
mod honors_memory;
mod hostile_input;
mod import;
mod maintenance;
mod openapi_snapshot;
mod operations;
mod organisation;
mod registry_reads;
mod reports;
mod request_log;
mod responses;
mod screening;
mod signin;
mod smoke;
mod tokens;
mod web_app;
