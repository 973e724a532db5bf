//! `terrarium serve --watch`: an app is rebuilt when a file of its folder
//! changes, and the site's `terrarium.toml` is applied when it changes, as
//! `terrarium app reload` and `SIGHUP` do: the new version is swapped in
//! once built, and a failed build keeps the old version serving (its error,
//! the app's traceback, is logged once). Changes are gathered for
//! [`SETTLE`] before anything is rebuilt, so a save that writes several
//! files rebuilds once. Editors' temporary files, `__pycache__`, the build
//! cache and the apps' data folders are ignored ([`is_noise`]).

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::{
    config::CONFIG_FILE,
    site::{MountTarget, Site},
};

/// How long changes are gathered after the first before acting on them.
pub const SETTLE: Duration = Duration::from_millis(300);

/// Starts watching `site`'s file and its apps' folders; the task ends with
/// the returned handle's abort (or when the site is gone).
pub fn spawn(site: Arc<Site>) -> notify::Result<tokio::task::JoinHandle<()>> {
    let (changes, mut changed) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        ) {
            for path in event.paths {
                let _ = changes.send(path);
            }
        }
    })?;
    // The site's folder, not its file: editors save by replacing the file.
    watcher.watch(&site.config.site_dir, RecursiveMode::NonRecursive)?;
    let mut watched = BTreeSet::new();
    watch_new_apps(&site, &mut watcher, &mut watched);
    Ok(tokio::spawn(async move {
        while let Some(first) = changed.recv().await {
            let mut paths = vec![first];
            tokio::time::sleep(SETTLE).await;
            while let Ok(path) = changed.try_recv() {
                paths.push(path);
            }
            apply(&site, &paths).await;
            watch_new_apps(&site, &mut watcher, &mut watched);
        }
    }))
}

/// Reloads the file if it changed, and each app whose folder holds a
/// changed file (unless it was just built from the file's change).
async fn apply(site: &Arc<Site>, paths: &[PathBuf]) {
    let config_file = site.file();
    let mut rebuilt = BTreeSet::new();
    if paths.contains(&config_file) {
        match site.reload_config().await {
            Ok(diff) => rebuilt.extend(diff.added.into_iter().chain(diff.changed)),
            Err(error) => tracing::error!("watch: {CONFIG_FILE} was not applied: {error}"),
        }
    }
    let folders = app_folders(site);
    for name in touched(paths, &folders) {
        if rebuilt.contains(&name) {
            continue;
        }
        tracing::info!(mount = %name, "watch: a file changed, rebuilding");
        // A failure is logged by the reload itself, with the build's output.
        if site.reload(&name).await.is_ok() {
            tracing::info!(mount = %name, "watch: rebuilt and swapped in");
        }
    }
}

/// Each app mount's folder and data folder (whose changes are the app's
/// own writes, not edits), by mount name.
fn app_folders(site: &Site) -> Vec<AppFolders> {
    site.mounts()
        .in_order
        .iter()
        .filter_map(|mount| match &mount.target {
            MountTarget::App(app) => Some(AppFolders {
                name: mount.name.clone(),
                folder: app.settings.folder.clone(),
                data: app.settings.storage.data.as_ref().map(|data| data.folder.clone()),
            }),
            MountTarget::Static(_) => None,
        })
        .collect()
}

fn watch_new_apps(site: &Site, watcher: &mut RecommendedWatcher, watched: &mut BTreeSet<PathBuf>) {
    for app in app_folders(site) {
        if watched.insert(app.folder.clone())
            && let Err(error) = watcher.watch(&app.folder, RecursiveMode::Recursive)
        {
            tracing::warn!(mount = %app.name, "watch: cannot watch {}: {error}", app.folder.display());
        }
    }
}

/// An app's folders, as the watch sees them.
#[derive(Debug, Clone)]
struct AppFolders {
    name: String,
    folder: PathBuf,
    data: Option<PathBuf>,
}

/// The apps whose code one of `paths` is, in mount order.
fn touched(paths: &[PathBuf], apps: &[AppFolders]) -> Vec<String> {
    apps.iter()
        .filter(|app| {
            paths.iter().any(|path| {
                path.starts_with(&app.folder)
                    && !app.data.as_ref().is_some_and(|data| path.starts_with(data))
                    && !is_noise(path.strip_prefix(&app.folder).unwrap_or(path))
            })
        })
        .map(|app| app.name.clone())
        .collect()
}

/// Whether a change at `path` (inside an app's folder) is not an edit of
/// the app: bytecode, the build cache, version control, editors' swap,
/// backup and temporary files.
pub fn is_noise(path: &Path) -> bool {
    let noisy_folder = path.components().any(|part| {
        matches!(
            part.as_os_str().to_str(),
            Some("__pycache__" | ".terrarium" | ".git" | ".hg" | ".idea" | ".vscode" | "node_modules")
        )
    });
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
    noisy_folder
        || name.starts_with(".#")
        || name.starts_with('#')
        || name.ends_with('~')
        || [".swp", ".swx", ".swo", ".tmp", ".pyc"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
        || name == "4913"
        || name == ".DS_Store"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_count_and_editors_noise_does_not() {
        let cases = [
            ("app.py", false),
            ("templates/index.html", false),
            ("requirements.txt", false),
            ("pkg/__pycache__/mod.cpython-314.pyc", true),
            (".app.py.swp", true),
            ("app.py~", true),
            (".#app.py", true),
            ("#app.py#", true),
            ("4913", true),
            (".terrarium/cache/x", true),
            (".git/index", true),
            ("notes.tmp", true),
        ];
        for (path, noise) in cases {
            assert_eq!(is_noise(Path::new(path)), noise, "{path}");
        }
    }

    #[test]
    fn a_change_touches_the_app_whose_code_it_is() {
        let apps = [
            AppFolders {
                name: "blog".into(),
                folder: "/site/apps/blog".into(),
                data: Some("/site/apps/blog/instance".into()),
            },
            AppFolders {
                name: "shop".into(),
                folder: "/site/apps/shop".into(),
                data: None,
            },
        ];
        let cases: [(&[&str], &[&str]); 5] = [
            (&["/site/apps/blog/app.py"], &["blog"]),
            (&["/site/apps/blog/instance/blog.sqlite"], &[]),
            (
                &[
                    "/site/apps/shop/__pycache__/app.pyc",
                    "/site/apps/shop/.app.py.swp",
                ],
                &[],
            ),
            (
                &["/site/apps/shop/app.py", "/site/apps/blog/x.py"],
                &["blog", "shop"],
            ),
            (&["/site/apps/blogger/app.py"], &[]),
        ];
        for (paths, expected) in cases {
            let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
            assert_eq!(touched(&paths, &apps), expected, "{paths:?}");
        }
    }
}
