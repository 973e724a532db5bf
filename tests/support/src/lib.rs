//! Helpers shared by Terrarium's integration tests (`tests/*.rs`).
//!
//! - [`site`]: site folders in temp dirs, whose `app` paths point into the repo.
//! - [`server`]: the server in this process, started the way `terrarium
//!   serve` starts it ([`terrarium::launch::launch`]) on 127.0.0.1:0.
//! - [`binary`]: the real `terrarium` binary as a child process.
//! - [`client`]: the one HTTP client: real HTTP/1.1 over loopback.
//! - [`https`]: a kept-open connection over TLS (HTTP/1.1 or HTTP/2 by
//!   ALPN) or h2c, telling the certificate and protocol it got.
//! - [`redis`]: a real redis-server on a free loopback port.
//! - [`backend`]: a small HTTP(S) server on loopback, for apps to call out to.
//! - [`certificates`]: a CA made by the test, and server certificates it signs.
//!
//! Every server and binary shares one build cache per test run
//! ([`shared_cache_dir`]), so each app is built once.

pub mod backend;
pub mod binary;
pub mod certificates;
pub mod client;
pub mod https;
pub mod redis;
pub mod server;
pub mod site;

use std::{
    path::{Path, PathBuf},
    sync::Once,
};

pub use backend::Backend;
pub use binary::{run_with_timeout, serve_process, serve_process_logging_to, terrarium};
pub use certificates::{Issued, TestCa};
pub use client::{Client, Reply, StreamedReply, cookie_of};
pub use server::Server;
pub use site::TestSite;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/support sits two levels below the repository root")
        .to_owned()
}

/// The build profile's folder (`target/release`), found from the running
/// test binary (`target/release/deps/NAME-HASH`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    exe.ancestors()
        .nth(2)
        .expect("test binaries live in target/PROFILE/deps")
        .to_owned()
}

/// A build cache shared by every test of a run, so each app is built once.
pub fn shared_cache_dir() -> PathBuf {
    profile_dir().join("terrarium-test-cache")
}

/// Log lines (the guests' too) show in a failing test's output.
pub fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info,cranelift_codegen=warn,wasmtime=warn")
            .with_test_writer()
            .try_init();
    });
}
