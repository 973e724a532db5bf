//! Per-app pools of instances, and the dispatch of one request into one.
//!
//! `pooled`: up to `instances` warm instances, each reused for many requests;
//! one that trapped, timed out or ran out of memory is dropped and replaced.
//! `request`: a fresh instance for every request, dropped after it answers;
//! at most `instances` run at once.
//!
//! Guest code runs as async calls on the server's tokio workers, with no
//! hand-off to other threads; a busy guest yields at every epoch tick, so it
//! never stalls the network. Dropping an instance and making a replacement
//! happen after the response has been handed back, off the response path.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::Semaphore;

use super::{
    WitRequest, WitResponse,
    error::GuestError,
    instance::{AppTemplate, Instance},
};
use crate::config::Isolation;

/// A request as the guest receives it.
pub type GuestRequest = WitRequest;
/// A response as the guest sends it.
pub type GuestResponse = WitResponse;

/// How one app's instances are shared and limited.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Pooled or one instance per request.
    pub isolation: Isolation,
    /// Pool size; in request mode, instances alive at once.
    pub instances: u32,
    /// Deadline for one request inside the guest, and for waiting for an instance.
    pub timeout: Duration,
}

/// The instances of one app.
pub struct AppPool {
    template: Arc<AppTemplate>,
    settings: PoolSettings,
    idle: Mutex<Vec<Instance>>,
    slots: Arc<Semaphore>,
}

impl AppPool {
    /// An empty pool; call [`AppPool::fill`] to warm it before traffic arrives.
    pub fn new(template: Arc<AppTemplate>, settings: PoolSettings) -> Arc<Self> {
        Arc::new(Self {
            template,
            settings,
            idle: Mutex::new(Vec::new()),
            slots: Arc::new(Semaphore::new(settings.instances as usize)),
        })
    }

    /// The pool's settings.
    pub fn settings(&self) -> PoolSettings {
        self.settings
    }

    /// Instances alive right now, idle or busy.
    pub fn live_instances(&self) -> usize {
        self.template.live_instances()
    }

    /// Instances idle in the pool right now.
    pub fn idle_instances(&self) -> usize {
        self.idle.lock().unwrap().len()
    }

    /// Creates every pooled instance now, so the first requests find them warm.
    /// (Request isolation keeps nothing warm.)
    pub async fn fill(&self) -> Result<(), GuestError> {
        if self.settings.isolation == Isolation::Request {
            return Ok(());
        }
        let missing = (self.settings.instances as usize).saturating_sub(self.idle_instances());
        for _ in 0..missing {
            let fresh = self.template.instantiate().await?;
            self.idle.lock().unwrap().push(fresh);
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
        let permit = tokio::time::timeout(timeout, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| GuestError::Busy(timeout))?
            .expect("the pool's semaphore is never closed");
        let warm = match self.settings.isolation {
            Isolation::Pooled => self.idle.lock().unwrap().pop(),
            Isolation::Request => None,
        };
        let mut instance = match warm {
            Some(warm) => warm,
            None => self.template.instantiate().await?,
        };
        let result = instance.call(&request_id, &request, timeout).await;
        if result.is_ok() && self.settings.isolation == Isolation::Pooled {
            self.idle.lock().unwrap().push(instance);
            drop(permit);
        } else {
            // Freeing an instance resets its memory, and a replacement takes a
            // millisecond to make: both wait until the answer is on its way.
            // The permit is held until then, so the engine's slots never run out.
            let pool = self.clone();
            tokio::spawn(async move {
                drop(instance);
                if pool.settings.isolation == Isolation::Pooled {
                    pool.replace_lost_instance().await;
                }
                drop(permit);
            });
        }
        result
    }

    async fn replace_lost_instance(&self) {
        match self.template.instantiate().await {
            Ok(instance) => self.idle.lock().unwrap().push(instance),
            Err(error) => tracing::error!(
                app = self.template.name(),
                "could not replace an instance: {error}"
            ),
        }
    }
}
