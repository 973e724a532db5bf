//! The site-wide budget of live instances, shared by every app.
//!
//! Every live instance holds a [`Seat`]; there are as many seats as the
//! engine has slots, so the number of apps and their `instances` never
//! decide whether the engine can be made, only how far each app may grow.
//! An app that needs one more instance while every seat is taken asks the
//! budget to retire the least recently used idle instance of any app
//! ([`Reclaim`]); when none is idle, it waits until a seat is given back or
//! an instance goes idle ([`InstanceBudget::instance_idle`]), and tries again.

use std::{
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::{error::GuestError, instance::Instance};

/// How long a retired instance's shutdown may take.
pub const SHUTDOWN_WITHIN: Duration = Duration::from_secs(5);

/// Memory assumed for one live instance when the budget is derived from
/// the machine's memory: a hello app's instance holds about 7 MiB of its
/// own after a few requests, a Flask app's about 15.
pub const MEMORY_PER_INSTANCE: u64 = 16 << 20;

/// The share of the 128 TiB of user address space (x86-64, aarch64 with
/// 48-bit addresses) the engine's reservations may take.
const ADDRESS_SPACE_FOR_INSTANCES: u64 = 64 << 40;

/// Descriptors every live instance holds open: one per folder the sandbox
/// shows every guest. An app's data folder and private `/tmp` take one
/// more each.
pub const SANDBOX_DESCRIPTORS: u64 = terrarium_python_wasi::SANDBOX_GUEST_DIRS.len() as u64;

/// Where the default budget came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetSource {
    /// `server.max_instances`.
    Configured,
    /// The machine's memory divided by [`MEMORY_PER_INSTANCE`].
    Memory,
    /// The address space each instance's reservations take.
    AddressSpace,
    /// The open files left for instances, at what the site's apps hold
    /// in one.
    OpenFiles,
}

/// The default number of live instances for a machine with `memory_total`
/// bytes of memory, when each instance reserves `reserved_per_instance`
/// bytes of address space and `by_open_files` instances fit in the open
/// files left for them; and which of the three bounds it.
pub fn default_limit(
    memory_total: u64,
    reserved_per_instance: u64,
    by_open_files: u64,
) -> (u32, BudgetSource) {
    let bounds = [
        (memory_total / MEMORY_PER_INSTANCE, BudgetSource::Memory),
        (
            ADDRESS_SPACE_FOR_INSTANCES / reserved_per_instance.max(1),
            BudgetSource::AddressSpace,
        ),
        (by_open_files, BudgetSource::OpenFiles),
    ];
    let (limit, source) = bounds
        .into_iter()
        .min_by_key(|(limit, _)| *limit)
        .expect("three bounds");
    (limit.clamp(1, u64::from(u32::MAX)) as u32, source)
}

/// Something holding idle instances the budget may retire to make room.
pub trait Reclaim: Send + Sync {
    /// When its least recently used idle instance that may be retired was
    /// last used (none when it has none, or must keep them all).
    fn oldest_idle(&self) -> Option<Instant>;
    /// Takes that instance out, to be retired.
    fn take_oldest_idle(&self) -> Option<Instance>;
    /// Counts one of its instances retired to make room for another app's.
    fn count_retired_for_room(&self);
}

/// The right to keep one instance alive; given back when dropped.
#[derive(Debug)]
pub struct Seat {
    _permit: OwnedSemaphorePermit,
}

/// The live instances of all apps, bounded.
pub struct InstanceBudget {
    seats: Arc<Semaphore>,
    limit: usize,
    pools: Mutex<Vec<Weak<dyn Reclaim>>>,
    retired_for_room: AtomicU64,
    /// Told when an instance goes idle, while someone waits for a seat.
    idled: Notify,
    waiting: AtomicUsize,
}

impl InstanceBudget {
    /// A budget of `limit` live instances.
    pub fn new(limit: usize) -> Self {
        Self {
            seats: Arc::new(Semaphore::new(limit)),
            limit,
            pools: Mutex::new(Vec::new()),
            retired_for_room: AtomicU64::new(0),
            idled: Notify::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The most instances alive at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Instances alive now (seats taken).
    pub fn in_use(&self) -> usize {
        self.limit - self.seats.available_permits()
    }

    /// Instances retired so far to make room for another app's.
    pub fn retired_for_room(&self) -> u64 {
        self.retired_for_room.load(Ordering::Relaxed)
    }

    /// Lets the budget retire `pool`'s idle instances when it is full
    /// (for as long as the pool lives).
    pub fn register(&self, pool: Weak<dyn Reclaim>) {
        let mut pools = self.pools.lock().unwrap();
        pools.retain(|known| known.strong_count() > 0);
        pools.push(pool);
    }

    /// A seat if one is free now, without retiring anything.
    pub fn try_seat(&self) -> Option<Seat> {
        let permit = self.seats.clone().try_acquire_owned().ok()?;
        Some(Seat { _permit: permit })
    }

    /// Says that an instance has gone idle: one who waits for a seat may
    /// now retire it. Costs one atomic load when nobody waits.
    pub fn instance_idle(&self) {
        if self.waiting.load(Ordering::Acquire) > 0 {
            self.idled.notify_waiters();
        }
    }

    /// A seat within `within`: a free one, or one freed by retiring the
    /// least recently used idle instance of any app, or the first one given
    /// back. `GuestError::Busy` when none came.
    pub async fn seat(&self, within: Duration) -> Result<Seat, GuestError> {
        if let Some(seat) = self.try_seat() {
            return Ok(seat);
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let seat = self.seat_when_full(within).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        seat
    }

    async fn seat_when_full(&self, within: Duration) -> Result<Seat, GuestError> {
        let ends_at = tokio::time::Instant::now() + within;
        loop {
            // Listening before looking: an instance that goes idle after
            // the look below still wakes this wait.
            let idled = self.idled.notified();
            let mut idled = std::pin::pin!(idled);
            idled.as_mut().enable();
            if let Some(seat) = self.try_seat() {
                return Ok(seat);
            }
            if let Some(mut victim) = self.take_least_recently_used() {
                self.retired_for_room.fetch_add(1, Ordering::Relaxed);
                let left = ends_at.saturating_duration_since(tokio::time::Instant::now());
                victim.shutdown(SHUTDOWN_WITHIN.min(left)).await;
                drop(victim);
                continue;
            }
            tokio::select! {
                permit = self.seats.clone().acquire_owned() => {
                    let permit = permit.expect("the budget's semaphore is never closed");
                    return Ok(Seat { _permit: permit });
                }
                () = idled => {}
                () = tokio::time::sleep_until(ends_at) => return Err(GuestError::Busy(within)),
            }
        }
    }

    /// The idle instance, of any app, that has waited longest.
    fn take_least_recently_used(&self) -> Option<Instance> {
        let pools: Vec<Arc<dyn Reclaim>> = {
            let mut pools = self.pools.lock().unwrap();
            pools.retain(|pool| pool.strong_count() > 0);
            pools.iter().filter_map(Weak::upgrade).collect()
        };
        let mut candidates: Vec<(Instant, &Arc<dyn Reclaim>)> = pools
            .iter()
            .filter_map(|pool| Some((pool.oldest_idle()?, pool)))
            .collect();
        candidates.sort_by_key(|(since, _)| *since);
        // The oldest may have been taken meanwhile by a request of its own
        // app: then the next oldest.
        candidates.into_iter().find_map(|(_, pool)| {
            let victim = pool.take_oldest_idle()?;
            pool.count_retired_for_room();
            Some(victim)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn the_default_budget_is_bounded_by_memory_address_space_or_open_files() {
        let per_instance = 17 * GIB;
        let many_files = 1 << 30;
        let cases = [
            (24 * GIB, many_files, (1536, BudgetSource::Memory)),
            (1 << 20, many_files, (1, BudgetSource::Memory)),
            (1024 * GIB, many_files, (3855, BudgetSource::AddressSpace)),
            (24 * GIB, 968, (968, BudgetSource::OpenFiles)),
            (24 * GIB, 0, (1, BudgetSource::OpenFiles)),
        ];
        for (memory, files, expected) in cases {
            assert_eq!(
                default_limit(memory, per_instance, files),
                expected,
                "{memory} bytes, {files} files"
            );
        }
        assert_eq!(SANDBOX_DESCRIPTORS, 8);
    }

    #[tokio::test]
    async fn seats_run_out_and_come_back() {
        let budget = InstanceBudget::new(2);
        let first = budget.try_seat().unwrap();
        let _second = budget.seat(Duration::from_millis(10)).await.unwrap();
        assert_eq!(budget.in_use(), 2);
        assert!(budget.try_seat().is_none());
        assert!(matches!(
            budget.seat(Duration::from_millis(20)).await,
            Err(GuestError::Busy(_))
        ));
        drop(first);
        assert!(budget.seat(Duration::from_millis(20)).await.is_ok());
    }

    #[tokio::test]
    async fn a_waiter_gets_the_seat_given_back() {
        let budget = Arc::new(InstanceBudget::new(1));
        let held = budget.try_seat().unwrap();
        let waiter = tokio::spawn({
            let budget = budget.clone();
            async move { budget.seat(Duration::from_secs(5)).await.is_ok() }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(held);
        assert!(waiter.await.unwrap());
    }
}
