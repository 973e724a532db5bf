//! Per-app pools of instances, and the dispatch of one request into one.
//!
//! `pooled`: up to `instances` warm instances, each reused for many requests;
//! one that trapped, timed out or ran out of memory is dropped and replaced.
//! `request`: a fresh instance for every request, dropped after it answers;
//! at most `instances` run at once.
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
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{
    error::GuestError,
    instance::{AppTemplate, Instance},
    messages::{GuestRequest, GuestResponse},
};
use crate::{config::Isolation, workers};

/// How one app's instances are shared and limited.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Pooled or one instance per request.
    pub isolation: Isolation,
    /// Pool size; in request mode, instances alive at once.
    pub instances: u32,
    /// Deadline for one request inside the guest, and for waiting for an instance.
    pub timeout: Duration,
    /// Worker threads serving requests: the instances are split between them.
    pub workers: usize,
}

/// The instances of one app.
pub struct AppPool {
    template: Arc<AppTemplate>,
    settings: PoolSettings,
    shards: Vec<Shard>,
}

/// The share of an app's instances a worker uses first.
struct Shard {
    /// Its pooled instances not running a request right now.
    idle: Mutex<Vec<Instance>>,
    /// One permit per instance of the shard that may run at once.
    slots: Arc<Semaphore>,
    /// How many instances the shard holds.
    size: usize,
}

/// The right to run one request in a shard; returned when dropped.
struct Slot {
    shard: usize,
    _permit: OwnedSemaphorePermit,
}

impl AppPool {
    /// An empty pool; call [`AppPool::fill`] to warm it before traffic arrives.
    pub fn new(template: Arc<AppTemplate>, settings: PoolSettings) -> Arc<Self> {
        let shards = workers::shard_sizes(settings.instances, settings.workers)
            .into_iter()
            .map(|size| Shard {
                idle: Mutex::new(Vec::new()),
                slots: Arc::new(Semaphore::new(size as usize)),
                size: size as usize,
            })
            .collect();
        Arc::new(Self {
            template,
            settings,
            shards,
        })
    }

    /// Instances alive right now, idle or busy.
    pub fn live_instances(&self) -> usize {
        self.template.live_instances()
    }

    /// Creates every pooled instance now, so the first requests find them warm.
    /// (Request isolation keeps nothing warm.)
    pub async fn fill(&self) -> Result<(), GuestError> {
        if self.settings.isolation == Isolation::Request {
            return Ok(());
        }
        for shard in &self.shards {
            let missing = shard.size.saturating_sub(shard.idle.lock().unwrap().len());
            for _ in 0..missing {
                let fresh = self.template.instantiate().await?;
                shard.idle.lock().unwrap().push(fresh);
            }
        }
        Ok(())
    }

    /// Runs `request` in one of this app's instances.
    ///
    /// The guest runs in a task of its own, so it always runs to the end
    /// (and its instance goes back to the pool) even if the client that
    /// asked goes away meanwhile.
    /// The guest's log lines are tagged with `request_id`.
    pub async fn handle(
        self: &Arc<Self>,
        request_id: &str,
        request: GuestRequest,
    ) -> Result<GuestResponse, GuestError> {
        let pool = self.clone();
        let request_id = Arc::from(request_id);
        tokio::spawn(async move { pool.run(request_id, request).await })
            .await
            .unwrap_or_else(|_| {
                Err(GuestError::Crashed(
                    "the task running the request panicked".into(),
                ))
            })
    }

    async fn run(
        self: Arc<Self>,
        request_id: Arc<str>,
        request: GuestRequest,
    ) -> Result<GuestResponse, GuestError> {
        let timeout = self.settings.timeout;
        let slot = self.take_slot(timeout).await?;
        let shard = &self.shards[slot.shard];
        let warm = match self.settings.isolation {
            Isolation::Pooled => shard.idle.lock().unwrap().pop(),
            Isolation::Request => None,
        };
        let mut instance = match warm {
            Some(warm) => warm,
            None => self.template.instantiate().await?,
        };
        let result = instance.call(&request_id, &request, timeout).await;
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
        if result.is_ok() && !worn && self.settings.isolation == Isolation::Pooled {
            shard.idle.lock().unwrap().push(instance);
            drop(slot);
        } else {
            // Freeing an instance resets its memory, and a replacement takes a
            // millisecond to make: both wait until the answer is on its way.
            // The slot is held until then, so the engine's slots never run out.
            let pool = self.clone();
            tokio::spawn(async move {
                drop(instance);
                if pool.settings.isolation == Isolation::Pooled {
                    pool.replace_lost_instance(slot.shard).await;
                }
                drop(slot);
            });
        }
        result
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
        match self.template.instantiate().await {
            Ok(instance) => self.shards[shard].idle.lock().unwrap().push(instance),
            Err(error) => tracing::error!(
                app = self.template.name(),
                "could not replace an instance: {error}"
            ),
        }
    }
}
