//! Background work: password hashing and streamed exports run on threads of their own at a
//! lower CPU priority, so that on a small machine a flood of sign-ins or exports takes only the
//! CPU that donation logging leaves (measured by `hienmau-bench`: logging p99 under such a
//! flood within 2× of its p99 without it). The number of such threads is bounded by their
//! callers (the hash semaphore, the expensive-work gate).

use crate::http::error::ApiError;

/// The nice value of background threads (0 is normal, 19 the lowest priority).
const BACKGROUND_NICE: i32 = 10;

/// Runs `f` on a new low-priority thread and awaits its result.
pub async fn run<T, F>(name: &str, f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    spawn(name, move || {
        let _ = tx.send(f());
    })?;
    rx.await
        .map_err(|_| ApiError::internal("background work ended without a result"))
}

/// Starts `f` on a new low-priority thread without waiting for it.
pub fn spawn<F>(name: &str, f: F) -> Result<(), ApiError>
where
    F: FnOnce() + Send + 'static,
{
    std::thread::Builder::new()
        .name(format!("hienmau-{name}"))
        .spawn(move || {
            lower_priority();
            f();
        })
        .map(drop)
        .map_err(ApiError::internal)
}

/// Lowers the calling thread's CPU priority. On Linux the nice value belongs to the thread
/// (`setpriority` on its own id), and raising it needs no privilege.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn lower_priority() {
    // SAFETY: plain system calls on the calling thread's own id; a failure leaves the thread at
    // normal priority, which is only slower to yield.
    let failed = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, BACKGROUND_NICE) != 0
    };
    if failed {
        tracing::debug!("could not lower a background thread's priority");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn lower_priority() {
    let _ = BACKGROUND_NICE;
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #[actix_web::test]
    async fn background_threads_run_at_a_lower_priority() {
        let nice = super::run("test", || {
            // SAFETY: reads the calling thread's nice value.
            unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
        })
        .await;
        // SAFETY: as above, for this thread.
        let here = unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
        assert_eq!(
            nice.ok(),
            Some(here + super::BACKGROUND_NICE).map(|n| n.min(19))
        );
    }
}
