//! The host's wall-clock safety net for a call (`--timeout`).
//!
//! A thread waits until a deadline, then marks the run as timed out and
//! "kicks" the engine (unicorn: `uc_emu_stop`; KVM: a signal that makes
//! `KVM_RUN` return). It kicks again every [`KICK_INTERVAL`] until it is
//! stopped, so a kick that lands while the engine is between two entries
//! into guest code is not lost: the next one finds it running. The
//! emulator keeps one watchdog for all the runs of a call; KVM starts one
//! per run. Kicks only
//! happen while the watchdog is armed; [`Watchdog::stop`] disarms it under
//! the same lock, so none arrives after `stop` returns.
//!
//! A timeout is the host's decision, not a deterministic verdict: it
//! depends on the host's speed and load. Nothing here reaches an outcome
//! other than the fact that the call was cut short.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a fired watchdog kicks again until the run ends.
pub const KICK_INTERVAL: Duration = Duration::from_millis(20);

/// `kill_reason` of a call ended by `--timeout`.
pub const TIMEOUT_KILL_REASON: &str =
    "timeout: the host's wall clock ended the call, not a deterministic verdict";

/// Exit status of a call ended by `--timeout`, as timeout(1) uses: apart
/// from 128+9, which an out-of-gas or deadlocked call also gives, so a
/// caller can tell a host limit from the contract's own result.
pub const TIMEOUT_STATUS: i32 = 124;

struct Shared {
    /// True while the run goes on; `stop` clears it.
    armed: Mutex<bool>,
    wake: Condvar,
    fired: AtomicBool,
}

/// A running watchdog; disarmed and joined by [`Watchdog::stop`] or drop.
pub struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts a thread that calls `kick` from `deadline` on, every
    /// [`KICK_INTERVAL`], until the watchdog stops.
    pub fn start(
        deadline: Instant,
        mut kick: impl FnMut() + Send + 'static,
    ) -> std::io::Result<Watchdog> {
        let shared = Arc::new(Shared {
            armed: Mutex::new(true),
            wake: Condvar::new(),
            fired: AtomicBool::new(false),
        });
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("qvm-watchdog".into())
            .spawn(move || {
                let mut armed = theirs.armed.lock().unwrap_or_else(|e| e.into_inner());
                while *armed {
                    let now = Instant::now();
                    let wait = if now >= deadline {
                        // Fired is visible before the kick, so the engine
                        // that the kick interrupts sees why.
                        theirs.fired.store(true, Ordering::SeqCst);
                        kick();
                        KICK_INTERVAL
                    } else {
                        deadline - now
                    };
                    armed = theirs
                        .wake
                        .wait_timeout(armed, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            })?;
        Ok(Watchdog {
            shared,
            thread: Some(thread),
        })
    }

    /// Whether the deadline has passed (the engine was or is being kicked).
    pub fn fired(&self) -> bool {
        self.shared.fired.load(Ordering::SeqCst)
    }

    /// Disarms the watchdog and waits for its thread; returns whether it
    /// fired. No kick happens after this returns.
    pub fn stop(mut self) -> bool {
        self.disarm();
        self.fired()
    }

    fn disarm(&mut self) {
        *self.shared.armed.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.disarm();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn kicks_from_the_deadline_until_stopped() {
        let kicks = Arc::new(AtomicU32::new(0));
        let k = kicks.clone();
        let dog = Watchdog::start(Instant::now() + Duration::from_millis(30), move || {
            k.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(10));
        assert!(!dog.fired());
        assert_eq!(kicks.load(Ordering::SeqCst), 0);
        std::thread::sleep(Duration::from_millis(100));
        assert!(dog.fired());
        assert!(dog.stop());
        let after = kicks.load(Ordering::SeqCst);
        assert!(after >= 2, "kicks again until stopped: {after}");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(kicks.load(Ordering::SeqCst), after, "no kick after stop");
    }

    #[test]
    fn a_run_that_ends_first_is_never_kicked() {
        let kicks = Arc::new(AtomicU32::new(0));
        let k = kicks.clone();
        let start = Instant::now();
        let dog = Watchdog::start(start + Duration::from_secs(60), move || {
            k.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        assert!(!dog.stop());
        assert_eq!(kicks.load(Ordering::SeqCst), 0);
        assert!(start.elapsed() < Duration::from_secs(5), "stop wakes it");
    }
}
