//! Terrarium's host: serves Python web apps from pooled WebAssembly sandboxes.
//!
//! Module map (pure parts first, then the shells that do I/O):
//! - [`units`]: human-readable durations and sizes ("30s", "256MiB").
//! - [`config`]: the strict `terrarium.toml` schema and its checks.
//! - [`paths`]: request paths made canonical (decoding, dot segments, `//`).
//! - [`mounts`]: the pure longest-prefix mount table (`SCRIPT_NAME`/`PATH_INFO` split).
//! - [`packing`]: the contract's packed byte strings (request head, response headers).
//! - [`stats`]: per-mount counters and latency histograms (Prometheus text).
//! - [`sandbox`]: the only code that touches wasmtime: engine, compiled cache,
//!   instances, pools, guest failures.
//! - [`workers`]: worker threads' numbers and their shares of each app's instances.
//! - [`sessions`]: host-owned sessions: signed cookies, memory and file stores.
//! - [`access_log`]: the line per request, batched per worker thread.
//! - [`heap`]: freed build memory handed back to the OS.
//! - [`site`]: a config made ready to serve (apps built, compiled, pools warmed),
//!   and changed while serving (mounts switched off and on, apps reloaded).
//! - [`http`]: the only code that touches hyper: listener, request pipeline,
//!   errors → responses.
//! - [`cli`]: the `terrarium` command line (the one place `anyhow` is used freely).
//!
//! The server is a library function of (listener, site, shutdown):
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::{path::Path, sync::Arc};
//! use terrarium::{config::SiteConfig, site::{Site, default_cache_dir}};
//! let config = SiteConfig::load(Path::new("examples/hello"))?;
//! let cache = terrarium_python_wasi::BuildCache::new(default_cache_dir(Path::new("examples/hello")));
//! let site = tokio::task::spawn_blocking(move || Site::prepare(config, &cache, &mut |_| {})).await??;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! terrarium::http::serve(listener, Arc::new(site), std::future::pending()).await?;
//! # Ok(()) }
//! ```

pub mod access_log;
pub mod cli;
pub mod config;
pub mod heap;
pub mod http;
pub mod mounts;
pub mod packing;
pub mod paths;
pub mod sandbox;
pub mod sessions;
pub mod site;
pub mod stats;
pub mod units;
pub mod workers;
