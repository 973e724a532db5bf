//! Per-app pools of instances, and the dispatch of one request into one.
//!
//! `pooled`: up to `instances` warm instances, each reused for many requests;
//! one that trapped, timed out or ran out of memory is dropped. The pool
//! keeps `min_instances` ready, makes one on the spot when a request finds
//! none ready ("cold start"), and gives back those left without a request
//! for `idle` ([`AppPool::scale_down`]).
//! `request`: a fresh instance for every request, dropped after it answers;
//! at most `instances` run at once.
//!
//! Every live instance holds a seat of the site's [`InstanceBudget`]; when
//! the budget is full, the least recently used idle instance of any app is
//! retired to make room ([`Reclaim`]).
//!
//! The instances are split into one shard per worker thread (see
//! [`crate::workers`]); a request waits for an instance of its own worker's
//! shard.
//!
//! Guest code runs as async calls on the server's tokio workers, with no
//! hand-off to other threads; a busy guest yields at every epoch tick, so it
//! never stalls the network. Dropping an instance and making a replacement
//! happen after the response has been handed back, off the response path.

use std::{
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::{
    budget::{InstanceBudget, Reclaim, SHUTDOWN_WITHIN},
    error::GuestError,
    exchange::{AnswerParts, BodySource, Exchange, GuestAnswer, StreamLimits},
    instance::{AppTemplate, Instance},
    messages::{GuestRequest, GuestResponse},
};
use crate::{config::Isolation, workers};

/// How long a guest may take to wind down a stream that ended early.
const WIND_DOWN: Duration = Duration::from_secs(5);

/// How the task holding the instance answered.
enum Answered {
    Whole(GuestResponse),
    /// The head, the rest of the parts, and whether they were all sent.
    Streamed(GuestResponse, mpsc::Receiver<Bytes>, Arc<AtomicBool>),
}

/// How one app's instances are shared and limited.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Pooled or one instance per request.
    pub isolation: Isolation,
    /// The most instances alive at once (in request mode too).
    pub instances: u32,
    /// Pooled instances kept ready even when idle.
    pub min_instances: u32,
    /// How long a pooled instance may go without a request before it is
    /// given back (down to `min_instances`).
    pub idle: Duration,
    /// Deadline for one request inside the guest, and for waiting for an
    /// instance; for a streaming one, for each gap between its parts.
    pub timeout: Duration,
    /// How long one streamed response (or body) may last.
    pub stream_timeout: Duration,
    /// Worker threads serving requests: the instances are split between them.
    pub workers: usize,
}

/// The instances of one app.
pub struct AppPool {
    template: Arc<AppTemplate>,
    settings: PoolSettings,
    shards: Vec<Shard>,
    budget: Arc<InstanceBudget>,
    counts: Counts,
}

/// What happened to a pool's instances, since it was made.
#[derive(Default)]
struct Counts {
    cold_starts: AtomicU64,
    spare_starts: AtomicU64,
    retired_idle: AtomicU64,
    retired_for_room: AtomicU64,
}

/// What a pool's instances are doing, for `/mounts` and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Alive and waiting for a request.
    pub ready: usize,
    /// Alive and running a request (or being made, or shutting down).
    pub busy: usize,
    /// Made because a request found none ready.
    pub cold_starts: u64,
    /// Of those, made ahead of need as spares of their shared interpreter
    /// (only the app's import was left to do).
    pub spare_starts: u64,
    /// Given back after `idle` without a request.
    pub retired_idle: u64,
    /// Retired while idle to make room in a full budget for another app's.
    pub retired_for_room: u64,
}

/// A pooled instance waiting for a request, and since when.
struct Idle {
    instance: Instance,
    since: Instant,
}

/// The share of an app's instances a worker uses first.
struct Shard {
    /// Its pooled instances not running a request right now, the least
    /// recently used first.
    idle: Mutex<Vec<Idle>>,
    /// One permit per instance of the shard that may run at once.
    slots: Arc<Semaphore>,
}

/// The right to run one request in a shard; returned when dropped.
struct Slot {
    shard: usize,
    _permit: OwnedSemaphorePermit,
}

impl AppPool {
    /// An empty pool whose instances take seats of `budget`; call
    /// [`AppPool::fill`] to make its `min_instances` before traffic arrives.
    pub fn new(template: Arc<AppTemplate>, settings: PoolSettings, budget: Arc<InstanceBudget>) -> Arc<Self> {
        let shards = workers::shard_sizes(settings.instances, settings.workers)
            .into_iter()
            .map(|size| Shard {
                idle: Mutex::new(Vec::new()),
                slots: Arc::new(Semaphore::new(size as usize)),
            })
            .collect();
        let pool = Arc::new(Self {
            template,
            settings,
            shards,
            budget,
            counts: Counts::default(),
        });
        let reclaim: Weak<dyn Reclaim> = Arc::downgrade(&pool) as Weak<AppPool>;
        pool.budget.register(reclaim);
        pool
    }

    /// Instances alive right now, idle or busy.
    pub fn live_instances(&self) -> usize {
        self.template.live_instances()
    }

    /// What its instances are doing, and what happened to them.
    pub fn state(&self) -> PoolState {
        let ready: usize = self
            .shards
            .iter()
            .map(|shard| shard.idle.lock().unwrap().len())
            .sum();
        PoolState {
            ready,
            busy: self.live_instances().saturating_sub(ready),
            cold_starts: self.counts.cold_starts.load(Ordering::Relaxed),
            spare_starts: self.counts.spare_starts.load(Ordering::Relaxed),
            retired_idle: self.counts.retired_idle.load(Ordering::Relaxed),
            retired_for_room: self.counts.retired_for_room.load(Ordering::Relaxed),
        }
    }

    /// Makes its `min_instances` now (spread over the shards), so the first
    /// requests find them ready. (Request isolation keeps nothing ready.)
    pub async fn fill(&self) -> Result<(), GuestError> {
        if self.settings.isolation == Isolation::Request {
            return Ok(());
        }
        let shares = workers::shard_sizes(self.settings.min_instances, self.shards.len());
        for (shard, share) in self.shards.iter().zip(shares) {
            let missing = (share as usize).saturating_sub(shard.idle.lock().unwrap().len());
            for _ in 0..missing {
                let seat = self.budget.seat(self.settings.timeout).await?;
                let fresh = self.template.instantiate(seat).await?;
                shard.idle.lock().unwrap().push(Idle {
                    instance: fresh,
                    since: Instant::now(),
                });
            }
        }
        Ok(())
    }

    /// Gives back (after running their shutdown) the idle instances that
    /// have had no request for `idle` as of `now`, keeping `min_instances`.
    /// Returns how many went.
    pub async fn scale_down(&self, now: Instant) -> usize {
        let Some(unused_since) = now.checked_sub(self.settings.idle) else {
            return 0;
        };
        let mut going = Vec::new();
        for shard in &self.shards {
            let mut idle = shard.idle.lock().unwrap();
            while idle.first().is_some_and(|oldest| oldest.since <= unused_since)
                && self.live_instances() - going.len() > self.settings.min_instances as usize
            {
                going.push(idle.remove(0).instance);
            }
        }
        let count = going.len();
        for mut instance in going {
            instance.shutdown(SHUTDOWN_WITHIN).await;
        }
        self.counts
            .retired_idle
            .fetch_add(count as u64, Ordering::Relaxed);
        count
    }

    /// Whether it holds more than `min_instances` and may give one back.
    fn above_minimum(&self) -> bool {
        self.live_instances() > self.settings.min_instances as usize
    }

    /// A fresh instance for a request that found none ready, with a seat
    /// of the budget found before `ends_at`.
    async fn cold_start(&self, ends_at: Instant) -> Result<Instance, GuestError> {
        let seat = self
            .budget
            .seat(ends_at.saturating_duration_since(Instant::now()))
            .await
            .map_err(|_| GuestError::Busy(self.settings.timeout))?;
        self.counts.cold_starts.fetch_add(1, Ordering::Relaxed);
        let instance = self.template.instantiate(seat).await?;
        if instance.came_from_spare() {
            self.counts.spare_starts.fetch_add(1, Ordering::Relaxed);
        }
        Ok(instance)
    }

    /// Runs `request` in one of this app's instances; `body` is the rest of
    /// its body when it did not come whole.
    ///
    /// The guest runs in a task of its own, so it always runs to the end
    /// (and its instance goes back to the pool) even if the client that
    /// asked goes away meanwhile. A streaming answer is handed back with
    /// its first part; the task keeps the instance and pulls each next part
    /// once the client has taken the last. The guest's log lines are
    /// tagged with `request_id`.
    ///
    /// Polling the call in place instead (and handing it to a task only if
    /// the request is dropped) was measured and loses: HTTP/1.1 took about
    /// a third more server CPU per request (raw hello, `h2load -c64`, the
    /// server on one core), and HTTP/2 gained nothing measurable. Likely
    /// why: with a task, a worker runs the calls of all the connections
    /// that became ready back to back, between hyper's reads and writes,
    /// where in place hyper's code and the guest's alternate request by
    /// request, each pushing the other out of the caches.
    pub async fn handle(
        self: &Arc<Self>,
        request_id: &str,
        request: GuestRequest,
        body: Option<BodySource>,
    ) -> Result<GuestAnswer, GuestError> {
        let limits = StreamLimits {
            gap: self.settings.timeout,
            whole: self.settings.stream_timeout,
        };
        let (exchange, client) = Exchange::new(body, limits);
        let (answer, answered) = oneshot::channel();
        let pool = self.clone();
        let request_id = Arc::from(request_id);
        // Boxed: the task's future holds a start and a call into the guest,
        // large enough that moving it into and out of the task showed.
        tokio::spawn(Box::pin(pool.run(request_id, request, exchange, answer)));
        match answered.await {
            Ok(Ok(Answered::Whole(response))) => Ok(GuestAnswer::Whole(response)),
            Ok(Ok(Answered::Streamed(head, parts, complete))) => Ok(GuestAnswer::Streamed(
                head,
                AnswerParts::new(parts, complete, client),
            )),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(GuestError::Crashed(
                "the task running the request panicked".into(),
            )),
        }
    }

    async fn run(
        self: Arc<Self>,
        request_id: Arc<str>,
        request: GuestRequest,
        exchange: Exchange,
        answer: oneshot::Sender<Result<Answered, GuestError>>,
    ) {
        // `timeout` bounds the request's whole time in the app: waiting
        // for an instance, then running.
        let timeout = self.settings.timeout;
        let ends_at = Instant::now() + timeout;
        let limits = exchange.limits();
        let ends = exchange.ends();
        let slot = match self.take_slot(timeout).await {
            Ok(slot) => slot,
            Err(error) => return drop(answer.send(Err(error))),
        };
        let shard = &self.shards[slot.shard];
        let warm = match self.settings.isolation {
            Isolation::Pooled => shard.idle.lock().unwrap().pop(),
            Isolation::Request => None,
        };
        let cold = warm.is_none();
        let mut instance = match warm {
            Some(warm) => warm.instance,
            None => match self.cold_start(ends_at).await {
                Ok(fresh) => fresh,
                Err(error) => return drop(answer.send(Err(error))),
            },
        };
        let result = instance
            .call(&request_id, &request, exchange, ends_at, timeout)
            .await;
        let fault = instance
            .exchange_fault()
            .filter(|_| result.as_ref().is_ok_and(|response| !response.more_body));
        let healthy = match (result, fault) {
            (Ok(_), Some(fault)) => {
                let _ = answer.send(Err(GuestError::Body(fault)));
                true
            }
            (Ok(response), None) if !response.more_body => {
                let _ = answer.send(Ok(Answered::Whole(response)));
                true
            }
            (Ok(head), None) => {
                self.stream(&mut instance, &request_id, head, answer, limits, ends)
                    .await
            }
            (Err(error), _) => {
                let _ = answer.send(Err(error));
                false
            }
        };
        instance.take_exchange();
        self.put_back(instance, slot, healthy);
        if cold {
            self.template.make_spares();
        }
    }

    /// Streams a response whose `head` the guest returned: hands it back,
    /// then pulls each next part once the client has taken the last, within
    /// the exchange's `limits` and by `ends`. Returns whether the instance
    /// is still fit to serve.
    async fn stream(
        &self,
        instance: &mut Instance,
        request_id: &str,
        head: GuestResponse,
        answer: oneshot::Sender<Result<Answered, GuestError>>,
        limits: StreamLimits,
        ends: Instant,
    ) -> bool {
        let app = self.template.name();
        let (parts, received) = mpsc::channel(1);
        let complete = Arc::new(AtomicBool::new(false));
        if answer
            .send(Ok(Answered::Streamed(head, received, complete.clone())))
            .is_err()
        {
            return instance.end_stream(limits.gap.min(WIND_DOWN)).await;
        }
        let why = loop {
            if Instant::now() >= ends {
                break format!("it streamed for its whole stream_timeout ({:?})", limits.whole);
            }
            let part = match instance.next_part(limits.next_deadline(ends)).await {
                Ok(Some(part)) => part,
                Ok(None) => {
                    complete.store(true, Ordering::Release);
                    return true;
                }
                Err(error) => {
                    tracing::warn!(app, request_id, "a streamed response was cut: {error}");
                    return matches!(error, GuestError::StreamBroken);
                }
            };
            if part.is_empty() {
                continue;
            }
            let wait = limits.gap.min(ends.saturating_duration_since(Instant::now()));
            match tokio::time::timeout(wait, parts.send(Bytes::from(part))).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break "the client went away".to_owned(),
                Err(_) => break format!("the client took nothing for {wait:?}"),
            }
        };
        tracing::info!(app, request_id, "a streamed response ended early: {why}");
        drop(parts);
        instance.end_stream(limits.gap.min(WIND_DOWN)).await
    }

    /// Gives `instance` back to its shard when it is `healthy` and pooled,
    /// else retires it (and makes a replacement when the pool fell below
    /// `min_instances`), off the response path.
    fn put_back(self: &Arc<Self>, mut instance: Instance, slot: Slot, healthy: bool) {
        // An instance whose memory keeps growing (a leak in the app or in
        // the interpreter) is retired between requests, well before its cap
        // would fail one.
        let worn = instance.is_near_memory_cap();
        if worn {
            tracing::info!(
                app = self.template.name(),
                "an instance grew past 3/4 of its memory cap: replacing it between requests"
            );
        }
        let pooled = self.settings.isolation == Isolation::Pooled;
        if healthy && !worn && pooled {
            self.shards[slot.shard].idle.lock().unwrap().push(Idle {
                instance,
                since: Instant::now(),
            });
            drop(slot);
            self.budget.instance_idle();
            return;
        }
        // Freeing an instance resets its memory, and a replacement takes a
        // millisecond to make: both wait until the answer is on its way.
        // The slot is held until then, so the engine's slots never run out.
        let pool = self.clone();
        tokio::spawn(async move {
            if healthy && pooled {
                instance.shutdown(SHUTDOWN_WITHIN).await;
            }
            drop(instance);
            if pooled && pool.live_instances() < pool.settings.min_instances as usize {
                pool.replace_lost_instance(slot.shard).await;
            }
            drop(slot);
        });
    }

    /// Runs the shutdown of every idle instance, and drops them: the app's
    /// version is being retired. (Busy instances finish their requests and
    /// go with the pool.)
    pub async fn retire(&self) {
        for shard in &self.shards {
            let idle = std::mem::take(&mut *shard.idle.lock().unwrap());
            for mut idle in idle {
                idle.instance.shutdown(SHUTDOWN_WITHIN).await;
            }
        }
    }

    /// A free slot of this worker's shard, within `timeout`.
    ///
    /// Never one of another worker's: a worker runs one guest at a time, so
    /// a slot it borrowed would sit idle until its own guest is done, while
    /// the owner of that slot waits for it.
    async fn take_slot(&self, timeout: Duration) -> Result<Slot, GuestError> {
        let shard = workers::current() % self.shards.len();
        let permit = tokio::time::timeout(timeout, self.shards[shard].slots.clone().acquire_owned())
            .await
            .map_err(|_| GuestError::Busy(timeout))?
            .expect("the pool's semaphores are never closed");
        Ok(Slot {
            shard,
            _permit: permit,
        })
    }

    async fn replace_lost_instance(&self, shard: usize) {
        // Never at the cost of another app's instance: when the budget is
        // full, the next request here makes one.
        let Some(seat) = self.budget.try_seat() else {
            return;
        };
        match self.template.instantiate(seat).await {
            Ok(instance) => self.shards[shard].idle.lock().unwrap().push(Idle {
                instance,
                since: Instant::now(),
            }),
            Err(error) => tracing::error!(
                app = self.template.name(),
                "could not replace an instance: {error}"
            ),
        }
    }
}

impl Reclaim for AppPool {
    fn oldest_idle(&self) -> Option<Instant> {
        if !self.above_minimum() {
            return None;
        }
        self.shards
            .iter()
            .filter_map(|shard| shard.idle.lock().unwrap().first().map(|idle| idle.since))
            .min()
    }

    fn take_oldest_idle(&self) -> Option<Instance> {
        if !self.above_minimum() {
            return None;
        }
        let shard = self
            .shards
            .iter()
            .filter_map(|shard| Some((shard.idle.lock().unwrap().first()?.since, shard)))
            .min_by_key(|(since, _)| *since)?
            .1;
        let mut idle = shard.idle.lock().unwrap();
        (!idle.is_empty()).then(|| idle.remove(0).instance)
    }

    fn count_retired_for_room(&self) {
        self.counts.retired_for_room.fetch_add(1, Ordering::Relaxed);
    }
}
