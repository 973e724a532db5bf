//! The wasmtime `Engine` shared by every app, the epoch ticker, and the
//! way in for the rest of the host: compile an app's component, make the
//! template its instances come from.

use std::{
    collections::HashMap,
    path::Path,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use terrarium_python_wasi::AppStart;
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy,
    component::Component,
};

use super::{
    budget::{self, InstanceBudget},
    compiled::{self, SharedComponents},
    instance::{self, AppTemplate, Grants},
    reset::MemoryReset,
    spares::Spares,
    writable::ScratchSpace,
};

/// How often the epoch advances: a running guest yields to other tasks, and
/// is checked against its deadline, once per tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Set (to anything) to let `perf` name the guest's compiled functions.
pub const PERF_MAP_VARIABLE: &str = "TERRARIUM_PERF_MAP";

/// How many instances the engine must be able to hold at once, and how large.
#[derive(Debug, Clone, Copy)]
pub struct EngineCapacity {
    /// Instances alive at the same time, across all apps: the seats of the
    /// site's [`InstanceBudget`].
    pub instances: u32,
    /// The largest linear memory any instance may reach, in bytes.
    pub max_memory: u64,
    /// How a freed slot's memory is made fresh for the next instance.
    pub reset: MemoryReset,
}

/// The engine plus the thread that advances its epoch, and the components
/// it has loaded. Dropping it stops the ticker.
pub struct Sandbox {
    engine: Engine,
    budget: Arc<InstanceBudget>,
    components: SharedComponents,
    scratch: Arc<ScratchSpace>,
    /// The spares of each shared interpreter in use, by its component and
    /// whether its apps write (they are linked differently then).
    spares: Mutex<HashMap<(usize, bool), Weak<Spares>>>,
    _ticker: EpochTicker,
}

/// An app's component compiled to native code and loaded, ready to become
/// a template ([`Sandbox::template`]).
#[derive(Clone)]
pub struct Compiled {
    component: Arc<Component>,
    compiled_now: bool,
}

impl Compiled {
    /// Whether it had to be compiled (rather than loaded from the cache).
    pub fn compiled_now(&self) -> bool {
        self.compiled_now
    }
}

/// Core wasm pieces one CPython component is made of (measured with
/// componentize-py 0.25; generous so a bigger app still fits).
const CORE_INSTANCES_PER_COMPONENT: u32 = 48;
const MEMORIES_PER_COMPONENT: u32 = 4;
const TABLES_PER_COMPONENT: u32 = 8;
/// CPython's function table is large; this bounds each table slot.
const TABLE_ELEMENTS: usize = 200_000;
/// Bytes of each linear memory kept resident between instances of a slot
/// (when dirty pages are found by scanning, see [`MemoryReset::Scan`]).
const KEEP_RESIDENT: usize = 64 << 20;

/// Engine slots beyond the budget's seats.
const SLOT_MARGIN: u32 = 2;

/// Address space wasmtime reserves for one linear memory by default (with
/// its guard region): bounds checks are then left to the hardware.
const RESERVED_PER_MEMORY: u64 = (4 << 30) + (32 << 20);

/// Address space one instance's slots reserve.
pub fn reserved_per_instance() -> u64 {
    u64::from(MEMORIES_PER_COMPONENT) * RESERVED_PER_MEMORY
}

/// Whether this kernel lets the engine find dirty pages with `PAGEMAP_SCAN`.
pub fn memory_scan_available() -> bool {
    PoolingAllocationConfig::is_pagemap_scan_available()
}

impl Sandbox {
    /// Creates the engine, sized for `capacity`, and starts the epoch ticker.
    /// Fails with a message naming the cause and what to change.
    pub fn new(capacity: EngineCapacity) -> Result<Self, String> {
        // A seat is given back just after its instance's store (and slot)
        // is freed; the margin covers anything wasmtime frees after that.
        let slots = EngineCapacity {
            instances: capacity.instances + SLOT_MARGIN,
            ..capacity
        };
        let engine = Engine::new(&engine_config(slots)).map_err(|e| {
            format!(
                "{e:#}: {} instances of up to {} MiB each do not fit this process's address space \
                 (each reserves about {} GiB); lower server.max_instances (about {} fit)",
                capacity.instances,
                capacity.max_memory >> 20,
                reserved_per_instance() >> 30,
                budget::default_limit(u64::MAX, reserved_per_instance(), u64::MAX).0
            )
        })?;
        let ticker =
            EpochTicker::start(engine.clone()).map_err(|e| format!("cannot start the epoch ticker: {e}"))?;
        Ok(Self {
            engine,
            budget: Arc::new(InstanceBudget::new(capacity.instances as usize)),
            components: SharedComponents::default(),
            scratch: Arc::default(),
            spares: Mutex::default(),
            _ticker: ticker,
        })
    }

    /// The seats live instances hold, shared by every app of the site.
    pub fn budget(&self) -> &Arc<InstanceBudget> {
        &self.budget
    }

    /// Where instances' private scratch folders are made (one folder of
    /// this process, removed with the sandbox).
    pub fn scratch_space(&self) -> Arc<ScratchSpace> {
        self.scratch.clone()
    }

    /// Whether the native code for `component` is already in the cache.
    pub fn is_compiled(&self, component: &Path) -> bool {
        compiled::compiled_path(&self.engine, component).is_file()
    }

    /// Loads (or compiles and caches) a component's native code, sharing one
    /// loaded copy between the apps that use the same build.
    pub fn compile(&self, component: &Path) -> Result<Compiled, String> {
        let (component, compiled_now) = self.components.load(&self.engine, component)?;
        Ok(Compiled {
            component,
            compiled_now,
        })
    }

    /// Links a compiled app against WASI and the contract: the template its
    /// instances come from, each with what `grants` gives it. Fails when the
    /// component does not fit the contract.
    /// An app on a shared interpreter has `start`: each instance imports it.
    pub fn template(
        &self,
        name: &str,
        compiled: Compiled,
        grants: Grants,
        start: Option<AppStart>,
    ) -> Result<AppTemplate, String> {
        let spares = match start {
            Some(_) => Some(self.spares_of(&compiled.component, grants.writes())?),
            None => None,
        };
        AppTemplate::new(&self.engine, name, compiled.component, grants, start, spares)
            .map_err(|e| format!("the component does not fit the host: {e:?}"))
    }

    /// The spares of the shared interpreter `component`, linked for apps
    /// that `write` or not: one set for all the apps on it.
    fn spares_of(&self, component: &Arc<Component>, writes: bool) -> Result<Arc<Spares>, String> {
        let key = (Arc::as_ptr(component) as usize, writes);
        let mut known = self.spares.lock().unwrap();
        known.retain(|_, spares| spares.strong_count() > 0);
        if let Some(spares) = known.get(&key).and_then(Weak::upgrade) {
            return Ok(spares);
        }
        let pre = instance::link(&self.engine, component, writes)
            .map_err(|e| format!("the component does not fit the host: {e:?}"))?;
        let spares = Spares::new(self.engine.clone(), component.clone(), pre, self.budget.clone());
        known.insert(key, Arc::downgrade(&spares));
        Ok(spares)
    }
}

/// The thread that advances the engine's epoch every [`EPOCH_TICK`];
/// stopped and joined when dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = thread::Builder::new()
            .name("terrarium-epoch".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn engine_config(capacity: EngineCapacity) -> Config {
    let components = capacity.instances.max(1);
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(components)
        .total_core_instances(components * CORE_INSTANCES_PER_COMPONENT)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .total_memories(components * MEMORIES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .total_tables(components * TABLES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .table_elements(TABLE_ELEMENTS)
        .max_memory_size(capacity.max_memory as usize)
        .max_core_instance_size(4 << 20)
        .max_component_instance_size(1 << 20)
        // Each instance runs at most one call (on its own fiber stack) at a time.
        .total_stacks(components)
        // Tables are small: reset the first MiB in place.
        .table_keep_resident(1 << 20);
    match capacity.reset {
        // When a slot is freed, copy back only the pages the instance dirtied
        // (found with Linux's PAGEMAP_SCAN) and keep them resident: the next
        // instance in that slot then runs without a storm of copy-on-write
        // page faults (each one a TLB shootdown across cores).
        MemoryReset::Scan => pooling
            .pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT),
        // Every page dropped (madvise), swapped out or not.
        MemoryReset::Decommit => pooling.pagemap_scan(Enabled::No).linear_memory_keep_resident(0),
    };

    let mut config = Config::new();
    if std::env::var_os(PERF_MAP_VARIABLE).is_some() {
        // Names guest functions for `perf report` (in /tmp/perf-PID.map).
        config.profiler(ProfilingStrategy::PerfMap);
    }
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .memory_init_cow(true)
        // Fill function tables when an instance is made, not on first use, so
        // every indirect call (CPython makes many) skips the "is this slot
        // filled yet?" check. It costs nothing at instantiation here: the
        // table CPython's modules share is imported, so wasmtime fills it at
        // every instantiation either way (A/B: same throughput, same memory).
        .table_lazy_init(false)
        .parallel_compilation(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    config
}

#[cfg(test)]
mod tests {
    use wasmtime::{Instance, Module, Store};

    use super::*;

    const MARKER: &[u8] = b"previous-tenant-secret";

    /// Each of six instances in turn (the engine has four memory slots, so
    /// slots are reused) finds its memory as its image made it, then grows it
    /// to 16 MiB and fills every byte with a marker: no instance ever sees one.
    fn no_instance_sees_the_last_ones_memory(reset: MemoryReset) {
        let engine = Engine::new(&engine_config(EngineCapacity {
            instances: 1,
            max_memory: 64 << 20,
            reset,
        }))
        .unwrap();
        let module = Module::new(
            &engine,
            r#"(module (memory (export "memory") 2 1024) (data (i32.const 0) "IMAGE"))"#,
        )
        .unwrap();
        for round in 0..6 {
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let memory = instance.get_memory(&mut store, "memory").unwrap();
            let data = memory.data(&store);
            assert_eq!(data.len(), 2 << 16, "{reset:?}, round {round}: its initial size");
            assert_eq!(&data[..5], b"IMAGE", "{reset:?}, round {round}");
            assert!(
                data[5..].iter().all(|&byte| byte == 0),
                "{reset:?}, round {round}: a byte of a previous instance survived"
            );
            memory.grow(&mut store, 254).unwrap();
            for chunk in memory.data_mut(&mut store).chunks_mut(MARKER.len()) {
                chunk.copy_from_slice(&MARKER[..chunk.len()]);
            }
        }
    }

    #[test]
    fn scanned_slots_come_back_fresh() {
        if memory_scan_available() {
            no_instance_sees_the_last_ones_memory(MemoryReset::Scan);
        }
    }

    #[test]
    fn decommitted_slots_come_back_fresh() {
        no_instance_sees_the_last_ones_memory(MemoryReset::Decommit);
    }
}
