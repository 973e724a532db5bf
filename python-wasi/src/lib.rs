//! Turns a Python app folder into a pre-initialized WebAssembly component.
//!
//! The CPython interpreter (3.14, built for WASI by the Bytecode Alliance)
//! comes from the `componentize-py` crate, used here as a library: no pip and
//! no download are needed for the runtime itself. See `README.md` beside this
//! crate for where that build comes from and how it is pinned.
//!
//! Module map:
//! - [`contract`]: the WIT world shared by host and guest (the one source of truth).
//! - [`sdk`]: the `terrarium` guest package, embedded in this crate at compile time.
//! - [`hashing`]: the content hash that keys the build cache.
//! - [`requirements`]: installs an app's `requirements.txt` with pip (only when it has one).
//! - [`zoneinfo`]: the IANA time zone database, written out for `zoneinfo`.
//! - [`componentize`]: runs componentize-py, pre-initializing the app.
//! - [`build_sandbox`]: what the app sees while it is built (its folder read-only).
//! - [`cache`]: the on-disk cache of built apps, and [`build_app`], which ties it all together.
//! - [`layers`]: interpreters shared by apps (`snapshot = "shared"`), one per set of requirements.
//! - `immortal`: makes a layer's snapshot objects immortal, so instances leave their pages shared.
//!
//! Compiling the component to native code is the host's job (it owns the
//! wasmtime `Engine`); this crate stops at the `.wasm` component.

pub mod build_sandbox;
pub mod cache;
pub mod componentize;
pub mod contract;
pub mod hashing;
mod immortal;
pub mod layers;
pub mod requirements;
pub mod sdk;
pub mod zoneinfo;

pub use cache::{
    APP_BYTECODE_ALIAS, APP_GUEST_DIR, AppInterface, AppSource, AppStart, BuildCache, BuildError, BuildStep,
    BuiltApp, GuestMount, SANDBOX_GUEST_DIRS, Snapshot, build_app,
};
