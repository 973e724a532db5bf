//! A site made ready to serve, and changed while it serves.
//!
//! [`Site::prepare`] checks every mount before the server listens: each app
//! is built (or found in the cache), compiled, linked and its pool warmed;
//! each static folder is opened. While serving, a mount can be switched off
//! and on ([`Mount::set_enabled`]) and an app reloaded ([`Site::reload`]):
//! the new version is built beside the old one and swapped in atomically;
//! requests already running finish on the old instances.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use terrarium_python_wasi::{AppSource, BuildCache, BuildError, BuildStep, BuiltApp, build_app};

use crate::{
    access_log::AccessLog,
    config::{AppSettings, ConfigError, MountConfig, MountKind, SiteConfig},
    heap,
    http::static_files::StaticFolder,
    mounts::MountTable,
    sandbox::{AppPool, AppTemplate, EngineCapacity, PoolSettings, Sandbox, compiled},
    sessions::Sessions,
    stats::MountStats,
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
    },
}

/// Why a site (or one app of it) could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is missing or wrong.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// An app failed to build (its traceback is in the message).
    #[error("{0}")]
    Build(#[from] BuildError),
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
    /// The access log's file could not be opened (the error names it).
    #[error("server.access_log: {0}")]
    AccessLog(std::io::Error),
}

/// One version of an app: its component's build key and its instances.
pub struct AppVersion {
    /// The build cache key (a content hash).
    pub key: String,
    /// Its instances.
    pub pool: Arc<AppPool>,
}

/// An app mount's changing parts.
pub struct AppMount {
    /// The settings it was configured with.
    pub settings: AppSettings,
    current: RwLock<Arc<AppVersion>>,
    reloading: tokio::sync::Mutex<()>,
    last_error: Mutex<Option<String>>,
}

impl AppMount {
    /// The version serving new requests.
    pub fn current(&self) -> Arc<AppVersion> {
        self.current.read().unwrap().clone()
    }

    /// The error of the last failed reload, if the last reload failed.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap().clone()
    }
}

/// What a mount serves.
pub enum MountTarget {
    /// A Python app in sandboxes.
    App(AppMount),
    /// A folder of files.
    Static(StaticFolder),
}

/// One mount of a running site.
pub struct Mount {
    /// Its name (`name`, or the path's last segment).
    pub name: String,
    /// Its mount point ("/" or "/api").
    pub path: String,
    /// Largest request body accepted, in bytes.
    pub max_body: u64,
    /// Whether the app gets a session (`sessions = true`).
    pub sessions: bool,
    /// What it serves.
    pub target: MountTarget,
    /// What it has served.
    pub stats: MountStats,
    enabled: AtomicBool,
    maintenance_page: Option<Bytes>,
}

impl Mount {
    /// Whether requests are served (false: 503 with the maintenance page).
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// Switches the mount on or off. Requests already running finish normally.
    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Release);
    }

    /// The page served while switched off, if the config names one.
    pub fn maintenance_page(&self) -> Option<&Bytes> {
        self.maintenance_page.as_ref()
    }

    /// "app" or "static".
    pub fn kind(&self) -> &'static str {
        match self.target {
            MountTarget::App(_) => "app",
            MountTarget::Static(_) => "static",
        }
    }
}

/// A site ready to serve.
pub struct Site {
    /// The configuration it was made from.
    pub config: SiteConfig,
    /// Which mount serves which path.
    pub mounts: MountTable<Arc<Mount>>,
    in_order: Vec<Arc<Mount>>,
    sandbox: Arc<Sandbox>,
    cache: BuildCache,
    sessions: Option<Arc<Sessions>>,
    workers: usize,
    access_log: AccessLog,
}

/// Engine capacity for a site: every pool full, plus room for a reload
/// (old and new version side by side) and for replacements.
fn capacity(config: &SiteConfig) -> EngineCapacity {
    let apps = config.mounts.iter().filter_map(MountConfig::app);
    let instances: u32 = apps.clone().map(|app| app.instances * 3 + 2).sum();
    let max_memory = apps.map(|app| app.memory.0).max().unwrap_or(64 << 20);
    EngineCapacity {
        instances: instances + 8,
        max_memory,
    }
}

fn app_source(name: &str, app: &AppSettings) -> AppSource {
    AppSource {
        name: name.to_owned(),
        dir: app.folder.clone(),
        entry: app.entry.clone(),
        warm_up: app.warm_up.clone(),
    }
}

/// One app's component, built and compiled (or found in the cache).
struct CompiledApp {
    built: BuiltApp,
    component: Arc<wasmtime::component::Component>,
    /// Neither the build nor the native compile had to run.
    from_cache: bool,
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
    let built = build_app(&app_source(name, app), cache, &mut |step| {
        progress(Progress::Step { app: name, step })
    })?;
    if !compiled::compiled_path(sandbox.engine(), &built.component).is_file() {
        progress(Progress::Compiling { app: name });
    }
    let (component, compiled_now) =
        sandbox
            .load_component(&built.component)
            .map_err(|message| StartError::Mount {
                mount: name.to_owned(),
                message,
            })?;
    let from_cache = !built.built && !compiled_now;
    if !from_cache {
        heap::release_freed_memory();
    }
    Ok(CompiledApp {
        built,
        component,
        from_cache,
    })
}

/// Builds, compiles, links and warms one version of an app. Blocking.
fn prepare_app(
    sandbox: &Sandbox,
    cache: &BuildCache,
    name: &str,
    app: &AppSettings,
    workers: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<AppVersion, StartError> {
    let started = Instant::now();
    let CompiledApp {
        built,
        component,
        from_cache,
    } = build_and_compile(sandbox, cache, name, app, progress)?;
    let mount_error = |message: String| StartError::Mount {
        mount: name.to_owned(),
        message,
    };
    let template = AppTemplate::new(
        sandbox.engine(),
        name,
        component,
        built.mounts.clone(),
        app.memory.0,
    )
    .map_err(|e| mount_error(format!("the component does not fit the host: {e:?}")))?;
    let pool = AppPool::new(
        Arc::new(template),
        PoolSettings {
            isolation: app.isolation,
            instances: app.instances,
            timeout: app.timeout.0,
            workers,
        },
    );
    wait_for(pool.fill()).map_err(|e| mount_error(e.to_string()))?;
    progress(Progress::Ready {
        app: name,
        from_cache,
        elapsed: started.elapsed(),
    });
    Ok(AppVersion { key: built.key, pool })
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

/// Builds and compiles every app of `config` into `cache`, without serving.
pub fn build_site(
    config: &SiteConfig,
    cache: &BuildCache,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), StartError> {
    let sandbox = Sandbox::new(capacity(config)).map_err(|e| StartError::Engine(format!("{e:?}")))?;
    for mount in &config.mounts {
        if let Some(app) = mount.app() {
            let started = Instant::now();
            let compiled = build_and_compile(&sandbox, cache, &mount.name, app, progress)?;
            progress(Progress::Ready {
                app: &mount.name,
                from_cache: compiled.from_cache,
                elapsed: started.elapsed(),
            });
        }
    }
    Ok(())
}

/// Why a control request on a mount failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No mount has that name.
    #[error("no mount is named {0:?}")]
    NoSuchMount(String),
    /// Static mounts have nothing to reload.
    #[error("mount {0:?} serves static files; there is nothing to reload")]
    NotAnApp(String),
    /// The new version failed to build or start; the old one keeps serving.
    #[error("reload failed, the previous version keeps serving: {0}")]
    ReloadFailed(String),
}

impl Site {
    /// Makes `config` ready to serve: builds, compiles, links and warms every
    /// app, opens every static folder. Blocks for as long as that takes; call
    /// it from a blocking thread (`spawn_blocking`) or outside any runtime.
    pub fn prepare(
        config: SiteConfig,
        cache: &BuildCache,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Self, StartError> {
        let access_log = AccessLog::open(&config.server.access_log).map_err(StartError::AccessLog)?;
        let sandbox = Sandbox::new(capacity(&config)).map_err(|e| StartError::Engine(format!("{e:?}")))?;
        let workers = config.server.workers.resolve();
        let mut in_order = Vec::new();
        for mount in &config.mounts {
            let mount_error = |message: String| StartError::Mount {
                mount: mount.name.clone(),
                message,
            };
            let target = match &mount.kind {
                MountKind::App(app) => {
                    let version = prepare_app(&sandbox, cache, &mount.name, app, workers, progress)?;
                    MountTarget::App(AppMount {
                        settings: app.clone(),
                        current: RwLock::new(Arc::new(version)),
                        reloading: tokio::sync::Mutex::new(()),
                        last_error: Mutex::new(None),
                    })
                }
                MountKind::Static(settings) => {
                    MountTarget::Static(StaticFolder::open(&settings.folder, settings.index).map_err(
                        |e| mount_error(format!("cannot open folder {}: {e}", settings.folder.display())),
                    )?)
                }
            };
            let maintenance_page = match &mount.maintenance {
                Some(page) => Some(Bytes::from(std::fs::read(page).map_err(|e| {
                    mount_error(format!("cannot read maintenance page {}: {e}", page.display()))
                })?)),
                None => None,
            };
            in_order.push(Arc::new(Mount {
                name: mount.name.clone(),
                path: mount.path.clone(),
                max_body: mount.max_body.0,
                sessions: mount.sessions,
                target,
                stats: MountStats::default(),
                enabled: AtomicBool::new(mount.enabled),
                maintenance_page,
            }));
        }
        let sessions = if config.mounts.iter().any(|m| m.sessions) {
            let sessions = Sessions::from_config(&config.sessions).map_err(|message| StartError::Mount {
                mount: "[sessions]".into(),
                message,
            })?;
            Some(Arc::new(sessions))
        } else {
            None
        };
        let mounts = MountTable::new(in_order.iter().map(|m| (m.path.clone(), m.clone())));
        Ok(Self {
            config,
            mounts,
            in_order,
            sandbox: Arc::new(sandbox),
            cache: cache.clone(),
            sessions,
            workers,
            access_log,
        })
    }

    /// Where the line per request goes (`server.access_log`).
    pub fn access_log(&self) -> &AccessLog {
        &self.access_log
    }

    /// How many worker threads serve the site (`server.workers`, resolved).
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The session machinery, when some mount has sessions.
    pub fn sessions(&self) -> Option<&Arc<Sessions>> {
        self.sessions.as_ref()
    }

    /// Every mount, in config file order.
    pub fn mounts_in_order(&self) -> &[Arc<Mount>] {
        &self.in_order
    }

    /// The mount named `name`.
    pub fn mount(&self, name: &str) -> Result<&Arc<Mount>, ControlError> {
        self.in_order
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| ControlError::NoSuchMount(name.to_owned()))
    }

    /// Rebuilds the app mounted as `name` from its folder and swaps the new
    /// version in. Requests in flight finish on the old instances; new ones
    /// go to the new version. When the build fails, the old version keeps
    /// serving and the error is returned (and kept for `GET /mounts`).
    /// Reloads of one mount run one at a time.
    pub async fn reload(&self, name: &str) -> Result<Arc<AppVersion>, ControlError> {
        let mount = self.mount(name)?.clone();
        let MountTarget::App(app) = &mount.target else {
            return Err(ControlError::NotAnApp(name.to_owned()));
        };
        let _one_at_a_time = app.reloading.lock().await;
        let sandbox = self.sandbox.clone();
        let cache = self.cache.clone();
        let settings = app.settings.clone();
        let name = mount.name.clone();
        let workers = self.workers;
        let prepared = tokio::task::spawn_blocking(move || {
            prepare_app(&sandbox, &cache, &name, &settings, workers, &mut |_| {})
        })
        .await
        .unwrap_or_else(|_| {
            Err(StartError::Mount {
                mount: mount.name.clone(),
                message: "the build panicked".into(),
            })
        });
        match prepared {
            Ok(version) => {
                let version = Arc::new(version);
                *app.current.write().unwrap() = version.clone();
                *app.last_error.lock().unwrap() = None;
                tracing::info!(mount = %mount.name, version = %version.key, "reloaded");
                Ok(version)
            }
            Err(error) => {
                let message = error.to_string();
                tracing::error!(mount = %mount.name, "reload failed; the previous version keeps serving: {message}");
                *app.last_error.lock().unwrap() = Some(message.clone());
                Err(ControlError::ReloadFailed(message))
            }
        }
    }
}
