//! Latency summaries.

use std::time::Duration;

/// The figures of one measured workload.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// What was measured.
    pub name: String,
    /// Requests (or operations) completed with the expected outcome.
    pub ok: u64,
    /// Completed with another outcome (status, transport error).
    pub errors: u64,
    /// The first unexpected outcome, for the report.
    pub first_error: Option<String>,
    /// Concurrent clients.
    pub concurrency: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Latency percentiles in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Completed operations per second (all outcomes).
    pub per_second: f64,
    /// Extra facts (bytes, rows, memory).
    pub note: String,
    /// The latencies, sorted (for pooling rounds).
    pub samples: Vec<Duration>,
}

impl Measured {
    /// Summarises latencies (any order) measured over `elapsed`.
    pub fn from_samples(
        name: &str,
        mut samples: Vec<Duration>,
        errors: u64,
        first_error: Option<String>,
        concurrency: usize,
        elapsed: Duration,
    ) -> Self {
        samples.sort_unstable();
        let pick = |q: f64| -> f64 {
            if samples.is_empty() {
                return 0.0;
            }
            let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples[i.min(samples.len() - 1)].as_secs_f64() * 1e3
        };
        let n = samples.len() as u64;
        let secs = elapsed.as_secs_f64().max(1e-9);
        Measured {
            name: name.to_owned(),
            ok: n.saturating_sub(errors),
            errors,
            first_error,
            concurrency,
            elapsed,
            p50_ms: pick(0.50),
            p95_ms: pick(0.95),
            p99_ms: pick(0.99),
            max_ms: pick(1.0),
            per_second: n as f64 / secs,
            note: String::new(),
            samples,
        }
    }

    /// The rounds of one workload as one: their latencies together, their times added.
    pub fn pooled(name: &str, rounds: &[Measured]) -> Self {
        Self::from_samples(
            name,
            rounds
                .iter()
                .flat_map(|m| m.samples.iter().copied())
                .collect(),
            rounds.iter().map(|m| m.errors).sum(),
            rounds.iter().find_map(|m| m.first_error.clone()),
            rounds.first().map_or(0, |m| m.concurrency),
            rounds.iter().map(|m| m.elapsed).sum(),
        )
    }
}
