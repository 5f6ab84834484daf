//! Wall-clock time, injected: every service and engine that needs "now" takes an
//! `Arc<dyn Clock>` from its caller, so tests run at fixed instants ([`ManualClock`])
//! and production uses [`SystemClock`]. Timestamps are milliseconds since the Unix
//! epoch, the unit of CT (RFC 6962 §3.2 `timestamp`) and of every stored time;
//! [`format_time_ms`] and [`parse_time_ms`] are their one RFC 3339 form.

use std::sync::atomic::{AtomicU64, Ordering};

mod time;

pub use time::{TimeError, format_time_ms, format_time_ms_millis, parse_time_ms};

/// Milliseconds since the Unix epoch, injected so tests control time.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
}

/// The operating-system clock. A clock before 1970 reads as 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that reads what the test last set; shared behind an `Arc`, so a test can
/// move time while the code under test holds the same clock.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock standing at `ms`.
    pub fn new(ms: u64) -> Self {
        Self(AtomicU64::new(ms))
    }

    /// Sets the time to `ms`.
    pub fn set_ms(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    /// Moves the time forward by `ms`.
    pub fn advance_ms(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_reads_what_was_set() {
        let clock = ManualClock::new(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance_ms(500);
        assert_eq!(clock.now_ms(), 1_500);
        clock.set_ms(7);
        assert_eq!(clock.now_ms(), 7);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }
}
