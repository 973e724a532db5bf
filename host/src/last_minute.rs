//! A mount's requests over the last minute: how many, how many failed, and
//! their latency's p50 and p99, for the dashboard. Pure: no I/O.
//!
//! The minute is kept as twelve slots of five seconds, each with a count per
//! latency bucket; a slot is wiped when the clock comes round to it again.
//! The slots are allocated at a mount's first request, so the thousands of
//! idle mounts of a dense host cost a pointer each.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

/// How long one slot covers.
const SLOT: Duration = Duration::from_secs(5);
/// Slots in the window: `SLOTS × SLOT` is the minute.
const SLOTS: usize = 12;
/// Upper bounds of the latency buckets, in microseconds (1-2-5 steps); one
/// more bucket holds everything slower than the last.
const BOUNDS_MICROS: [u64; 18] = [
    50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000,
    2_000_000, 5_000_000, 10_000_000, 30_000_000,
];

/// What a mount served in the last minute, as the control API and the
/// dashboard show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LastMinuteSummary {
    /// Requests answered.
    pub requests: u64,
    /// Of those, answered with a 5xx status.
    pub errors: u64,
    /// Requests per second, over the part of the minute the window has seen.
    pub per_second: f64,
    /// Median latency in microseconds (estimated within its bucket), when
    /// there were requests.
    pub p50_us: Option<u64>,
    /// 99th percentile latency in microseconds, when there were requests.
    pub p99_us: Option<u64>,
}

/// The last minute of one mount's requests.
#[derive(Debug, Default)]
pub struct LastMinute {
    window: Mutex<Option<Box<Window>>>,
}

#[derive(Debug)]
struct Window {
    /// When the window began: slot numbers count from here.
    origin: Instant,
    slots: [Slot; SLOTS],
}

#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    /// The slot number (since `origin`) the counts belong to.
    number: u64,
    requests: u32,
    errors: u32,
    buckets: [u32; BOUNDS_MICROS.len() + 1],
}

impl LastMinute {
    /// Counts one request answered at `now` with `status` after `elapsed`.
    pub fn record(&self, now: Instant, status: u16, elapsed: Duration) {
        let mut guard = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let window = guard.get_or_insert_with(|| {
            Box::new(Window {
                origin: now,
                slots: [Slot::default(); SLOTS],
            })
        });
        let number = window.slot_number(now);
        let slot = &mut window.slots[number as usize % SLOTS];
        if slot.number != number {
            *slot = Slot {
                number,
                ..Slot::default()
            };
        }
        slot.requests = slot.requests.saturating_add(1);
        if status >= 500 {
            slot.errors = slot.errors.saturating_add(1);
        }
        let micros = elapsed.as_micros().min(u128::from(u64::MAX)) as u64;
        let bucket = BOUNDS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(BOUNDS_MICROS.len());
        slot.buckets[bucket] = slot.buckets[bucket].saturating_add(1);
    }

    /// The minute before `now`.
    pub fn summary(&self, now: Instant) -> LastMinuteSummary {
        let guard = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let Some(window) = guard.as_deref() else {
            return LastMinuteSummary::default();
        };
        let current = window.slot_number(now);
        let mut requests = 0u64;
        let mut errors = 0u64;
        let mut buckets = [0u64; BOUNDS_MICROS.len() + 1];
        for slot in &window.slots {
            if slot.number + (SLOTS as u64) <= current || slot.requests == 0 {
                continue;
            }
            requests += u64::from(slot.requests);
            errors += u64::from(slot.errors);
            for (total, &count) in buckets.iter_mut().zip(&slot.buckets) {
                *total += u64::from(count);
            }
        }
        // The window spans the current slot so far and the eleven before it,
        // or less when it began less than a minute ago.
        let since_origin = now.saturating_duration_since(window.origin);
        let into_current =
            since_origin.saturating_sub(Duration::from_millis(current * SLOT.as_millis() as u64));
        let spanned = (SLOT * (SLOTS as u32 - 1) + into_current)
            .min(since_origin)
            .max(Duration::from_secs(1));
        LastMinuteSummary {
            requests,
            errors,
            per_second: requests as f64 / spanned.as_secs_f64(),
            p50_us: quantile(&buckets, requests, 0.50),
            p99_us: quantile(&buckets, requests, 0.99),
        }
    }
}

impl Window {
    fn slot_number(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.origin).as_millis() / SLOT.as_millis()) as u64
    }
}

/// The latency below which `q` of the `total` requests fell, interpolated
/// linearly within its bucket; the open last bucket answers its lower bound.
fn quantile(buckets: &[u64], total: u64, q: f64) -> Option<u64> {
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0);
    let mut below = 0u64;
    for (index, &count) in buckets.iter().enumerate() {
        if count > 0 && (below + count) as f64 >= rank {
            let low = if index == 0 { 0 } else { BOUNDS_MICROS[index - 1] };
            let Some(&high) = BOUNDS_MICROS.get(index) else {
                return Some(low);
            };
            let within = (rank - below as f64) / count as f64;
            return Some(low + ((high - low) as f64 * within).round() as u64);
        }
        below += count;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, millis: u64) -> Instant {
        start + Duration::from_millis(millis)
    }

    #[test]
    fn nothing_recorded_is_all_zero() {
        let minute = LastMinute::default();
        assert_eq!(minute.summary(Instant::now()), LastMinuteSummary::default());
    }

    #[test]
    fn counts_rate_and_percentiles_within_the_minute() {
        let minute = LastMinute::default();
        let start = Instant::now();
        // 99 fast requests (300 µs, in the 200–500 µs bucket) and one slow
        // failure (4 ms), spread over 20 seconds.
        for i in 0..99 {
            minute.record(at(start, i * 200), 200, Duration::from_micros(300));
        }
        minute.record(at(start, 19_900), 503, Duration::from_millis(4));
        let summary = minute.summary(at(start, 20_000));
        assert_eq!((summary.requests, summary.errors), (100, 1));
        assert!((summary.per_second - 5.0).abs() < 0.01, "{summary:?}");
        let p50 = summary.p50_us.unwrap();
        assert!((200..=500).contains(&p50), "{summary:?}");
        assert_eq!(summary.p99_us, Some(500), "the 99th is the last fast one");
        minute.record(at(start, 20_000), 200, Duration::from_millis(4));
        let p99 = minute.summary(at(start, 20_000)).p99_us.unwrap();
        assert!((2_000..=5_000).contains(&p99), "{p99}");
    }

    #[test]
    fn requests_older_than_a_minute_drop_out() {
        let minute = LastMinute::default();
        let start = Instant::now();
        minute.record(start, 500, Duration::from_millis(1));
        minute.record(at(start, 30_000), 200, Duration::from_millis(1));
        let both = minute.summary(at(start, 59_000));
        assert_eq!((both.requests, both.errors), (2, 1));
        let later = minute.summary(at(start, 61_000));
        assert_eq!((later.requests, later.errors), (1, 0));
        // Its slot comes round again: the old counts are wiped, not added to.
        minute.record(at(start, 120_500), 200, Duration::from_millis(1));
        let wrapped = minute.summary(at(start, 121_000));
        assert_eq!(wrapped.requests, 1);
        assert!(
            (wrapped.per_second - 1.0 / 56.0).abs() < 0.001,
            "a full window spans 55 s and the current slot so far: {wrapped:?}"
        );
        assert_eq!(minute.summary(at(start, 300_000)).requests, 0);
    }

    #[test]
    fn slower_than_every_bucket_reads_as_the_last_bound() {
        let minute = LastMinute::default();
        let start = Instant::now();
        minute.record(start, 200, Duration::from_secs(90));
        let summary = minute.summary(at(start, 1_000));
        assert_eq!(summary.p50_us, Some(30_000_000));
        assert_eq!(summary.per_second, 1.0);
    }
}
