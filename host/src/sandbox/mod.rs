//! The sandbox: the only code that touches wasmtime.
//!
//! - [`engine`]: the one `Engine` (pooling allocator, copy-on-write memory
//!   images, epoch interruption) and the epoch ticker that enforces deadlines.
//! - [`compiled`]: compiles a component once and caches the native code on disk.
//! - [`guest_log`]: the guest's stdout, stderr and `log` import, into the host's log.
//! - [`kdf_import`]: the `kdf` import: password hashing on the blocking pool.
//! - [`instance`]: one sandboxed instance: its `Store`, limits and host state.
//! - [`reset`]: how a freed slot's memory is made fresh (scanned, or
//!   decommitted where swap could hide a dirty page from the scan).
//! - [`spares`]: instances of a shared interpreter made ahead of need,
//!   before any app takes them, so an app's first instance skips the
//!   instantiation.
//! - [`pool`]: per-app pools of warm instances (or a fresh one per request),
//!   scaled between `min_instances` and `instances`, and the dispatch of
//!   one request into one of them.
//! - [`budget`]: the site-wide budget of live instances, and the retiring
//!   of other apps' idle instances when it is full.
//! - [`net`]: what an instance may connect to (its mount's `outbound`), and
//!   how many sockets it may hold, through WASI's sockets.
//! - [`writable`]: what an instance may write (its app's data folder, its
//!   own `/tmp`), each within a quota, in place of WASI's filesystem.
//! - [`exchange`]: a request body read as it arrives and a response
//!   streamed as it is made (the `streams` import), with their timeouts.
//! - [`deadline`]: when a running call must be interrupted, movable while it runs.
//! - [`messages`]: the guest's request and response in the host's own types.
//! - [`latin1`]: the bytes the guest sends, which cross as Latin-1 text.
//! - [`error`]: why a call into the guest failed, classified once.
//!
//! Nothing outside this module names a wasmtime type or the bindings
//! generated from the contract.

pub mod budget;
mod compiled;
mod deadline;
pub mod engine;
pub mod error;
pub mod exchange;
mod guest_log;
pub mod instance;
mod kdf_import;
mod latin1;
pub mod messages;
pub mod net;
pub mod pool;
pub mod reset;
mod spares;
pub mod writable;

pub use budget::{InstanceBudget, Seat};
pub use engine::{Compiled, EngineCapacity, Sandbox};
pub use error::GuestError;
pub use exchange::{AnswerParts, BodyFault, BodySource, Exchange, GuestAnswer, StreamLimits};
pub use guest_log::LogLimit;
pub use instance::{AppTemplate, DataGrant, Grants, Instance, Stdio, TmpGrant};
pub use messages::{GuestRequest, GuestResponse};
pub use pool::{AppPool, PoolSettings, PoolState};
pub use reset::MemoryReset;

/// Host bindings generated from the contract (`python-wasi/wit/terrarium.wit`).
mod bindings {
    #![allow(missing_docs)]
    wasmtime::component::bindgen!({
        path: "../python-wasi/wit",
        world: "app",
        imports: {
            "terrarium:app/kdf": async | trappable,
            "terrarium:app/net.resolve": async | trappable,
            "terrarium:app/tls": trappable,
            "terrarium:app/streams.read-body": async,
        },
        with: {
            "terrarium:app/tls.client-config": crate::sandbox::net::tls::ClientConfig,
            "terrarium:app/tls.client-session": crate::sandbox::net::tls::ClientSession,
        },
        exports: { default: async },
    });
}

use bindings::{App, AppPre, exports::terrarium::app::handler::AppStart as StartRecord, terrarium};
