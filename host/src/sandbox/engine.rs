//! The wasmtime `Engine` shared by every app, and the epoch ticker.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy,
    component::Component,
};

use super::compiled::SharedComponents;

/// How often the epoch advances: a running guest yields to other tasks, and
/// is checked against its deadline, once per tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Set (to anything) to let `perf` name the guest's compiled functions.
pub const PERF_MAP_VARIABLE: &str = "TERRARIUM_PERF_MAP";

/// How many instances the engine must be able to hold at once, and how large.
#[derive(Debug, Clone, Copy)]
pub struct EngineCapacity {
    /// Instances alive at the same time, across all apps.
    pub instances: u32,
    /// The largest linear memory any instance may reach, in bytes.
    pub max_memory: u64,
}

/// The engine plus the thread that advances its epoch, and the components
/// it has loaded. Dropping it stops the ticker.
pub struct Sandbox {
    engine: Engine,
    components: SharedComponents,
    ticker_stop: Arc<AtomicBool>,
}

/// Core wasm pieces one CPython component is made of (measured with
/// componentize-py 0.25; generous so a bigger app still fits).
const CORE_INSTANCES_PER_COMPONENT: u32 = 48;
const MEMORIES_PER_COMPONENT: u32 = 4;
const TABLES_PER_COMPONENT: u32 = 8;
/// CPython's function table is large; this bounds each table slot.
const TABLE_ELEMENTS: usize = 200_000;
/// Bytes of each linear memory kept resident between instances of a slot.
const KEEP_RESIDENT: usize = 64 << 20;

impl Sandbox {
    /// Creates the engine, sized for `capacity`, and starts the epoch ticker.
    pub fn new(capacity: EngineCapacity) -> wasmtime::Result<Self> {
        let engine = Engine::new(&engine_config(capacity))?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let stop = ticker_stop.clone();
        let ticking = engine.clone();
        thread::Builder::new()
            .name("terrarium-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(EPOCH_TICK);
                    ticking.increment_epoch();
                }
            })
            .map_err(wasmtime::Error::from)?;
        Ok(Self {
            engine,
            components: SharedComponents::default(),
            ticker_stop,
        })
    }

    /// The shared engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Loads (or compiles) a component, sharing one copy between its users.
    /// Returns it and whether it had to be compiled.
    pub fn load_component(&self, component: &Path) -> Result<(Arc<Component>, bool), String> {
        self.components.load(&self.engine, component)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
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
        // When a slot is freed, copy back only the pages the instance dirtied
        // (found with Linux's PAGEMAP_SCAN) and keep them resident: the next
        // instance in that slot then runs without a storm of copy-on-write
        // page faults (each one a TLB shootdown across cores).
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(1 << 20);

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
