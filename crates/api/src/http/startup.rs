//! From settings to a running state: the token secret, the pool, migrations, tracing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use hienmau_db::{Backend, DbUrl, PoolSettings};
use hienmau_domain::calendar::Zone;
use rand::RngCore;

use crate::app::audit::{AuditKey, AuditKeys};
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
/// expired `Idempotency-Key` answers, and logging the audit chain's head (an anchor outside
/// the database for `hienmau audit verify --expect`). Every instance runs it; the deletes are idempotent, so
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
            log_audit_head(
                state
                    .read(crate::app::audit::head)
                    .await
                    .map_err(|e| e.code()),
            );
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
    if settings.jwt_secret.is_some() {
        check_strength("HIENMAU_JWT_SECRET", &secret)?;
    }
    configured_audit_keys(&settings, &url)?;
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
            secure_data_folder(db)?;
            load_or_create_secret(&secret_path(db))
        }
    }
}

/// Where the generated secret of a SQLite database lives.
pub fn secret_path(db: &Path) -> PathBuf {
    beside(db, ".jwt-secret")
}

/// Where the generated audit key of a SQLite database lives.
pub fn audit_key_path(db: &Path) -> PathBuf {
    beside(db, ".audit-key")
}

fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "hienmau.db".into());
    name.push(suffix);
    db.with_file_name(name)
}

/// The least estimated strength of a secret, in bits.
pub const MIN_SECRET_BITS: f64 = 128.0;

/// The least length of a secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// A secret's estimated strength: its length in characters × log2 of the number of distinct
/// characters in it (32 `a`s: 0 bits; 64 hexadecimal digits: 256 bits). Generous to a
/// human-chosen phrase, but it refuses the repeated and low-variety secrets that get typed
/// into configuration files.
pub fn secret_strength_bits(secret: &str) -> f64 {
    let distinct = secret
        .chars()
        .collect::<std::collections::HashSet<_>>()
        .len();
    let length = secret.chars().count();
    if distinct < 2 {
        return 0.0;
    }
    length as f64 * (distinct as f64).log2()
}

/// Refuses a secret under [`MIN_SECRET_BYTES`] or [`MIN_SECRET_BITS`], naming `what` (the
/// setting or the file) and never the secret.
fn check_strength(what: &str, secret: &str) -> Result<(), StartupError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(StartupError::Config(format!(
            "{what}: the secret must be at least {MIN_SECRET_BYTES} bytes"
        )));
    }
    let bits = secret_strength_bits(secret);
    if bits < MIN_SECRET_BITS {
        return Err(StartupError::Config(format!(
            "{what}: the secret is too weak (about {bits:.0} bits estimated, at least \
             {MIN_SECRET_BITS:.0} needed: use e.g. `openssl rand -hex 32`)"
        )));
    }
    Ok(())
}

/// The audit keys from the configuration (checked for length and strength), or None when the
/// key is not configured (on SQLite it is then read from, or generated beside, the database:
/// see [`audit_keys`]). PostgreSQL instances share one database, so there it is required.
fn configured_audit_keys(
    settings: &Settings,
    url: &DbUrl,
) -> Result<(Option<AuditKey>, Vec<AuditKey>), StartupError> {
    let key = |what: &str, secret: &str| {
        check_strength(what, secret)?;
        AuditKey::new(secret).map_err(|e| StartupError::Config(format!("{what}: {e}")))
    };
    let previous = settings
        .audit_previous_keys
        .iter()
        .map(|k| key("HIENMAU_AUDIT_PREVIOUS_KEYS", k))
        .collect::<Result<Vec<_>, _>>()?;
    let current =
        match (&settings.audit_key, url.backend()) {
            (Some(secret), _) => Some(key("HIENMAU_AUDIT_KEY", secret)?),
            (None, Backend::Postgres) => return Err(StartupError::Config(
                "HIENMAU_AUDIT_KEY is required with PostgreSQL (at least 32 bytes, the same for \
                 every instance, kept outside the database)"
                    .to_owned(),
            )),
            (None, Backend::Sqlite) => None,
        };
    Ok((current, previous))
}

/// Whether a missing SQLite audit key may be generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingKey {
    /// Generate one when the log holds no keyed entry (start-up).
    GenerateForNewChain,
    /// Refuse (`audit verify` needs the key the chain was written with).
    Refuse,
}

/// The audit keys in force: configured, or on SQLite the key file beside the database,
/// generated when absent only if the log holds no keyed entry (a new key would leave the
/// chain unverifiable and could hide a rewrite, so then the start is refused, naming the
/// setting).
pub fn audit_keys(
    settings: &Settings,
    conn: &mut hienmau_db::DbConn,
    missing: MissingKey,
) -> Result<AuditKeys, StartupError> {
    let url = DbUrl::parse(&settings.database_url)
        .map_err(|e| StartupError::Config(format!("DATABASE_URL: {e}")))?;
    let (current, previous) = configured_audit_keys(settings, &url)?;
    let current = match (current, url.sqlite_path()) {
        (Some(k), _) => k,
        (None, None) => {
            return Err(StartupError::Config(
                "HIENMAU_AUDIT_KEY is required with PostgreSQL".to_owned(),
            ))
        }
        (None, Some(db)) => {
            let path = audit_key_path(db);
            let secret = if path.exists() {
                read_secret_file(&path)?
            } else if missing == MissingKey::GenerateForNewChain
                && !crate::app::audit::has_keyed_entries(conn)
                    .map_err(|e| StartupError::Config(format!("audit log: {e}")))?
            {
                load_or_create_secret(&path)?
            } else {
                return Err(StartupError::Config(format!(
                    "HIENMAU_AUDIT_KEY is not set and {} is missing, but the audit log was \
                     written with a key: restore the key file or set HIENMAU_AUDIT_KEY (a new \
                     key is never generated for an existing chain)",
                    path.display()
                )));
            };
            AuditKey::new(&secret)
                .map_err(|e| StartupError::Config(format!("{}: {e}", path.display())))?
        }
    };
    Ok(AuditKeys { current, previous })
}

/// Reads a secret file: refuses one readable or writable by group or others and a weak one,
/// naming the file.
pub fn read_secret_file(path: &Path) -> Result<String, StartupError> {
    let io = |e: std::io::Error| StartupError::Config(format!("{}: {e}", path.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(StartupError::Config(format!(
                "{}: a secret file must be readable by its owner only (mode {:04o}; chmod 600 it)",
                path.display(),
                mode & 0o7777
            )));
        }
    }
    let secret = std::fs::read_to_string(path).map_err(io)?.trim().to_owned();
    check_strength(&path.display().to_string(), &secret)?;
    Ok(secret)
}

/// The secret in `path`, created once if missing: written to a temporary file (0600) in the
/// same folder, synced, then hard-linked into place, which fails if another process got there
/// first, so that a concurrent start never reads a partly written file and every start uses
/// the same secret.
pub fn load_or_create_secret(path: &Path) -> Result<String, StartupError> {
    let io = |e: std::io::Error| StartupError::Config(format!("{}: {e}", path.display()));
    if path.exists() {
        return read_secret_file(path);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    create_private_dir(dir).map_err(io)?;
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(path.file_name().unwrap_or_default());
    tmp_name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        hex::encode(&bytes[..6])
    ));
    let tmp = dir.join(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(secret.as_bytes())?;
        f.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            // The new name is durable once the folder is synced.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(secret)
        }
        // Another process created it first: use theirs (complete, since it was linked whole).
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_secret_file(path),
        Err(e) => Err(io(e)),
    }
}

/// Creates a folder (and its parents) readable by the owner only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// SQLite: the data folder 0700, the database, its WAL and its SHM 0600 (created so before
/// SQLite opens them; SQLite gives the WAL and SHM the database file's mode). A folder shared
/// with others (not ours, or sticky like /tmp) and the working directory are left alone.
fn secure_data_folder(db: &Path) -> Result<(), StartupError> {
    let io = |p: &Path, e: std::io::Error| StartupError::Config(format!("{}: {e}", p.display()));
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(|e| io(dir, e))?;
        #[cfg(unix)]
        tighten_folder(dir);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Only a missing file is opened here: closing any descriptor of a database file drops
        // every POSIX lock this process holds on it, including open SQLite connections' locks.
        if !db.exists() {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(db) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(db, e)),
                _ => {}
            }
        }
        for file in [db.to_owned(), beside(db, "-wal"), beside(db, "-shm")] {
            match std::fs::metadata(&file) {
                Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| io(&file, e))?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn tighten_folder(dir: &Path) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let ours = meta.uid() == unsafe { libc::geteuid() };
    let mode = meta.permissions().mode();
    if !ours || mode & 0o1000 != 0 {
        tracing::warn!(folder = %dir.display(), "the database's folder is shared: not made private");
    } else if mode & 0o077 != 0 {
        if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
            tracing::warn!(folder = %dir.display(), error = %e, "cannot make the database's folder private");
        }
    }
}

/// Brings the database up to date: runs pending migrations, then recomputes the figures derived
/// from configuration when it changed ([`crate::app::maintenance::recompute_if_rules_changed`]),
/// then marks the instance ready (`/ready` answers 503 until then).
pub fn migrate(state: &AppState) -> Result<usize, hienmau_db::DbError> {
    use hienmau_db::DbError;
    let refused = |e: StartupError| DbError::Migration(e.to_string());
    let sqlite = DbUrl::parse(&state.settings.database_url)
        .ok()
        .and_then(|u| u.sqlite_path().map(Path::to_owned));
    if let Some(db) = &sqlite {
        secure_data_folder(db).map_err(refused)?;
    }
    let mut conn = state.pool.get()?;
    let applied = hienmau_db::migrate(&mut conn)?;
    if let Some(db) = &sqlite {
        // The WAL and SHM exist once the first connection wrote.
        secure_data_folder(db).map_err(refused)?;
    }
    let keys =
        audit_keys(&state.settings, &mut conn, MissingKey::GenerateForNewChain).map_err(refused)?;
    let prepared = hienmau_db::write_tx(&mut conn, |tx| crate::app::audit::prepare(tx, &keys))
        .map_err(|e| match e {
            crate::app::audit::ChainError::App(crate::app::AppError::Database(e)) => e,
            other => DbError::Migration(other.to_string()),
        })?;
    log_audit_start(&mut conn, &keys, &prepared);
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

fn log_audit_start(
    conn: &mut hienmau_db::DbConn,
    keys: &AuditKeys,
    prepared: &crate::app::audit::Prepared,
) {
    use crate::app::audit::Prepared;
    let key = keys.current.fingerprint();
    match prepared {
        Prepared::Started => tracing::info!(key, "audit log started with a key"),
        Prepared::Unchanged => {}
        Prepared::Rotated { from } => tracing::info!(key, from, "audit key rotated"),
        Prepared::Rekeyed { entries } => {
            tracing::info!(key, entries, "audit log written before keys re-keyed")
        }
    }
    log_audit_head(crate::app::audit::head(conn));
}

/// Logs the audit chain's head: an anchor kept outside the database (`audit verify --expect`).
fn log_audit_head(head: Result<Option<(i64, String)>, impl std::fmt::Display>) {
    match head {
        Ok(Some((seq, hash))) => tracing::info!(seq, hash = %hash, "audit chain head"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "audit chain head unreadable"),
    }
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
