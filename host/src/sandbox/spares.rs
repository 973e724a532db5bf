//! Spare instances of a shared interpreter: instantiated ahead of need,
//! before any app is known, so that the first instance of an app on that
//! interpreter only has to import the app.
//!
//! Instantiating a CPython component takes a few milliseconds before any
//! Python runs, much of it wasmtime filling CPython's function table
//! (about 5,700 entries, which it cannot fill lazily: the table is
//! imported from another core module, at offsets read from imported
//! globals) and mapping the memory image. An app with a snapshot of its own pays that
//! once per instance it keeps; apps on a shared interpreter are many, and
//! each one's first request would pay it. A spare pays it off the request
//! path.
//!
//! A spare has run no guest code: the component has no start functions, so
//! instantiating it only sets up memory, tables and globals. It is given
//! no grants (no folder, no environment, no outbound destination); the app
//! that takes it replaces its whole host state with its own before the
//! first call (see `AppTemplate::instantiate_with`), so it is the same as a
//! fresh instance of that app. Spares are made after a cold start of an
//! app on the interpreter has answered (the first one finds none). Each
//! spare holds a seat of the site's budget; spares are made only from
//! seats free at the time (never by retiring an instance), at most
//! [`KEPT`] per interpreter, and the app that takes one gives the spare's
//! seat back, keeping its own.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use wasmtime::{Engine, Store, component::Component};

use super::{
    App, AppPre,
    budget::{InstanceBudget, Seat},
    error::GuestError,
    instance::{self, GuestState},
};

/// Spares kept ready per shared interpreter (and kind of linking): one per
/// worker of a 2-core machine, so two first requests at once both find one.
const KEPT: usize = 2;

/// The spares of one shared interpreter, linked one way.
pub(super) struct Spares {
    engine: Engine,
    /// The interpreter: kept loaded (and its address, which names these
    /// spares in the sandbox, kept its own) while they live.
    _component: Arc<Component>,
    pre: AppPre<GuestState>,
    budget: Arc<InstanceBudget>,
    ready: Mutex<Vec<Spare>>,
    /// Spares being made right now.
    making: AtomicUsize,
}

/// One instance of the interpreter with no app and no grants, and the seat
/// of the budget it holds.
pub(super) struct Spare {
    pub(super) store: Store<GuestState>,
    pub(super) bindings: App,
    pub(super) seat: Seat,
}

impl Spares {
    /// No spares yet of the interpreter `pre` instantiates: the first
    /// [`Spares::take`] starts making them.
    pub(super) fn new(
        engine: Engine,
        component: Arc<Component>,
        pre: AppPre<GuestState>,
        budget: Arc<InstanceBudget>,
    ) -> Arc<Self> {
        Arc::new(Self {
            engine,
            _component: component,
            pre,
            budget,
            ready: Mutex::new(Vec::new()),
            making: AtomicUsize::new(0),
        })
    }

    /// The interpreter linked, for the apps on it to instantiate when no
    /// spare is ready.
    pub(super) fn pre(&self) -> &AppPre<GuestState> {
        &self.pre
    }

    /// A ready spare whose memory fits within `memory_cap` (in bytes), if
    /// there is one.
    pub(super) fn take(&self, memory_cap: u64) -> Option<Spare> {
        let mut ready = self.ready.lock().unwrap();
        let fits = ready
            .iter()
            .position(|spare| spare.store.data().memory_reached() as u64 <= memory_cap);
        fits.map(|index| ready.swap_remove(index))
    }

    /// Starts making spares, each in a task of the current runtime, until
    /// [`KEPT`] are ready or being made, or the budget has no free seat.
    /// Called once a cold start has answered, so the tasks run after the
    /// response is on its way.
    ///
    /// Not on a thread of their own: measured, that took more CPU than it
    /// moved off the workers (each copy-on-write fault of a worker then
    /// flushes the other core's TLB, which the maker keeps busy with the
    /// same address space), and first requests were no faster.
    pub(super) fn refill(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        loop {
            let have = self.ready.lock().unwrap().len() + self.making.load(Ordering::Relaxed);
            if have >= KEPT {
                return;
            }
            let Some(seat) = self.budget.try_seat() else {
                return;
            };
            self.making.fetch_add(1, Ordering::Relaxed);
            let spares = self.clone();
            runtime.spawn(async move {
                let made = spares.make(seat).await;
                if let Ok(spare) = made {
                    spares.ready.lock().unwrap().push(spare);
                }
                spares.making.fetch_sub(1, Ordering::Relaxed);
            });
        }
    }

    /// A new spare, holding `seat`.
    async fn make(&self, seat: Seat) -> Result<Spare, GuestError> {
        let mut store = instance::new_store(&self.engine, GuestState::without_grants());
        let bindings = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| GuestError::Instantiate(format!("{e:?}")))?;
        Ok(Spare {
            store,
            bindings,
            seat,
        })
    }
}
