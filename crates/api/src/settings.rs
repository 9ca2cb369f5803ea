//! Typed settings: built-in defaults, then `config/default.toml` (or the file named by
//! `HIENMAU_CONFIG`), then environment variables, which win.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use hienmau_domain::deferral::DeferralCatalogue;
use hienmau_domain::eligibility::EligibilityRules;
use hienmau_domain::honors::TierTable;
use serde::Deserialize;

/// All settings of a `hienmau` process. Kept in the application state, never global.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `postgres://…` selects PostgreSQL; `sqlite://PATH` or a path selects SQLite.
    pub database_url: String,
    /// Listen address.
    pub bind: String,
    /// A PEM file of the server's certificate chain (`HIENMAU_TLS_CERT`): with `tls_key`, the
    /// server speaks HTTPS only (phones need it for the offline app and the camera).
    pub tls_cert: Option<String>,
    /// A PEM file of the certificate's private key (`HIENMAU_TLS_KEY`); both or neither.
    pub tls_key: Option<String>,
    /// Token signing secret (at least 32 bytes). On SQLite, generated beside the database when
    /// absent; on PostgreSQL, required.
    pub jwt_secret: Option<String>,
    /// The zone of calendar dates.
    pub timezone: String,
    /// Access token lifetime (1 to 1440 minutes: over 24 hours refuses to start).
    pub token_ttl_minutes: i64,
    /// Connection pool.
    pub pool: PoolConfig,
    /// Failed sign-in throttling.
    pub login_throttle: ThrottleConfig,
    /// Request size limits.
    pub limits: LimitsConfig,
    /// Per-caller limits on expensive routes.
    pub abuse: AbuseConfig,
    /// Who may donate (Circular 26/2013/TT-BYT defaults).
    pub eligibility: EligibilityRules,
    /// Honor tiers.
    pub honors: HonorsConfig,
    /// The deferral-reason catalogue (`[[deferral_reasons]]` in the file only), validated as it
    /// is read: a bad catalogue refuses to start, naming the reason at fault.
    pub deferral_reasons: DeferralCatalogue,
    /// Origins allowed by CORS; empty (the default) keeps CORS closed.
    pub cors_allowed_origins: Vec<String>,
    /// Log filter (tracing `EnvFilter` syntax); `RUST_LOG` wins.
    pub log: String,
    /// How long a stored `Idempotency-Key` answer is kept (hours, at least 24: a phone that
    /// lost an answer at a mountain site re-sends it when it next has a connection, often the
    /// next day). Older records are purged by a background task.
    pub idempotency_retention_hours: u32,
    /// Emergency requests.
    pub emergency: EmergencyConfig,
    /// Reads of the donor registry that show CCCDs and phones.
    pub registry: RegistryConfig,
    /// Reverse proxies (CIDRs or addresses) whose `X-Forwarded-For` names the client for the
    /// sign-in throttle; empty (the default) believes no one and uses the peer's address.
    pub trusted_proxies: Vec<String>,
    /// The key of the audit log's HMAC chain (at least 32 bytes and 128 bits of estimated
    /// strength), kept outside the database. On SQLite, generated beside the database when
    /// absent and the log holds no keyed entry; on PostgreSQL, required.
    pub audit_key: Option<String>,
    /// Keys the audit chain used before `audit_key` (env: comma-separated): the chain rotates
    /// to `audit_key` at start when its key is one of these, and `audit verify` needs them.
    pub audit_previous_keys: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/hienmau.db".to_owned(),
            bind: "127.0.0.1:8080".to_owned(),
            tls_cert: None,
            tls_key: None,
            jwt_secret: None,
            timezone: "Asia/Ho_Chi_Minh".to_owned(),
            token_ttl_minutes: 720,
            pool: PoolConfig::default(),
            login_throttle: ThrottleConfig::default(),
            limits: LimitsConfig::default(),
            abuse: AbuseConfig::default(),
            eligibility: EligibilityRules::default(),
            honors: HonorsConfig::default(),
            deferral_reasons: DeferralCatalogue::default(),
            cors_allowed_origins: Vec::new(),
            log: "info".to_owned(),
            idempotency_retention_hours: 7 * 24,
            emergency: EmergencyConfig::default(),
            registry: RegistryConfig::default(),
            trusted_proxies: Vec::new(),
            audit_key: None,
            audit_previous_keys: Vec::new(),
        }
    }
}

/// Connection pool settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolConfig {
    /// Most open connections.
    pub max_size: u32,
    /// How long a request waits for a connection before answering 503.
    pub connection_timeout_ms: u64,
    /// SQLite: how long a writer waits for the write lock.
    pub sqlite_busy_timeout_ms: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_size: 16,
            connection_timeout_ms: 2_000,
            sqlite_busy_timeout_ms: 10_000,
        }
    }
}

/// Failed sign-in throttling: more failures than allowed within the window answer 429.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Failures allowed per username from one client address within the window (the check
    /// happens before the password is hashed, however many attempts arrive at once).
    pub max_failures_per_username: u32,
    /// Failures allowed per client address within the window, whatever the usernames.
    pub max_failures_per_address: u32,
    /// The window.
    pub window_seconds: u64,
    /// Passwords hashed at once (argon2id takes 19 MiB each).
    pub max_concurrent_hashes: usize,
    /// The share of the time (1–100) hashing may keep under a flood of sign-ins (see
    /// [`crate::http::limits::WorkGate`]).
    pub hash_busy_percent: u32,
    /// Failures allowed per username within the window from all addresses together: a
    /// ceiling on guessing spread over many addresses. The counts are kept per instance.
    pub max_failures_per_username_all_addresses: u32,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            max_failures_per_username: 10,
            max_failures_per_address: 50,
            window_seconds: 60,
            max_concurrent_hashes: 1,
            hash_busy_percent: 25,
            max_failures_per_username_all_addresses: 100,
        }
    }
}

/// Request size limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest JSON body in bytes (a batch of 1,000 donations fits).
    pub json_body_bytes: usize,
    /// Most items in one offline batch.
    pub batch_items: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            json_body_bytes: 2 * 1024 * 1024,
            batch_items: 1_000,
        }
    }
}

/// Per-caller limits on the expensive routes (candidates, honors lists and exports, reports),
/// the gates bounding their work per instance, and how exports are sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AbuseConfig {
    /// Sustained requests per minute per caller.
    pub expensive_per_minute: u32,
    /// Requests a caller may make at once before the rate applies.
    pub expensive_burst: u32,
    /// Expensive requests worked on at once by this instance, whoever the callers; the others
    /// wait their turn, so that exports and reports leave cores and connections to logging.
    pub expensive_concurrency: usize,
    /// How long an expensive request waits for its turn before answering 503 `unavailable`
    /// with `Retry-After`.
    pub expensive_wait_ms: u64,
    /// The share of the time (1–100) expensive work may keep under a sustained flood (see
    /// [`crate::http::limits::WorkGate`]).
    pub expensive_busy_percent: u32,
    /// Candidate searches (`/emergency-requests/{id}/candidates`) worked on at once by this
    /// instance. They have a gate of their own: no export, report or honors list ever makes an
    /// emergency lookup wait (each caller's candidate searches are still rate-limited, apart
    /// from its other expensive requests).
    pub candidates_concurrency: usize,
    /// How long a candidate search waits for its turn before answering 503 `unavailable`.
    pub candidates_wait_ms: u64,
    /// A download (the honors CSV) that makes no progress for this long (the client takes no
    /// new chunk) is ended: its connection is closed and its spool file dropped.
    pub export_send_timeout_ms: u64,
    /// Where exports are spooled (an unnamed 0600 file) between reading the database and
    /// sending. Unset: the SQLite database's folder; on PostgreSQL, the system's temporary
    /// folder.
    pub export_spool_dir: Option<PathBuf>,
}

impl Default for AbuseConfig {
    fn default() -> Self {
        Self {
            expensive_per_minute: 60,
            expensive_burst: 20,
            expensive_concurrency: 1,
            expensive_wait_ms: 10_000,
            expensive_busy_percent: 25,
            candidates_concurrency: 2,
            candidates_wait_ms: 10_000,
            export_send_timeout_ms: 60_000,
            export_spool_dir: None,
        }
    }
}

/// Honor tiers.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct HonorsConfig {
    /// Thresholds and award names.
    pub tiers: TierTable,
}

/// Emergency requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmergencyConfig {
    /// Distinct donors a request's candidates may disclose to its hospital, per unit needed
    /// (an admin may set another cap for one request). At least 1: 0 refuses to start.
    pub disclosures_per_unit: std::num::NonZeroU32,
}

impl Default for EmergencyConfig {
    fn default() -> Self {
        const TEN: std::num::NonZeroU32 = match std::num::NonZeroU32::new(10) {
            Some(n) => n,
            None => unreachable!(),
        };
        Self {
            disclosures_per_unit: TEN,
        }
    }
}

/// Reads of the donor registry that show CCCDs and phones (`GET /donors` in the full view,
/// `GET /donors/{id}`): each is audited and counted against the caller's budget.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryConfig {
    /// Donors one caller may be shown per clock hour, all instances together; past it a read
    /// answers 429 `rate_limited` with `Retry-After` (the rest of the hour). The brief view
    /// (no CCCD, no phone) is not counted.
    pub donors_per_hour: u32,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            donors_per_hour: 2_000,
        }
    }
}

/// The settings `HIENMAU_<KEY>` may set (the contract's `HIENMAU_BIND`, `HIENMAU_JWT_SECRET`,
/// `HIENMAU_TIMEZONE`, `HIENMAU_AUDIT_KEY`, `HIENMAU_AUDIT_PREVIOUS_KEYS`, `HIENMAU_TLS_CERT`
/// and `HIENMAU_TLS_KEY` are read as raw strings instead).
const ENV_SETTINGS: [&str; 14] = [
    "database_url",
    "token_ttl_minutes",
    "pool",
    "login_throttle",
    "limits",
    "abuse",
    "eligibility",
    "honors",
    "cors_allowed_origins",
    "log",
    "idempotency_retention_hours",
    "emergency",
    "registry",
    "trusted_proxies",
];

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file or an environment variable does not fit the settings.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads defaults, then the config file, then the environment.
    pub fn load() -> Result<Self, SettingsError> {
        let file = std::env::var_os("HIENMAU_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config/default.toml"));
        Self::load_from(&file, |k| std::env::var(k).ok())
    }

    /// Loads defaults, then `file` if it exists, then `HIENMAU_*` variables (nested keys with
    /// `__`, e.g. `HIENMAU_POOL__MAX_SIZE`), then the contract's variables read by `env`.
    pub fn load_from(
        file: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let mut s: Settings = Figment::new()
            .merge(Toml::file(file))
            // Only variables naming a setting: other HIENMAU_* variables (HIENMAU_CONFIG,
            // HIENMAU_LOG_FORMAT, a script's own) must not stop the process.
            .merge(
                Env::prefixed("HIENMAU_")
                    .filter(|key| {
                        let top = key.as_str().split("__").next().unwrap_or_default();
                        ENV_SETTINGS.iter().any(|k| top.eq_ignore_ascii_case(k))
                    })
                    .split("__"),
            )
            .extract()
            .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        // The contract's variables are read as raw strings: a secret of digits must stay text.
        if let Some(v) = env("DATABASE_URL").filter(|v| !v.is_empty()) {
            s.database_url = v;
        }
        if let Some(v) = env("HIENMAU_BIND").filter(|v| !v.is_empty()) {
            s.bind = v;
        }
        if let Some(v) = env("HIENMAU_TLS_CERT").filter(|v| !v.is_empty()) {
            s.tls_cert = Some(v);
        }
        if let Some(v) = env("HIENMAU_TLS_KEY").filter(|v| !v.is_empty()) {
            s.tls_key = Some(v);
        }
        if let Some(v) = env("HIENMAU_JWT_SECRET").filter(|v| !v.is_empty()) {
            s.jwt_secret = Some(v);
        }
        if let Some(v) = env("HIENMAU_TIMEZONE").filter(|v| !v.is_empty()) {
            s.timezone = v;
        }
        if let Some(v) = env("HIENMAU_AUDIT_KEY").filter(|v| !v.is_empty()) {
            s.audit_key = Some(v);
        }
        if let Some(v) = env("HIENMAU_AUDIT_PREVIOUS_KEYS").filter(|v| !v.is_empty()) {
            s.audit_previous_keys = v
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect();
        }
        Ok(s)
    }
}
