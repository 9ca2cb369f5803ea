//! Abuse limits: each caller's requests to the expensive routes (candidates, the honors list
//! and its CSV export, reports) are limited, so that a flood of them cannot take the database
//! from donation logging.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;
use crate::settings::AbuseConfig;

/// A keyed token bucket per caller (user or API key id; client address when anonymous).
pub struct ExpensiveLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl ExpensiveLimiter {
    /// A limiter allowing `per_minute` requests per caller with bursts of `burst`.
    pub fn new(config: &AbuseConfig) -> Self {
        let per_minute =
            NonZeroU32::new(config.expensive_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.expensive_burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
            clock: DefaultClock::default(),
        }
    }

    /// Ok to go ahead, or the whole seconds to wait.
    pub fn check(&self, caller: &str) -> Result<(), u64> {
        // Keep memory bounded under a flood of distinct callers.
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&caller.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_secs() + 1)
    }
}

/// The instance-wide bound on expensive work: a caller within its own rate still waits while
/// others' exports and reports run, so that however many callers there are, expensive work
/// takes at most `expensive_concurrency` blocking threads, connections and cores.
pub struct ExpensiveGate {
    permits: Arc<Semaphore>,
    wait: Duration,
}

/// A turn at expensive work; the work ends when the last clone is dropped (a streamed export
/// keeps one until its last row is sent).
#[derive(Clone)]
pub struct ExpensiveTurn(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

impl ExpensiveGate {
    /// A gate letting `config.expensive_concurrency` requests work at once.
    pub fn new(config: &AbuseConfig) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(config.expensive_concurrency.max(1))),
            wait: Duration::from_millis(config.expensive_wait_ms),
        }
    }

    /// Waits for a turn, holding nothing meanwhile; 503 `unavailable` (with `Retry-After`) when
    /// none comes within the configured wait.
    pub async fn enter(&self) -> Result<ExpensiveTurn, ApiError> {
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(ExpensiveTurn(Arc::new(permit))),
            Ok(Err(closed)) => Err(ApiError::internal(closed)),
            Err(_elapsed) => {
                tracing::warn!("expensive request waited too long for its turn");
                Err(ApiError::Unavailable)
            }
        }
    }
}
