//! The sandbox: the only code that touches wasmtime.
//!
//! - [`engine`]: the one `Engine` (pooling allocator, copy-on-write memory
//!   images, epoch interruption) and the epoch ticker that enforces deadlines.
//! - [`compiled`]: compiles a component once and caches the native code on disk.
//! - [`guest_log`]: the guest's stdout, stderr and `log` import, into the host's log.
//! - [`instance`]: one sandboxed instance: its `Store`, limits and host state.
//! - [`pool`]: per-app pools of warm instances (or a fresh one per request),
//!   and the dispatch of one request into one of them.
//! - [`error`]: why a call into the guest failed, classified once.

pub mod compiled;
pub mod engine;
pub mod error;
pub mod guest_log;
pub mod instance;
pub mod pool;

pub use engine::{EngineCapacity, Sandbox};
pub use error::GuestError;
pub use instance::AppTemplate;
pub use pool::{AppPool, GuestRequest, GuestResponse, PoolSettings};

/// Host bindings generated from the contract (`python-wasi/wit/terrarium.wit`).
#[allow(missing_docs)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../python-wasi/wit",
        world: "app",
        exports: { default: async },
    });
}

/// The contract's request and response records.
pub use bindings::terrarium::app::http::{Request as WitRequest, Response as WitResponse};
pub(crate) use bindings::{App, AppPre, terrarium};
