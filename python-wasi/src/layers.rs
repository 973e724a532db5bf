//! Apps on a shared interpreter (`snapshot = "shared"`).
//!
//! An app built into a snapshot of its own carries a whole pre-initialized
//! CPython: 20 MB of component and, compiled, 46 MB of native code and
//! memory image, nothing of it shared with another app. Here the
//! interpreter is built once per set of requirements (a *layer*): CPython,
//! the SDK and the requirements' packages, imported and snapshotted, with
//! no app in it. Every app with the same requirements (none, or the same
//! `requirements.txt`) runs on the same layer: its component is compiled
//! once and mapped once, whatever the number of apps. What an app adds is
//! a copy of its folder, imported by each instance as it starts (the
//! contract's `handler.start`).
//!
//! A layer's key hashes what goes into it: the contract, the SDK, the
//! CPython release, the time zone release and the requirements' text (and
//! the app's whole folder when that text names local files, which then
//! differ between apps). An app's key hashes its layer's key, its entry,
//! its warm-up paths and its folder; its environment is not part of it,
//! since it is given to each instance, never built in.

use std::{
    collections::BTreeMap,
    fs, io,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use sha2::{Digest, Sha256};

use crate::{
    cache::{
        self, APP_COPY_DIR, APP_GUEST_DIR, AppInterface, AppSource, AppStart, BuildCache, BuildError,
        BuildStep, BuiltApp, DEPS_GUEST_DIR, FORMAT_VERSION, INTERFACE_FILE, RUNTIME_EXPORT_GUEST_DIR,
        ZONEINFO_GUEST_DIR, cache_err,
    },
    componentize::{self, BOOT_MODULE},
    contract::{COMPONENTIZE_PY_VERSION, WIT_SOURCE},
    hashing, immortal, requirements, sdk, zoneinfo,
};

/// Builds (or finds) the layer `source` runs on and keeps a copy of its
/// folder; the app itself is imported by each instance.
pub(crate) fn build_on_shared(
    source: &AppSource,
    cache: &BuildCache,
    progress: &mut dyn FnMut(BuildStep),
) -> Result<BuiltApp, BuildError> {
    if !source.build.is_empty() {
        return Err(BuildError::Python {
            app: source.name.clone(),
            output: "build commands need the app's own snapshot (snapshot = \"app\"): \
                     what they write is built into it"
                .to_owned(),
        });
    }
    let folder_error = |e| BuildError::app_folder(source, e);
    let app_dir = source.dir.canonicalize().map_err(folder_error)?;
    let requirements = read_requirements(&app_dir).map_err(folder_error)?;
    let layer_key =
        layer_key(&runtime_identity(), requirements.as_deref(), &app_dir).map_err(folder_error)?;
    let key = app_key(source, &layer_key)?;
    let layer = build_layer(source, cache, &layer_key, &app_dir, progress)?;
    let entry_dir = cache.root().join("apps").join(&key);
    let built = !entry_dir.is_dir();
    if built {
        let tmp = cache::staging_dir(&cache.root().join("apps"))?;
        cache::copy_app_folder(source, &app_dir, &tmp.path().join(APP_COPY_DIR))?;
        cache::publish(tmp.path(), &entry_dir).map_err(cache_err(&entry_dir))?;
    } else {
        progress(BuildStep::Cached);
    }
    let mut mounts = layer.mounts;
    for mount in &mut mounts {
        if mount.guest == APP_GUEST_DIR {
            mount.host = entry_dir.join(APP_COPY_DIR);
        }
    }
    Ok(BuiltApp {
        key,
        component: layer.component,
        mounts,
        built: built || layer.built,
        interface: AppInterface::read_from(&entry_dir).ok(),
        start: Some(AppStart {
            entry: source.entry.clone(),
            folder: APP_GUEST_DIR.to_owned(),
            warm_up: source.warm_up.clone(),
        }),
    })
}

/// Notes, in the cache, the interface the app of `built` speaks (found by
/// the first instance that started it), so later starts need not ask.
pub fn record_interface(cache: &BuildCache, built: &BuiltApp, interface: AppInterface) -> io::Result<()> {
    let entry_dir = cache.root().join("apps").join(&built.key);
    let tmp = entry_dir.join(format!(".{INTERFACE_FILE}-{}", std::process::id()));
    fs::write(&tmp, interface.as_str())?;
    fs::rename(&tmp, entry_dir.join(INTERFACE_FILE))
}

/// A layer, built or found.
struct Layer {
    component: PathBuf,
    mounts: Vec<cache::GuestMount>,
    built: bool,
}

/// The text of the app's `requirements.txt`, if it has one.
fn read_requirements(app_dir: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(app_dir.join(requirements::REQUIREMENTS_FILE)) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The requirements as compared between apps: their lines, trimmed,
/// without comments and blank lines, in order.
fn normalized_requirements(text: &str) -> Vec<&str> {
    text.lines()
        .map(|line| line.split(" #").next().unwrap_or("").trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// Whether a requirement line names something in the app's own folder (a
/// path, an editable install, another requirements file): then two apps'
/// identical lines may name different things.
fn names_local_files(line: &str) -> bool {
    line.starts_with(['.', '/', '-'])
        || line.starts_with("file:")
        || (line.contains('/') && !line.contains("://"))
}

/// What a layer is made of besides the requirements: the recipe, CPython,
/// the contract, the SDK, the time zones. A Terrarium upgrade that changes
/// any of them gives every layer (and so every app on one) a new key.
fn runtime_identity() -> Vec<String> {
    [
        FORMAT_VERSION,
        COMPONENTIZE_PY_VERSION,
        WIT_SOURCE,
        sdk::digest(),
        zoneinfo::version(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// The key of the layer for these requirements, on the `runtime`.
fn layer_key(runtime: &[String], requirements: Option<&str>, app_dir: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let lines = requirements.map(normalized_requirements).unwrap_or_default();
    for part in runtime
        .iter()
        .map(String::as_str)
        .chain(["layer"])
        .chain(lines.iter().copied())
    {
        hashing::update_part(&mut hasher, part);
    }
    if lines.iter().any(|line| names_local_files(line)) {
        hashing::hash_dir(&mut hasher, app_dir)?;
    }
    Ok(hashing::hex(&hasher.finalize()[..20]))
}

/// The key of an app on the layer `layer_key`.
fn app_key(source: &AppSource, layer_key: &str) -> Result<String, BuildError> {
    let mut hasher = Sha256::new();
    for part in ["shared", layer_key, &source.entry]
        .into_iter()
        .chain(source.warm_up.iter().map(String::as_str))
        .chain(
            source
                .data_in_app
                .iter()
                .flat_map(|path| ["data-in-app", path.as_str()]),
        )
    {
        hashing::update_part(&mut hasher, part);
    }
    hashing::hash_dir(&mut hasher, &source.dir).map_err(|e| BuildError::app_folder(source, e))?;
    Ok(hashing::hex(&hasher.finalize()[..20]))
}

/// Builds the layer `key` (the requirements of `app_dir`), or finds it.
fn build_layer(
    source: &AppSource,
    cache: &BuildCache,
    key: &str,
    app_dir: &Path,
    progress: &mut dyn FnMut(BuildStep),
) -> Result<Layer, BuildError> {
    // Apps on the same layer that build at once wait for one build of it.
    let lock = layer_lock(cache, key);
    let _building = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let sdk_dir = cache.sdk_dir()?;
    let zoneinfo_dir = cache.zoneinfo_dir()?;
    let runtime_dir = cache.runtime_dir();
    let layer_dir = cache.root().join("layers").join(key);
    let component = layer_dir.join("component.wasm");
    let mounts = cache::guest_mounts(&runtime_dir, &layer_dir, &sdk_dir, &zoneinfo_dir);
    if component.is_file() && runtime_dir.is_dir() {
        return Ok(Layer {
            component,
            mounts,
            built: false,
        });
    }

    let tmp = cache::staging_dir(&cache.root().join("layers"))?;
    let boot_dir = tmp.path().join("boot");
    let deps_dir = tmp.path().join("deps");
    let empty_app = tmp.path().join(APP_COPY_DIR);
    for dir in [&boot_dir, &deps_dir, &empty_app] {
        fs::create_dir_all(dir).map_err(cache_err(dir))?;
    }
    cache::install_requirements(source, app_dir, &deps_dir, cache, progress)?;
    let preload = top_level_modules(&deps_dir).map_err(cache_err(&deps_dir))?;
    let export_runtime = !runtime_dir.is_dir();
    let boot_source = componentize::shared_boot_module_source(&componentize::SharedBoot {
        export_runtime_to: export_runtime.then_some(RUNTIME_EXPORT_GUEST_DIR),
        tzpath: ZONEINFO_GUEST_DIR,
        precompile: &[DEPS_GUEST_DIR],
        preload: &preload,
    });
    let boot_file = boot_dir.join(format!("{BOOT_MODULE}.py"));
    fs::write(&boot_file, boot_source).map_err(cache_err(&boot_file))?;

    progress(BuildStep::Componentizing);
    let wit_dir = cache.wit_dir()?;
    componentize::componentize(
        &wit_dir,
        &[&boot_dir, &sdk_dir, &empty_app, &deps_dir, &zoneinfo_dir],
        &tmp.path().join("component.wasm"),
    )
    .map_err(|output| BuildError::Python {
        app: source.name.clone(),
        output,
    })?;
    // Instances that use the layer's objects leave their pages shared.
    let built = tmp.path().join("component.wasm");
    immortal::immortalize(&built).map_err(cache_err(&built))?;
    if export_runtime {
        cache::publish_exported_runtime(&boot_dir, &runtime_dir)?;
    }
    cache::publish(tmp.path(), &layer_dir).map_err(cache_err(&layer_dir))?;
    Ok(Layer {
        component,
        mounts,
        built: true,
    })
}

/// The lock held while the layer `key` of `cache` is built in this process.
fn layer_lock(cache: &BuildCache, key: &str) -> Arc<Mutex<()>> {
    static LOCKS: Mutex<BTreeMap<PathBuf, Arc<Mutex<()>>>> = Mutex::new(BTreeMap::new());
    let mut locks = LOCKS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.entry(cache.root().join(key)).or_default().clone()
}

/// The importable top-level modules and packages installed in `deps_dir`,
/// sorted: what a layer imports before its snapshot.
fn top_level_modules(deps_dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(deps_dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let module = if entry.file_type()?.is_dir() {
            entry.path().join("__init__.py").is_file().then_some(name)
        } else {
            name.strip_suffix(".py").map(str::to_owned)
        };
        if let Some(module) = module.filter(|m| is_public_identifier(m)) {
            names.push(module);
        }
    }
    names.sort();
    Ok(names)
}

/// A name Python can import that is not private (`_distutils_hack`).
fn is_public_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_with_the_same_requirements_share_a_layer() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let key = |text: Option<&str>, dir: &Path| layer_key(&runtime_identity(), text, dir).unwrap();
        // Comments, blank lines and spacing do not matter; order and versions do.
        assert_eq!(key(None, a.path()), key(None, b.path()));
        assert_eq!(key(Some(""), a.path()), key(None, b.path()));
        assert_eq!(
            key(Some("flask==3.1\n# web\n\nitsdangerous  # signing\n"), a.path()),
            key(Some("flask==3.1\nitsdangerous\n"), b.path())
        );
        assert_ne!(
            key(Some("flask==3.1\n"), a.path()),
            key(Some("flask==3.0\n"), a.path())
        );
        assert_ne!(
            key(Some("flask\nbottle\n"), a.path()),
            key(Some("bottle\nflask\n"), a.path())
        );
        assert_ne!(key(Some("flask\n"), a.path()), key(None, a.path()));
    }

    #[test]
    fn requirements_naming_local_files_share_only_with_the_same_folder() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        fs::write(a.path().join("lib.py"), "x = 1\n").unwrap();
        fs::write(b.path().join("lib.py"), "x = 2\n").unwrap();
        for local in [
            "./lib",
            "-e ./lib",
            "-r more.txt",
            "wheels/x.whl",
            "file:///w/x.whl",
        ] {
            assert!(names_local_files(local), "{local}");
            assert_ne!(
                layer_key(&runtime_identity(), Some(local), a.path()).unwrap(),
                layer_key(&runtime_identity(), Some(local), b.path()).unwrap(),
                "{local}"
            );
        }
        for remote in ["flask", "flask==3.1", "pkg @ https://example.com/p.whl"] {
            assert!(!names_local_files(remote), "{remote}");
        }
    }

    #[test]
    fn a_different_runtime_makes_different_layers() {
        let dir = tempfile::tempdir().unwrap();
        let today = runtime_identity();
        let key = |runtime: &[String]| layer_key(runtime, Some("flask\n"), dir.path()).unwrap();
        for part in 0..today.len() {
            let mut upgraded = today.clone();
            upgraded[part].push_str(" (next release)");
            assert_ne!(key(&upgraded), key(&today), "part {part}");
        }
    }

    #[test]
    fn the_environment_is_not_part_of_an_apps_key_but_its_code_is() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("app.py"), "app = 1\n").unwrap();
        let mut source = AppSource {
            name: "t".into(),
            dir: dir.path().to_owned(),
            entry: "app:app".into(),
            warm_up: Vec::new(),
            env: Vec::new(),
            data_in_app: None,
            build: Vec::new(),
            snapshot: cache::Snapshot::Shared,
        };
        let before = app_key(&source, "layer").unwrap();
        source.env = vec![("TITLE".into(), "Shop".into())];
        assert_eq!(app_key(&source, "layer").unwrap(), before);
        assert_ne!(app_key(&source, "other layer").unwrap(), before);
        fs::write(dir.path().join("app.py"), "app = 2\n").unwrap();
        assert_ne!(app_key(&source, "layer").unwrap(), before);
    }

    #[test]
    fn a_layer_preloads_the_public_top_level_modules_it_installed() {
        let deps = tempfile::tempdir().unwrap();
        for package in ["flask", "markupsafe", "_distutils_hack", "no_init"] {
            fs::create_dir(deps.path().join(package)).unwrap();
        }
        for package in ["flask", "markupsafe", "_distutils_hack"] {
            fs::write(deps.path().join(package).join("__init__.py"), "").unwrap();
        }
        fs::create_dir(deps.path().join("flask-3.1.dist-info")).unwrap();
        fs::create_dir(deps.path().join("bin")).unwrap();
        fs::write(deps.path().join("six.py"), "").unwrap();
        fs::write(deps.path().join("distutils-precedence.pth"), "").unwrap();
        assert_eq!(
            top_level_modules(deps.path()).unwrap(),
            ["flask", "markupsafe", "six"]
        );
    }
}
