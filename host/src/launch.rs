//! The whole server as one library call: [`launch`] makes a config ready
//! (apps built, compiled, pools warmed), binds its listeners and serves
//! until the shutdown future resolves. `terrarium serve` and the
//! integration tests start the server through it, and nothing else.

use std::{future::Future, io, net::SocketAddr, sync::Arc};

use terrarium_python_wasi::BuildCache;
use tokio::task::JoinHandle;

use crate::{
    config::{CONFIG_FILE, ConfigError, SiteConfig},
    fd_limit,
    http::{self, PublicListeners},
    site::{Progress, Site, StartError},
};

/// How to get a site ready.
pub struct LaunchOptions {
    /// Where built components are cached.
    pub cache: BuildCache,
    /// Told about each build step (runs on a blocking thread).
    pub progress: Box<dyn FnMut(Progress<'_>) + Send>,
}

/// A server that is listening.
pub struct Running {
    /// Where the site is served (the port picked, for port 0).
    pub addr: SocketAddr,
    /// Where it is served over TLS, with `server.tls_listen`.
    pub tls_addr: Option<SocketAddr>,
    /// Where the control API is served, unless `server.admin = "off"`.
    pub admin_addr: Option<SocketAddr>,
    /// The site being served.
    pub site: Arc<Site>,
    serving: JoinHandle<io::Result<()>>,
}

impl Running {
    /// Waits until the server has stopped (after `shutdown` resolved and
    /// the requests in flight drained).
    pub async fn stopped(self) -> io::Result<()> {
        self.serving.await.map_err(io::Error::other)?
    }
}

/// Gets `config` ready and serves it on its `server.listen`,
/// `server.tls_listen` and `server.admin` addresses until `shutdown`
/// resolves. Returns once its listeners are bound; every problem found
/// before that (config, certificates, builds, folders, addresses in use)
/// is an error, and nothing listens.
pub async fn launch(
    config: SiteConfig,
    options: LaunchOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, StartError> {
    let config_error = |problem| ConfigError {
        file: config.site_dir.join(CONFIG_FILE),
        problem,
    };
    // `--admin` may have changed the address since the file was checked.
    config.server.check_admin_exposure().map_err(config_error)?;
    let open_files = fd_limit::raise();
    fd_limit::check(config.server.max_connections, open_files).map_err(config_error)?;
    fd_limit::presize_table(open_files);
    tracing::info!(
        open_files,
        max_connections = config.server.max_connections,
        "open-file limit"
    );
    let listen = config.server.listen;
    let tls_listen = config.server.tls_listen;
    let admin = config.server.admin.address();
    let LaunchOptions { cache, mut progress } = options;
    let site = tokio::task::spawn_blocking(move || Site::prepare(config, &cache, &mut progress))
        .await
        .unwrap_or_else(|_| Err(StartError::mount("-", "preparing the site panicked")))?;
    let listeners = PublicListeners::bind(listen, site.workers()).map_err(|error| StartError::Listen {
        address: listen,
        key: "server.listen",
        error,
    })?;
    let https = match tls_listen {
        Some(address) => {
            Some(
                PublicListeners::bind(address, site.workers()).map_err(|error| StartError::Listen {
                    address,
                    key: "server.tls_listen",
                    error,
                })?,
            )
        }
        None => None,
    };
    let tls_addr = https.as_ref().map(PublicListeners::local_addr);
    let (admin_listener, admin_addr) = match admin {
        Some(address) => {
            let refused = |error| StartError::Listen {
                address,
                key: "server.admin, the control API",
                error,
            };
            let listener = tokio::net::TcpListener::bind(address).await.map_err(refused)?;
            let bound = listener.local_addr().map_err(refused)?;
            (Some(listener), Some(bound))
        }
        None => (None, None),
    };
    let addr = listeners.local_addr();
    tracing::info!(
        workers = listeners.workers(),
        "serving with one event loop per worker thread"
    );
    if let Some(tls_addr) = tls_addr {
        site.set_https_port(tls_addr.port());
    }
    let site = Arc::new(site);
    let serving = tokio::spawn(http::serve_site(
        listeners,
        https,
        admin_listener,
        site.clone(),
        shutdown,
    ));
    Ok(Running {
        addr,
        tls_addr,
        admin_addr,
        site,
        serving,
    })
}
