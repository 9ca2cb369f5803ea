//! Failed sign-in throttling per username and per client address, in memory (per instance).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::settings::ThrottleConfig;

/// Fixed-window failure counters.
pub struct LoginThrottle {
    config: ThrottleConfig,
    counters: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Counters kept before expired ones are swept, so a flood of random usernames stays bounded.
const SWEEP_AT: usize = 10_000;

impl LoginThrottle {
    /// Counters with these limits.
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            counters: Mutex::new(HashMap::new()),
        }
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.config.window_seconds.max(1))
    }

    fn keys(username: &str, address: &str) -> [String; 2] {
        [
            format!("u:{}", username.to_lowercase()),
            format!("a:{address}"),
        ]
    }

    /// Seconds to wait when the username or the address is over its limit; None to go ahead.
    pub fn blocked_for(&self, username: &str, address: &str) -> Option<u64> {
        let now = Instant::now();
        let window = self.window();
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let limits = [
            self.config.max_failures_per_username,
            self.config.max_failures_per_address,
        ];
        Self::keys(username, address)
            .iter()
            .zip(limits)
            .filter_map(|(key, limit)| {
                let (count, start) = counters.get(key)?;
                let age = now.duration_since(*start);
                (age < window && *count >= limit).then(|| (window - age).as_secs().max(1))
            })
            .max()
    }

    /// Counts a failure against the username and the address.
    pub fn record_failure(&self, username: &str, address: &str) {
        let now = Instant::now();
        let window = self.window();
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        if counters.len() > SWEEP_AT {
            counters.retain(|_, (_, start)| now.duration_since(*start) < window);
        }
        for key in Self::keys(username, address) {
            let entry = counters.entry(key).or_insert((0, now));
            if now.duration_since(entry.1) >= window {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    /// A successful sign-in clears the username's failures (not the address's).
    pub fn record_success(&self, username: &str) {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters.remove(&format!("u:{}", username.to_lowercase()));
    }
}
