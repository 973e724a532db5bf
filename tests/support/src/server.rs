//! The server in this process, started as `terrarium serve` starts it.

use std::{
    net::SocketAddr,
    path::Path,
    time::{Duration, Instant},
};

use terrarium::{
    config::{AccessLogTarget, AdminAddress, SiteConfig},
    launch::{LaunchOptions, Running, launch},
};
use terrarium_python_wasi::BuildCache;
use tokio::sync::{Mutex, oneshot};

use crate::{Client, Reply, init_logging, shared_cache_dir};

/// Builds run one at a time: two at once only slow each other down.
static PREPARE: Mutex<()> = Mutex::const_new(());

/// A server running in this process on 127.0.0.1:0, with its control API
/// on another free port.
pub struct Server {
    /// The site's address.
    pub addr: SocketAddr,
    /// The control API's address.
    pub admin: SocketAddr,
    /// The HTTPS address, with `server.tls_listen`.
    pub tls: Option<SocketAddr>,
    stop: oneshot::Sender<()>,
    running: Running,
}

impl Server {
    /// Builds (or loads from the shared cache) the site in `site_dir` and
    /// serves it; panics with the reason when it cannot start.
    pub async fn start(site_dir: &Path) -> Self {
        init_logging();
        let mut config = SiteConfig::load(site_dir).unwrap_or_else(|e| panic!("{e}"));
        config.server.listen = "127.0.0.1:0".parse().unwrap();
        config.server.admin = AdminAddress::At("127.0.0.1:0".parse().unwrap());
        if config.server.tls_listen.is_some() {
            config.server.tls_listen = Some("127.0.0.1:0".parse().unwrap());
        }
        // Access lines written straight to stderr would slip past the
        // test harness's capture; a test that wants them names a file.
        if config.server.access_log == AccessLogTarget::Stderr {
            config.server.access_log = AccessLogTarget::Off;
        }
        let (stop, stopped) = oneshot::channel();
        let options = LaunchOptions {
            cache: BuildCache::new(shared_cache_dir()),
            progress: Box::new(|_| {}),
        };
        let running = {
            let _one_at_a_time = PREPARE.lock().await;
            launch(config, options, async {
                let _ = stopped.await;
            })
            .await
            .unwrap_or_else(|e| panic!("site failed to start: {e}"))
        };
        Self {
            addr: running.addr,
            admin: running.admin_addr.expect("the control API listens"),
            tls: running.tls_addr,
            stop,
            running,
        }
    }

    /// Stops the server and waits until it has drained.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.running.stopped().await.unwrap();
    }

    /// A client of the site.
    pub fn client(&self) -> Client {
        Client::at(self.addr)
    }

    /// `GET path` on the site.
    pub async fn get(&self, path: &str) -> Reply {
        self.client().get(path).await
    }

    /// `GET path` on the site, with these headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.client().get_with(path, headers).await
    }

    /// `POST path` on the site, with this body.
    pub async fn post(&self, path: &str, body: impl Into<Vec<u8>>) -> Reply {
        self.client().post(path, body).await
    }

    /// `POST path` on the site, with this body of this content type.
    pub async fn post_as(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        self.client().post_as(path, content_type, body).await
    }

    /// Any request to the site.
    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        self.client().send(method, path, headers, body).await
    }

    /// A request to the control API.
    pub async fn control(&self, method: &str, path: &str) -> Reply {
        Client::at(self.admin).send(method, path, &[], Vec::new()).await
    }

    /// Polls `GET /mounts/{name}` until no change of it is still building
    /// (or it failed); returns the last answer. Panics after two minutes.
    pub async fn settled(&self, name: &str) -> serde_json::Value {
        let started = Instant::now();
        loop {
            let status = self.control("GET", &format!("/mounts/{name}")).await.json();
            if status["change"].is_null() || status["change"]["state"] == "failed" {
                return status;
            }
            assert_eq!(status["change"]["state"], "building", "{status}");
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "still building: {status}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
