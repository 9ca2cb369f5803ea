//! Abuse limits: each caller's requests to the expensive routes (candidates, the honors list
//! and its CSV export, reports) are limited, and heavy work (those routes, password hashes) is
//! bounded per instance, so that a flood of them cannot take the database or the CPU from
//! donation logging. Candidate searches, the emergency path, take a [`Lane`] of their own: no
//! export or report can make them wait.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::http::error::ApiError;
use crate::settings::AbuseConfig;

/// Which gate (and which per-caller budget) an expensive route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Reports, honors lists and exports: [`crate::http::state::AppState::gate`].
    Heavy,
    /// Candidate searches for emergency requests:
    /// [`crate::http::state::AppState::candidates_gate`], which nothing else takes, so a
    /// hospital's lookup never waits behind an export or a report.
    Emergency,
}

/// A keyed token bucket per caller and lane (user or API key id; client address when
/// anonymous): a caller's exports do not use up its candidate searches.
pub struct ExpensiveLimiter {
    limiter: DefaultKeyedRateLimiter<(Lane, String)>,
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
    pub fn check(&self, lane: Lane, caller: &str) -> Result<(), u64> {
        // Keep memory bounded under a flood of distinct callers.
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&(lane, caller.to_owned()))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_secs() + 1)
    }
}

/// A bound on one kind of heavy work in this instance: at most `concurrency` turns at once
/// (the others wait, holding no thread or connection, and answer 503 `unavailable` with
/// `Retry-After` after the wait), and under a sustained flood at most a share of the time.
///
/// Three gates exist. Heavy requests (reports, honors lists and exports): a caller within its
/// own rate still waits while others' run, so however many callers there are they take at most
/// `expensive_concurrency` blocking threads and connections and, under a flood,
/// `expensive_busy_percent` of the time (this matters on PostgreSQL, where the work runs in the
/// database server, out of reach of [`crate::background`]'s lower thread priority). An export
/// holds its turn only while it reads the database into its spool file
/// ([`crate::http::stream`]), never while a client is slow to take it. Candidate searches
/// ([`WorkGate::candidates`]): `candidates_concurrency` at once, no busy share, and nothing
/// else takes this gate. Password hashes: `max_concurrent_hashes` at once and
/// `hash_busy_percent` of the time, so that a flood of sign-ins leaves CPU to donation logging
/// even while exports run.
///
/// The busy share is a leaky bucket of time: each turn of length t adds t / share to a debt
/// that drains at one second per second; a turn starts only when the debt is under
/// an allowance ([`BUSY_ALLOWANCE`]). Occasional work never waits for it, nor do turns shorter than the
/// gate's `counted_from` (short expensive requests like candidates).
///
/// The share is given up to other requests ([`WorkGate::yielding_to`]): a turn waits for the
/// debt only while some are in flight, and a turn that ends with none in flight adds debt only
/// up to the allowance. One person running the year's reports and then the honors export on
/// a quiet server waits for nobody, and leaves no debt for the next logging rush to pay. (At
/// national scale an annual report takes seconds; with the debt alone, the export after three
/// of them waited a minute and answered 503 with the server otherwise idle.)
///
/// A turn that would wait past the configured wait waits it out before answering 503, so a
/// flood of refused requests is held back instead of coming straight back.
pub struct WorkGate {
    permits: Arc<Semaphore>,
    wait: Duration,
    budget: Arc<Budget>,
}

/// How often a turn that owes busy time looks again whether other requests are still in
/// flight.
const CONTENTION_POLL: Duration = Duration::from_millis(20);

/// A count of the requests in flight that heavy work yields its busy share to (authenticated
/// requests outside the gates: logging, reads, tallies); kept by the policy middleware.
#[derive(Debug, Default)]
pub struct InFlight(AtomicUsize);

impl InFlight {
    /// Counts a request until the guard is dropped.
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        InFlightGuard(self.clone())
    }

    /// Whether any request is in flight.
    pub fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }
}

/// One request counted in [`InFlight`] while held.
pub struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Debt that a burst of heavy work may build before turns wait for it to drain: at a 25 %
/// share, about 3 s of work back to back (three annual reports in a row, a long export).
pub const BUSY_ALLOWANCE: Duration = Duration::from_secs(10);

/// The busy-time bucket shared by the turns of one gate.
struct Budget {
    /// The allowed busy share (0, 1].
    share: f64,
    /// Turns shorter than this add no debt.
    counted_from: Duration,
    /// Debt in seconds beyond which turns wait.
    allowance: f64,
    /// (debt in seconds, when it was last brought up to date).
    debt: std::sync::Mutex<(f64, Instant)>,
    /// The requests in flight the share is given up to; None: always assume some.
    others: Option<Arc<InFlight>>,
}

impl Budget {
    /// The debt now, after draining since it was last updated, with `add` seconds added (and,
    /// when `capped`, not raised past the allowance by them).
    fn settle_with(&self, add: f64, capped: bool) -> f64 {
        let mut d = self.debt.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let drained = (d.0 - now.duration_since(d.1).as_secs_f64()).max(0.0);
        d.0 = if capped {
            drained.max((drained + add).min(self.allowance))
        } else {
            drained + add
        };
        d.1 = now;
        d.0
    }

    fn settle(&self, add: f64) -> f64 {
        self.settle_with(add, false)
    }

    fn contended(&self) -> bool {
        self.others.as_ref().is_none_or(|o| o.any())
    }
}

/// A turn at heavy work; the work ends when the last clone is dropped (an export keeps one
/// until its last row is written to its spool file).
#[derive(Clone)]
pub struct Turn {
    _held: Arc<Held>,
}

/// The permit of a turn; dropping it records the turn's length in the budget.
struct Held {
    _permit: OwnedSemaphorePermit,
    started: Instant,
    budget: Arc<Budget>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let took = self.started.elapsed();
        if took >= self.budget.counted_from {
            let contended = self.budget.contended();
            self.budget
                .settle_with(took.as_secs_f64() / self.budget.share, !contended);
        }
    }
}

impl WorkGate {
    /// `concurrency` turns at once, each waiting at most `wait` for its turn, within
    /// `busy_percent` (1–100) of the time counting turns of `counted_from` or longer.
    pub fn new(
        concurrency: usize,
        wait: Duration,
        busy_percent: u32,
        counted_from: Duration,
    ) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
            budget: Arc::new(Budget {
                share: f64::from(busy_percent.clamp(1, 100)) / 100.0,
                counted_from,
                allowance: BUSY_ALLOWANCE.as_secs_f64(),
                debt: std::sync::Mutex::new((0.0, Instant::now())),
                others: None,
            }),
        }
    }

    /// The same gate, giving its busy share up to `others` only (see [`WorkGate`]).
    pub fn yielding_to(self, others: Arc<InFlight>) -> Self {
        self.rebudget(|b| Budget {
            others: Some(others),
            ..b
        })
    }

    /// The same gate with a fresh budget made from this one's settings.
    fn rebudget(self, f: impl FnOnce(Budget) -> Budget) -> Self {
        let b = &self.budget;
        let fresh = Budget {
            share: b.share,
            counted_from: b.counted_from,
            allowance: b.allowance,
            debt: std::sync::Mutex::new((0.0, Instant::now())),
            others: b.others.clone(),
        };
        Self {
            budget: Arc::new(f(fresh)),
            ..self
        }
    }

    /// The same gate with another allowance than [`BUSY_ALLOWANCE`] (tests use a short one).
    pub fn with_allowance(self, allowance: Duration) -> Self {
        self.rebudget(|b| Budget {
            allowance: allowance.as_secs_f64(),
            ..b
        })
    }

    /// The gate of the heavy expensive routes (reports, honors lists and exports); turns under
    /// 50 ms are not counted.
    pub fn expensive(config: &AbuseConfig) -> Self {
        Self::new(
            config.expensive_concurrency,
            Duration::from_millis(config.expensive_wait_ms),
            config.expensive_busy_percent,
            Duration::from_millis(50),
        )
    }

    /// The gate of candidate searches, the emergency path: its own turns (no heavy work takes
    /// them) and no busy share, so a lookup waits only for other lookups.
    pub fn candidates(config: &AbuseConfig) -> Self {
        Self::new(
            config.candidates_concurrency,
            Duration::from_millis(config.candidates_wait_ms),
            100,
            Duration::MAX,
        )
    }

    /// Waits for a turn (and for the busy debt to drain under the allowance), holding no
    /// connection meanwhile; 503 `unavailable` (with `Retry-After`) when none comes within the
    /// configured wait.
    pub async fn enter(&self) -> Result<Turn, ApiError> {
        let deadline = Instant::now() + self.wait;
        let permit =
            match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(closed)) => return Err(ApiError::internal(closed)),
                Err(_elapsed) => return Err(Self::too_long()),
            };
        if self.budget.share < 1.0 {
            loop {
                let over = self.budget.settle(0.0) - self.budget.allowance;
                if over <= 0.0 || !self.budget.contended() {
                    break;
                }
                let now = Instant::now();
                if now >= deadline {
                    return Err(Self::too_long());
                }
                // Looks again soon when it yields to others: they may finish before the debt.
                let rest = Duration::from_secs_f64(over);
                let step = match self.budget.others {
                    Some(_) => rest.min(CONTENTION_POLL),
                    None => rest,
                };
                tokio::time::sleep(step.min(deadline - now)).await;
            }
        }
        Ok(Turn {
            _held: Arc::new(Held {
                _permit: permit,
                started: Instant::now(),
                budget: self.budget.clone(),
            }),
        })
    }

    fn too_long() -> ApiError {
        tracing::warn!("heavy work waited too long for its turn");
        ApiError::Unavailable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(concurrency: usize, wait_ms: u64) -> WorkGate {
        WorkGate::expensive(&AbuseConfig {
            expensive_concurrency: concurrency,
            expensive_wait_ms: wait_ms,
            expensive_busy_percent: 100,
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

    #[actix_web::test]
    async fn a_sustained_flood_keeps_its_busy_share_and_short_or_occasional_turns_never_wait() {
        let g = WorkGate::expensive(&AbuseConfig {
            expensive_concurrency: 1,
            expensive_wait_ms: 60_000,
            expensive_busy_percent: 50,
            ..AbuseConfig::default()
        })
        .with_allowance(Duration::from_secs(3));
        // Short turns add nothing.
        for _ in 0..50 {
            let t = Instant::now();
            drop(g.enter().await.unwrap());
            assert!(t.elapsed() < Duration::from_millis(20));
        }
        // Back-to-back 400 ms turns: the first ones run at once (the allowance), then each
        // waits about as long as it works.
        let started = Instant::now();
        let mut waited = Vec::new();
        for _ in 0..12 {
            let asked = Instant::now();
            let turn = g.enter().await.unwrap();
            waited.push(asked.elapsed());
            actix_web::rt::time::sleep(Duration::from_millis(400)).await;
            drop(turn);
        }
        assert!(
            waited[..3].iter().all(|w| *w < Duration::from_millis(50)),
            "{waited:?}"
        );
        assert!(waited[11] >= Duration::from_millis(300), "{waited:?}");
        // 12 × 400 ms of work took well over its own length: the share is held.
        let busy = 12.0 * 0.4 / started.elapsed().as_secs_f64();
        assert!(busy < 0.8, "busy share {busy}");
    }

    #[actix_web::test]
    async fn a_rest_longer_than_the_wait_answers_unavailable() {
        let g = WorkGate::expensive(&AbuseConfig {
            expensive_concurrency: 1,
            expensive_wait_ms: 100,
            expensive_busy_percent: 10,
            ..AbuseConfig::default()
        })
        .with_allowance(Duration::from_secs(3));
        let turn = g.enter().await.unwrap();
        actix_web::rt::time::sleep(Duration::from_millis(400)).await;
        drop(turn); // 400 ms at 10 %: 4 s of debt, over the 3 s allowance by about 1 s
        assert!(matches!(g.enter().await, Err(ApiError::Unavailable)));
    }

    #[actix_web::test]
    async fn the_debt_is_owed_only_while_other_requests_are_in_flight() {
        let others = Arc::new(InFlight::default());
        let g = WorkGate::expensive(&AbuseConfig {
            expensive_concurrency: 1,
            expensive_wait_ms: 100,
            expensive_busy_percent: 10,
            ..AbuseConfig::default()
        })
        .with_allowance(Duration::from_secs(3))
        .yielding_to(others.clone());
        // A turn alone leaves no debt past the allowance: the next one starts at once, even
        // with a request in flight.
        let turn = g.enter().await.unwrap();
        actix_web::rt::time::sleep(Duration::from_millis(400)).await;
        drop(turn);
        let request = others.enter();
        let started = Instant::now();
        let turn = g.enter().await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(50));
        // This one ends while a request is in flight: about 1 s over the allowance, as above.
        actix_web::rt::time::sleep(Duration::from_millis(400)).await;
        drop(turn);
        drop(request);
        // Nobody else in flight: the turn starts at once, debt or not.
        let started = Instant::now();
        drop(g.enter().await.unwrap());
        assert!(started.elapsed() < Duration::from_millis(50));
        // A request in flight: the debt is owed again, more than the 100 ms wait, which the
        // refusal waits out.
        let request = others.enter();
        let started = Instant::now();
        assert!(matches!(g.enter().await, Err(ApiError::Unavailable)));
        assert!(started.elapsed() >= Duration::from_millis(90));
        drop(request);
        assert!(g.enter().await.is_ok());
    }

    #[test]
    fn the_per_caller_limit_counts_callers_apart() {
        let l = ExpensiveLimiter::new(&AbuseConfig {
            expensive_per_minute: 1,
            expensive_burst: 2,
            ..AbuseConfig::default()
        });
        let heavy = Lane::Heavy;
        assert!(l.check(heavy, "a").is_ok());
        assert!(l.check(heavy, "a").is_ok());
        let wait = l.check(heavy, "a").unwrap_err();
        assert!((1..=61).contains(&wait), "{wait}");
        assert!(l.check(heavy, "b").is_ok());
        // The caller's candidate searches have a budget of their own.
        assert!(l.check(Lane::Emergency, "a").is_ok());
    }

    #[actix_web::test]
    async fn the_candidates_gate_is_apart_from_the_heavy_one() {
        let config = AbuseConfig {
            expensive_concurrency: 1,
            expensive_wait_ms: 30,
            candidates_concurrency: 1,
            candidates_wait_ms: 30,
            ..AbuseConfig::default()
        };
        let (heavy, candidates) = (WorkGate::expensive(&config), WorkGate::candidates(&config));
        let export = heavy.enter().await.unwrap();
        let lookup = candidates.enter().await.unwrap();
        assert!(matches!(heavy.enter().await, Err(ApiError::Unavailable)));
        assert!(matches!(
            candidates.enter().await,
            Err(ApiError::Unavailable)
        ));
        drop(export);
        assert!(heavy.enter().await.is_ok());
        drop(lookup);
        assert!(candidates.enter().await.is_ok());
    }
}
