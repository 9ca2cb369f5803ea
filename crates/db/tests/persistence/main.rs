//! Persistence tests. Every test runs on a fresh SQLite file, and on a fresh PostgreSQL
//! database too when `TEST_DATABASE_URL` points at a server
//! (e.g. `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test -p hienmau-db`).
//!
//! One test binary with modules, so the crate links once.
#![expect(
    clippy::expect_used,
    reason = "helpers outside #[test] functions fail the test by panicking"
)]

mod common;

mod concurrency;
mod constraints;
mod donor_name_index;
mod migrations;
mod queries;
mod roundtrip;
mod transactions;
mod usernames;
