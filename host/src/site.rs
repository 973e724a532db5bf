//! A site made ready to serve: its config checked, each app built (or found
//! in the cache), compiled, linked and its pool warmed. Everything that can
//! fail here fails before the server listens.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use terrarium_python_wasi::{AppSource, BuildCache, BuildError, BuildStep, BuiltApp, build_app};

use crate::{
    config::{ConfigError, MountConfig, SiteConfig},
    mounts::MountTable,
    sandbox::{AppPool, AppTemplate, EngineCapacity, PoolSettings, Sandbox, compiled},
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
        /// Whether anything had to be built or compiled.
        from_cache: bool,
        /// How long it took.
        elapsed: Duration,
    },
}

/// Why a site could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is missing or wrong.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// An app failed to build (its traceback is in the message).
    #[error("{0}")]
    Build(#[from] BuildError),
    /// An app's component could not be compiled, linked or instantiated.
    #[error("app `{app}`: {message}")]
    App {
        /// The mount's name.
        app: String,
        /// What went wrong.
        message: String,
    },
    /// The wasm engine could not be created.
    #[error("cannot create the wasm engine: {0}")]
    Engine(String),
}

/// One app, mounted and ready.
pub struct MountedApp {
    /// The mount's name.
    pub name: String,
    /// The mount point ("/" or "/api").
    pub path: String,
    /// Largest request body accepted, in bytes.
    pub max_body: u64,
    /// Its instances.
    pub pool: Arc<AppPool>,
}

/// A site ready to serve.
pub struct Site {
    /// The configuration it was made from.
    pub config: SiteConfig,
    /// Which app serves which path.
    pub mounts: MountTable<Arc<MountedApp>>,
    _sandbox: Sandbox,
}

/// Engine capacity for a site: every pool full, plus room for replacements.
fn capacity(config: &SiteConfig) -> EngineCapacity {
    let instances: u32 = config.mounts.iter().map(|m| m.instances * 2 + 2).sum();
    let max_memory = config.mounts.iter().map(|m| m.memory.0).max().unwrap_or(0);
    EngineCapacity {
        instances: instances + 8,
        max_memory,
    }
}

fn app_source(mount: &MountConfig) -> AppSource {
    AppSource {
        name: mount.display_name(),
        dir: mount.app.clone(),
        entry: mount.entry.clone(),
    }
}

/// Builds (or finds in `cache`) one app's component, reporting progress.
fn build_one(
    mount: &MountConfig,
    cache: &BuildCache,
    progress: &mut dyn FnMut(Progress),
) -> Result<BuiltApp, BuildError> {
    let name = mount.display_name();
    build_app(&app_source(mount), cache, &mut |step| {
        progress(Progress::Step { app: &name, step })
    })
}

/// Builds and compiles every app of `config` into `cache`, without serving.
pub fn build_site(
    config: &SiteConfig,
    cache: &BuildCache,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), StartError> {
    let sandbox = Sandbox::new(capacity(config)).map_err(|e| StartError::Engine(format!("{e:?}")))?;
    for mount in &config.mounts {
        let started = Instant::now();
        let name = mount.display_name();
        let built = build_one(mount, cache, progress)?;
        let compiled = compile(&sandbox, &name, &built, progress)?;
        progress(Progress::Ready {
            app: &name,
            from_cache: !built.built && !compiled.1,
            elapsed: started.elapsed(),
        });
    }
    Ok(())
}

fn compile(
    sandbox: &Sandbox,
    name: &str,
    built: &BuiltApp,
    progress: &mut dyn FnMut(Progress),
) -> Result<(wasmtime::component::Component, bool), StartError> {
    let engine = sandbox.engine();
    if !compiled::compiled_path(engine, &built.component).is_file() {
        progress(Progress::Compiling { app: name });
    }
    compiled::load_or_compile(engine, &built.component).map_err(|message| StartError::App {
        app: name.to_owned(),
        message,
    })
}

impl Site {
    /// Makes `config` ready to serve: builds, compiles, links and warms every
    /// app. Blocks for as long as that takes; call it from a blocking thread.
    pub fn prepare(
        config: SiteConfig,
        cache: &BuildCache,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Self, StartError> {
        let sandbox = Sandbox::new(capacity(&config)).map_err(|e| StartError::Engine(format!("{e:?}")))?;
        let mut mounted = Vec::new();
        for mount in &config.mounts {
            let started = Instant::now();
            let name = mount.display_name();
            let built = build_one(mount, cache, progress)?;
            let (component, compiled_now) = compile(&sandbox, &name, &built, progress)?;
            let app_error = |message: String| StartError::App {
                app: name.clone(),
                message,
            };
            let template = AppTemplate::new(
                sandbox.engine(),
                &name,
                &component,
                built.mounts.clone(),
                mount.memory.0,
            )
            .map_err(|e| app_error(format!("the component does not fit the host: {e:?}")))?;
            let pool = AppPool::new(
                Arc::new(template),
                PoolSettings {
                    isolation: mount.isolation,
                    instances: mount.instances,
                    timeout: mount.timeout.0,
                },
            );
            pool.fill().map_err(|e| app_error(e.to_string()))?;
            progress(Progress::Ready {
                app: &name,
                from_cache: !built.built && !compiled_now,
                elapsed: started.elapsed(),
            });
            mounted.push((
                mount.path.clone(),
                Arc::new(MountedApp {
                    name,
                    path: mount.path.clone(),
                    max_body: mount.max_body.0,
                    pool,
                }),
            ));
        }
        Ok(Self {
            config,
            mounts: MountTable::new(mounted),
            _sandbox: sandbox,
        })
    }
}
