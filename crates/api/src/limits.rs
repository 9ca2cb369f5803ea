//! Abuse limits: each caller's requests to the expensive routes (candidates, the honors list
//! and its CSV export, reports) are limited, so that a flood of them cannot take the database
//! from donation logging.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

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
