//! The listeners: accept connections under a limit, serve HTTP/1.1 with
//! keep-alive, and on shutdown stop accepting and let requests in flight
//! finish within the grace period. The public site and the control API run
//! the same loop with different handlers.

use std::{convert::Infallible, future::Future, io, net::SocketAddr, sync::Arc, time::Duration};

use http::{Request, Response};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
};

use super::{admin, pipeline, responses::Body};
use crate::site::Site;

/// How long a client may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `site` on `listener` (no control API) until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    site: Arc<Site>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    serve_site(listener, None, site, shutdown).await
}

/// Serves `site` on `public`, and its control API on `admin` when given,
/// until `shutdown` resolves; then drains both.
pub async fn serve_site(
    public: TcpListener,
    admin: Option<TcpListener>,
    site: Arc<Site>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    let sweeper = site.sessions().map(|sessions| sessions.spawn_sweeper());
    let max_connections = site.config.server.max_connections;
    let grace = site.config.server.shutdown_grace.0;
    let public_site = site.clone();
    let public_task = tokio::spawn(serve_connections(
        public,
        max_connections,
        grace,
        wait_for_stop(stopped.clone()),
        move |request, remote| pipeline::handle(public_site.clone(), remote, request),
    ));
    let admin_task = admin.map(|listener| {
        let site = site.clone();
        tokio::spawn(serve_connections(
            listener,
            64,
            grace,
            wait_for_stop(stopped),
            move |request, _| admin::handle(site.clone(), request),
        ))
    });
    shutdown.await;
    let _ = stop.send(true);
    public_task.await.map_err(io::Error::other)?;
    if let Some(task) = admin_task {
        task.await.map_err(io::Error::other)?;
    }
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    Ok(())
}

async fn wait_for_stop(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// The accept loop shared by both listeners.
async fn serve_connections<H, F>(
    listener: TcpListener,
    max_connections: usize,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
    handler: H,
) where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(max_connections));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit.expect("never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!("accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let service = service_fn(move |request| {
            let response = handler(request, remote);
            async move { Ok::<_, Infallible>(response.await) }
        });
        let connection = http1::Builder::new()
            .keep_alive(true)
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%remote, "connection ended with an error: {error}");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("grace period over: closing the remaining connections");
    }
}
