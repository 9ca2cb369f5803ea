//! Fresh databases for tests (feature `testing`): a new SQLite file per test, and a new
//! PostgreSQL database per test when `TEST_DATABASE_URL` points at a server. Dropped with the
//! value.

use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::Connection;

use crate::{migrate, open_pool, DbPool, DbUrl, PoolSettings};

/// A database made for one test, removed when dropped.
pub struct TestDatabase {
    /// The URL to give the application.
    pub url: String,
    /// Which backend it is.
    pub backend: crate::Backend,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh SQLite file in a temporary folder.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path: PathBuf = dir.path().join("hienmau.db");
        TestDatabase {
            url: format!("sqlite://{}", path.display()),
            backend: crate::Backend::Sqlite,
            _dir: Some(dir),
            pg_admin: None,
        }
    }

    /// A fresh PostgreSQL database on the server of `TEST_DATABASE_URL`, if set.
    pub fn postgres() -> Option<Self> {
        let admin = std::env::var("TEST_DATABASE_URL").ok()?;
        let name = format!("hienmau_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(&admin).expect("TEST_DATABASE_URL answers");
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        Some(TestDatabase {
            url: replace_db_name(&admin, &name),
            backend: crate::Backend::Postgres,
            _dir: None,
            pg_admin: Some((admin, name)),
        })
    }

    /// SQLite always, PostgreSQL too when `TEST_DATABASE_URL` is set.
    pub fn all() -> Vec<Self> {
        let mut v = vec![Self::sqlite()];
        v.extend(Self::postgres());
        v
    }

    /// A migrated pool on this database.
    pub fn pool(&self) -> DbPool {
        let url = DbUrl::parse(&self.url).expect("test url");
        let pool = open_pool(&url, &PoolSettings::default());
        let mut conn = pool.get().expect("test database answers");
        migrate(&mut conn).expect("migrations run");
        pool
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg_admin {
            if let Ok(mut conn) = diesel::PgConnection::establish(admin) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// `postgres://u@h:p/olddb?x` → `postgres://u@h:p/newdb?x`.
pub fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}
