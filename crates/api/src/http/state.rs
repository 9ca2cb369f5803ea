//! The application state shared by every worker, and the one way handlers reach the database.

use std::sync::Arc;

use actix_web::web;
use hienmau_db::{DbConn, DbError, DbPool};
use hienmau_domain::calendar::Zone;

use crate::app::AppError;
use crate::http::auth::jwt::JwtKeys;
use crate::http::auth::password::Hasher;
use crate::http::auth::throttle::LoginThrottle;
use crate::http::error::ApiError;
use crate::settings::Settings;

/// Everything a request may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The connection pool.
    pub pool: DbPool,
    /// The loaded settings.
    pub settings: Arc<Settings>,
    /// The zone of calendar days.
    pub zone: Zone,
    /// Token signing and validation.
    pub jwt: Arc<JwtKeys>,
    /// Password hashing under a concurrency bound.
    pub hasher: Arc<Hasher>,
    /// Failed sign-in counters.
    pub throttle: Arc<LoginThrottle>,
    /// Per-caller limits on expensive routes.
    pub limiter: Arc<crate::http::limits::ExpensiveLimiter>,
    /// The instance-wide bound on heavy expensive work running at once (reports, honors lists,
    /// exports while they read the database).
    pub gate: Arc<crate::http::limits::WorkGate>,
    /// The instance-wide bound on candidate searches running at once: the emergency path's
    /// own gate, which heavy work never takes.
    pub candidates_gate: Arc<crate::http::limits::WorkGate>,
    /// Where exports are spooled before they are sent ([`crate::http::stream`]).
    pub spool_dir: Arc<std::path::Path>,
    /// The authenticated requests in flight outside the gates, which heavy work gives its busy
    /// share up to.
    pub in_flight: Arc<crate::http::limits::InFlight>,
    /// On SQLite, the turn to write. SQLite has one writer at a time; without a queue the
    /// others poll its busy handler, which sleeps up to 100 ms between tries, so a busy
    /// moment turned into a 100–300 ms tail for donation logging. Waiting here is in order
    /// and holds no thread or connection. (Other processes on the same file still meet the
    /// busy timeout.) None on PostgreSQL, whose row locks queue writers themselves.
    pub writer: Option<Arc<tokio::sync::Mutex<()>>>,
    /// Set once the database is migrated and its derived figures match the configuration
    /// ([`crate::http::startup::migrate`]); `/ready` answers 503 until then.
    pub ready: Arc<std::sync::atomic::AtomicBool>,
}

impl AppState {
    /// The context of a use case called now.
    pub fn ctx(&self) -> crate::app::Ctx {
        crate::app::Ctx::new(self.settings.clone(), self.zone)
    }

    /// Runs `f` with a pooled connection on the blocking pool. The connection never crosses an
    /// `.await`; a pool timeout answers 503. For the HTTP layer's own reads (authentication,
    /// readiness); use cases go through [`AppState::read`] and [`AppState::write`].
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.on_pool(f).await
    }

    /// Runs a use case that only reads, with a pooled connection on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.on_pool(f).await
    }

    /// Runs a use case inside a write transaction (see [`hienmau_db::write_tx`]); on SQLite,
    /// after waiting for the turn to write.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let _turn = self.write_turn().await;
        self.on_pool(move |conn| hienmau_db::write_tx(conn, f))
            .await
    }

    async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.writer {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    async fn on_pool<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        E: From<DbError> + Into<ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool
                .get()
                .map_err(|e| E::from(DbError::Unavailable(e.to_string())))?;
            f(&mut conn)
        })
        .await?
        .map_err(Into::into)
    }
}
