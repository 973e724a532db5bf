//! The connections a listener holds at once (`server.max_connections`, 64
//! for the control API), what each one is doing, and which gives way when
//! the cap is reached: a connection that is idle between requests, has not
//! sent a request head, or whose body has stalled is closed, the one that
//! has waited longest first, so a flood of sockets that do nothing cannot
//! lock real clients out. A connection whose request is being worked on or
//! answered is never cut.
//!
//! An HTTP/2 connection carries several requests at once: it is idle only
//! when none is left, and one that cancels requests in a loop (rapid reset,
//! CVE-2023-44487) is closed.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::Notify;

/// A body that has sent nothing for this long counts as stalled.
const STALLED_AFTER: Duration = Duration::from_secs(1);

/// Requests a connection may cancel before their answer (HTTP/2 stream
/// resets) beyond those it let finish before it is closed.
pub const MAX_CANCELLED_REQUESTS: u32 = 100;

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// Accepted, its first request head not (fully) received.
    AwaitingHead = 0,
    /// Its request's body is being received.
    ReadingBody = 1,
    /// Its request is being worked on.
    Working = 2,
    /// Its response is being sent.
    Responding = 3,
    /// Between requests (keep-alive).
    Idle = 4,
}

impl Phase {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::AwaitingHead,
            1 => Self::ReadingBody,
            2 => Self::Working,
            3 => Self::Responding,
            _ => Self::Idle,
        }
    }
}

/// One connection's phase and when it began (for a body: when its last part
/// came), told by the code serving it, read by the table and the
/// connection's keep-alive watch.
pub struct Activity {
    epoch: Instant,
    phase: AtomicU8,
    /// Milliseconds since `epoch`.
    since: AtomicU64,
    /// Requests started and not over.
    in_flight: AtomicU32,
    /// Requests answered, and requests given up before their answer.
    answered: AtomicU32,
    cancelled: AtomicU32,
    evicted: Notify,
}

/// A request being served on a connection, from its head to the end of
/// its response; dropped before [`InFlight::answered`], it counts as
/// cancelled.
pub struct InFlight {
    activity: Arc<Activity>,
    answered: bool,
}

impl InFlight {
    /// The request's answer is on its way.
    pub fn answered(&mut self) {
        if !self.answered {
            self.answered = true;
            self.activity.answered.fetch_add(1, Ordering::Relaxed);
            self.activity.enter(Phase::Responding);
        }
    }
}

impl Drop for InFlight {
    /// The connection is idle once its last request is over; one that has
    /// cancelled too many requests is closed.
    fn drop(&mut self) {
        let activity = &self.activity;
        if !self.answered {
            let cancelled = activity.cancelled.fetch_add(1, Ordering::Relaxed) + 1;
            if cancelled > MAX_CANCELLED_REQUESTS + activity.answered.load(Ordering::Relaxed) {
                if cancelled == MAX_CANCELLED_REQUESTS + 1 + activity.answered.load(Ordering::Relaxed) {
                    tracing::warn!(
                        cancelled,
                        "closing a connection that cancels its requests in a loop"
                    );
                }
                activity.evicted.notify_one();
            }
        }
        if activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            activity.enter(Phase::Idle);
        }
    }
}

impl Activity {
    fn new(epoch: Instant) -> Self {
        let activity = Self {
            epoch,
            phase: AtomicU8::new(Phase::AwaitingHead as u8),
            since: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
            answered: AtomicU32::new(0),
            cancelled: AtomicU32::new(0),
            evicted: Notify::new(),
        };
        activity.enter(Phase::AwaitingHead);
        activity
    }

    fn enter(&self, phase: Phase) {
        self.since.store(self.now(), Ordering::Relaxed);
        self.phase.store(phase as u8, Ordering::Release);
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn snapshot(&self) -> (Phase, u64) {
        let phase = Phase::from_u8(self.phase.load(Ordering::Acquire));
        (phase, self.since.load(Ordering::Relaxed))
    }

    /// A request head came; `with_body` when a body follows it. The
    /// request is over when the guard is dropped.
    pub fn request_started(self: &Arc<Self>, with_body: bool) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.enter(if with_body {
            Phase::ReadingBody
        } else {
            Phase::Working
        });
        InFlight {
            activity: self.clone(),
            answered: false,
        }
    }

    /// Another part of the body came.
    pub fn body_progressed(&self) {
        self.since.store(self.now(), Ordering::Relaxed);
    }

    /// The body is read (or not needed): the request is being worked on.
    pub fn working(&self) {
        self.enter(Phase::Working);
    }

    /// Whether the connection may be closed to admit another, and since when
    /// it has been doing nothing, at `now` (milliseconds since the epoch).
    fn waiting_since(&self, now: u64) -> Option<u64> {
        match self.snapshot() {
            (Phase::AwaitingHead | Phase::Idle, since) => Some(since),
            (Phase::ReadingBody, since)
                if now.saturating_sub(since) >= STALLED_AFTER.as_millis() as u64
                    && self.in_flight.load(Ordering::Acquire) <= 1 =>
            {
                Some(since)
            }
            _ => None,
        }
    }

    /// Resolves when the table closes this connection to admit another, or
    /// it is closed for cancelling too many requests.
    pub async fn until_evicted(&self) {
        self.evicted.notified().await;
    }

    /// Resolves once the connection has been idle between requests for
    /// `keep_alive`, or has waited `first_head` for its first request (a
    /// TLS handshake or an HTTP/2 preface that never ends). It looks at
    /// the phase once per limit at most (never at each request), so a busy
    /// connection costs it nothing.
    pub async fn until_idle_for(&self, keep_alive: Duration, first_head: Duration) {
        let keep_alive_ms = keep_alive.as_millis() as u64;
        loop {
            let wait = match self.snapshot() {
                (phase @ (Phase::Idle | Phase::AwaitingHead), since) => {
                    let limit = if phase == Phase::Idle {
                        keep_alive
                    } else {
                        first_head
                    };
                    let limit_ms = limit.as_millis() as u64;
                    let idle_for = self.now().saturating_sub(since);
                    if idle_for >= limit_ms {
                        return;
                    }
                    // Awaiting its first head, the connection may have been
                    // served and gone idle by the next look: look again
                    // within `keep_alive` at the latest.
                    (limit_ms - idle_for).min(keep_alive_ms)
                }
                _ => keep_alive_ms,
            };
            tokio::time::sleep(Duration::from_millis(wait.max(1))).await;
        }
    }
}

/// The connections of one listener (shared by the worker threads of the
/// public site).
pub struct ConnectionTable {
    capacity: usize,
    epoch: Instant,
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, Arc<Activity>>>,
    freed: Notify,
}

/// A connection's place in the table, given back when dropped.
pub struct Slot {
    table: Arc<ConnectionTable>,
    id: u64,
    /// What the connection is doing.
    pub activity: Arc<Activity>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let removed = self.table.live.lock().expect("never poisoned").remove(&self.id);
        if removed.is_some() {
            self.table.freed.notify_one();
        }
    }
}

impl ConnectionTable {
    /// A table of at most `capacity` connections.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            capacity,
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            live: Mutex::new(HashMap::with_capacity(capacity.min(1 << 16))),
            freed: Notify::new(),
        })
    }

    /// A place for a connection just accepted: at the cap, the connection
    /// that has waited longest (idle, head-less or stalled) is closed to make
    /// room; when every one is busy, waits until one ends.
    pub async fn admit(self: &Arc<Self>) -> Slot {
        loop {
            let freed = self.freed.notified();
            if let Some(slot) = self.try_admit() {
                return slot;
            }
            freed.await;
        }
    }

    fn try_admit(self: &Arc<Self>) -> Option<Slot> {
        let mut live = self.live.lock().expect("never poisoned");
        if live.len() >= self.capacity {
            let now = self.epoch.elapsed().as_millis() as u64;
            let (&victim, _) = live
                .iter()
                .filter_map(|(id, activity)| Some((id, activity.waiting_since(now)?)))
                .min_by_key(|&(_, since)| since)?;
            let evicted = live.remove(&victim).expect("just found");
            evicted.evicted.notify_one();
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new(self.epoch));
        live.insert(id, activity.clone());
        Some(Slot {
            table: self.clone(),
            id,
            activity,
        })
    }

    /// How many connections are open.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.live.lock().expect("never poisoned").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long enough for two phase changes to get different millisecond stamps.
    fn tick() {
        std::thread::sleep(Duration::from_millis(5));
    }

    async fn is_evicted(slot: &Slot) -> bool {
        tokio::time::timeout(Duration::from_millis(20), slot.activity.until_evicted())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn at_the_cap_the_connection_waiting_longest_gives_way() {
        let table = ConnectionTable::new(3);
        let headless = table.admit().await;
        tick();
        let busy = table.admit().await;
        let _working = busy.activity.request_started(false);
        let idle = table.admit().await;
        let mut request = idle.activity.request_started(false);
        tick();
        request.answered();
        drop(request);
        tick();

        let fourth = table.admit().await;
        assert_eq!(table.len(), 3);
        assert!(
            is_evicted(&headless).await,
            "the head-less one, waiting longest, is cut"
        );
        assert!(!is_evicted(&idle).await);
        assert!(!is_evicted(&busy).await);
        drop(headless);
        assert_eq!(table.len(), 3, "an evicted slot is not given back twice");

        let fifth = table.admit().await;
        assert!(is_evicted(&idle).await, "then the idle one");
        assert!(!is_evicted(&busy).await, "a busy connection is never cut");
        drop((busy, fourth, fifth));
    }

    #[test]
    fn a_body_counts_as_stalled_only_after_a_second_without_a_part() {
        let activity = Arc::new(Activity::new(Instant::now()));
        let mut request = activity.request_started(true);
        let since = activity.snapshot().1;
        assert_eq!(activity.waiting_since(since + 500), None);
        assert_eq!(activity.waiting_since(since + 1000), Some(since));
        activity.working();
        assert_eq!(activity.waiting_since(since + 60_000), None);
        request.answered();
        assert_eq!(activity.waiting_since(since + 60_000), None);
    }

    #[tokio::test]
    async fn when_every_connection_is_busy_a_new_one_waits_for_a_free_slot() {
        let table = ConnectionTable::new(1);
        let busy = table.admit().await;
        busy.activity.working();
        let waiting = tokio::spawn({
            let table = table.clone();
            async move { table.admit().await.id }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        drop(busy);
        let id = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(id, 1);
    }

    #[tokio::test]
    async fn the_keep_alive_watch_fires_only_after_the_idle_limit() {
        let activity = Arc::new(Activity::new(Instant::now()));
        let request = activity.request_started(false);
        let watch = tokio::spawn({
            let activity = activity.clone();
            let limit = Duration::from_millis(100);
            async move { activity.until_idle_for(limit, limit).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!watch.is_finished(), "a busy connection is never idle");
        let idle_at = Instant::now();
        drop(request);
        tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .unwrap()
            .unwrap();
        assert!(idle_at.elapsed() >= Duration::from_millis(95));
    }

    #[tokio::test]
    async fn a_connection_that_never_sends_its_first_request_is_closed_after_the_head_timeout() {
        let activity = Arc::new(Activity::new(Instant::now()));
        let closed = activity.until_idle_for(Duration::from_secs(3600), Duration::from_millis(50));
        tokio::time::timeout(Duration::from_secs(5), closed)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_connection_served_before_the_watch_looked_again_is_closed_at_keep_alive() {
        let activity = Arc::new(Activity::new(Instant::now()));
        let watch = tokio::spawn({
            let activity = activity.clone();
            async move {
                activity
                    .until_idle_for(Duration::from_millis(100), Duration::from_secs(3600))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut request = activity.request_started(false);
        request.answered();
        drop(request);
        let idle_at = Instant::now();
        tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .expect("closed at keep_alive, not at the first head's deadline")
            .unwrap();
        assert!(idle_at.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_connection_with_several_requests_is_idle_only_when_the_last_is_over() {
        let activity = Arc::new(Activity::new(Instant::now()));
        let mut first = activity.request_started(false);
        let mut second = activity.request_started(false);
        first.answered();
        drop(first);
        assert_ne!(activity.snapshot().0, Phase::Idle);
        second.answered();
        drop(second);
        assert_eq!(activity.snapshot().0, Phase::Idle);
    }

    #[tokio::test]
    async fn a_connection_that_cancels_requests_in_a_loop_is_closed() {
        let activity = Arc::new(Activity::new(Instant::now()));
        let mut answered = activity.request_started(false);
        answered.answered();
        drop(answered);
        for _ in 0..MAX_CANCELLED_REQUESTS + 1 {
            drop(activity.request_started(false));
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(20), activity.until_evicted())
                .await
                .is_err(),
            "one answered request earns one more cancellation"
        );
        drop(activity.request_started(false));
        tokio::time::timeout(Duration::from_secs(1), activity.until_evicted())
            .await
            .expect("closed");
    }
}
