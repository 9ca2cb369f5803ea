//! Password hashing: argon2id at OWASP's minimum (m=19 MiB, t=2, p=1) on low-priority threads
//! ([`crate::background`]), through a [`WorkGate`] so that a flood of sign-ins cannot take all
//! memory or all cores.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::http::error::ApiError;
use crate::http::limits::WorkGate;

/// Hashes and verifies passwords.
pub struct Hasher {
    gate: WorkGate,
    /// A hash of a random password, verified against when the user is unknown or disabled so
    /// that those answers take as long as a wrong password.
    dummy_hash: String,
    /// Hashes computed or verified so far by this instance (what the sign-in throttle bounds).
    performed: AtomicU64,
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's bounds; Params::new cannot fail on them.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password synchronously (CLI and the blocking pool).
pub fn hash_blocking(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Verifies a password against a stored hash synchronously.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

impl Hasher {
    /// A hasher allowing `concurrency` hashes at once, within `busy_percent` of the time under a
    /// flood; a hash that waits 10 s for its turn answers 503.
    pub fn new(
        concurrency: usize,
        busy_percent: u32,
        others: std::sync::Arc<crate::http::limits::InFlight>,
    ) -> Result<Self, String> {
        Ok(Self {
            gate: WorkGate::new(
                concurrency,
                Duration::from_secs(10),
                busy_percent,
                Duration::ZERO,
            )
            .yielding_to(others),
            dummy_hash: hash_blocking("not a password anyone has: timing only")?,
            performed: AtomicU64::new(0),
        })
    }

    /// How many hashes this hasher has computed or verified (tests and diagnostics).
    pub fn performed(&self) -> u64 {
        self.performed.load(Ordering::Relaxed)
    }

    /// Hashes on the blocking pool under the bound.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let _turn = self.gate.enter().await?;
        self.performed.fetch_add(1, Ordering::Relaxed);
        crate::background::run("hash", move || hash_blocking(&password))
            .await?
            .map_err(ApiError::internal)
    }

    /// Verifies on the blocking pool under the bound; `None` verifies against the dummy hash
    /// and answers false, taking the same time.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let _turn = self.gate.enter().await?;
        self.performed.fetch_add(1, Ordering::Relaxed);
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let ok = crate::background::run("hash", move || verify_blocking(&password, &hash)).await?;
        Ok(ok && real)
    }
}
