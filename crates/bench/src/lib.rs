//! The hienmau benchmark: a deterministic national data set loaded through each backend's
//! bulk path ([`gen`], [`load`]), the real server started as a child process ([`server`]),
//! HTTP workloads from a keep-alive load generator ([`http`]), raw-SQL baselines on the same
//! database ([`raw`]), and the report ([`report`]). See `docs/benchmarks.md`.

pub mod gen;
pub mod http;
pub mod load;
pub mod names;
pub mod raw;
pub mod report;
pub mod server;
pub mod stats;

/// Why a benchmark step failed.
#[derive(Debug)]
pub struct BenchError(pub String);

impl BenchError {
    /// An error with this message.
    pub fn msg(m: impl Into<String>) -> Self {
        BenchError(m.into())
    }
}

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

macro_rules! from_error {
    ($($t:ty),*) => {$(
        impl From<$t> for BenchError {
            fn from(e: $t) -> Self {
                BenchError(e.to_string())
            }
        }
    )*};
}

from_error!(
    diesel::result::Error,
    diesel::ConnectionError,
    hienmau_db::DbError,
    std::io::Error,
    serde_json::Error
);
