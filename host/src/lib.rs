//! Terrarium's host: serves Python web apps from pooled WebAssembly sandboxes.
//!
//! Module map (pure parts first, then the shells that do I/O):
//! - [`units`]: human-readable durations and sizes ("30s", "256MiB").
//! - [`config`]: the strict `terrarium.toml` schema (server, mounts, sessions),
//!   each value checked as it is parsed.
//! - [`paths`]: request paths made canonical (decoding, dot segments, `//`).
//! - [`mounts`]: the pure longest-prefix mount table (`SCRIPT_NAME`/`PATH_INFO`
//!   split) and each mount's on/off switch.
//! - [`hosts`]: virtual hosts: host names made canonical, and the router that
//!   picks a request's host's mount table.
//! - [`cookie_scope`]: the cookies a mount's app may set (its path, not its neighbours' sessions).
//! - [`packing`]: the contract's packed byte strings (request head, response headers).
//! - [`kdf`]: PBKDF2 and scrypt for guests, with CPython's checks and bounded cost.
//! - [`masking`]: a mount's secret `env` values masked out of its logs and errors.
//! - [`stats`]: per-mount counters and latency histograms (Prometheus text).
//! - [`last_minute`]: a mount's last minute of requests (rate, errors, p50/p99).
//! - [`tls`]: the HTTPS listener's certificates, chosen by SNI, reloadable.
//! - [`workers`]: worker threads' numbers and their shares of each app's instances.
//! - [`api`]: the control API's JSON shapes (server and client share them).
//! - [`sandbox`]: the only code that touches wasmtime: engine, compiled cache,
//!   instances, pools, the guest's request and response, guest failures.
//! - [`sessions`]: host-owned sessions: signed cookies; memory, file and Redis stores.
//! - [`logging`]: the server's log as text or JSON lines (`server.log_format`).
//! - [`access_log`]: the line per request, batched per worker thread.
//! - [`heap`]: the machine's memory, and freed memory handed back to the OS.
//! - [`scaffold`]: `terrarium new`: a new site, or a new app mounted in one.
//! - [`fd_limit`]: the open-file limit raised at start, and checked against `max_connections`.
//! - [`site`]: a config made ready to serve (apps built, compiled, pools warmed),
//!   and changed while serving (mounts switched off and on, apps reloaded,
//!   mounts added and removed, the file reloaded as a diff, idle instances
//!   given back).
//! - [`http`]: the only code that touches hyper: listeners, request pipeline,
//!   static files, control API; every refusal → a response in one place.
//! - [`launch`]: the whole server as one call: config in, listening server out.
//! - [`watch`]: `serve --watch`: apps rebuilt and the file applied on save.
//! - [`cli`]: the `terrarium` command line (the one place `anyhow` is used freely).
//!
//! The server is one library function of (config, options, shutdown):
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::path::Path;
//! use terrarium::{config::SiteConfig, launch::{LaunchOptions, launch}, site::default_cache_dir};
//! let site = Path::new("examples/hello");
//! let options = LaunchOptions {
//!     cache: terrarium_python_wasi::BuildCache::new(default_cache_dir(site)),
//!     progress: Box::new(|_| {}),
//! };
//! let running = launch(SiteConfig::load(site)?, options, std::future::pending()).await?;
//! println!("listening on http://{}", running.addr);
//! running.stopped().await?;
//! # Ok(()) }
//! ```

pub mod access_log;
pub mod api;
pub mod cli;
pub mod config;
pub mod cookie_scope;
pub mod fd_limit;
pub mod heap;
pub mod hosts;
pub mod http;
pub mod kdf;
pub mod last_minute;
pub mod launch;
pub mod logging;
pub mod masking;
pub mod mounts;
pub mod packing;
#[cfg(test)]
mod parse_cases;
pub mod paths;
pub mod sandbox;
pub mod scaffold;
pub mod sessions;
pub mod site;
pub mod stats;
pub mod tls;
pub mod units;
pub mod watch;
pub mod workers;
