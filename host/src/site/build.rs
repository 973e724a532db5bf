//! Building a site's apps: each app folder built into a component (or found
//! in the cache), compiled to native code, linked into a template and its
//! pool warmed. Blocking: runs before the server listens, or on a blocking
//! thread for a reload.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use terrarium_python_wasi::{
    APP_BYTECODE_ALIAS, APP_GUEST_DIR, AppInterface, AppSource, AppStart, BuildCache, BuildStep, BuiltApp,
    GuestMount, Snapshot, build_app, layers,
};

use crate::{
    config::{
        self, AppSettings, ConfigError, DataAt, Isolation, MemoryResetSetting, MountConfig, SiteConfig,
        storage::TMP_AT,
    },
    fd_limit, heap,
    sandbox::{
        AppPool, AppTemplate, Compiled, DataGrant, EngineCapacity, Grants, GuestError, LogLimit, MemoryReset,
        PoolSettings, Sandbox, Stdio, TmpGrant,
        budget::{self, BudgetSource},
        engine,
        net::OutboundAccess,
        writable::{DiskQuota, lock_dirs, quota::usage_of},
    },
};

/// The build cache's default place inside a site folder.
pub fn default_cache_dir(site_dir: &Path) -> PathBuf {
    site_dir.join(".terrarium").join("cache")
}

/// Something worth telling the user while a site gets ready.
#[derive(Debug, Clone)]
pub enum Progress<'a> {
    /// An app's build reached a step.
    Step {
        /// The mount's name.
        app: &'a str,
        /// The step.
        step: BuildStep,
    },
    /// An app's component is being compiled to native code.
    Compiling {
        /// The mount's name.
        app: &'a str,
    },
    /// An app is ready.
    Ready {
        /// The mount's name.
        app: &'a str,
        /// Whether nothing had to be built or compiled.
        from_cache: bool,
        /// How long it took.
        elapsed: Duration,
        /// The interface the app speaks.
        interface: AppInterface,
    },
}

impl Progress<'_> {
    /// The same event, told of `app` (a name that lives longer).
    fn of(self, app: &str) -> Progress<'_> {
        match self {
            Self::Step { step, .. } => Progress::Step { app, step },
            Self::Compiling { .. } => Progress::Compiling { app },
            Self::Ready {
                from_cache,
                elapsed,
                interface,
                ..
            } => Progress::Ready {
                app,
                from_cache,
                elapsed,
                interface,
            },
        }
    }

    /// The mount it is about.
    pub fn app(&self) -> &str {
        match self {
            Self::Step { app, .. } | Self::Compiling { app } | Self::Ready { app, .. } => app,
        }
    }

    /// The step it reports, in a word or two.
    pub fn step(&self) -> &'static str {
        match self {
            Self::Step {
                step: BuildStep::Cached,
                ..
            } => "found in the cache",
            Self::Step {
                step: BuildStep::InstallingRequirements,
                ..
            } => "installing requirements",
            Self::Step {
                step: BuildStep::RequirementsInstalled(_),
                ..
            } => "requirements installed",
            Self::Step {
                step: BuildStep::Componentizing,
                ..
            } => "pre-initializing",
            Self::Compiling { .. } => "compiling",
            Self::Ready { .. } => "starting",
        }
    }
}

/// Why a site (or one app of it) could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is missing or wrong.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// An app failed to build (its traceback is in the message, its
    /// secrets masked).
    #[error("{0}")]
    Build(String),
    /// An app's component could not be compiled, linked or instantiated,
    /// or a mount's folder or page could not be opened.
    #[error("mount `{mount}`: {message}")]
    Mount {
        /// The mount's name.
        mount: String,
        /// What went wrong.
        message: String,
    },
    /// The wasm engine could not be created.
    #[error("cannot create the wasm engine: {0}")]
    Engine(String),
    /// The instance budget cannot hold what the mounts ask for.
    #[error("{0}")]
    Budget(String),
    /// The access log's file could not be opened (the error names it).
    #[error("server.access_log: {0}")]
    AccessLog(std::io::Error),
    /// A listener could not be bound.
    #[error("cannot listen on {address} ({key}): {error}")]
    Listen {
        /// The address asked for.
        address: std::net::SocketAddr,
        /// The config key (or flag) it came from.
        key: &'static str,
        /// Why not.
        error: std::io::Error,
    },
}

impl StartError {
    /// A failure of the mount named `mount`.
    pub fn mount(mount: &str, message: impl Into<String>) -> Self {
        Self::Mount {
            mount: mount.to_owned(),
            message: message.into(),
        }
    }
}

/// One version of an app: its component's build key and its instances.
pub struct AppVersion {
    /// The build cache key (a content hash).
    pub key: String,
    /// The interface the app speaks.
    pub interface: AppInterface,
    /// Its instances.
    pub pool: Arc<AppPool>,
}

/// A site's budget of live instances: `server.max_instances`, or derived
/// from the machine's memory and address space; never more than its apps
/// could use (every one at its `instances`, twice over during a reload),
/// plus room for mounts added while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Budget {
    /// The seats.
    seats: u32,
    /// `server.max_instances`, or its default.
    limit: u32,
    /// Where `limit` came from.
    source: BudgetSource,
    /// What the apps could use at most.
    wanted: u32,
    /// Open files one instance of the site's apps holds, at most.
    descriptors: u64,
    /// The open-file limit it was made under.
    open_files: u64,
    /// What that limit leaves for instances once connections are served.
    files_left: u64,
}

impl Budget {
    /// The budget of `config` on a machine with `memory_total` bytes,
    /// where this process may open `open_files` files.
    fn of(config: &SiteConfig, memory_total: u64, open_files: u64) -> Self {
        let wanted = config
            .mounts
            .iter()
            .filter_map(MountConfig::app)
            .map(|app| app.instances.saturating_mul(2))
            .fold(RUN_TIME_HEADROOM, u32::saturating_add);
        let descriptors = config
            .mounts
            .iter()
            .filter_map(MountConfig::app)
            .map(|app| {
                let storage = &app.storage;
                budget::SANDBOX_DESCRIPTORS
                    + u64::from(storage.data.is_some())
                    + u64::from(storage.tmp.is_some())
            })
            .max()
            .unwrap_or(budget::SANDBOX_DESCRIPTORS);
        let files_left = fd_limit::left_for_instances(open_files, config.server.max_connections);
        let (limit, source) = match config.server.max_instances {
            Some(limit) => (limit, BudgetSource::Configured),
            None => budget::default_limit(
                memory_total,
                engine::reserved_per_instance(),
                files_left / descriptors,
            ),
        };
        Self {
            seats: limit.min(wanted),
            limit,
            source,
            wanted,
            descriptors,
            open_files,
            files_left,
        }
    }

    /// Where the limit came from, for the log.
    fn explained(&self) -> String {
        match self.source {
            BudgetSource::Configured => "server.max_instances".to_owned(),
            BudgetSource::Memory => format!(
                "the machine's memory at {} MiB an instance; set server.max_instances to change it",
                budget::MEMORY_PER_INSTANCE >> 20
            ),
            BudgetSource::AddressSpace => format!(
                "the address space, about {} GiB an instance; set server.max_instances to change it",
                engine::reserved_per_instance() >> 30
            ),
            BudgetSource::OpenFiles => format!(
                "the open-file limit, less server.max_connections, at {} files an instance; raise the limit \
                 (ulimit -n, LimitNOFILE= under systemd) or set server.max_instances to change it",
                self.descriptors
            ),
        }
    }

    /// What goes wrong when the seats are all taken, if the open-file
    /// limit cannot hold that many instances and `max_connections`.
    fn short_of_files(&self) -> Option<String> {
        let needed = u64::from(self.seats) * self.descriptors;
        (needed > self.files_left).then(|| {
            format!(
                "{} live instances may need {needed} open files, but this process may open {} \
                 and server.max_connections keeps {} of them: past about {} instances, apps will fail to \
                 start; raise the limit (ulimit -n, LimitNOFILE= under systemd) or lower server.max_instances",
                self.seats,
                self.open_files,
                self.open_files - self.files_left,
                self.files_left / self.descriptors
            )
        })
    }
}

/// Seats beyond what the site's own apps could use, for mounts added
/// while it runs (more of those share the seats).
const RUN_TIME_HEADROOM: u32 = 32;

/// Engine capacity for a site: its budget of live instances (said in the
/// log), each as large as the largest app's `memory`.
pub(super) fn capacity(config: &SiteConfig) -> Result<EngineCapacity, StartError> {
    let budget = Budget::of(
        config,
        heap::machine_memory().unwrap_or(4 << 30),
        fd_limit::current(),
    );
    if let Some(warning) = budget.short_of_files() {
        tracing::warn!("{warning}");
    }
    let apps = config.mounts.iter().filter_map(MountConfig::app);
    let ready: u32 = apps.clone().map(|app| app.min_instances).sum();
    if ready > budget.limit {
        return Err(StartError::Budget(format!(
            "the mounts' min_instances add up to {ready}, more than the {} live instances server.max_instances allows \
             (from {}): raise server.max_instances or lower min_instances",
            budget.limit,
            budget.explained()
        )));
    }
    tracing::info!(
        "instance budget: {} live instances at once, shared by all apps (from {}); the apps could use {}",
        budget.limit,
        budget.explained(),
        budget.wanted
    );
    let fresh_per_request = apps.clone().any(|app| app.isolation == Isolation::Request);
    let max_memory = apps.map(|app| app.memory.0).max().unwrap_or(64 << 20);
    Ok(EngineCapacity {
        instances: budget.seats,
        max_memory,
        reset: memory_reset(config.server.memory_reset, fresh_per_request),
    })
}

/// How sandboxes' memory is reset on this machine; the slower way is said
/// once, with its cause.
fn memory_reset(setting: MemoryResetSetting, fresh_per_request: bool) -> MemoryReset {
    let choice = MemoryReset::on_this_host(setting == MemoryResetSetting::Decommit, fresh_per_request);
    match &choice.reason {
        Some(reason) => tracing::info!("sandbox memory reset: {} because {reason}", choice.reset),
        None => tracing::debug!("sandbox memory reset: {}", choice.reset),
    }
    choice.reset
}

/// The app's `env`, as the build and the sandbox take it.
fn env_pairs(app: &AppSettings) -> Vec<(String, String)> {
    app.env
        .expose()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// The app's environment at run time: its `env`, `TMPDIR` when it has a
/// scratch folder and `TERRARIUM_LOG_SDK_FRAMES` with `log_sdk_frames`
/// (unless its `env` says otherwise).
fn run_time_env(app: &AppSettings) -> Vec<(String, String)> {
    let mut env = env_pairs(app);
    let mut add = |name: &str, value: &str| {
        if !env.iter().any(|(set, _)| set == name) {
            env.push((name.to_owned(), value.to_owned()));
        }
    };
    if app.storage.tmp.is_some() {
        add("TMPDIR", TMP_AT);
    }
    if app.log_sdk_frames {
        add("TERRARIUM_LOG_SDK_FRAMES", "1");
    }
    env
}

/// What to do with SQLite locks found in a data folder being opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StaleLocks {
    /// Remove them: no instance of this server holds one yet, so they were
    /// left by a server that was killed.
    Remove,
    /// Keep them: a running server's instances may hold them.
    Keep,
}

/// What an app mount keeps across its versions (reloads): its data folder,
/// with one quota, and its outbound access, with one set of counters.
#[derive(Debug, Clone)]
pub struct MountGrants {
    /// Its data folder, when it has one.
    pub data: Option<DataGrant>,
    /// What it may connect to, and how many connections it has open.
    pub outbound: Arc<OutboundAccess>,
    /// Its log level and rate, with the count of records dropped.
    pub log_limit: Arc<LogLimit>,
}

/// The grants of the app mounted as `name`, ready for its first version:
/// its data folder opened (see [`open_data_folder`]).
pub(super) fn open_mount_grants(
    name: &str,
    app: &AppSettings,
    locks: StaleLocks,
) -> Result<MountGrants, StartError> {
    Ok(MountGrants {
        data: open_data_folder(name, app, locks)?,
        outbound: Arc::new(
            OutboundAccess::new(app.outbound.clone()).map_err(|e| StartError::mount(name, e))?,
        ),
        log_limit: Arc::new(LogLimit::new(app.log_level.as_tracing(), app.log_rate.0)),
    })
}

/// Makes the app's data folder ready (created if missing, stale SQLite
/// locks handled as `locks` says, its usage measured).
fn open_data_folder(
    name: &str,
    app: &AppSettings,
    locks: StaleLocks,
) -> Result<Option<DataGrant>, StartError> {
    let Some(data) = &app.storage.data else {
        return Ok(None);
    };
    let folder_error =
        |e: std::io::Error| StartError::mount(name, format!("data folder {}: {e}", data.folder.display()));
    std::fs::create_dir_all(&data.folder).map_err(folder_error)?;
    if locks == StaleLocks::Remove {
        lock_dirs::remove_stale(&data.folder);
    }
    let quota = DiskQuota::measure(&data.folder, data.quota.0).map_err(folder_error)?;
    if quota.counted() > quota.limit() {
        tracing::warn!(
            mount = name,
            "the data folder {} holds {} bytes, more than its data_quota of {}: the app cannot write until it shrinks",
            data.folder.display(),
            quota.counted(),
            quota.limit()
        );
    }
    let guest = match &data.at {
        DataAt::Sandbox(path) => path.clone(),
        DataAt::InApp(path) => format!("{APP_GUEST_DIR}/{path}"),
    };
    Ok(Some(DataGrant {
        host: data.folder.clone(),
        guest,
        quota: Arc::new(quota),
    }))
}

/// The sandbox a site's apps run in, sized for `config`.
pub(super) fn sandbox_for(config: &SiteConfig) -> Result<Sandbox, StartError> {
    Sandbox::new(capacity(config)?).map_err(StartError::Engine)
}

/// One app's component, built and compiled (or found in the cache).
struct CompiledApp {
    built: BuiltApp,
    compiled: Compiled,
    /// The interface the app speaks.
    interface: AppInterface,
    /// Neither the build nor the native compile had to run.
    from_cache: bool,
}

/// What the build of the app mounted as `name` starts from.
fn app_source(name: &str, app: &AppSettings) -> AppSource {
    AppSource {
        name: name.to_owned(),
        dir: app.folder.clone(),
        entry: app.entry.to_string(),
        warm_up: app.warm_up.clone(),
        env: env_pairs(app),
        data_in_app: app.storage.data.as_ref().and_then(|data| match &data.at {
            DataAt::InApp(path) => Some(path.clone()),
            DataAt::Sandbox(_) => None,
        }),
        build: app.build.clone(),
        snapshot: match app.snapshot {
            config::Snapshot::App => Snapshot::App,
            config::Snapshot::Shared => Snapshot::Shared,
        },
    }
}

/// Builds (or finds in `cache`) one app's component and compiles it (or
/// loads the compiled copy), reporting progress. When either step ran, the
/// memory it freed is handed back to the OS.
fn build_and_compile(
    sandbox: &Sandbox,
    cache: &BuildCache,
    name: &str,
    app: &AppSettings,
    progress: &mut dyn FnMut(Progress),
) -> Result<CompiledApp, StartError> {
    let source = app_source(name, app);
    // A build's error holds the app's own output (a traceback, a
    // message it raised): its secrets are masked before anyone sees it.
    let built = build_app(&source, cache, &mut |step| {
        progress(Progress::Step { app: name, step })
    })
    .map_err(|error| StartError::Build(app.env.masker().mask(&error.to_string()).into_owned()))?;
    if !sandbox.is_compiled(&built.component) {
        progress(Progress::Compiling { app: name });
    }
    let compiled = sandbox
        .compile(&built.component)
        .map_err(|message| StartError::mount(name, message))?;
    let from_cache = !built.built && !compiled.compiled_now();
    if !from_cache {
        heap::release_freed_memory();
    }
    let interface = match built.interface {
        Some(interface) => interface,
        None => first_start(sandbox, cache, name, app, &built, &compiled)?,
    };
    Ok(CompiledApp {
        built,
        compiled,
        interface,
        from_cache,
    })
}

/// Readies the app of `built`, on a shared interpreter, once: compiles its
/// bytecode into its cache entry (see [`compile_bytecode`]), then starts it
/// in one instance with its mount's grants: the build's check that it
/// imports, and how it learns the interface the app speaks (noted in the
/// cache for next time).
fn first_start(
    sandbox: &Sandbox,
    cache: &BuildCache,
    name: &str,
    app: &AppSettings,
    built: &BuiltApp,
    compiled: &Compiled,
) -> Result<AppInterface, StartError> {
    let kept = open_mount_grants(name, app, StaleLocks::Keep)?;
    if let Err(error) = compile_bytecode(sandbox, name, app, built, compiled, &kept) {
        tracing::warn!(
            app = name,
            "the app's modules will be compiled in each instance: {error}"
        );
    }
    let template = template_for(
        sandbox,
        name,
        app,
        (built.mounts.clone(), built.start.clone()),
        compiled.clone(),
        &kept,
        &[],
    )?;
    let said = wait_for(async {
        let seat = sandbox.budget().seat(app.timeout.0).await?;
        let instance = template.instantiate(seat).await?;
        Ok(instance.started_interface().unwrap_or_default().to_owned())
    })
    .map_err(|error| match error {
        GuestError::StartFailed(report) => {
            StartError::Build(format!("app `{name}` failed to start:\n{report}"))
        }
        other => StartError::mount(name, other.to_string()),
    })?;
    let interface = AppInterface::from_name(&said)
        .ok_or_else(|| StartError::mount(name, format!("the app said it speaks {said:?}")))?;
    if let Err(error) = layers::record_interface(cache, built, interface) {
        tracing::warn!(
            app = name,
            "cannot note the app's interface in the build cache: {error}"
        );
    }
    Ok(interface)
}

/// Compiles the modules of an app on a shared interpreter to bytecode, in
/// its cache entry: an instance (without the app imported) with the entry's
/// copy of the app folder writable at [`APP_BYTECODE_ALIAS`] runs
/// `_guest.compile_app`. Its instances then load bytecode rather than
/// compile the source each time.
fn compile_bytecode(
    sandbox: &Sandbox,
    name: &str,
    app: &AppSettings,
    built: &BuiltApp,
    compiled: &Compiled,
    kept: &MountGrants,
) -> Result<(), String> {
    const ROOM_FOR_BYTECODE: u64 = 256 << 20;
    let app_copy = built
        .mounts
        .iter()
        .find(|mount| mount.guest == APP_GUEST_DIR)
        .map(|mount| mount.host.clone())
        .ok_or("the build shows no app folder")?;
    let quota = usage_of(&app_copy)
        .and_then(|used| DiskQuota::measure(&app_copy, used + ROOM_FOR_BYTECODE))
        .map_err(|e| format!("cannot measure {}: {e}", app_copy.display()))?;
    let writable_copy = MountGrants {
        data: Some(DataGrant {
            host: app_copy,
            guest: APP_BYTECODE_ALIAS.to_owned(),
            quota: Arc::new(quota),
        }),
        ..kept.clone()
    };
    let template = template_for(
        sandbox,
        name,
        app,
        (built.mounts.clone(), None),
        compiled.clone(),
        &writable_copy,
        &[],
    )
    .map_err(|e| e.to_string())?;
    let command = format!(
        "from terrarium import _guest; _guest.compile_app({APP_BYTECODE_ALIAS:?}, {APP_GUEST_DIR:?})"
    );
    let status = wait_for(async {
        let seat = sandbox.budget().seat(app.timeout.0).await?;
        template
            .instantiate(seat)
            .await?
            .run_command(&["-c".to_owned(), command])
            .await
    })
    .map_err(|e| e.to_string())?;
    match status {
        0 => Ok(()),
        other => Err(format!("compiling its modules ended with status {other}")),
    }
}

/// Links a built app into the template its instances come from, with what
/// its mount grants: `mounts` and `start` are its build's.
fn template_for(
    sandbox: &Sandbox,
    name: &str,
    app: &AppSettings,
    (mounts, start): (Vec<GuestMount>, Option<AppStart>),
    compiled: Compiled,
    kept: &MountGrants,
    extra_env: &[(String, String)],
) -> Result<AppTemplate, StartError> {
    let mut env = run_time_env(app);
    env.retain(|(name, _)| !extra_env.iter().any(|(extra, _)| extra == name));
    env.extend_from_slice(extra_env);
    let grants = Grants {
        mounts,
        data: kept.data.clone(),
        tmp: app.storage.tmp.map(|quota| TmpGrant {
            space: sandbox.scratch_space(),
            guest: TMP_AT.to_owned(),
            quota: quota.0,
        }),
        env,
        masker: Arc::new(app.env.masker()),
        log_limit: kept.log_limit.clone(),
        memory_cap: app.memory.0,
        outbound: kept.outbound.clone(),
    };
    sandbox
        .template(name, compiled, grants, start)
        .map_err(|message| StartError::mount(name, message))
}

/// Memory one build may take at its peak (pip, then CPython pre-initialized
/// in a wasm interpreter, then compiled).
const MEMORY_PER_BUILD: u64 = 2 << 30;

/// How many apps may build at once on this machine: one per core, as far
/// as its memory goes.
pub fn parallel_builds() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let by_memory = heap::machine_memory().map_or(1, |total| (total / MEMORY_PER_BUILD) as usize);
    cores.min(by_memory).max(1)
}

/// Runs one Python command (`python ARGS...`) in a fresh instance of the
/// app mounted as `mount`, with its grants (its environment plus
/// `extra_env`, for this command only) and this process's terminal;
/// builds the app first if the cache lacks it. Returns the exit status.
/// Safe while the site is served: stale SQLite locks are left alone.
pub fn exec(
    config: &SiteConfig,
    cache: &BuildCache,
    mount: &str,
    args: &[String],
    extra_env: &[(String, String)],
    progress: &mut dyn FnMut(Progress),
) -> Result<i32, StartError> {
    let Some(found) = config.mounts.iter().find(|m| m.name == mount) else {
        let names: Vec<&str> = config.mounts.iter().map(|m| m.name.as_str()).collect();
        return Err(StartError::mount(
            mount,
            format!(
                "no mount has this name; the site's mounts are: {}",
                names.join(", ")
            ),
        ));
    };
    let Some(app) = found.app() else {
        return Err(StartError::mount(
            mount,
            "serves static files; exec runs Python in an app's sandbox",
        ));
    };
    let sandbox = Sandbox::new(EngineCapacity {
        instances: 1,
        max_memory: app.memory.0,
        reset: MemoryReset::Decommit,
    })
    .map_err(StartError::Engine)?;
    let CompiledApp { built, compiled, .. } = build_and_compile(&sandbox, cache, mount, app, progress)?;
    let kept = open_mount_grants(mount, app, StaleLocks::Keep)?;
    let template = template_for(
        &sandbox,
        mount,
        app,
        (built.mounts, built.start),
        compiled,
        &kept,
        extra_env,
    )?;
    wait_for(async {
        let seat = sandbox
            .budget()
            .try_seat()
            .expect("exec's sandbox has one seat for it");
        let mut instance = template
            .instantiate_with(Stdio::Terminal, seat)
            .await
            .map_err(|e| StartError::mount(mount, e.to_string()))?;
        instance
            .run_command(args)
            .await
            .map_err(|e| StartError::mount(mount, e.to_string()))
    })
}

/// Builds, compiles, links and warms one version of an app.
pub(super) fn prepare_app(
    sandbox: &Sandbox,
    cache: &BuildCache,
    name: &str,
    app: &AppSettings,
    kept: &MountGrants,
    workers: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<AppVersion, StartError> {
    let started = Instant::now();
    let CompiledApp {
        built,
        compiled,
        interface,
        from_cache,
    } = build_and_compile(sandbox, cache, name, app, progress)?;
    let template = template_for(
        sandbox,
        name,
        app,
        (built.mounts, built.start),
        compiled,
        kept,
        &[],
    )?;
    let pool = AppPool::new(
        Arc::new(template),
        PoolSettings {
            isolation: app.isolation,
            instances: app.instances,
            min_instances: app.min_instances,
            idle: app.idle.0,
            timeout: app.timeout.0,
            stream_timeout: app.stream_timeout.0,
            workers,
        },
        sandbox.budget().clone(),
    );
    wait_for(pool.fill()).map_err(|e| StartError::mount(name, e.to_string()))?;
    progress(Progress::Ready {
        app: name,
        from_cache,
        elapsed: started.elapsed(),
        interface,
    });
    Ok(AppVersion {
        key: built.key,
        interface,
        pool,
    })
}

/// Runs `future` to its end from a blocking thread: on the runtime this
/// thread belongs to (a `spawn_blocking` thread), or on a small one of its own.
fn wait_for<F: std::future::Future>(future: F) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime.block_on(future),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a single-threaded tokio runtime can be created")
            .block_on(future),
    }
}

/// Builds and compiles every app of `config` into `cache`, without
/// serving, `jobs` at a time. Returns how many distinct builds there were.
pub fn build_site(
    config: &SiteConfig,
    cache: &BuildCache,
    jobs: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<usize, StartError> {
    let sandbox = sandbox_for(config)?;
    Ok(build_in_parallel(&sandbox, config, cache, jobs, progress)?.len())
}

/// Builds and compiles the distinct apps of `config` (mounts of the same
/// app with the same settings build once), `jobs` at a time, so that
/// opening the mounts afterwards finds each in the cache. Each build's
/// progress is reported as it happens, ending with its `Ready`; returns
/// the names of the mounts whose `Ready` was reported. When a build fails,
/// the builds running finish and the first failure is returned.
pub(super) fn build_in_parallel(
    sandbox: &Sandbox,
    config: &SiteConfig,
    cache: &BuildCache,
    jobs: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<HashSet<String>, StartError> {
    let mut seen = HashSet::new();
    let distinct: Vec<(&str, &AppSettings)> = config
        .mounts
        .iter()
        .filter_map(|mount| Some((mount.name.as_str(), mount.app()?)))
        .filter(|(name, app)| {
            let source = AppSource {
                name: String::new(),
                ..app_source(name, app)
            };
            seen.insert(format!("{source:?}"))
        })
        .collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // The shared interpreters' loaded code (one copy per layer, by its
    // component file), kept until every app is built: otherwise each of
    // their (maybe thousands of) apps would load it again.
    let layers_loaded = Mutex::new(HashMap::new());
    let (events, received) = std::sync::mpsc::channel::<Result<Progress, StartError>>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, distinct.len().max(1)) {
            let events = events.clone();
            let (next, failed, distinct, layers_loaded) = (&next, &failed, &distinct, &layers_loaded);
            scope.spawn(move || {
                while !failed.load(Ordering::Relaxed) {
                    let Some(&(name, app)) = distinct.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    let started = Instant::now();
                    let forward = &mut |event: Progress| {
                        let _ = events.send(Ok(event.of(name)));
                    };
                    let event = build_and_compile(sandbox, cache, name, app, forward).map(|compiled| {
                        if app.snapshot == config::Snapshot::Shared {
                            let mut kept = layers_loaded.lock().unwrap();
                            kept.entry(compiled.built.component).or_insert(compiled.compiled);
                        }
                        Progress::Ready {
                            app: name,
                            from_cache: compiled.from_cache,
                            elapsed: started.elapsed(),
                            interface: compiled.interface,
                        }
                    });
                    if event.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    let _ = events.send(event);
                }
            });
        }
        drop(events);
        // Told on this thread, as they come: `progress` is the caller's.
        let mut ready = HashSet::new();
        let mut first_failure = None;
        for event in received {
            match event {
                Ok(event) => {
                    if let Progress::Ready { app, .. } = &event {
                        ready.insert((*app).to_owned());
                    }
                    progress(event);
                }
                Err(error) => {
                    first_failure.get_or_insert(error);
                }
            }
        }
        first_failure.map_or(Ok(ready), Err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The run-time environment of the one app mount `mount_keys` describes
    /// under `server_keys`.
    fn env_of(server_keys: &str, mount_keys: &str) -> Vec<(String, String)> {
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir(site.path().join("a")).unwrap();
        let text = format!("[server]\n{server_keys}\n[[mount]]\npath = \"/\"\napp = \"a\"\n{mount_keys}\n");
        let config = SiteConfig::parse(&text, site.path()).unwrap();
        run_time_env(config.mounts[0].app().unwrap())
    }

    /// The budget of a site of `apps` mounts of `instances = 1000` each
    /// (the last one with `last_keys`), with `server_keys`, on a 24 GiB
    /// machine allowing `open_files`.
    fn budget_of(server_keys: &str, apps: usize, last_keys: &str, open_files: u64) -> Budget {
        let site = tempfile::tempdir().unwrap();
        let mut text = format!("[server]\n{server_keys}\n");
        for index in 0..apps {
            std::fs::create_dir(site.path().join(format!("a{index}"))).unwrap();
            text.push_str(&format!(
                "[[mount]]\npath = \"/a{index}\"\napp = \"a{index}\"\ninstances = 1000\n"
            ));
        }
        text.push_str(last_keys);
        let config = SiteConfig::parse(&text, site.path()).unwrap();
        Budget::of(&config, 24 << 30, open_files)
    }

    #[test]
    fn the_budget_keeps_to_the_files_the_process_may_open() {
        // 20,000 files, 10,000 of them for connections (the default), 320
        // reserved: room for 1,210 instances of 8 descriptors, or 968 of
        // 10 when an app also has a data folder and a private /tmp.
        let by_files = budget_of("", 2, "", 20_000);
        assert_eq!((by_files.limit, by_files.source), (1210, BudgetSource::OpenFiles));
        assert_eq!(by_files.short_of_files(), None);
        assert!(
            by_files.explained().contains("at 8 files an instance"),
            "{}",
            by_files.explained()
        );
        let writing = budget_of("", 2, "data = \"d\"\ntmp = \"1MiB\"\n", 20_000);
        assert_eq!((writing.limit, writing.descriptors), (968, 10));

        let by_memory = budget_of("", 2, "", 1 << 20);
        assert_eq!(by_memory.source, BudgetSource::Memory);

        let configured = budget_of("max_instances = 1500", 2, "", 20_000);
        let warning = configured.short_of_files().unwrap();
        assert!(
            warning.contains("1500 live instances may need 12000 open files")
                && warning.contains("keeps 10320 of them")
                && warning.contains("past about 1210 instances"),
            "{warning}"
        );
        let small_site = budget_of("max_instances = 1500", 1, "", 20_000);
        assert_eq!(
            small_site.seats, 1500,
            "1,000 instances twice over, and the headroom"
        );
        let fits = budget_of("max_instances = 1200", 2, "", 20_000);
        assert_eq!(fits.short_of_files(), None);
    }

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn the_run_time_env_adds_what_the_config_asks_unless_the_app_sets_it() {
        assert_eq!(env_of("", ""), []);
        assert_eq!(env_of("", "tmp = \"1MiB\""), [pair("TMPDIR", TMP_AT)]);
        assert_eq!(
            env_of("log_sdk_frames = true", ""),
            [pair("TERRARIUM_LOG_SDK_FRAMES", "1")]
        );
        assert_eq!(
            env_of(
                "log_sdk_frames = true",
                "tmp = \"1MiB\"\nenv = { TMPDIR = \"/elsewhere\", TERRARIUM_LOG_SDK_FRAMES = \"0\" }"
            ),
            [
                pair("TERRARIUM_LOG_SDK_FRAMES", "0"),
                pair("TMPDIR", "/elsewhere")
            ]
        );
    }
}
