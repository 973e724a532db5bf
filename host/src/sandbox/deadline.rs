//! When a running call must be interrupted, shared by the three places that
//! enforce or move it: the epoch callback (a guest computing), the call's
//! own timer (a guest waiting) and the streaming imports (each part sent or
//! read moves it on).

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

/// An instant that may be moved while the call it bounds runs.
#[derive(Debug)]
pub struct CallDeadline {
    base: Instant,
    /// Nanoseconds after `base`.
    after_base: AtomicU64,
}

impl CallDeadline {
    /// A deadline at `at`.
    pub fn new(at: Instant) -> Self {
        let deadline = Self {
            base: Instant::now(),
            after_base: AtomicU64::new(0),
        };
        deadline.set(at);
        deadline
    }

    /// Moves it to `at`.
    pub fn set(&self, at: Instant) {
        let nanos = at.saturating_duration_since(self.base).as_nanos();
        self.after_base
            .store(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Where it is now.
    pub fn get(&self) -> Instant {
        self.base + Duration::from_nanos(self.after_base.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_moves_both_ways_and_never_before_it_was_made() {
        let now = Instant::now();
        let deadline = CallDeadline::new(now + Duration::from_secs(5));
        assert!(deadline.get() >= now + Duration::from_secs(5));
        deadline.set(now + Duration::from_millis(10));
        let at = deadline.get();
        assert!(at >= now && at <= now + Duration::from_millis(11), "{at:?}");
        deadline.set(now - Duration::from_secs(1));
        assert!(deadline.get() <= Instant::now());
    }
}
