//! One mount of a site made ready to serve: its app built, compiled,
//! linked and warmed, or its static folder opened; its maintenance page
//! read. At start for every mount, and for a mount added at run time.

use std::sync::{Arc, Mutex, RwLock, atomic::AtomicU64};

use bytes::Bytes;
use terrarium_python_wasi::BuildCache;

use super::{
    AppMount, Mount, MountTarget,
    build::{self, Progress, StaleLocks, StartError},
};
use crate::{
    config::{MountConfig, MountKind, SiteConfig},
    cookie_scope::CookieScope,
    http::static_files::StaticFolder,
    mounts::Switch,
    sandbox::Sandbox,
    sessions::Sessions,
    stats::MountStats,
};

/// What opening a mount needs from its site.
pub(super) struct Opening<'a> {
    /// The site's configuration, with this mount in it (its neighbours
    /// decide which cookies its app may set).
    pub config: &'a SiteConfig,
    /// The engine its instances run in.
    pub sandbox: &'a Sandbox,
    /// Where builds are cached.
    pub cache: &'a BuildCache,
    /// The site's worker threads.
    pub workers: usize,
    /// What to do with SQLite locks found in its data folder.
    pub locks: StaleLocks,
}

impl Opening<'_> {
    /// Makes `mount` ready to serve (blocking: a build may take minutes).
    pub fn open(&self, mount: &MountConfig, progress: &mut dyn FnMut(Progress)) -> Result<Mount, StartError> {
        let mount_error = |message: String| StartError::mount(&mount.name, message);
        let config = self.config;
        let site_has_hosts = config.mounts.iter().any(|mount| !mount.hosts.is_empty());
        let target = match &mount.kind {
            MountKind::App(app) => {
                let grants = build::open_mount_grants(&mount.name, app, self.locks)?;
                let version = build::prepare_app(
                    self.sandbox,
                    self.cache,
                    &mount.name,
                    app,
                    &grants,
                    self.workers,
                    progress,
                )?;
                let neighbours_sessions = config
                    .mounts
                    .iter()
                    .filter(|other| other.sessions && other.name != mount.name)
                    .map(|other| Sessions::cookie_name(&other.name))
                    .collect();
                MountTarget::App(Box::new(AppMount {
                    settings: app.as_ref().clone(),
                    grants,
                    current: RwLock::new(Arc::new(version)),
                    reloading: tokio::sync::Mutex::new(()),
                    last_error: Mutex::new(None),
                    cookie_scope: (!app.share_cookies).then(|| {
                        CookieScope::new(&mount.path.to_string(), neighbours_sessions, site_has_hosts)
                    }),
                    cookies_dropped: AtomicU64::new(0),
                }))
            }
            MountKind::Static(settings) => {
                MountTarget::Static(StaticFolder::open(&settings.folder, settings.index).map_err(|e| {
                    mount_error(format!("cannot open folder {}: {e}", settings.folder.display()))
                })?)
            }
        };
        let maintenance_page = match &mount.maintenance {
            Some(page) => Some(Bytes::from(std::fs::read(page).map_err(|e| {
                mount_error(format!("cannot read maintenance page {}: {e}", page.display()))
            })?)),
            None => None,
        };
        Ok(Mount {
            name: mount.name.clone(),
            path: mount.path.to_string(),
            hosts: mount.hosts.clone(),
            max_body: mount.max_body.0,
            buffer_body: mount.buffer_body.0,
            sessions: mount.sessions,
            target,
            stats: MountStats::default(),
            switch: Switch::new(mount.enabled),
            maintenance_page,
        })
    }
}
