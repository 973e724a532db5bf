//! What an app may write: `data`, `data_at`, `data_quota` (a folder shared
//! by its instances and kept) and `tmp` (scratch space private to one
//! instance). Every writable folder has a quota; nothing else is writable.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use super::{MountConfig, MountKind, checked_string};
use crate::units::ByteSize;

/// Where the data folder appears in the sandbox when `data_at` is not set.
pub const DEFAULT_DATA_AT: &str = "/data";
/// The data folder's quota when `data_quota` is not set.
pub const DEFAULT_DATA_QUOTA: u64 = 1 << 30;
/// The smallest quota accepted for `data_quota` and `tmp`.
pub const MIN_QUOTA: u64 = 64 << 10;
/// Where `tmp` appears in the sandbox (and what `TMPDIR` says).
pub const TMP_AT: &str = "/tmp";

/// An app's writable folders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppStorage {
    /// `data = "var/blog"`: a host folder the app reads and writes.
    pub data: Option<DataFolder>,
    /// `tmp = "64MiB"`: the quota of a private `/tmp` per instance.
    pub tmp: Option<ByteSize>,
}

/// `data`, `data_at` and `data_quota` together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFolder {
    /// The host folder (absolute; created at start when missing).
    pub folder: PathBuf,
    /// Where the app sees it.
    pub at: DataAt,
    /// The most it may hold.
    pub quota: ByteSize,
}

/// Where the data folder appears in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataAt {
    /// An absolute path of its own ("/data").
    Sandbox(String),
    /// A folder inside the app folder ("instance" for Flask's instance folder).
    InApp(String),
}

checked_string! {
    /// `data_at`: an absolute sandbox path ("/data") or a relative one,
    /// inside the app folder ("instance"); plain segments only.
    pub DataAtPath, check_data_at, "a path such as \"/data\" or \"instance\""
}

impl DataAtPath {
    fn resolve(self) -> DataAt {
        match self.0.strip_prefix('/') {
            Some(_) => DataAt::Sandbox(self.0),
            None => DataAt::InApp(self.0),
        }
    }
}

fn check_data_at(path: &str) -> Result<(), String> {
    let relative = path.strip_prefix('/').unwrap_or(path);
    if relative.is_empty() {
        return Err(format!("{path:?} must name a folder below the root"));
    }
    if relative
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(format!(
            "{path:?} must be plain folder names separated by '/' (no empty, '.' or '..' segments)"
        ));
    }
    if path.starts_with('/') {
        let top = format!("/{}", relative.split('/').next().unwrap_or_default());
        if terrarium_python_wasi::SANDBOX_GUEST_DIRS.contains(&top.as_str()) || top == TMP_AT {
            return Err(format!(
                "{path:?} is inside {top}, which the sandbox uses itself; for a folder inside the app write it relative (\"instance\")"
            ));
        }
    }
    Ok(())
}

/// A quota of at least [`MIN_QUOTA`].
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "ByteSize")]
pub(super) struct Quota(ByteSize);

impl TryFrom<ByteSize> for Quota {
    type Error = String;

    fn try_from(size: ByteSize) -> Result<Self, String> {
        if size.0 < MIN_QUOTA {
            return Err(format!("{size} is too small; at least {}", ByteSize(MIN_QUOTA)));
        }
        Ok(Self(size))
    }
}

/// The storage keys of one `[[mount]]` as written.
#[derive(Debug, Default)]
pub(super) struct RawStorage {
    pub(super) data: Option<PathBuf>,
    pub(super) data_at: Option<DataAtPath>,
    pub(super) data_quota: Option<Quota>,
    pub(super) tmp: Option<Quota>,
}

impl RawStorage {
    /// The keys that are set, by name (static mounts may set none).
    pub(super) fn set_keys(&self) -> impl Iterator<Item = &'static str> {
        [
            ("data", self.data.is_some()),
            ("data_at", self.data_at.is_some()),
            ("data_quota", self.data_quota.is_some()),
            ("tmp", self.tmp.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
    }

    /// Checks them against the app folder; `key` names a key in errors.
    pub(super) fn resolve(
        self,
        key: impl Fn(&str) -> String,
        site_dir: &Path,
        app_folder: &Path,
    ) -> Result<AppStorage, String> {
        let tmp = self.tmp.map(|quota| quota.0);
        let Some(folder) = self.data else {
            if let Some(orphan) = self.set_keys().find(|k| k.starts_with("data_")) {
                return Err(format!("{}: set `data` (the host folder) too", key(orphan)));
            }
            return Ok(AppStorage { data: None, tmp });
        };
        if folder.as_os_str().is_empty() {
            return Err(format!("{}: must name a folder", key("data")));
        }
        let folder = normalized(&site_dir.join(folder));
        let app_folder = normalized(app_folder);
        if folder.starts_with(&app_folder) || app_folder.starts_with(&folder) {
            return Err(format!(
                "{}: {} overlaps the app folder {}; keep data apart from the code (the build hashes the app folder), and use `data_at` to show it inside the app",
                key("data"),
                folder.display(),
                app_folder.display()
            ));
        }
        if folder.exists() && !folder.is_dir() {
            return Err(format!("{}: {} is not a folder", key("data"), folder.display()));
        }
        Ok(AppStorage {
            data: Some(DataFolder {
                folder,
                at: self.data_at.map_or_else(
                    || DataAt::Sandbox(DEFAULT_DATA_AT.to_owned()),
                    DataAtPath::resolve,
                ),
                quota: self
                    .data_quota
                    .map_or(ByteSize(DEFAULT_DATA_QUOTA), |quota| quota.0),
            }),
            tmp,
        })
    }
}

/// Refuses a data folder that overlaps another mount's data folder, or any
/// mount's app or static folder: no app may write what another reads.
pub(super) fn check_data_folders_apart(mounts: &[MountConfig]) -> Result<(), String> {
    let folders: Vec<(usize, &str, PathBuf)> = mounts
        .iter()
        .enumerate()
        .flat_map(|(index, mount)| {
            let (kind, folder, data) = match &mount.kind {
                MountKind::App(app) => ("app", &app.folder, app.storage.data.as_ref()),
                MountKind::Static(files) => ("static", &files.folder, None),
            };
            std::iter::once((index, kind, normalized(folder)))
                .chain(data.map(|data| (index, "data", data.folder.clone())))
        })
        .collect();
    for (position, (index, kind, folder)) in folders.iter().enumerate() {
        if *kind != "data" {
            continue;
        }
        let clash = folders
            .iter()
            .enumerate()
            .find(|(other_position, (_, _, other_folder))| {
                *other_position != position
                    && (folder.starts_with(other_folder) || other_folder.starts_with(folder))
            });
        if let Some((_, (other, other_kind, other_folder))) = clash {
            return Err(format!(
                "mount[{index}].data (path {:?}): {} overlaps the {other_kind} folder {} of mount[{other}]; each app's data folder is its own",
                mounts[*index].path.as_str(),
                folder.display(),
                other_folder.display()
            ));
        }
    }
    Ok(())
}

/// `path` made absolute, with `.` and `..` taken out without touching the
/// disk (the folder may not exist yet).
pub(super) fn normalized(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_at_is_a_plain_path_outside_the_sandboxs_own_folders() {
        let cases: &[(&str, Result<DataAt, &str>)] = &[
            ("/data", Ok(DataAt::Sandbox("/data".into()))),
            ("/srv/blog", Ok(DataAt::Sandbox("/srv/blog".into()))),
            ("instance", Ok(DataAt::InApp("instance".into()))),
            ("var/db", Ok(DataAt::InApp("var/db".into()))),
            ("/", Err("below the root")),
            ("", Err("below the root")),
            ("/data/", Err("plain folder names")),
            ("../up", Err("plain folder names")),
            ("a//b", Err("plain folder names")),
            ("/2/instance", Err("inside /2, which the sandbox uses itself")),
            ("/python/x", Err("inside /python")),
            ("/tmp", Err("inside /tmp")),
        ];
        for (text, expected) in cases {
            let got = text.parse::<DataAtPath>().map(DataAtPath::resolve);
            match (&got, expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{text:?}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{text:?}: {got}"),
                _ => panic!("{text:?}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn the_data_folder_stays_apart_from_the_app_folder() {
        let site = tempfile::tempdir().unwrap();
        let app = site.path().join("apps/blog");
        std::fs::create_dir_all(&app).unwrap();
        let key = |k: &str| format!("mount[0].{k}");
        let resolve = |data: &str| {
            RawStorage {
                data: Some(data.into()),
                ..RawStorage::default()
            }
            .resolve(key, site.path(), &app)
        };
        let ok = resolve("var/blog").unwrap().data.unwrap();
        assert_eq!(ok.folder, normalized(&site.path().join("var/blog")));
        assert_eq!(ok.at, DataAt::Sandbox("/data".into()));
        assert_eq!(ok.quota, ByteSize(DEFAULT_DATA_QUOTA));
        for inside in ["apps/blog/instance", "apps/blog", "apps", "apps/x/../blog/db"] {
            let error = resolve(inside).unwrap_err();
            assert!(error.contains("overlaps the app folder"), "{inside}: {error}");
        }
    }

    #[test]
    fn data_keys_without_a_folder_are_refused() {
        let raw = RawStorage {
            data_quota: Some(Quota(ByteSize(MIN_QUOTA))),
            ..RawStorage::default()
        };
        let error = raw
            .resolve(|k| format!("mount[0].{k}"), Path::new("/s"), Path::new("/s/app"))
            .unwrap_err();
        assert_eq!(error, "mount[0].data_quota: set `data` (the host folder) too");
    }
}
