//! Compiles a component to native code once and caches it on disk, beside
//! the component, keyed by the engine's compatibility hash. Loading the cache
//! maps the file into memory (milliseconds); compiling takes seconds.
//! [`SharedComponents`] makes every mount of the same build share one loaded
//! copy: one mapping of its native code, whose pages then count once.

use std::{
    collections::HashMap,
    fs,
    hash::{DefaultHasher, Hash, Hasher},
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, Weak},
};

use wasmtime::{Engine, component::Component};

/// Where the native code for `component` lives, for this engine.
pub fn compiled_path(engine: &Engine, component: &Path) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let name = format!("native-{:016x}.cwasm", hasher.finish());
    component.with_file_name(name)
}

/// Loads the compiled form of `component`, compiling and caching it first
/// when needed. Returns the component and whether it had to be compiled.
pub fn load_or_compile(engine: &Engine, component: &Path) -> Result<(Component, bool), String> {
    let compiled = compiled_path(engine, component);
    if compiled.is_file() {
        match load(engine, &compiled) {
            Ok(loaded) => return Ok((loaded, false)),
            Err(e) => {
                tracing::warn!(path = %compiled.display(), "recompiling: the cached native code is unusable: {e}")
            }
        }
    }
    let wasm = fs::read(component).map_err(|e| format!("cannot read {}: {e}", component.display()))?;
    let native = engine
        .precompile_component(&wasm)
        .map_err(|e| format!("cannot compile {}: {e:?}", component.display()))?;
    let folder = compiled.parent().unwrap_or(Path::new("."));
    tempfile::NamedTempFile::new_in(folder)
        .and_then(|mut tmp| {
            tmp.write_all(&native)?;
            tmp.persist(&compiled).map_err(|e| e.error)?;
            Ok(())
        })
        .map_err(|e| format!("cannot write {}: {e}", compiled.display()))?;
    let loaded = load(engine, &compiled).map_err(|e| format!("cannot load {}: {e:?}", compiled.display()))?;
    Ok((loaded, true))
}

/// Components loaded by one engine, by component file, while anything uses them.
#[derive(Default)]
pub struct SharedComponents {
    loaded: Mutex<HashMap<PathBuf, Weak<Component>>>,
    /// Held while a component file is loaded or compiled, so that apps of
    /// the same component (apps on one shared interpreter) wait for one
    /// compile rather than each running their own.
    loading: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
}

impl SharedComponents {
    /// The loaded `component`: the copy already in use, or [`load_or_compile`]'s.
    /// Returns it and whether it had to be compiled.
    pub fn load(&self, engine: &Engine, component: &Path) -> Result<(Arc<Component>, bool), String> {
        if let Some(shared) = self.in_use(component) {
            return Ok((shared, false));
        }
        // Not under the map's lock: compiling takes seconds and other apps
        // may load other components meanwhile.
        let loading = self
            .loading
            .lock()
            .unwrap()
            .entry(component.to_owned())
            .or_default()
            .clone();
        let _only_one = loading.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(shared) = self.in_use(component) {
            return Ok((shared, false));
        }
        let (fresh, compiled) = load_or_compile(engine, component)?;
        let fresh = Arc::new(fresh);
        self.loaded
            .lock()
            .unwrap()
            .insert(component.to_owned(), Arc::downgrade(&fresh));
        Ok((fresh, compiled))
    }
}

impl SharedComponents {
    /// The copy of `component` in use, if any.
    fn in_use(&self, component: &Path) -> Option<Arc<Component>> {
        let mut loaded = self.loaded.lock().unwrap();
        loaded.retain(|_, used| used.strong_count() > 0);
        loaded.get(component).and_then(Weak::upgrade)
    }
}

#[allow(unsafe_code)]
fn load(engine: &Engine, compiled: &Path) -> wasmtime::Result<Component> {
    // SAFETY: the file was written by `precompile_component` of an engine with
    // the same compatibility hash (its name says so), into the build cache,
    // which only Terrarium writes; wasmtime re-checks the header and version.
    unsafe { Component::deserialize_file(engine, compiled) }
}
