//! Failed sign-in throttling, in memory: the counts are per instance (behind a load balancer
//! with N instances an attacker gets up to N times the limits; each is still bounded).
//!
//! An attempt **reserves** its place before the password is hashed, under one lock, so that
//! however many attempts arrive at once no more than the limit are ever checked: checking
//! and counting are one step. A sign-in that succeeds (or that ends before its password was
//! judged: the hash could not get a turn, the client went away) gives its place back; a failed
//! one keeps it for the rest of the window.
//!
//! Three fixed-window counts are reserved together:
//! - the username **from this address** (`max_failures_per_username`, 10 a minute): what
//!   stops guessing, without letting someone elsewhere lock the owner out;
//! - the username **from all addresses** (`max_failures_per_username_all_addresses`, 100 a
//!   minute): a ceiling against guessing spread over many addresses;
//! - the **address** over all usernames (`max_failures_per_address`, 50 a minute).
//!
//! The address is the peer's, or the one a trusted proxy forwarded ([`super::client`]); an
//! IPv6 address counts by its /64, which one subscriber usually holds whole.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::http::auth::client::TrustedProxies;
use crate::settings::ThrottleConfig;

/// Failure counters, and how the client address is read.
pub struct LoginThrottle {
    config: ThrottleConfig,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub proxies: TrustedProxies,
    counters: Mutex<HashMap<String, Window>>,
}

/// One fixed window's count.
#[derive(Debug, Clone, Copy)]
struct Window {
    count: u32,
    start: Instant,
}

/// Counters kept before expired ones are swept, so a flood of random usernames stays bounded.
const SWEEP_AT: usize = 10_000;

/// A place taken by an attempt in each of its counters. Dropped, it is given back (a success,
/// or an attempt that ended before its password was judged); [`Reservation::keep`] keeps it
/// counted (a failure).
#[must_use = "dropping the reservation refunds it"]
pub struct Reservation<'a> {
    throttle: &'a LoginThrottle,
    taken: Vec<(String, Instant)>,
}

impl Reservation<'_> {
    /// The attempt failed: its places stay taken until their windows end.
    pub fn keep(mut self) {
        self.taken.clear();
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.taken.is_empty() {
            return;
        }
        let mut counters = self.throttle.lock();
        for (key, start) in self.taken.drain(..) {
            // A window that has ended since was reset: its count is other attempts'.
            if let Some(w) = counters.get_mut(&key).filter(|w| w.start == start) {
                w.count = w.count.saturating_sub(1);
            }
        }
    }
}

impl LoginThrottle {
    /// Counters with these limits.
    pub fn new(config: ThrottleConfig, proxies: TrustedProxies) -> Self {
        Self {
            config,
            proxies,
            counters: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        self.counters.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.config.window_seconds.max(1))
    }

    /// The counters an attempt for `username` from `address` takes a place in, with their
    /// limits. `username` is the normalised name (so look-alike spellings share a count).
    fn keys(&self, username: &str, address: IpAddr) -> [(String, u32); 3] {
        let address = address_key(address);
        [
            (
                format!("p:{address} {username}"),
                self.config.max_failures_per_username,
            ),
            (
                format!("u:{username}"),
                self.config.max_failures_per_username_all_addresses,
            ),
            (format!("a:{address}"), self.config.max_failures_per_address),
        ]
    }

    /// Takes a place for an attempt, or says how many seconds to wait when the username (from
    /// this address or from all), or the address, has no place left in its window.
    pub fn reserve(&self, username: &str, address: IpAddr) -> Result<Reservation<'_>, u64> {
        let now = Instant::now();
        let window = self.window();
        let keys = self.keys(username, address);
        let mut counters = self.lock();
        if counters.len() > SWEEP_AT {
            counters.retain(|_, w| now.duration_since(w.start) < window);
        }
        let mut wait = None;
        for (key, limit) in &keys {
            if let Some(w) = counters.get(key) {
                let age = now.duration_since(w.start);
                if age < window && w.count >= *limit {
                    let left = (window - age).as_secs().max(1);
                    wait = Some(wait.map_or(left, |l: u64| l.max(left)));
                }
            }
        }
        if let Some(wait) = wait {
            return Err(wait);
        }
        let mut taken = Vec::with_capacity(keys.len());
        for (key, _) in keys {
            let w = counters.entry(key.clone()).or_insert(Window {
                count: 0,
                start: now,
            });
            if now.duration_since(w.start) >= window {
                *w = Window {
                    count: 0,
                    start: now,
                };
            }
            w.count += 1;
            taken.push((key, w.start));
        }
        Ok(Reservation {
            throttle: self,
            taken,
        })
    }
}

/// What an address counts as: an IPv4 address itself, an IPv6 address its /64.
fn address_key(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(pair: u32, user: u32, address: u32) -> LoginThrottle {
        LoginThrottle::new(
            ThrottleConfig {
                max_failures_per_username: pair,
                max_failures_per_username_all_addresses: user,
                max_failures_per_address: address,
                ..ThrottleConfig::default()
            },
            TrustedProxies::default(),
        )
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn failures_keep_their_place_and_successes_give_it_back() {
        let t = throttle(3, 100, 100);
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            t.reserve("admin", a).unwrap().keep();
        }
        let wait = t.reserve("admin", a).err().expect("the fourth is refused");
        assert!((1..=60).contains(&wait), "{wait}");
        // Another address still has its own places for the same username.
        let b = ip("192.0.2.2");
        for _ in 0..10 {
            drop(t.reserve("admin", b).unwrap()); // successes: refunded
        }
        t.reserve("admin", b).unwrap().keep();
    }

    #[test]
    fn places_held_at_once_never_exceed_the_limit() {
        let t = throttle(10, 100, 100);
        let a = ip("192.0.2.1");
        let held: Vec<_> = (0..150)
            .filter_map(|_| t.reserve("admin", a).ok())
            .collect();
        assert_eq!(held.len(), 10);
        drop(held);
        // All were refunded (none was kept as a failure).
        assert!(t.reserve("admin", a).is_ok());
    }

    #[test]
    fn the_username_ceiling_spans_addresses_and_the_address_limit_spans_usernames() {
        let t = throttle(10, 5, 100);
        for i in 0..5 {
            t.reserve("admin", ip(&format!("192.0.2.{i}")))
                .unwrap()
                .keep();
        }
        assert!(t.reserve("admin", ip("198.51.100.7")).is_err());
        assert!(t.reserve("other", ip("198.51.100.7")).is_ok());

        let t = throttle(10, 100, 3);
        let a = ip("192.0.2.1");
        for name in ["a1", "a2", "a3"] {
            t.reserve(name, a).unwrap().keep();
        }
        assert!(t.reserve("a4", a).is_err());
        assert!(t.reserve("a4", ip("192.0.2.2")).is_ok());
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            address_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            address_key(ip("2001:db8:1:2::1")),
            address_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
    }
}
