//! A site made ready to serve, and changed while it serves.
//!
//! - [`build`]: an app folder built, compiled, linked and warmed (blocking).
//! - [`open`]: one mount made ready to serve (at start, or added later).
//! - [`changes`]: mounts added, changed and removed while the site serves.
//! - [`written`]: the site's file as written, mount by mount, and what a
//!   new version of it changes.
//! - this module: the running site: its mounts, their on/off switches,
//!   reloads, and the scaling down of idle instances.
//!
//! [`Site::prepare`] checks every mount before the server listens: each app
//! is built (or found in the cache), compiled, linked and its pool warmed;
//! each static folder is opened. While serving, a mount can be switched off
//! and on ([`Mount::switch`]) and an app reloaded ([`Site::reload`]):
//! the new version is built beside the old one and swapped in atomically;
//! requests already running finish on the old instances.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use terrarium_python_wasi::BuildCache;

use crate::{
    access_log::AccessLog,
    config::{AppSettings, CONFIG_FILE, ConfigError, SiteConfig},
    cookie_scope::{CookieScope, Verdict},
    heap,
    hosts::{HostRouter, RequestHost, ServedHost},
    http::static_files::StaticFolder,
    mounts::Switch,
    sandbox::{InstanceBudget, Sandbox},
    sessions::Sessions,
    stats::MountStats,
    tls::Certificates,
};

mod build;
mod changes;
mod open;
mod written;

pub use build::{
    AppVersion, MountGrants, Progress, StartError, build_site, default_cache_dir, exec, parallel_builds,
};
pub use changes::MountChange;
use open::Opening;
pub use written::WrittenDiff;

/// An app mount's changing parts.
pub struct AppMount {
    /// The settings it was configured with.
    pub settings: AppSettings,
    /// Its data folder and outbound access, kept across reloads (one quota,
    /// one set of counters).
    pub grants: MountGrants,
    current: RwLock<Arc<AppVersion>>,
    reloading: tokio::sync::Mutex<()>,
    last_error: Mutex<Option<String>>,
    /// The cookies its app may set; none with `share_cookies`.
    cookie_scope: Option<CookieScope>,
    /// `Set-Cookie` headers dropped for leaving the mount.
    cookies_dropped: AtomicU64,
}

impl AppMount {
    /// Drops from `headers` every `Set-Cookie` the app may not set, and
    /// narrows the `Path` of those set above the mount (see
    /// [`CookieScope`]); drops are counted, and the first of this mount is
    /// logged with its reason.
    pub fn keep_cookies_to_mount(&self, mount: &str, headers: &mut HeaderMap) {
        let Some(scope) = &self.cookie_scope else { return };
        if !headers.contains_key(header::SET_COOKIE) {
            return;
        }
        let cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().cloned().collect();
        let mut kept = Vec::with_capacity(cookies.len());
        for cookie in cookies {
            let Ok(text) = cookie.to_str() else {
                kept.push(cookie);
                continue;
            };
            match scope.judge(text) {
                Verdict::Keep => kept.push(cookie),
                Verdict::Narrow(narrowed) => kept.extend(HeaderValue::from_str(&narrowed).ok()),
                Verdict::Drop(why) => {
                    if self.cookies_dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                        tracing::warn!(
                            mount,
                            "dropped a Set-Cookie from the app: {why} (set share_cookies = true to allow; further ones are counted in /metrics)"
                        );
                    }
                }
            }
        }
        headers.remove(header::SET_COOKIE);
        for cookie in kept {
            headers.append(header::SET_COOKIE, cookie);
        }
    }

    /// How many `Set-Cookie` headers were dropped for leaving the mount.
    pub fn cookies_dropped(&self) -> u64 {
        self.cookies_dropped.load(Ordering::Relaxed)
    }

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
    App(Box<AppMount>),
    /// A folder of files.
    Static(StaticFolder),
}

/// One mount of a running site.
pub struct Mount {
    /// Its name (`name`, or the path's last segment).
    pub name: String,
    /// Its mount point ("/" or "/api").
    pub path: String,
    /// The host names it serves; none for the default site.
    pub hosts: Vec<ServedHost>,
    /// Largest request body accepted, in bytes.
    pub max_body: u64,
    /// Request bodies up to this many bytes are read whole before the app
    /// is called; longer ones stream to it after this many.
    pub buffer_body: u64,
    /// Whether the app gets a session (`sessions = true`).
    pub sessions: bool,
    /// What it serves.
    pub target: MountTarget,
    /// What it has served.
    pub stats: MountStats,
    /// Whether it serves (off: 503 with the maintenance page). Requests
    /// already running when it is switched off finish normally.
    pub switch: Switch,
    maintenance_page: Option<Bytes>,
}

impl Mount {
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

/// The mounts serving now; replaced whole when a mount is added or removed.
pub struct MountTable {
    /// Every mount, in config file order (added ones last).
    pub in_order: Vec<Arc<Mount>>,
    /// Which mount serves which host and path.
    pub routes: HostRouter<Arc<Mount>>,
}

impl MountTable {
    fn new(in_order: Vec<Arc<Mount>>) -> Self {
        let routes = HostRouter::new(
            in_order
                .iter()
                .map(|m| (m.path.as_str(), &m.hosts[..], m.clone())),
        );
        Self { in_order, routes }
    }

    /// The mount named `name`.
    pub fn named(&self, name: &str) -> Option<&Arc<Mount>> {
        self.in_order.iter().find(|m| m.name == name)
    }
}

/// A site ready to serve.
pub struct Site {
    /// The configuration it was started with (its mounts may have changed
    /// since: see [`Site::mounts`]).
    pub config: SiteConfig,
    /// Requests for a host that no mount serves.
    unknown_hosts: AtomicU64,
    table: RwLock<Arc<MountTable>>,
    /// Mounts being added or changed through the control API.
    changes: Mutex<HashMap<String, MountChange>>,
    /// One edit of the site's file at a time.
    editing: tokio::sync::Mutex<()>,
    /// The site's file as last applied, mount by mount.
    written: Mutex<written::Written>,
    /// Builds of mounts added or changed at run time allowed at once.
    build_slots: Arc<tokio::sync::Semaphore>,
    sandbox: Arc<Sandbox>,
    cache: BuildCache,
    sessions: Option<Arc<Sessions>>,
    /// The HTTPS listener's certificates, with `server.tls_listen`.
    certificates: Option<Arc<Certificates>>,
    /// The HTTPS listener's port, once it is bound.
    https_port: std::sync::OnceLock<u16>,
    workers: usize,
    access_log: AccessLog,
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
    /// A mount's keys were refused, as the file would refuse them.
    #[error("{0}")]
    Invalid(String),
    /// A change of this mount is still being built.
    #[error("mount {0:?} is being built; wait for it to be live or to fail")]
    Busy(String),
    /// The site's file could not be read or written.
    #[error("{0}")]
    Unwritable(String),
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
        let access_log = AccessLog::open(&config.server.access_log, config.server.log_format)
            .map_err(StartError::AccessLog)?;
        // Certificates first: a bad one is refused before any build.
        let certificates = match config.tls.as_slice() {
            [] => None,
            entries => Some(Certificates::load(entries).map_err(|problem| ConfigError {
                file: config.site_dir.join(CONFIG_FILE),
                problem,
            })?),
        };
        let sandbox = build::sandbox_for(&config)?;
        let workers = config.server.workers.resolve();
        let written = std::fs::read_to_string(config.site_dir.join(CONFIG_FILE))
            .map(|text| written::Written::of(&text, &config))
            .unwrap_or_default();
        // The apps build on all cores first; opening the mounts then finds
        // each in the cache (and its readiness was told already).
        let told = build::build_in_parallel(&sandbox, &config, cache, build::parallel_builds(), progress)?;
        let progress = &mut |event: Progress| match event {
            Progress::Ready { app, .. } if told.contains(app) => {}
            Progress::Step { app, .. } if told.contains(app) => {}
            event => progress(event),
        };
        let opening = Opening {
            config: &config,
            sandbox: &sandbox,
            cache,
            workers,
            locks: build::StaleLocks::Remove,
        };
        let mut in_order = Vec::new();
        for mount in &config.mounts {
            in_order.push(Arc::new(opening.open(mount, progress)?));
        }
        let sessions = if config.mounts.iter().any(|m| m.sessions) {
            let sessions = Sessions::from_config(&config.sessions)
                .map_err(|message| StartError::mount("[sessions]", message))?;
            Some(Arc::new(sessions))
        } else {
            None
        };
        Ok(Self {
            config,
            unknown_hosts: AtomicU64::new(0),
            table: RwLock::new(Arc::new(MountTable::new(in_order))),
            changes: Mutex::default(),
            editing: tokio::sync::Mutex::new(()),
            written: Mutex::new(written),
            build_slots: Arc::new(tokio::sync::Semaphore::new(build::parallel_builds())),
            sandbox: Arc::new(sandbox),
            cache: cache.clone(),
            sessions,
            certificates,
            https_port: std::sync::OnceLock::new(),
            workers,
            access_log,
        })
    }

    /// The HTTPS listener's certificates, when the site has one.
    pub fn certificates(&self) -> Option<&Arc<Certificates>> {
        self.certificates.as_ref()
    }

    /// Records the port the HTTPS listener was bound to (the first time).
    pub fn set_https_port(&self, port: u16) {
        let _ = self.https_port.set(port);
    }

    /// Where a plain-HTTP request for `host` and `path_and_query` is sent
    /// instead, when its host's certificate says `redirect_http`.
    pub fn https_redirect(&self, host: &RequestHost<'_>, path_and_query: &str) -> Option<String> {
        let certificates = self.certificates.as_ref()?;
        let port = *self.https_port.get()?;
        if !certificates.redirects_http(&host.name) {
            return None;
        }
        Some(match port {
            443 => format!("https://{}{path_and_query}", host.name),
            port => format!("https://{}:{port}{path_and_query}", host.name),
        })
    }

    /// The site's budget of live instances, shared by all its apps.
    pub fn budget(&self) -> &Arc<InstanceBudget> {
        self.sandbox.budget()
    }

    /// Starts the task that gives back the instances each app has left
    /// without a request for its `idle` (down to its `min_instances`), and
    /// then the freed heap to the OS. It ends with the site.
    pub fn spawn_idle_reaper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let shortest = self
            .mounts()
            .in_order
            .iter()
            .filter_map(|mount| match &mount.target {
                MountTarget::App(app) => Some(app.settings.idle.0),
                MountTarget::Static(_) => None,
            })
            .min()
            .unwrap_or(Duration::from_secs(60));
        let every = (shortest / 4).clamp(Duration::from_millis(250), Duration::from_secs(10));
        let site = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(site) = site.upgrade() else { return };
                let mut retired = 0;
                for mount in &site.mounts().in_order {
                    if let MountTarget::App(app) = &mount.target {
                        retired += app.current().pool.scale_down(Instant::now()).await;
                    }
                }
                if retired > 0 {
                    tracing::debug!("gave back {retired} idle instances");
                    let _ = tokio::task::spawn_blocking(heap::release_freed_memory).await;
                }
            }
        })
    }

    /// Counts a request for a host that no mount serves.
    pub fn count_unknown_host(&self) {
        self.unknown_hosts.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests for a host that no mount serves.
    pub fn unknown_hosts(&self) -> u64 {
        self.unknown_hosts.load(Ordering::Relaxed)
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

    /// The mounts serving now.
    pub fn mounts(&self) -> Arc<MountTable> {
        self.table.read().unwrap().clone()
    }

    /// The mount named `name`.
    pub fn mount(&self, name: &str) -> Result<Arc<Mount>, ControlError> {
        self.mounts()
            .named(name)
            .cloned()
            .ok_or_else(|| ControlError::NoSuchMount(name.to_owned()))
    }

    /// Rebuilds the app mounted as `name` from its folder and swaps the new
    /// version in. Requests in flight finish on the old instances; new ones
    /// go to the new version. When the build fails, the old version keeps
    /// serving and the error is returned (and kept for `GET /mounts`).
    /// Reloads of one mount run one at a time.
    pub async fn reload(&self, name: &str) -> Result<Arc<AppVersion>, ControlError> {
        let mount = self.mount(name)?;
        let MountTarget::App(app) = &mount.target else {
            return Err(ControlError::NotAnApp(name.to_owned()));
        };
        let _one_at_a_time = app.reloading.lock().await;
        let sandbox = self.sandbox.clone();
        let cache = self.cache.clone();
        let settings = app.settings.clone();
        let grants = app.grants.clone();
        let name = mount.name.clone();
        let workers = self.workers;
        let prepared = tokio::task::spawn_blocking(move || {
            build::prepare_app(&sandbox, &cache, &name, &settings, &grants, workers, &mut |_| {})
        })
        .await
        .unwrap_or_else(|_| Err(StartError::mount(&mount.name, "the build panicked")));
        match prepared {
            Ok(version) => {
                let version = Arc::new(version);
                let retired = std::mem::replace(&mut *app.current.write().unwrap(), version.clone());
                // Its idle instances run the app's shutdown; busy ones finish
                // their requests and go with it.
                tokio::spawn(async move { retired.pool.retire().await });
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
