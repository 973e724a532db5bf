//! The WIT contract between host and guest.
//!
//! `wit/terrarium.wit` is the single definition: the host's bindings are
//! generated from that file and every component is built against it.

/// The folder holding the contract, relative to this crate's manifest.
pub const WIT_DIR_NAME: &str = "wit";

/// The WIT source text of the contract.
pub const WIT_SOURCE: &str = include_str!("../wit/terrarium.wit");

/// The world every app component targets.
pub const WORLD: &str = "terrarium:app/app@0.10.0";

/// The componentize-py release that provides CPython; part of every cache key.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// The CPython version inside that release.
pub const PYTHON_VERSION: &str = "3.14";

/// Host bindings of the contract, for the imports the build sandbox provides.
pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "app",
        imports: { "terrarium:app/tls": trappable },
    });
}
