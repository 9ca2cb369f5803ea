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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn gate(concurrency: usize, wait_ms: u64) -> ExpensiveGate {
        ExpensiveGate::new(&AbuseConfig {
            expensive_concurrency: concurrency,
            expensive_wait_ms: wait_ms,
            ..AbuseConfig::default()
        })
    }

    #[actix_web::test]
    async fn a_turn_is_held_by_its_last_clone_and_a_long_wait_answers_unavailable() {
        let g = gate(1, 30);
        let first = g.enter().await.unwrap();
        let kept = first.clone();
        drop(first);
        // The clone (a streaming export) still holds the turn.
        assert!(matches!(g.enter().await, Err(ApiError::Unavailable)));
        drop(kept);
        assert!(g.enter().await.is_ok());
    }

    #[actix_web::test]
    async fn waiters_get_their_turn_when_it_is_released() {
        let g = Arc::new(gate(2, 5_000));
        let a = g.enter().await.unwrap();
        let _b = g.enter().await.unwrap();
        let waiter = {
            let g = g.clone();
            actix_web::rt::spawn(async move { g.enter().await.is_ok() })
        };
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(a);
        assert!(waiter.await.unwrap());
    }

    #[test]
    fn the_per_caller_limit_counts_callers_apart() {
        let l = ExpensiveLimiter::new(&AbuseConfig {
            expensive_per_minute: 1,
            expensive_burst: 2,
            ..AbuseConfig::default()
        });
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        let wait = l.check("a").unwrap_err();
        assert!((1..=61).contains(&wait), "{wait}");
        assert!(l.check("b").is_ok());
    }
}
