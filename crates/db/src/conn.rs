//! Connections, the pool, write transactions and migrations for both backends.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, Connection, SimpleConnection, TransactionManager,
};
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::DbError;

/// SQLite migrations, embedded in the binary.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
/// PostgreSQL migrations, embedded in the binary; same names as the SQLite set.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// One connection to either backend. Repositories take `&mut DbConn` and run the same diesel
/// query on both; backend-specific SQL is a plain `match` on this enum.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// PostgreSQL: production, and several stateless instances on one database.
    Pg(PgConnection),
    /// SQLite: the embedded, zero set-up default.
    Sqlite(SqliteConnection),
}

/// Which backend a connection or URL speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

/// A parsed `DATABASE_URL`. We pick the backend from the scheme ourselves: the derived
/// `establish` tries each backend in turn and could open a SQLite file named like a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// `postgres://…` or `postgresql://…`, passed to libpq unchanged.
    Postgres(String),
    /// `sqlite://PATH` or a bare path.
    Sqlite(PathBuf),
}

impl DbUrl {
    /// Parses a URL: `postgres://` and `postgresql://` select PostgreSQL; `sqlite://PATH`
    /// (`sqlite:///abs` for an absolute path) or a plain path select SQLite.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(DbError::Unavailable("empty database path".to_owned()));
        }
        Ok(DbUrl::Sqlite(PathBuf::from(path)))
    }

    /// The backend this URL selects.
    pub fn backend(&self) -> Backend {
        match self {
            DbUrl::Postgres(_) => Backend::Postgres,
            DbUrl::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// The SQLite file, if this is a SQLite URL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            DbUrl::Sqlite(p) => Some(p),
            DbUrl::Postgres(_) => None,
        }
    }
}

/// Pool and connection settings.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections the pool opens.
    pub max_size: u32,
    /// How long a request waits for a connection before the database counts as unavailable.
    pub connection_timeout: Duration,
    /// SQLite: how long a writer waits for the write lock before failing.
    pub sqlite_busy_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 16,
            connection_timeout: Duration::from_secs(2),
            sqlite_busy_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens one connection, creating a SQLite file (and its folder) if missing and applying the
/// SQLite pragmas.
pub fn establish(url: &DbUrl, settings: &PoolSettings) -> Result<DbConn, DbError> {
    match url {
        DbUrl::Postgres(u) => Ok(DbConn::Pg(PgConnection::establish(u)?)),
        DbUrl::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    DbError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            let path_str = path.to_string_lossy();
            let mut conn = SqliteConnection::establish(&path_str)?;
            // WAL: readers never block the writer. synchronous=FULL: an acknowledged commit is
            // on disk, as on PostgreSQL. busy_timeout: writers queue instead of failing.
            conn.batch_execute(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                 PRAGMA busy_timeout = {};",
                settings.sqlite_busy_timeout.as_millis()
            ))
            .map_err(DbError::from_diesel)?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

/// The r2d2 manager: establishes by our URL rule and checks health like diesel's own manager.
#[derive(Debug)]
pub struct Manager {
    url: DbUrl,
    settings: PoolSettings,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = DbError;

    fn connect(&self) -> Result<DbConn, DbError> {
        establish(&self.url, &self.settings)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), DbError> {
        conn.ping().map_err(DbError::from_diesel)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// The connection pool.
pub type DbPool = r2d2::Pool<Manager>;
/// A connection checked out of the pool.
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Builds the pool without connecting: start-up succeeds while the database is down, and
/// connections are opened (and re-opened) on demand.
pub fn open_pool(url: &DbUrl, settings: &PoolSettings) -> DbPool {
    r2d2::Pool::builder()
        .max_size(settings.max_size)
        .min_idle(Some(0))
        .connection_timeout(settings.connection_timeout)
        .test_on_check_out(true)
        .build_unchecked(Manager {
            url: url.clone(),
            settings: settings.clone(),
        })
}

/// Runs `f` in a write transaction and commits when it returns `Ok`, rolls back otherwise.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`: a deferred transaction that reads
/// and then writes fails with SQLITE_BUSY at once when another writer got there first, while
/// an immediate one queues on the busy timeout. Nested `conn.transaction(..)` calls inside `f`
/// are savepoints on both backends.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DbError>,
{
    let begun = match conn {
        DbConn::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")
        }
        DbConn::Pg(_) => <DbConn as Connection>::TransactionManager::begin_transaction(conn),
    };
    begun.map_err(|e| E::from(DbError::from_diesel(e)))?;
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)
                .map_err(|e| E::from(DbError::from_diesel(e)))?;
            Ok(value)
        }
        Err(e) => {
            // The caller's error is the one that matters; a failed rollback leaves the
            // connection marked broken and r2d2 discards it.
            if let Err(rollback) =
                <DbConn as Connection>::TransactionManager::rollback_transaction(conn)
            {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

/// Runs `f` in a savepoint: a failure (such as a unique violation) undoes only what `f` did and
/// leaves the surrounding transaction usable, which PostgreSQL otherwise aborts.
pub fn savepoint<T, F>(conn: &mut DbConn, f: F) -> Result<T, DbError>
where
    F: FnOnce(&mut DbConn) -> Result<T, DbError>,
{
    conn.transaction::<T, DbError, _>(f)
}

/// Runs the pending migrations of the connection's backend; returns how many ran.
///
/// On PostgreSQL several instances may start at once: an advisory lock lets one migrate while
/// the others wait, instead of racing on `CREATE TABLE`.
pub fn migrate(conn: &mut DbConn) -> Result<usize, DbError> {
    const LOCK: i64 = 0x6869_656e_6d61_7500; // "hienmau" as a number
    let ran = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.len())
            .map_err(|e| DbError::Migration(e.to_string()))?,
        DbConn::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({LOCK})"))
                .map_err(DbError::from_diesel)?;
            let ran = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len())
                .map_err(|e| DbError::Migration(e.to_string()));
            c.batch_execute(&format!("SELECT pg_advisory_unlock({LOCK})"))
                .map_err(DbError::from_diesel)?;
            ran?
        }
    };
    Ok(ran)
}

/// Checks that the database answers (readiness).
pub fn ping(conn: &mut DbConn) -> Result<(), DbError> {
    conn.batch_execute("SELECT 1").map_err(DbError::from_diesel)
}
