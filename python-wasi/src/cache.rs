//! The on-disk cache of built apps, and [`build_app`], which fills it.
//!
//! Layout under the cache root:
//! ```text
//! wit-<hash>/terrarium.wit          the contract, written out for componentize-py
//! sdk-<hash>/terrarium/*.py         the guest SDK this binary carries
//! runtime-<hash>/{python,world,bundled}
//!                                   the interpreter's stdlib and helpers, copied out
//!                                   of the first build; mounted read-only at run time
//! apps/<key>/app/                   a copy of the app folder as it was hashed (and its
//!                                   bytecode): what the build and the instances see, read-only
//! apps/<key>/boot/                  the generated entry module, and `interface`: what
//!                                   the app speaks (`native`, `wsgi`, `asgi`), written by the build
//! apps/<key>/deps/                  the app's requirements, installed by pip
//! apps/<key>/component.wasm         the pre-initialized component
//! apps/<key>/interface              (an app on a shared interpreter) what it speaks,
//!                                   written once an instance has started it
//! layers/<key>/{boot,deps,app}/     a shared interpreter (see `layers`): its entry
//! layers/<key>/component.wasm       module, its requirements, an empty app folder
//! zoneinfo-<release>/               the IANA time zones as TZif files (`zoneinfo`)
//! tools/                            a pip wheel, when the build machine's pip is too old
//! ```
//! `<key>` hashes everything that goes into a component, so an unchanged app
//! is never rebuilt, and a change anywhere (app, SDK, contract, CPython
//! release, entry) always is. Every entry is written under a temporary name
//! and renamed into place, so a crash never leaves a half-built entry.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

use crate::{
    componentize::{self, BOOT_MODULE},
    contract::{COMPONENTIZE_PY_VERSION, WIT_SOURCE},
    hashing, layers, requirements, sdk, zoneinfo,
};

/// Bump when the cache layout or the build recipe changes.
pub(crate) const FORMAT_VERSION: &str = "terrarium-build-6";

/// Where, inside the build sandbox, the first build copies the runtime folders.
pub(crate) const RUNTIME_EXPORT_GUEST_DIR: &str = "/0/.runtime";
/// Where the app's requirements are seen by the guest (the fourth `python_path` entry).
pub(crate) const DEPS_GUEST_DIR: &str = "/3";
/// Where the time zone database is seen by the guest (the fifth entry).
pub(crate) const ZONEINFO_GUEST_DIR: &str = "/4";
/// Where the app folder is seen by the guest (the third entry).
pub const APP_GUEST_DIR: &str = "/2";
/// A writable alias of the app folder while building only (the sixth
/// entry), through which its bytecode is written.
pub const APP_BYTECODE_ALIAS: &str = "/5";
/// The copy of the app folder in a cache entry: what was hashed, built and
/// is served.
pub(crate) const APP_COPY_DIR: &str = "app";
/// Every folder the sandbox itself shows the guest, by its top-level path:
/// nothing else may be mounted at or below them.
pub const SANDBOX_GUEST_DIRS: &[&str] = &[
    "/python",
    "/world",
    "/bundled",
    "/0",
    "/1",
    APP_GUEST_DIR,
    DEPS_GUEST_DIR,
    ZONEINFO_GUEST_DIR,
];
const RUNTIME_EXPORT_HOST_DIR: &str = ".runtime";
/// The file, in the boot folder while building only, that hands the app's
/// environment to `_guest.boot`: `name=value` entries, each ended by NUL.
const ENV_FILE: &str = "_terrarium_env";
/// The file, in the boot folder, where the build writes the interface the
/// app speaks.
pub(crate) const INTERFACE_FILE: &str = "interface";
/// Where the boot writes what failed, when the app did.
const FAILURE_FILE: &str = "failure";

/// One Python app to build.
#[derive(Debug, Clone)]
pub struct AppSource {
    /// A name for messages ("blog").
    pub name: String,
    /// The app folder.
    pub dir: PathBuf,
    /// `module:attribute` naming the app object, e.g. `app:app`.
    pub entry: String,
    /// Paths (with an optional query) requested with GET at build time,
    /// before the snapshot; see `_guest.warm_up_app` in the SDK.
    pub warm_up: Vec<String>,
    /// `(name, value)` pairs set in `os.environ` before the app is imported.
    /// What the app reads of them while importing is part of its snapshot,
    /// so they are part of the cache key, and the build's folder in the
    /// cache is private to the owner when there are any.
    pub env: Vec<(String, String)>,
    /// Where, inside the app folder, the app's data folder appears at run
    /// time (`data_at = "instance"`): the build shows an empty folder there,
    /// so that an app creating it at start (Flask's instance folder) builds.
    pub data_in_app: Option<String>,
    /// Commands run in the sandbox before the app is imported, each as
    /// `python` would run its words (`manage.py collectstatic --noinput`),
    /// with the app's folder writable: what they write there becomes part
    /// of the app's files, read-only from then on.
    pub build: Vec<String>,
    /// Whether the app is imported into a snapshot of its own, or into each
    /// instance of an interpreter shared with other apps.
    pub snapshot: Snapshot,
}

/// How the state an app's instances start from is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Snapshot {
    /// The app is imported (and warmed up) while it is built, into a
    /// component of its own: instances start with it imported.
    #[default]
    App,
    /// The app's instances come from an interpreter shared by every app
    /// with the same requirements (see [`crate::layers`]); each instance
    /// imports the app when it starts.
    Shared,
}

/// What an instance of a shared interpreter is given to start its app
/// (the contract's `app-start`, but for the environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppStart {
    /// "module:attribute", found in `folder`.
    pub entry: String,
    /// The app's folder, as the guest sees it.
    pub folder: String,
    /// Paths served once each after the import.
    pub warm_up: Vec<String>,
}

/// A step of a build, reported as it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildStep {
    /// The cache already holds this exact build.
    Cached,
    /// pip is installing `requirements.txt`.
    InstallingRequirements,
    /// pip installed them (and some may have lost their native modules).
    RequirementsInstalled(requirements::Installed),
    /// componentize-py is linking CPython and pre-initializing the app.
    Componentizing,
}

/// A folder the instance sees, read-only, at a fixed guest path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestMount {
    /// The absolute path inside the sandbox ("/python").
    pub guest: String,
    /// The folder on the host.
    pub host: PathBuf,
}

/// The result of a build: a component and what it must see at run time.
#[derive(Debug, Clone)]
pub struct BuiltApp {
    /// The content hash that names this build.
    pub key: String,
    /// The pre-initialized component (compiled forms may be stored beside it).
    pub component: PathBuf,
    /// Folders to mount read-only, at the paths they had while building, so
    /// that modules imported lazily inside a handler can be found.
    pub mounts: Vec<GuestMount>,
    /// Whether this call built the component (false: it came from the cache).
    pub built: bool,
    /// The interface the app speaks, as the build found it; none for an app
    /// on a shared interpreter not yet started (see [`crate::layers::record_interface`]).
    pub interface: Option<AppInterface>,
    /// For an app on a shared interpreter: what each instance is to start.
    pub start: Option<AppStart>,
}

/// The interface through which an app is served, found by the build from
/// what its entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppInterface {
    /// A `terrarium.App`.
    Native,
    /// A WSGI application (PEP 3333).
    Wsgi,
    /// An ASGI 3 application.
    Asgi,
}

impl AppInterface {
    /// The name the build wrote for it (`native`, `wsgi`, `asgi`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Wsgi => "wsgi",
            Self::Asgi => "asgi",
        }
    }

    /// The interface named by its name (`native`, `wsgi`, `asgi`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "native" => Some(Self::Native),
            "wsgi" => Some(Self::Wsgi),
            "asgi" => Some(Self::Asgi),
            _ => None,
        }
    }

    /// The interface named in the file `INTERFACE_FILE` of `dir`.
    pub(crate) fn read_from(dir: &Path) -> Result<Self, BuildError> {
        let path = dir.join(INTERFACE_FILE);
        let text = fs::read_to_string(&path).map_err(|source| BuildError::Cache {
            path: path.clone(),
            source,
        })?;
        Self::from_name(text.trim()).ok_or_else(|| BuildError::Cache {
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unknown interface {:?}", text.trim()),
            ),
            path,
        })
    }
}

impl std::fmt::Display for AppInterface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Native => "a native Terrarium app",
            Self::Wsgi => "a WSGI app",
            Self::Asgi => "an ASGI 3 app",
        })
    }
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The app folder is missing or unreadable.
    #[error("app `{app}`: cannot read app folder {}: {source}", dir.display())]
    AppFolder {
        /// The app's name.
        app: String,
        /// The folder.
        dir: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// pip failed.
    #[error("app `{app}`: {message}")]
    Requirements {
        /// The app's name.
        app: String,
        /// pip's explanation.
        message: String,
    },
    /// The app failed to import (or componentize-py failed); `output` holds
    /// the Python traceback.
    #[error("app `{app}` failed to build:\n{output}")]
    Python {
        /// The app's name.
        app: String,
        /// The guest's output and componentize-py's error.
        output: String,
    },
    /// The cache could not be written.
    #[error("build cache {}: {source}", path.display())]
    Cache {
        /// The path involved.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

/// The build cache rooted at one folder.
#[derive(Debug, Clone)]
pub struct BuildCache {
    root: PathBuf,
}

impl BuildCache {
    /// A cache rooted at `root` (created on first use), made absolute from
    /// the current folder: the build runs tools (pip) from other folders.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            root: std::path::absolute(&root).unwrap_or(root),
        }
    }

    /// The cache's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn runtime_dir(&self) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(FORMAT_VERSION);
        hasher.update(COMPONENTIZE_PY_VERSION);
        hasher.update(WIT_SOURCE);
        self.root.join(format!("runtime-{}", short(&hasher.finalize())))
    }

    /// Writes `contents` into a fresh `name-<hash>` folder once, atomically.
    pub(crate) fn ensure_dir(
        &self,
        name: &str,
        write: impl FnOnce(&Path) -> io::Result<()>,
    ) -> Result<PathBuf, BuildError> {
        let dir = self.root.join(name);
        if dir.is_dir() {
            return Ok(dir);
        }
        let cache_err = |source| BuildError::Cache {
            path: dir.clone(),
            source,
        };
        fs::create_dir_all(&self.root).map_err(cache_err)?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempdir_in(&self.root)
            .map_err(cache_err)?;
        write(tmp.path()).map_err(cache_err)?;
        publish(tmp.path(), &dir).map_err(cache_err)?;
        Ok(dir)
    }

    pub(crate) fn sdk_dir(&self) -> Result<PathBuf, BuildError> {
        self.ensure_dir(&format!("sdk-{}", &sdk::digest()[..16]), sdk::write_to)
    }

    pub(crate) fn zoneinfo_dir(&self) -> Result<PathBuf, BuildError> {
        self.ensure_dir(&format!("zoneinfo-{}", zoneinfo::version()), zoneinfo::write_to)
    }

    pub(crate) fn wit_dir(&self) -> Result<PathBuf, BuildError> {
        let digest = hashing::hex(&Sha256::digest(WIT_SOURCE));
        self.ensure_dir(&format!("wit-{}", &digest[..16]), |dir| {
            fs::write(dir.join("terrarium.wit"), WIT_SOURCE)
        })
    }
}

pub(crate) fn short(digest: &[u8]) -> String {
    hashing::hex(&digest[..8])
}

/// Renames `from` to `to`; when another process won the race, keeps theirs.
pub(crate) fn publish(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(_) if to.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// The cache key of `source`: everything that goes into its component.
pub fn cache_key(source: &AppSource) -> Result<String, BuildError> {
    let mut hasher = Sha256::new();
    for part in [
        FORMAT_VERSION,
        COMPONENTIZE_PY_VERSION,
        WIT_SOURCE,
        sdk::digest(),
        zoneinfo::version(),
        &source.entry,
    ]
    .into_iter()
    .chain(source.warm_up.iter().map(String::as_str))
    .chain(
        source
            .data_in_app
            .iter()
            .flat_map(|path| ["data-in-app", path.as_str()]),
    )
    .chain(
        source
            .build
            .iter()
            .flat_map(|command| ["build", command.as_str()]),
    )
    .chain(
        source
            .env
            .iter()
            .flat_map(|(name, value)| [name.as_str(), value.as_str()]),
    ) {
        hashing::update_part(&mut hasher, part);
    }
    hashing::hash_dir(&mut hasher, &source.dir).map_err(|e| BuildError::app_folder(source, e))?;
    Ok(hashing::hex(&hasher.finalize()[..20]))
}

/// Builds `source` into a component, or finds it in `cache`; for an app on
/// a shared interpreter, builds (or finds) that interpreter, and keeps a
/// copy of the app's folder.
///
/// `progress` hears each step as it starts. Blocks for as long as the build
/// takes (seconds); call it from a blocking thread, not an async task.
pub fn build_app(
    source: &AppSource,
    cache: &BuildCache,
    progress: &mut dyn FnMut(BuildStep),
) -> Result<BuiltApp, BuildError> {
    match source.snapshot {
        Snapshot::App => build_own_snapshot(source, cache, progress),
        Snapshot::Shared => layers::build_on_shared(source, cache, progress),
    }
}

/// Builds `source` into a component of its own, the app imported in its snapshot.
fn build_own_snapshot(
    source: &AppSource,
    cache: &BuildCache,
    progress: &mut dyn FnMut(BuildStep),
) -> Result<BuiltApp, BuildError> {
    let app_dir = source
        .dir
        .canonicalize()
        .map_err(|e| BuildError::app_folder(source, e))?;
    let key = cache_key(source)?;
    let sdk_dir = cache.sdk_dir()?;
    let zoneinfo_dir = cache.zoneinfo_dir()?;
    let runtime_dir = cache.runtime_dir();
    let entry_dir = cache.root.join("apps").join(&key);
    let component = entry_dir.join("component.wasm");
    let mounts = guest_mounts(&runtime_dir, &entry_dir, &sdk_dir, &zoneinfo_dir);

    if component.is_file() && runtime_dir.is_dir() {
        progress(BuildStep::Cached);
        return Ok(BuiltApp {
            key,
            component,
            mounts,
            built: false,
            interface: Some(AppInterface::read_from(&entry_dir.join("boot"))?),
            start: None,
        });
    }

    let tmp = staging_dir(&cache.root.join("apps"))?;
    let boot_dir = tmp.path().join("boot");
    let deps_dir = tmp.path().join("deps");
    let app_copy = tmp.path().join(APP_COPY_DIR);
    copy_app_folder(source, &app_dir, &app_copy)?;
    fs::create_dir_all(&boot_dir).map_err(cache_err(&boot_dir))?;
    fs::create_dir_all(&deps_dir).map_err(cache_err(&deps_dir))?;
    install_requirements(source, &app_copy, &deps_dir, cache, progress)?;

    let export_runtime = !runtime_dir.is_dir();
    let env_file = boot_dir.join(ENV_FILE);
    if !source.env.is_empty() {
        private_to_owner(tmp.path()).map_err(cache_err(tmp.path()))?;
        let entries: String = source
            .env
            .iter()
            .map(|(name, value)| format!("{name}={value}\0"))
            .collect();
        fs::write(&env_file, entries).map_err(cache_err(&env_file))?;
    }
    let boot_source = componentize::boot_module_source(&componentize::Boot {
        entry: &source.entry,
        export_runtime_to: export_runtime.then_some(RUNTIME_EXPORT_GUEST_DIR),
        env_file: (!source.env.is_empty()).then(|| format!("/0/{ENV_FILE}")),
        tzpath: ZONEINFO_GUEST_DIR,
        precompile: &[DEPS_GUEST_DIR],
        app_bytecode: (APP_BYTECODE_ALIAS, APP_GUEST_DIR),
        warm_up: &source.warm_up,
        build: &source.build,
        interface_file: &format!("/0/{INTERFACE_FILE}"),
        failure_file: &format!("/0/{FAILURE_FILE}"),
    });
    let boot_file = boot_dir.join(format!("{BOOT_MODULE}.py"));
    fs::write(&boot_file, boot_source).map_err(cache_err(&boot_file))?;

    progress(BuildStep::Componentizing);
    let wit_dir = cache.wit_dir()?;
    let tmp_component = tmp.path().join("component.wasm");
    let componentized = componentize::componentize(
        &wit_dir,
        &[
            &boot_dir,
            &sdk_dir,
            &app_copy,
            &deps_dir,
            &zoneinfo_dir,
            &app_copy,
        ],
        &tmp_component,
    )
    .map_err(|output| BuildError::Python {
        app: source.name.clone(),
        output: match fs::read_to_string(boot_dir.join(FAILURE_FILE)) {
            Ok(report) => componentize::app_failure(&output, &report),
            Err(_) => output,
        },
    });
    // The values live on only in the snapshot, never in a file beside it.
    let _ = fs::remove_file(&env_file);
    componentized?;

    if export_runtime {
        publish_exported_runtime(&boot_dir, &runtime_dir)?;
    }
    let interface = AppInterface::read_from(&boot_dir)?;
    publish(tmp.path(), &entry_dir).map_err(cache_err(&entry_dir))?;
    Ok(BuiltApp {
        key,
        component,
        mounts,
        built: true,
        interface: Some(interface),
        start: None,
    })
}

impl BuildError {
    /// The app folder of `source` could not be read.
    pub(crate) fn app_folder(source: &AppSource, error: io::Error) -> Self {
        Self::AppFolder {
            app: source.name.clone(),
            dir: source.dir.clone(),
            source: error,
        }
    }
}

/// Turns an I/O error on `path`, in the cache, into a [`BuildError`].
pub(crate) fn cache_err(path: &Path) -> impl FnOnce(io::Error) -> BuildError + use<> {
    let path = path.to_owned();
    move |source| BuildError::Cache { path, source }
}

/// A fresh temporary folder inside `parent` (created if missing), where an
/// entry is written before it is published under its name.
pub(crate) fn staging_dir(parent: &Path) -> Result<tempfile::TempDir, BuildError> {
    fs::create_dir_all(parent).map_err(cache_err(parent))?;
    tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(parent)
        .map_err(cache_err(parent))
}

/// Copies the files of the app folder `app_dir` that its key hashed into
/// `to`, with the empty folder its data folder shows in, if any.
pub(crate) fn copy_app_folder(source: &AppSource, app_dir: &Path, to: &Path) -> Result<(), BuildError> {
    hashing::copy_hashed_files(app_dir, to)
        .and_then(|()| match &source.data_in_app {
            Some(path) => fs::create_dir_all(to.join(path)),
            None => Ok(()),
        })
        .map_err(|e| BuildError::app_folder(source, e))
}

/// Installs `folder/requirements.txt`, when there is one, into `deps_dir`,
/// telling `progress` as it goes.
pub(crate) fn install_requirements(
    source: &AppSource,
    folder: &Path,
    deps_dir: &Path,
    cache: &BuildCache,
    progress: &mut dyn FnMut(BuildStep),
) -> Result<(), BuildError> {
    if !folder.join(requirements::REQUIREMENTS_FILE).is_file() {
        return Ok(());
    }
    progress(BuildStep::InstallingRequirements);
    let installed =
        requirements::install(folder, deps_dir, &cache.root.join("tools")).map_err(|message| {
            BuildError::Requirements {
                app: source.name.clone(),
                message,
            }
        })?;
    progress(BuildStep::RequirementsInstalled(installed));
    Ok(())
}

/// Moves the runtime the first build copied into `boot_dir` to its place
/// in the cache, `runtime_dir`.
pub(crate) fn publish_exported_runtime(boot_dir: &Path, runtime_dir: &Path) -> Result<(), BuildError> {
    let exported = boot_dir.join(RUNTIME_EXPORT_HOST_DIR);
    publish(&exported, runtime_dir).map_err(cache_err(runtime_dir))?;
    let _ = fs::remove_dir_all(&exported);
    Ok(())
}

/// Makes `dir` readable by its owner only (Unix; elsewhere nothing to do).
pub(crate) fn private_to_owner(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The read-only folders an instance sees, at the guest paths the build used
/// (componentize-py mounts `python_path` entries as `/0`, `/1`, …).
pub(crate) fn guest_mounts(runtime: &Path, entry: &Path, sdk: &Path, zoneinfo: &Path) -> Vec<GuestMount> {
    let mount = |guest: &str, host: PathBuf| GuestMount {
        guest: guest.to_owned(),
        host,
    };
    vec![
        mount("/python", runtime.join("python")),
        mount("/world", runtime.join("world")),
        mount("/bundled", runtime.join("bundled")),
        mount("/0", entry.join("boot")),
        mount("/1", sdk.to_owned()),
        mount(APP_GUEST_DIR, entry.join(APP_COPY_DIR)),
        mount(DEPS_GUEST_DIR, entry.join("deps")),
        mount(ZONEINFO_GUEST_DIR, zoneinfo.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(dir: &Path, entry: &str) -> AppSource {
        AppSource {
            name: "t".into(),
            dir: dir.to_owned(),
            entry: entry.into(),
            warm_up: Vec::new(),
            env: Vec::new(),
            data_in_app: None,
            build: Vec::new(),
            snapshot: Snapshot::App,
        }
    }

    #[test]
    fn a_relative_root_is_made_absolute_from_the_current_folder() {
        // pip runs from the app's copy, and is given the cache's tools/ by path.
        let cache = BuildCache::new(".terrarium/cache");
        assert_eq!(
            cache.root(),
            std::env::current_dir().unwrap().join(".terrarium/cache")
        );
    }

    #[test]
    fn key_depends_on_every_name_and_value_of_the_env() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("app.py"), "app = 1\n").unwrap();
        let with = |env: &[(&str, &str)]| {
            let mut source = source(dir.path(), "app:app");
            source.env = env.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
            cache_key(&source).unwrap()
        };
        let keys = [
            with(&[]),
            with(&[("A", "1")]),
            with(&[("A", "2")]),
            with(&[("B", "1")]),
            with(&[("A", "1"), ("B", "")]),
            with(&[("A", "1B")]),
        ];
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:?}");
    }

    #[test]
    fn key_depends_on_entry_and_content_not_on_location() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        fs::write(a.path().join("app.py"), "app = 1\n").unwrap();
        fs::write(b.path().join("app.py"), "app = 1\n").unwrap();
        let key_a = cache_key(&source(a.path(), "app:app")).unwrap();
        assert_eq!(key_a, cache_key(&source(b.path(), "app:app")).unwrap());
        assert_ne!(key_a, cache_key(&source(a.path(), "app:other")).unwrap());
        fs::write(b.path().join("app.py"), "app = 2\n").unwrap();
        assert_ne!(key_a, cache_key(&source(b.path(), "app:app")).unwrap());
    }

    #[test]
    fn key_depends_on_where_the_data_folder_shows_in_the_app() {
        let dir = tempfile::tempdir().unwrap();
        let mut source = source(dir.path(), "app:app");
        let without = cache_key(&source).unwrap();
        source.data_in_app = Some("instance".into());
        assert_ne!(cache_key(&source).unwrap(), without);
    }

    #[test]
    fn key_depends_on_the_build_commands() {
        let dir = tempfile::tempdir().unwrap();
        let mut source = source(dir.path(), "app:app");
        let without = cache_key(&source).unwrap();
        source.build = vec!["manage.py collectstatic --noinput".into()];
        assert_ne!(cache_key(&source).unwrap(), without);
    }

    #[test]
    fn key_depends_on_the_warm_up_paths() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("app.py"), "app = 1\n").unwrap();
        let with = |paths: &[&str]| {
            let mut source = source(dir.path(), "app:app");
            source.warm_up = paths.iter().map(|p| p.to_string()).collect();
            cache_key(&source).unwrap()
        };
        let keys = [
            with(&[]),
            with(&["/"]),
            with(&["/a", "/b"]),
            with(&["/a/b"]),
            with(&["/b", "/a"]),
        ];
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:?}");
        assert_eq!(keys[2], with(&["/a", "/b"]));
    }

    #[test]
    fn missing_app_folder_names_the_app() {
        let cache = tempfile::tempdir().unwrap();
        let err = build_app(
            &source(Path::new("/definitely/not/here"), "app:app"),
            &BuildCache::new(cache.path()),
            &mut |_| {},
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("app `t`") && message.contains("/definitely/not/here"),
            "{message}"
        );
    }

    #[test]
    fn boot_module_names_the_entry() {
        let warm_up = ["/".to_owned(), "/a?b=\"c\"".to_owned()];
        let text = componentize::boot_module_source(&componentize::Boot {
            entry: "site.main:application",
            export_runtime_to: None,
            env_file: Some("/0/_terrarium_env".to_owned()),
            tzpath: "/4",
            precompile: &["/3"],
            app_bytecode: ("/5", "/2"),
            warm_up: &warm_up,
            build: &["manage.py collectstatic --noinput".to_owned()],
            interface_file: "/0/interface",
            failure_file: "/0/failure",
        });
        assert!(
            text.contains(
                "_guest.boot(\"site.main:application\", export_runtime_to=None, \
                 env_file=\"/0/_terrarium_env\", tzpath=\"/4\", precompile=[\"/3\"], \
                 app_bytecode=(\"/5\", \"/2\"), warm_up=[\"/\", \"/a?b=\\\"c\\\"\"], \
                 build=[\"manage.py collectstatic --noinput\"], interface_file=\"/0/interface\", failure_file=\"/0/failure\")"
            ),
            "{text}"
        );
        assert!(text.contains("Handler = _guest.Handler"));
    }

    #[test]
    fn an_app_failure_keeps_what_the_app_printed_and_the_tidy_traceback() {
        let report =
            "ValueError: no\nTraceback (most recent call last):\n  File \"app.py\", line 1\nValueError: no\n";
        let boot_traceback = "Traceback (most recent call last):\n  File \"/0/_terrarium_main.py\", line 3\n  \
             File \"/1/terrarium/_guest.py\"\nValueError: no\n: ValueError: no";
        let cases = [
            (
                format!("starting up\n{boot_traceback}"),
                format!("starting up\n{report}"),
            ),
            (boot_traceback.to_owned(), report.to_owned()),
            (
                "some other output".to_owned(),
                format!("some other output\n{report}"),
            ),
        ];
        for (output, expected) in cases {
            assert_eq!(
                componentize::app_failure(&output, report),
                expected.trim_end(),
                "{output}"
            );
        }
    }
}
