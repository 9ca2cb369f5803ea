//! From settings to a running state: the token secret, the pool, migrations, tracing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use hienmau_db::{Backend, DbUrl, PoolSettings};
use hienmau_domain::calendar::Zone;
use rand::RngCore;

use crate::http::auth::jwt::JwtKeys;
use crate::http::auth::password::Hasher;
use crate::http::auth::throttle::LoginThrottle;
use crate::http::state::AppState;
use crate::settings::Settings;

/// Why the process cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Configuration is wrong (named setting and why).
    #[error("{0}")]
    Config(String),
    /// The database failed in a way a retry will not fix.
    #[error("database: {0}")]
    Database(#[from] hienmau_db::DbError),
}

/// The shortest retention of `Idempotency-Key` answers the server accepts.
pub const MIN_IDEMPOTENCY_RETENTION_HOURS: u32 = 24;

/// How often the maintenance task runs.
const MAINTENANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Starts the periodic maintenance of a serving instance on the current actix runtime: purging
/// expired `Idempotency-Key` answers. Every instance runs it; the deletes are idempotent, so
/// several instances on one PostgreSQL database only repeat each other's work.
pub fn spawn_maintenance(state: AppState) {
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(MAINTENANCE_EVERY);
        loop {
            every.tick().await;
            let ctx = state.ctx();
            match state
                .write(move |tx| crate::app::maintenance::purge_idempotency_keys(tx, &ctx))
                .await
            {
                Ok(n) => tracing::info!(purged = n, "expired idempotency keys purged"),
                Err(e) => {
                    tracing::warn!(code = e.code(), "idempotency purge failed; retrying later")
                }
            }
        }
    });
}

/// Builds the state: parses the URL and zone, loads or creates the secret, opens the pool
/// (without connecting: a database that is down does not stop the start).
pub fn build_state(settings: Settings) -> Result<AppState, StartupError> {
    let url = DbUrl::parse(&settings.database_url)
        .map_err(|e| StartupError::Config(format!("DATABASE_URL: {e}")))?;
    let zone = Zone::parse(&settings.timezone)
        .map_err(|e| StartupError::Config(format!("HIENMAU_TIMEZONE: {e}")))?;
    for origin in &settings.cors_allowed_origins {
        check_origin(origin)
            .map_err(|e| StartupError::Config(format!("cors_allowed_origins: {origin:?}: {e}")))?;
    }
    if settings.idempotency_retention_hours < MIN_IDEMPOTENCY_RETENTION_HOURS {
        return Err(StartupError::Config(format!(
            "idempotency_retention_hours: must be at least {MIN_IDEMPOTENCY_RETENTION_HOURS} \
             (a device re-sends what it could not confirm when it next has a connection)"
        )));
    }
    let spool_dir = crate::http::stream::spool_dir(&settings.abuse, &url)
        .map_err(|e| StartupError::Config(format!("abuse.{e}")))?;
    let ttl_seconds = crate::http::auth::jwt::ttl_seconds(settings.token_ttl_minutes)
        .map_err(StartupError::Config)?;
    let proxies = crate::http::auth::client::TrustedProxies::parse(&settings.trusted_proxies)
        .map_err(StartupError::Config)?;
    let secret = jwt_secret(&settings, &url)?;
    let jwt = JwtKeys::new(secret.as_bytes(), ttl_seconds)
        .map_err(|e| StartupError::Config(format!("HIENMAU_JWT_SECRET: {e}")))?;
    let pool = hienmau_db::open_pool(&url, &pool_settings(&settings));
    let in_flight = Arc::new(crate::http::limits::InFlight::default());
    let hasher = Hasher::new(
        settings.login_throttle.max_concurrent_hashes,
        settings.login_throttle.hash_busy_percent,
        in_flight.clone(),
    )
    .map_err(StartupError::Config)?;
    Ok(AppState {
        pool,
        zone,
        jwt: Arc::new(jwt),
        hasher: Arc::new(hasher),
        throttle: Arc::new(LoginThrottle::new(settings.login_throttle.clone(), proxies)),
        limiter: Arc::new(crate::http::limits::ExpensiveLimiter::new(&settings.abuse)),
        gate: Arc::new(
            crate::http::limits::WorkGate::expensive(&settings.abuse)
                .yielding_to(in_flight.clone()),
        ),
        candidates_gate: Arc::new(crate::http::limits::WorkGate::candidates(&settings.abuse)),
        spool_dir: spool_dir.into(),
        in_flight,
        ready: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        writer: (url.backend() == hienmau_db::Backend::Sqlite)
            .then(|| Arc::new(tokio::sync::Mutex::new(()))),
        settings: Arc::new(settings),
    })
}

/// An allowed CORS origin is exactly `http(s)://host[:port]`: no wildcard, path or slash.
fn check_origin(origin: &str) -> Result<(), &'static str> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or("must start with https:// or http://")?;
    let valid = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if valid {
        Ok(())
    } else {
        Err("must be scheme://host[:port], without wildcard, path or trailing slash")
    }
}

/// The pool settings from the configuration.
pub fn pool_settings(settings: &Settings) -> PoolSettings {
    PoolSettings {
        max_size: settings.pool.max_size.max(1),
        connection_timeout: Duration::from_millis(settings.pool.connection_timeout_ms.max(100)),
        sqlite_busy_timeout: Duration::from_millis(settings.pool.sqlite_busy_timeout_ms),
    }
}

/// The signing secret: configured, or on SQLite generated once and kept beside the database
/// file (mode 0600). PostgreSQL deployments run several instances, which must share a secret,
/// so there it is required.
fn jwt_secret(settings: &Settings, url: &DbUrl) -> Result<String, StartupError> {
    if let Some(s) = &settings.jwt_secret {
        return Ok(s.clone());
    }
    match url.backend() {
        Backend::Postgres => Err(StartupError::Config(
            "HIENMAU_JWT_SECRET is required with PostgreSQL (at least 32 bytes, the same for every instance)".to_owned(),
        )),
        Backend::Sqlite => {
            let db = url.sqlite_path().unwrap_or_else(|| Path::new("hienmau.db"));
            load_or_create_secret(&secret_path(db))
        }
    }
}

/// Where the generated secret of a SQLite database lives.
pub fn secret_path(db: &Path) -> PathBuf {
    let mut name = db
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "hienmau.db".into());
    name.push(".jwt-secret");
    db.with_file_name(name)
}

fn load_or_create_secret(path: &Path) -> Result<String, StartupError> {
    let io = |e: std::io::Error| StartupError::Config(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut f) => {
            f.write_all(secret.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok(secret)
        }
        // Another process created it first (or an earlier run did): use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let s = std::fs::read_to_string(path).map_err(io)?;
            Ok(s.trim().to_owned())
        }
        Err(e) => Err(io(e)),
    }
}

/// Brings the database up to date: runs pending migrations, then recomputes the figures derived
/// from configuration when it changed ([`crate::app::maintenance::recompute_if_rules_changed`]),
/// then marks the instance ready (`/ready` answers 503 until then).
pub fn migrate(state: &AppState) -> Result<usize, hienmau_db::DbError> {
    use hienmau_db::DbError;
    let mut conn = state.pool.get()?;
    let applied = hienmau_db::migrate(&mut conn)?;
    let ctx = state.ctx();
    let recomputed = hienmau_db::write_tx(&mut conn, |tx| {
        crate::app::maintenance::recompute_if_rules_changed(tx, &ctx)
    })
    .map_err(|e| match e {
        crate::app::AppError::Database(e) => e,
        other => DbError::Migration(format!("recomputing eligibility figures: {other}")),
    })?;
    if recomputed > 0 {
        tracing::info!(
            donors = recomputed,
            "eligibility rules changed: stored eligibility figures recomputed"
        );
    }
    state
        .ready
        .store(true, std::sync::atomic::Ordering::Release);
    Ok(applied)
}

/// Sets up logging: `RUST_LOG` or the configured filter; JSON lines when `HIENMAU_LOG_FORMAT=json`.
pub fn init_tracing(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(settings.log.clone()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::env::var("HIENMAU_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
