//! One sandboxed instance: a `Store` with its limits and host state, made
//! from an app's pre-linked template.
//!
//! Guests run as async calls on the server's own tokio workers (wasmtime runs
//! them on a fiber). At every epoch tick a running guest yields to the
//! scheduler, so one busy guest cannot starve the network or other guests;
//! once the call's deadline has passed, the next tick interrupts it.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use terrarium_python_wasi::{AppStart, GuestMount};

use crate::masking::Masker;
use wasmtime::{
    Engine, ResourceLimiter, Store, StoreContextMut, Trap, UpdateDeadline,
    component::{Component, HasData, Linker, ResourceTable},
};
use wasmtime_wasi::{
    DirPerms, FilePerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView, filesystem::WasiFilesystemCtxView,
};

use super::{
    App, AppPre, StartRecord,
    budget::Seat,
    deadline::CallDeadline,
    error::GuestError,
    exchange::{BodyFault, Exchange},
    guest_log::{GuestLog, GuestOutput, LogLimit},
    latin1,
    messages::{GuestRequest, GuestResponse},
    net::{self, CountedSockets, InstanceNet, OpenSockets, OutboundAccess},
    spares::{Spare, Spares},
    terrarium,
    writable::{self, DiskQuota, QuotaFs, ScratchDir, ScratchSpace, WritableFolders},
};

/// How long instantiating may take before it is abandoned.
const INSTANTIATE_TIMEOUT: Duration = Duration::from_secs(30);

/// What every instance of an app is granted: nothing else reaches it.
#[derive(Debug, Clone)]
pub struct Grants {
    /// Folders it sees, read-only.
    pub mounts: Vec<GuestMount>,
    /// The app's data folder, which it may read and write.
    pub data: Option<DataGrant>,
    /// A private scratch folder of its own, made with the instance.
    pub tmp: Option<TmpGrant>,
    /// Its environment variables (the mount's `env`).
    pub env: Vec<(String, String)>,
    /// Masks the secret ones out of its log lines.
    pub masker: Arc<Masker>,
    /// Its mount's log level and rate.
    pub log_limit: Arc<LogLimit>,
    /// The most linear memory it may grow to, in bytes.
    pub memory_cap: u64,
    /// What it may connect to (its mount's, shared by all its instances).
    pub outbound: Arc<OutboundAccess>,
}

impl Grants {
    /// Whether it may write anywhere (its instances are then linked to
    /// the filesystem with quotas).
    pub(super) fn writes(&self) -> bool {
        self.data.is_some() || self.tmp.is_some()
    }
}

/// A folder every instance of an app reads and writes, within one quota.
#[derive(Debug, Clone)]
pub struct DataGrant {
    /// The folder on the host.
    pub host: PathBuf,
    /// Where the guest sees it.
    pub guest: String,
    /// The space it may take, shared by all the app's instances.
    pub quota: Arc<DiskQuota>,
}

/// A scratch folder per instance, emptied when the instance goes.
#[derive(Debug, Clone)]
pub struct TmpGrant {
    /// Where the folders are made.
    pub space: Arc<ScratchSpace>,
    /// Where the guest sees its own.
    pub guest: String,
    /// The space each may take.
    pub quota: u64,
}

/// Where an instance's stdin, stdout and stderr go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// Output into the host's log, tagged with the app and the request; no stdin.
    Log,
    /// This process's own stdin, stdout and stderr (`terrarium exec`).
    Terminal,
}

/// An app ready to be instantiated many times: compiled, linked, checked
/// against the contract.
pub struct AppTemplate {
    name: Arc<str>,
    engine: Engine,
    /// Keeps the shared component loaded while this template lives.
    _component: Arc<Component>,
    pre: AppPre<GuestState>,
    grants: Grants,
    /// For an app on a shared interpreter: what each instance imports as it starts.
    start: Option<AppStart>,
    /// For an app on a shared interpreter: its instances made ahead of need.
    spares: Option<Arc<Spares>>,
    live: Arc<AtomicUsize>,
}

/// The host state of one instance: WASI, its memory cap and its log.
pub struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryCap,
    log: GuestLog,
    stdout: GuestOutput,
    stderr: GuestOutput,
    /// When the running call (or the instantiation) must be interrupted.
    deadline: Arc<CallDeadline>,
    /// The running call's body and streamed answer.
    exchange: Option<Exchange>,
    /// What it may write, and its open files there.
    writable: WritableFolders,
    /// What it may connect to, and what its lookups learned.
    net: Arc<InstanceNet>,
    /// Its sockets, each counted against its mount's limit.
    sockets: OpenSockets,
    /// Its TLS sessions open (at most its mount's `outbound_connections`).
    pub(super) tls_sessions: usize,
    /// Its scratch folder, removed after everything else of the instance.
    _scratch: Option<ScratchDir>,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The contract's imports, implemented by the instance's host state.
struct ContractImports;

impl HasData for ContractImports {
    type Data<'a> = &'a mut GuestState;
}

impl terrarium::app::log::Host for GuestState {
    fn write(&mut self, level: terrarium::app::log::Level, message: String) {
        self.log.write(level, &message);
    }
}

impl terrarium::app::storage::Host for GuestState {
    fn take_refusal(&mut self) -> Option<String> {
        self.writable.refusal().take()
    }
}

/// The contract's `http` interface holds only types; it has nothing to implement.
impl terrarium::app::bytes::Host for GuestState {}

impl terrarium::app::http::Host for GuestState {}

impl GuestState {
    /// The state of an instance no app has taken yet (a spare): no folder,
    /// no environment, no destination, no memory cap.
    pub(super) fn without_grants() -> Self {
        let log = GuestLog::new(
            Arc::from("spare"),
            Arc::default(),
            Arc::new(LogLimit::new(tracing::Level::ERROR, 0)),
        );
        Self {
            wasi: WasiCtxBuilder::new().build(),
            table: ResourceTable::new(),
            limiter: MemoryCap {
                cap: usize::MAX,
                exceeded: false,
                largest: 0,
                at_start: 0,
            },
            stdout: log.output("stdout"),
            stderr: log.output("stderr"),
            log,
            deadline: Arc::new(CallDeadline::new(Instant::now() + INSTANTIATE_TIMEOUT)),
            exchange: None,
            writable: WritableFolders::default(),
            net: Arc::new(InstanceNet::new(Arc::new(OutboundAccess::none()))),
            sockets: OpenSockets::default(),
            tls_sessions: 0,
            _scratch: None,
        }
    }

    /// The most linear memory its instance has had so far, in bytes.
    pub(super) fn memory_reached(&self) -> usize {
        self.limiter.largest
    }

    /// When the running call must be interrupted.
    pub(super) fn deadline(&self) -> Instant {
        self.deadline.get()
    }

    /// The running call's exchange (none between calls), and its deadline.
    pub(super) fn exchange(&mut self) -> (Option<&mut Exchange>, &CallDeadline) {
        (self.exchange.as_mut(), &self.deadline)
    }

    /// Its resource table (the contract's resources live there too).
    pub(super) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// Its outbound state.
    pub(super) fn net(&self) -> &Arc<InstanceNet> {
        &self.net
    }

    /// Its sockets, counted, for the linker.
    fn counted_sockets(&mut self) -> CountedSockets<'_> {
        CountedSockets {
            sockets: wasmtime_wasi::sockets::WasiSocketsCtxView {
                ctx: self.wasi.sockets(),
                table: &mut self.table,
            },
            net: &self.net,
            open: &mut self.sockets,
        }
    }

    /// The filesystem with its quotas, for the linker.
    fn quota_fs(&mut self) -> QuotaFs<'_> {
        QuotaFs {
            fs: WasiFilesystemCtxView {
                ctx: self.wasi.filesystem(),
                table: &mut self.table,
            },
            writable: &mut self.writable,
        }
    }
}

impl AppTemplate {
    /// Links `component` against WASI and the contract's imports.
    ///
    /// Fails when the component does not match the contract.
    ///
    /// An app on a shared interpreter (`start`) takes its spares from
    /// `spares` (of the same component, linked for its `grants`, see
    /// [`link`]), and is linked as they are.
    pub(super) fn new(
        engine: &Engine,
        name: &str,
        component: Arc<Component>,
        grants: Grants,
        start: Option<AppStart>,
        spares: Option<Arc<Spares>>,
    ) -> wasmtime::Result<Self> {
        let pre = match &spares {
            Some(spares) => spares.pre().clone(),
            None => link(engine, &component, grants.writes())?,
        };
        Ok(Self {
            name: Arc::from(name),
            engine: engine.clone(),
            _component: component,
            pre,
            grants,
            start,
            spares,
            live: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// For an app on a shared interpreter, starts making spares of it, up
    /// to the few kept ready (see `spares`), each in a task of its own.
    pub fn make_spares(&self) {
        if let Some(spares) = &self.spares {
            spares.refill();
        }
    }

    /// The app's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Instances of this template alive right now (idle or busy).
    pub fn live_instances(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Creates a fresh instance: copy-on-write memory from the pre-initialized
    /// image, and its [`Grants`]: read-only access to the folders the build
    /// used, its environment, the folders it may write within their quotas,
    /// nothing else. It holds `seat` of the site's budget while it lives.
    pub async fn instantiate(&self, seat: Seat) -> Result<Instance, GuestError> {
        self.instantiate_with(Stdio::Log, seat).await
    }

    /// [`Self::instantiate`], with its standard streams going to `stdio`.
    pub async fn instantiate_with(&self, stdio: Stdio, seat: Seat) -> Result<Instance, GuestError> {
        let log = GuestLog::new(
            self.name.clone(),
            self.grants.masker.clone(),
            self.grants.log_limit.clone(),
        );
        let stdout = log.output("stdout");
        let stderr = log.output("stderr");
        let mut wasi = WasiCtxBuilder::new();
        match stdio {
            Stdio::Log => wasi.stdout(stdout.clone()).stderr(stderr.clone()),
            Stdio::Terminal => wasi.inherit_stdio(),
        };
        wasi.envs(&self.grants.env).allow_blocking_current_thread(true);
        let net = Arc::new(InstanceNet::new(self.grants.outbound.clone()));
        net::grant_sockets(&mut wasi, &net);
        for mount in &self.grants.mounts {
            wasi.preopened_dir(&mount.host, &mount.guest, DirPerms::READ, FilePerms::READ)
                .map_err(|e| cannot_open(&mount.host, &mount.guest, e))?;
        }
        let mut writable = WritableFolders::default();
        if let Some(data) = &self.grants.data {
            wasi.preopened_dir(&data.host, &data.guest, DirPerms::all(), FilePerms::all())
                .map_err(|e| cannot_open(&data.host, &data.guest, e))?;
            writable.grant(&data.guest, data.quota.clone());
        }
        let scratch = match &self.grants.tmp {
            None => None,
            Some(tmp) => {
                let dir = tmp
                    .space
                    .make(&self.name)
                    .map_err(|e| GuestError::Instantiate(format!("cannot make {}: {e}", tmp.guest)))?;
                wasi.preopened_dir(dir.path(), &tmp.guest, DirPerms::all(), FilePerms::all())
                    .map_err(|e| cannot_open(dir.path(), &tmp.guest, e))?;
                let quota = DiskQuota::measure(dir.path(), tmp.quota)
                    .map_err(|e| cannot_open(dir.path(), &tmp.guest, e))?;
                writable.grant(&tmp.guest, Arc::new(quota));
                Some(dir)
            }
        };
        let state = GuestState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: MemoryCap {
                cap: self.grants.memory_cap as usize,
                exceeded: false,
                largest: 0,
                at_start: 0,
            },
            log,
            stdout,
            stderr,
            deadline: Arc::new(CallDeadline::new(Instant::now() + INSTANTIATE_TIMEOUT)),
            exchange: None,
            writable,
            net,
            sockets: OpenSockets::default(),
            tls_sessions: 0,
            _scratch: scratch,
        };
        let spare = match (&self.spares, stdio) {
            (Some(spares), Stdio::Log) => spares.take(self.grants.memory_cap),
            _ => None,
        };
        let from_spare = spare.is_some();
        let (mut store, bindings) = match spare {
            Some(spare) => adopt(spare, state),
            None => {
                let mut store = new_store(&self.engine, state);
                let bindings = self
                    .pre
                    .instantiate_async(&mut store)
                    .await
                    .map_err(|e| GuestError::Instantiate(format!("{e:?}")))?;
                (store, bindings)
            }
        };
        let interface = match &self.start {
            Some(start) => Some(self.start_app(&mut store, &bindings, start).await?),
            None => None,
        };
        let limiter = &mut store.data_mut().limiter;
        limiter.at_start = limiter.largest;
        self.live.fetch_add(1, Ordering::Relaxed);
        Ok(Instance {
            store,
            bindings,
            interface,
            from_spare,
            _live: LiveGuard(self.live.clone()),
            _seat: seat,
        })
    }
}

/// Links `component` against WASI and the contract's imports (the
/// filesystem with quotas when its instances `write`).
pub(super) fn link(
    engine: &Engine,
    component: &Component,
    writes: bool,
) -> wasmtime::Result<AppPre<GuestState>> {
    let mut linker = Linker::<GuestState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    if writes {
        writable::shadow_filesystem(&mut linker, GuestState::quota_fs)?;
    }
    net::shadow_sockets(&mut linker, GuestState::counted_sockets)?;
    App::add_to_linker::<GuestState, ContractImports>(&mut linker, |state| state)?;
    AppPre::new(linker.instantiate_pre(component)?)
}

/// A store for a new instance with `state`: its memory capped, its guest
/// yielding (or interrupted) at each epoch tick.
pub(super) fn new_store(engine: &Engine, state: GuestState) -> Store<GuestState> {
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    store.epoch_deadline_callback(at_each_tick);
    store.set_epoch_deadline(1);
    store
}

/// Makes `spare` an instance of the app whose host `state` this is: the
/// spare's own state (no grants, and nothing in it, since no guest code
/// has run) is replaced whole. Its seat is given back: the instance holds
/// the app's.
fn adopt(spare: Spare, mut state: GuestState) -> (Store<GuestState>, App) {
    let Spare {
        mut store,
        bindings,
        seat,
    } = spare;
    state.limiter.largest = store.data().memory_reached();
    *store.data_mut() = state;
    drop(seat);
    (store, bindings)
}

impl AppTemplate {
    /// Imports the app into a fresh instance of a shared interpreter, within
    /// what is left of the instantiation's deadline. Returns the interface
    /// it speaks.
    async fn start_app(
        &self,
        store: &mut Store<GuestState>,
        bindings: &App,
        start: &AppStart,
    ) -> Result<String, GuestError> {
        let app = StartRecord {
            entry: start.entry.clone(),
            folder: start.folder.clone(),
            env: self.grants.env.clone(),
            warm_up: start.warm_up.clone(),
        };
        let started = bindings
            .terrarium_app_handler()
            .call_start(&mut *store, &app)
            .await
            .map_err(|error| classify(error, store.data(), INSTANTIATE_TIMEOUT))?;
        started.map_err(|report| GuestError::StartFailed(self.grants.masker.mask(&report).into_owned()))
    }
}

fn cannot_open(host: &std::path::Path, guest: &str, error: impl std::fmt::Display) -> GuestError {
    GuestError::Instantiate(format!("cannot open {} for {guest}: {error}", host.display()))
}

/// One live instance. After any error it must be dropped, never reused.
pub struct Instance {
    store: Store<GuestState>,
    bindings: App,
    /// The interface its app said it speaks, when it imported it as it started.
    interface: Option<String>,
    /// Whether it was a spare of its shared interpreter (see `spares`).
    from_spare: bool,
    _live: LiveGuard,
    /// Last: given back once the store (and its engine slot) is freed.
    _seat: Seat,
}

/// Counts an instance as live until it is dropped.
struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Instance {
    /// The interface (`native`, `wsgi`, `asgi`) its app said it speaks when
    /// this instance imported it (an app on a shared interpreter only).
    pub fn started_interface(&self) -> Option<&str> {
        self.interface.as_deref()
    }

    /// Whether it was made ahead of need, as a spare of its shared
    /// interpreter, before its app took it.
    pub fn came_from_spare(&self) -> bool {
        self.from_spare
    }

    /// Whether its memory has grown through 3/4 of the room its cap left
    /// it at start: time to retire it between requests rather than let a
    /// later request fail at the cap.
    pub fn is_near_memory_cap(&self) -> bool {
        let limiter = &self.store.data().limiter;
        let room = limiter.cap.saturating_sub(limiter.at_start);
        limiter.largest - limiter.at_start > room / 4 * 3
    }

    /// Runs one request, interrupted at `ends_at` (its mount's `timeout`,
    /// named in the error, counted from when the request reached the
    /// app). Its log lines are tagged with `request_id`. The `exchange` stays with the instance
    /// until [`Self::take_exchange`]: a response with `more_body` streams,
    /// its parts pulled with [`Self::next_part`].
    pub async fn call(
        &mut self,
        request_id: &Arc<str>,
        request: &GuestRequest,
        exchange: Exchange,
        ends_at: Instant,
        timeout: Duration,
    ) -> Result<GuestResponse, GuestError> {
        let state = self.store.data_mut();
        state.log.set_request(request_id.clone());
        state.writable.refusal().take();
        state.net.take_refusal();
        state.exchange = Some(exchange);
        let deadline = self.arm(ends_at);
        let call = self
            .bindings
            .terrarium_app_handler()
            .call_handle(&mut self.store, &request.0);
        let result = wait_within(&deadline, call).await;
        let response = self.settle(result, timeout)?;
        GuestResponse::try_from(response).map_err(|error| GuestError::BadResponse(error.to_string()))
    }

    /// The next part of the streaming response, pulled within `deadline`;
    /// none once it is complete.
    pub async fn next_part(&mut self, deadline: Instant) -> Result<Option<Vec<u8>>, GuestError> {
        let within = deadline.saturating_duration_since(Instant::now());
        let shared = self.arm(deadline);
        let call = self
            .bindings
            .terrarium_app_handler()
            .call_next_part(&mut self.store);
        let result = wait_within(&shared, call).await;
        let part = self
            .settle(result, within)?
            .map_err(|()| GuestError::StreamBroken)?;
        part.map(latin1::into_bytes)
            .transpose()
            .map_err(|error| GuestError::BadResponse(error.to_string()))
    }

    /// Ends the streaming response before its end (see the contract's
    /// `handler.end-stream`), given `within` to wind down. Returns whether
    /// the instance is still fit to serve.
    pub async fn end_stream(&mut self, within: Duration) -> bool {
        let shared = self.arm(Instant::now() + within);
        let call = self
            .bindings
            .terrarium_app_handler()
            .call_end_stream(&mut self.store);
        let result = wait_within(&shared, call).await;
        self.settle(result, within).is_ok()
    }

    /// Why the last call's request body could not be read, if it could not.
    pub fn exchange_fault(&self) -> Option<BodyFault> {
        self.store.data().exchange.as_ref()?.fault().cloned()
    }

    /// The exchange of the last call, once its response is complete.
    pub fn take_exchange(&mut self) -> Option<Exchange> {
        self.store.data_mut().exchange.take()
    }

    /// Sets the deadline of the call about to start (read at each epoch
    /// tick) and returns it, for [`wait_within`].
    fn arm(&mut self, deadline: Instant) -> Arc<CallDeadline> {
        let shared = &self.store.data().deadline;
        shared.set(deadline);
        let shared = shared.clone();
        self.store.set_epoch_deadline(1);
        shared
    }

    /// Flushes the guest's partial output lines and classifies a failure.
    fn settle<T>(&mut self, result: wasmtime::Result<T>, timeout: Duration) -> Result<T, GuestError> {
        let state = self.store.data_mut();
        state.stdout.flush_partial();
        state.stderr.flush_partial();
        state.log.report_dropped();
        let state = self.store.data();
        result.map_err(|error| classify(error, state, timeout))
    }

    /// Runs the app's shutdown (see the contract's `handler.shutdown`),
    /// given `within` to finish. Best effort: a failure is only logged.
    pub async fn shutdown(&mut self, within: Duration) {
        let state = self.store.data_mut();
        state.log.set_request(Arc::from("shutdown"));
        let deadline = self.arm(Instant::now() + within);
        let call = self
            .bindings
            .terrarium_app_handler()
            .call_shutdown(&mut self.store);
        if let Err(error) = wait_within(&deadline, call).await {
            let state = self.store.data();
            tracing::warn!(
                "an instance's shutdown failed: {}",
                classify(error, state, within)
            );
        }
    }
}

/// Runs `call` until it ends or `deadline` passes. A guest computing is
/// interrupted at its next epoch tick past the deadline; one waiting (a
/// timer, a socket, a lookup, a client) is not running, so the wait itself
/// is bounded here too. The deadline may move while the call runs.
async fn wait_within<T>(
    deadline: &CallDeadline,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    let mut call = std::pin::pin!(call);
    loop {
        let at = deadline.get();
        match tokio::time::timeout_at(at.into(), &mut call).await {
            Ok(result) => return result,
            Err(_) if deadline.get() <= Instant::now() => return Err(Trap::Interrupt.into()),
            Err(_) => {}
        }
    }
}

impl Instance {
    /// Runs a one-off command (`python ARGS...`, see the contract's
    /// `command` interface), with no deadline; returns its exit status.
    pub async fn run_command(&mut self, args: &[String]) -> Result<i32, GuestError> {
        const NO_DEADLINE: Duration = Duration::from_secs(100 * 365 * 86_400);
        self.arm(Instant::now() + NO_DEADLINE);
        let result = self
            .bindings
            .terrarium_app_command()
            .call_run(&mut self.store, args)
            .await;
        let state = self.store.data();
        // The interpreter's own exit (`wasi:cli/exit`) gives its status, not a crash.
        result.or_else(|error| match error.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(classify(error, state, NO_DEADLINE)),
        })
    }
}

/// Runs at each epoch tick while the guest runs: yield to the other tasks on
/// this worker, or interrupt the guest once its deadline has passed.
fn at_each_tick(store: StoreContextMut<'_, GuestState>) -> wasmtime::Result<UpdateDeadline> {
    if Instant::now() >= store.data().deadline.get() {
        return Ok(UpdateDeadline::Interrupt);
    }
    Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
}

fn classify(error: wasmtime::Error, state: &GuestState, timeout: Duration) -> GuestError {
    if state.limiter.exceeded {
        return GuestError::OutOfMemory(state.limiter.cap as u64);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => GuestError::Timeout(timeout),
        Some(Trap::StackOverflow) => GuestError::StackOverflow,
        _ => GuestError::Crashed(format!("{error:?}")),
    }
}

/// Caps an instance's linear memory; growing past the cap traps.
struct MemoryCap {
    cap: usize,
    exceeded: bool,
    /// The largest size any of its memories has grown to, in bytes.
    largest: usize,
    /// That size once the instance was made (its snapshot's memory).
    at_start: usize,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.largest = self.largest.max(desired);
        if desired > self.cap {
            self.exceeded = true;
            wasmtime::bail!(
                "memory limit of {} bytes exceeded (asked for {desired})",
                self.cap
            );
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|max| desired <= max))
    }
}
