//! Mounts added, changed and removed while the site serves (`PUT` and
//! `DELETE /mounts/{name}`). A `PUT` is checked at once, as the file would
//! be; its app is then built in the background while the mount of that
//! name (if any) keeps serving, and made live by replacing the mount table
//! whole, so each request sees the old table or the new one. The site's
//! `terrarium.toml` is edited to match ([`crate::config::edit`]) before
//! the table changes, so a restart serves what was serving.
//!
//! The file itself can be edited too, then reloaded (`SIGHUP`, `POST
//! /config/reload`): the mounts it adds, changes and removes are applied
//! the same way; the others are not touched ([`Written`]).
//!
//! Builds run in parallel, as many at once as [`super::build::parallel_builds`]
//! allows.

use std::{collections::HashMap, path::PathBuf, sync::Arc, time::Instant};

use serde_json::{Map, Value};

use super::{
    ControlError, Mount, MountTable, MountTarget, Site,
    build::{Progress, StaleLocks, StartError},
    open::Opening,
    written::{Written, WrittenDiff},
};
use crate::config::{CONFIG_FILE, MountConfig, SiteConfig, edit};

/// How a change reaches the site's file once its mount is live.
enum Persist {
    /// Edit the file: set the mount to these keys (a `PUT`).
    EditFile(Map<String, Value>),
    /// The file already says so (a reload of it): this is its table.
    Written(Option<toml::Value>),
}

/// A change of a mount that is not live yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountChange {
    /// Its app is being built.
    Building {
        /// Since when.
        since: Instant,
        /// The build's step.
        step: &'static str,
    },
    /// Its build failed; what serves under its name (if anything) is unchanged.
    Failed {
        /// Why (the build's output, secrets masked).
        error: String,
    },
}

impl MountChange {
    /// "building" or "failed".
    pub fn state(&self) -> &'static str {
        match self {
            Self::Building { .. } => "building",
            Self::Failed { .. } => "failed",
        }
    }
}

impl Site {
    /// Checks `keys` as the mount named `name` (the same schema and errors
    /// as the file), then builds it in the background, to serve in place of
    /// the mount of that name (if any) once ready, and writes it into the
    /// site's file. Returns once the build has started.
    pub async fn put_mount(
        self: &Arc<Self>,
        name: &str,
        keys: Map<String, Value>,
    ) -> Result<(), ControlError> {
        let config = {
            let _editing = self.editing.lock().await;
            let text = self.read_file().map_err(ControlError::Unwritable)?;
            edit::put_mount(&text, &self.config.site_dir, name, &keys)
                .map_err(ControlError::Invalid)?
                .1
        };
        let mount = config
            .mounts
            .iter()
            .find(|mount| mount.name == name)
            .expect("the edited site has the mount");
        self.check_addable(mount).map_err(ControlError::Invalid)?;
        if !self.start_building(name) {
            return Err(ControlError::Busy(name.to_owned()));
        }
        let site = self.clone();
        let name = name.to_owned();
        tokio::spawn(async move { site.build_and_apply(name, Persist::EditFile(keys), config).await });
        Ok(())
    }

    /// Reads the site's file again and applies what changed since it was
    /// last applied: mounts added and changed are built (in parallel) and
    /// made live when ready, mounts removed are taken out; the others are
    /// not touched. A change of `[server]` or `[sessions]` is reported, not
    /// applied (it needs a restart). An invalid file changes nothing.
    /// Returns once the builds have started.
    pub async fn reload_config(self: &Arc<Self>) -> Result<WrittenDiff, ControlError> {
        let _editing = self.editing.lock().await;
        let text = self.read_file().map_err(ControlError::Unwritable)?;
        let config = SiteConfig::parse(&text, &self.config.site_dir).map_err(|problem| {
            ControlError::Invalid(format!(
                "{}: {problem} (nothing was changed)",
                self.file().display()
            ))
        })?;
        // Certificates are read again from their files (replaced in place
        // or named anew); new connections get them, open ones keep theirs.
        if let Some(certificates) = self.certificates() {
            certificates.reload(&config.tls).map_err(|problem| {
                ControlError::Invalid(format!(
                    "{}: {problem} (nothing was changed)",
                    self.file().display()
                ))
            })?;
        }
        let newer = Written::of(&text, &config);
        let diff = self.written.lock().unwrap().diff(&newer);
        for name in &diff.removed {
            if let Some(removed) = self.replace_in_table(name, None) {
                retire(removed);
            }
            self.written.lock().unwrap().set_mount(name, None);
            self.changes.lock().unwrap().remove(name);
        }
        for name in diff.added.iter().chain(&diff.changed) {
            let mount = config
                .mounts
                .iter()
                .find(|mount| &mount.name == name)
                .expect("the diff names the file's mounts");
            if let Err(error) = self.check_addable(mount) {
                self.changes
                    .lock()
                    .unwrap()
                    .insert(name.clone(), MountChange::Failed { error });
                continue;
            }
            if !self.start_building(name) {
                continue;
            }
            let site = self.clone();
            let (name, config) = (name.clone(), config.clone());
            let table = newer.mount(&name).cloned();
            tokio::spawn(async move { site.build_and_apply(name, Persist::Written(table), config).await });
        }
        for table in &diff.need_restart {
            tracing::warn!(
                "{table} changed in {}: it applies at the next restart",
                self.file().display()
            );
        }
        tracing::info!(
            added = ?diff.added,
            changed = ?diff.changed,
            removed = ?diff.removed,
            unchanged = diff.unchanged,
            "configuration reloaded"
        );
        Ok(diff)
    }

    /// Whether `mount` can be made live while the site runs.
    fn check_addable(&self, mount: &MountConfig) -> Result<(), String> {
        if mount.sessions && self.sessions.is_none() {
            return Err(
                "sessions: the site started without a mount that has sessions, so none can be added \
                 while it runs; restart the server to add it"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// Marks the mount named `name` as building; false when it already is.
    fn start_building(&self, name: &str) -> bool {
        let mut changes = self.changes.lock().unwrap();
        if matches!(changes.get(name), Some(MountChange::Building { .. })) {
            return false;
        }
        changes.insert(
            name.to_owned(),
            MountChange::Building {
                since: Instant::now(),
                step: "waiting for a build slot",
            },
        );
        true
    }

    /// Stops the mount named `name` taking requests (they get 404), lets
    /// those in flight finish, then frees its instances; removes it from
    /// the site's file.
    pub async fn remove_mount(&self, name: &str) -> Result<(), ControlError> {
        let _editing = self.editing.lock().await;
        if self.mounts().named(name).is_none() {
            return Err(ControlError::NoSuchMount(name.to_owned()));
        }
        let text = self.read_file().map_err(ControlError::Unwritable)?;
        let (text, _) =
            edit::remove_mount(&text, &self.config.site_dir, name).map_err(ControlError::Invalid)?;
        edit::write_atomically(&self.file(), &text)
            .map_err(|e| ControlError::Unwritable(format!("cannot write {}: {e}", self.file().display())))?;
        let removed = self.replace_in_table(name, None);
        self.changes.lock().unwrap().remove(name);
        self.written.lock().unwrap().set_mount(name, None);
        if let Some(removed) = removed {
            retire(removed);
        }
        tracing::info!(mount = name, "removed through the control API");
        Ok(())
    }

    /// The change of the mount named `name` not live yet, if any.
    pub fn change_of(&self, name: &str) -> Option<MountChange> {
        self.changes.lock().unwrap().get(name).cloned()
    }

    /// Every change not live yet, by mount name.
    pub fn changes(&self) -> HashMap<String, MountChange> {
        self.changes.lock().unwrap().clone()
    }

    async fn build_and_apply(self: Arc<Self>, name: String, persist: Persist, config: SiteConfig) {
        let _slot = self
            .build_slots
            .clone()
            .acquire_owned()
            .await
            .expect("the build slots are never closed");
        let started = Instant::now();
        let site = self.clone();
        let building = name.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let mount = config
                .mounts
                .iter()
                .find(|mount| mount.name == building)
                .expect("the edited site has the mount");
            let opening = Opening {
                config: &config,
                sandbox: &site.sandbox,
                cache: &site.cache,
                workers: site.workers,
                locks: StaleLocks::Keep,
            };
            opening.open(mount, &mut |progress| site.note_step(&building, &progress))
        })
        .await
        .unwrap_or_else(|_| Err(StartError::mount(&name, "the build panicked")));
        let applied = match (opened, persist) {
            (Ok(mount), Persist::EditFile(keys)) => self.make_live(&name, &keys, mount).await,
            (Ok(mount), Persist::Written(table)) => {
                if let Some(replaced) = self.replace_in_table(&name, Some(Arc::new(mount))) {
                    retire(replaced);
                }
                self.written.lock().unwrap().set_mount(&name, table);
                Ok(())
            }
            (Err(error), _) => Err(error.to_string()),
        };
        let mut changes = self.changes.lock().unwrap();
        match applied {
            Ok(()) => {
                changes.remove(&name);
                tracing::info!(mount = %name, elapsed = ?started.elapsed(), "live through the control API");
            }
            Err(error) => {
                tracing::error!(mount = %name, "not applied; what served keeps serving: {error}");
                changes.insert(name, MountChange::Failed { error });
            }
        }
    }

    /// Writes the mount into the site's file, then into the table.
    async fn make_live(&self, name: &str, keys: &Map<String, Value>, mount: Mount) -> Result<(), String> {
        let _editing = self.editing.lock().await;
        // The file may have changed while the app was built: the edit is
        // made again on what it holds now.
        let (text, config) = edit::put_mount(&self.read_file()?, &self.config.site_dir, name, keys)?;
        edit::write_atomically(&self.file(), &text)
            .map_err(|e| format!("cannot write {}: {e}", self.file().display()))?;
        if let Some(replaced) = self.replace_in_table(name, Some(Arc::new(mount))) {
            retire(replaced);
        }
        let table = Written::of(&text, &config).mount(name).cloned();
        self.written.lock().unwrap().set_mount(name, table);
        Ok(())
    }

    /// Puts `mount` in the place of the mount named `name` (or last, when
    /// none has that name; or only takes that one out, for `None`). Returns
    /// the mount taken out.
    fn replace_in_table(&self, name: &str, mount: Option<Arc<Mount>>) -> Option<Arc<Mount>> {
        let mut table = self.table.write().unwrap();
        let mut in_order = table.in_order.clone();
        let place = in_order.iter().position(|m| m.name == name);
        let replaced = match (place, mount) {
            (Some(place), Some(mount)) => Some(std::mem::replace(&mut in_order[place], mount)),
            (Some(place), None) => Some(in_order.remove(place)),
            (None, Some(mount)) => {
                in_order.push(mount);
                None
            }
            (None, None) => None,
        };
        *table = Arc::new(MountTable::new(in_order));
        replaced
    }

    fn note_step(&self, name: &str, progress: &Progress) {
        if let Some(MountChange::Building { step, .. }) = self.changes.lock().unwrap().get_mut(name) {
            *step = progress.step();
        }
    }

    /// The site's file.
    pub fn file(&self) -> PathBuf {
        self.config.site_dir.join(CONFIG_FILE)
    }

    fn read_file(&self) -> Result<String, String> {
        std::fs::read_to_string(self.file())
            .map_err(|e| format!("cannot read {}: {e}", self.file().display()))
    }
}

/// Runs the shutdown of a mount's idle instances once it is out of the
/// table; its busy ones finish their requests and go with it.
fn retire(mount: Arc<Mount>) {
    if let MountTarget::App(app) = &mount.target {
        let pool = app.current().pool.clone();
        tokio::spawn(async move { pool.retire().await });
    }
}
