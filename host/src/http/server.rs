//! The listeners: accept connections under a limit (at the cap the
//! connection that has waited longest gives way, see [`super::connections`]),
//! serve HTTP/1.1 with keep-alive and HTTP/2 (chosen by ALPN over TLS, by
//! its preface, "prior knowledge", on plain TCP), close connections idle past
//! `server.keep_alive`, and on shutdown stop accepting and let requests in
//! flight finish within the grace period. The public site and the control
//! API run the same loop with different handlers.
//!
//! The public site is served by worker threads, each with an event loop of
//! its own and its own listening socket (see [`crate::workers`]): a
//! connection, its requests and the guest calls they make stay on one
//! thread. The control API, the session sweeper and reloads run on the
//! caller's runtime.

use std::{convert::Infallible, future::Future, io, net::SocketAddr, sync::Arc, thread, time::Duration};

use http::{Request, Response};
use hyper::{
    body::Incoming,
    server::conn::{http1, http2},
    service::service_fn,
};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::graceful::{GracefulShutdown, Watcher},
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{oneshot, watch},
};
use tokio_rustls::TlsAcceptor;

use super::{
    PublicListeners, admin,
    body_budget::BodyBudget,
    connections::{Activity, ConnectionTable},
    pipeline,
    responses::Body,
    transport::Transport,
    when_sent::when_sent,
};
use crate::{access_log, site::Site, tls, workers};

/// The longest the control API waits for a request head: a connection
/// that has not even sent one gives up its slot soon.
const ADMIN_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections the control API holds at once.
const ADMIN_CONNECTIONS: usize = 64;

/// Requests an HTTP/2 connection may have open at once.
const HTTP2_MAX_STREAMS: u32 = 128;

/// The largest request head an HTTP/2 client may send (its header list,
/// uncompressed), as HTTP/1.1's is bounded by hyper's buffer.
const HTTP2_MAX_HEADER_LIST: u32 = 64 * 1024;

/// Streams an HTTP/2 client may reset before the server has even taken
/// them up, at once; past it the connection is closed (GOAWAY). Requests
/// reset after they started are counted by [`super::connections`].
const HTTP2_MAX_PENDING_RESETS: usize = 20;

/// How a listener treats its connections.
#[derive(Debug, Clone, Copy)]
struct ConnectionRules {
    /// How long a client may take to send a request head.
    header_timeout: Duration,
    /// How long a connection may stay idle between requests.
    keep_alive: Duration,
    /// How long requests in flight may finish after the stop.
    grace: Duration,
}

/// Serves `site` on `public` (a worker thread per socket) and over TLS on
/// `https` when given (with the site's certificates, a socket per worker
/// too), and its control API on `admin` when given, until `shutdown`
/// resolves; then drains them all.
pub async fn serve_site(
    public: PublicListeners,
    https: Option<PublicListeners>,
    admin: Option<TcpListener>,
    site: Arc<Site>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    let sweeper = site.sessions().map(|sessions| sessions.spawn_sweeper());
    let reaper = site.spawn_idle_reaper();
    let connections = ConnectionTable::new(site.config.server.max_connections);
    let bodies = Arc::new(BodyBudget::new(
        site.config
            .server
            .max_buffered_bodies
            .map_or_else(BodyBudget::default_total, |size| size.0),
    ));
    let rules = ConnectionRules {
        header_timeout: site.config.server.header_timeout.0,
        keep_alive: site.config.server.keep_alive.0,
        grace: site.config.server.shutdown_grace.0,
    };
    let tls = match (https, site.certificates()) {
        (Some(https), Some(certificates)) => {
            let acceptor = TlsAcceptor::from(certificates.server_config());
            https
                .into_sockets()
                .into_iter()
                .map(|socket| (socket, acceptor.clone()))
                .collect()
        }
        _ => Vec::new(),
    };
    let mut tls = tls.into_iter();
    let mut workers = Vec::new();
    for (index, socket) in public.into_sockets().into_iter().enumerate() {
        let https = tls.next();
        let worker = Worker {
            index,
            site: site.clone(),
            connections: connections.clone(),
            bodies: bodies.clone(),
            rules,
            stopped: stopped.clone(),
        };
        match worker.spawn(socket, https) {
            Ok(finished) => workers.push(finished),
            Err(error) => {
                let _ = stop.send(true);
                return Err(error);
            }
        }
    }
    let admin_task = admin.map(|listener| {
        let site = site.clone();
        tokio::spawn(serve_connections(
            listener,
            ConnectionTable::new(ADMIN_CONNECTIONS),
            ConnectionRules {
                header_timeout: rules.header_timeout.min(ADMIN_HEADER_TIMEOUT),
                keep_alive: rules.keep_alive.min(ADMIN_HEADER_TIMEOUT),
                ..rules
            },
            wait_for_stop(stopped),
            None,
            move |request, peer, activity: Arc<Activity>| {
                activity.working();
                admin::handle(site.clone(), peer, request)
            },
        ))
    });
    shutdown.await;
    let _ = stop.send(true);
    for finished in workers {
        // An error means the worker's thread ended early (it panicked, and
        // said so in the log): there is nothing left of it to drain.
        let _ = finished.await;
    }
    if let Some(task) = admin_task {
        task.await.map_err(io::Error::other)?;
    }
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    reaper.abort();
    Ok(())
}

/// One worker thread of the public site.
struct Worker {
    index: usize,
    site: Arc<Site>,
    /// Shared by all workers: `server.max_connections` in all.
    connections: Arc<ConnectionTable>,
    /// Shared by all workers: `server.max_buffered_bodies` in all.
    bodies: Arc<BodyBudget>,
    rules: ConnectionRules,
    stopped: watch::Receiver<bool>,
}

impl Worker {
    /// Starts the thread serving `socket` (and `https`, its TLS socket);
    /// the receiver resolves once it has drained its connections after the stop.
    fn spawn(
        self,
        socket: std::net::TcpListener,
        https: Option<(std::net::TcpListener, TlsAcceptor)>,
    ) -> io::Result<oneshot::Receiver<()>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            // Access-log lines wait in this thread's batch until it is about
            // to wait for work (or the batch fills up).
            .on_thread_park(access_log::flush_this_thread)
            .build()?;
        let (done, finished) = oneshot::channel();
        thread::Builder::new()
            .name(format!("terrarium-worker-{}", self.index))
            .spawn(move || {
                workers::enter(self.index);
                self.site.access_log().batch_on_this_thread();
                runtime.block_on(self.run(socket, https));
                access_log::flush_this_thread();
                let _ = done.send(());
            })?;
        Ok(finished)
    }

    async fn run(self, socket: std::net::TcpListener, https: Option<(std::net::TcpListener, TlsAcceptor)>) {
        let (site, bodies) = (self.site, self.bodies);
        let handler = move |request, remote, activity| {
            pipeline::handle(site.clone(), bodies.clone(), remote, request, activity)
        };
        let plain = serve_socket(
            socket,
            None,
            self.connections.clone(),
            self.rules,
            wait_for_stop(self.stopped.clone()),
            handler.clone(),
        );
        match https {
            None => plain.await,
            Some((socket, acceptor)) => {
                let tls = serve_socket(
                    socket,
                    Some(acceptor),
                    self.connections,
                    self.rules,
                    wait_for_stop(self.stopped),
                    handler,
                );
                tokio::join!(plain, tls);
            }
        }
    }
}

/// Serves one worker's listening socket (see [`serve_connections`]).
async fn serve_socket<H, F>(
    socket: std::net::TcpListener,
    tls: Option<TlsAcceptor>,
    connections: Arc<ConnectionTable>,
    rules: ConnectionRules,
    shutdown: impl Future<Output = ()>,
    handler: H,
) where
    H: Fn(Request<Incoming>, SocketAddr, Arc<Activity>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    match TcpListener::from_std(socket) {
        Ok(listener) => serve_connections(listener, connections, rules, shutdown, tls, handler).await,
        Err(error) => tracing::error!("cannot serve the listening socket: {error}"),
    }
}

async fn wait_for_stop(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Failed accepts, logged at most once a second (with how many there were
/// since the last line), so a listener out of file descriptors does not
/// flood the log.
#[derive(Default)]
struct AcceptErrors {
    last_logged: Option<std::time::Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    fn record(&mut self, error: &io::Error) {
        self.unlogged += 1;
        if self
            .last_logged
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
        {
            tracing::warn!(times = self.unlogged, "accept failed: {error}");
            self.last_logged = Some(std::time::Instant::now());
            self.unlogged = 0;
        }
    }
}

/// HTTP/2's connection preface: a plain connection that starts with it
/// speaks HTTP/2 by prior knowledge (h2c).
const HTTP2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How connections are served: HTTP/1.1 with keep-alive, or HTTP/2, each
/// with its limits.
struct Protocols {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
}

impl Protocols {
    fn new(rules: ConnectionRules) -> Self {
        let mut http1 = http1::Builder::new();
        http1
            .keep_alive(true)
            .timer(TokioTimer::new())
            .header_read_timeout(rules.header_timeout);
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(HTTP2_MAX_STREAMS)
            .max_header_list_size(HTTP2_MAX_HEADER_LIST)
            .max_pending_accept_reset_streams(HTTP2_MAX_PENDING_RESETS);
        Self { http1, http2 }
    }
}

/// Whether a plain connection starts with HTTP/2's preface, looked at
/// without taking it from the socket (so HTTP/1.1 connections pay for no
/// wrapper around their reads).
async fn starts_with_http2_preface(stream: &TcpStream) -> io::Result<bool> {
    let mut start = [0; HTTP2_PREFACE.len()];
    loop {
        let seen = stream.peek(&mut start).await?;
        if seen == 0 || start[..seen] != HTTP2_PREFACE[..seen] {
            return Ok(false);
        }
        if seen == HTTP2_PREFACE.len() {
            return Ok(true);
        }
        // Part of the preface so far (clients send it in one go): the rest
        // comes soon; the connection's head deadline bounds the wait.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The accept loop shared by every listener: `tls` makes it HTTPS.
async fn serve_connections<H, F>(
    listener: TcpListener,
    connections: Arc<ConnectionTable>,
    rules: ConnectionRules,
    shutdown: impl Future<Output = ()>,
    tls: Option<TlsAcceptor>,
    handler: H,
) where
    H: Fn(Request<Incoming>, SocketAddr, Arc<Activity>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let protocols = Arc::new(Protocols::new(rules));
    let mut accept_errors = AcceptErrors::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    accept_errors.record(&error);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = tokio::select! {
            slot = connections.admit() => slot,
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let accepted = Accepted {
            protocols: protocols.clone(),
            watcher: graceful.watcher(),
            activity: slot.activity.clone(),
            remote,
        };
        let (handler, tls) = (handler.clone(), tls.clone());
        tokio::spawn(async move {
            let activity = slot.activity.clone();
            tokio::select! {
                () = accepted.serve(stream, tls, handler) => {}
                () = activity.until_evicted() => {
                    tracing::debug!(%remote, "closed to admit another connection, or for cancelling its requests");
                }
                // Also ends a TLS handshake or HTTP/2 preface that never comes.
                () = activity.until_idle_for(rules.keep_alive, rules.header_timeout) => {}
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(rules.grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over: closing the remaining connections");
    }
}

/// A connection just accepted, and what serving it takes.
struct Accepted {
    protocols: Arc<Protocols>,
    watcher: Watcher,
    activity: Arc<Activity>,
    remote: SocketAddr,
}

impl Accepted {
    /// Serves the connection (after its TLS handshake, with `tls`) until
    /// it ends.
    async fn serve<H, F>(self, stream: TcpStream, tls: Option<TlsAcceptor>, handler: H)
    where
        H: Fn(Request<Incoming>, SocketAddr, Arc<Activity>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Response<Body>> + Send + 'static,
    {
        match tls {
            None => match starts_with_http2_preface(&stream).await {
                Ok(http2) => self.serve_http(stream, http2, Transport::PLAIN, handler).await,
                Err(error) => tracing::debug!(remote = %self.remote, "connection lost: {error}"),
            },
            Some(acceptor) => match acceptor.accept(stream).await {
                Ok(stream) => {
                    let session = stream.get_ref().1;
                    // HTTP/2 over TLS is always agreed by ALPN (RFC 9113 §3.2).
                    let http2 = session.alpn_protocol() == Some(b"h2");
                    let transport = Transport {
                        tls: Some(tls::version_name(session.protocol_version())),
                    };
                    self.serve_http(stream, http2, transport, handler).await;
                }
                Err(error) => tracing::debug!(remote = %self.remote, "TLS handshake failed: {error}"),
            },
        }
    }

    /// Serves HTTP/2 (`http2`) or HTTP/1.1 on `io` until the connection ends.
    async fn serve_http<IO, H, F>(self, io: IO, http2: bool, transport: Transport, handler: H)
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
        H: Fn(Request<Incoming>, SocketAddr, Arc<Activity>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Response<Body>> + Send + 'static,
    {
        let Self {
            protocols,
            watcher,
            activity,
            remote,
        } = self;
        let service = service_fn(move |mut request: Request<Incoming>| {
            let mut in_flight = activity.request_started(!hyper::body::Body::is_end_stream(request.body()));
            if transport != Transport::PLAIN {
                request.extensions_mut().insert(transport);
            }
            // Boxed: the future is large, and HTTP/2 moves it into a task
            // of its own for every stream (a copy of it each time).
            let response = Box::pin(handler(request, remote, activity.clone()));
            async move {
                let response = response.await;
                in_flight.answered();
                // The request is over once its response has been sent (or
                // dropped unsent); dropped before, it was cancelled.
                Ok::<_, Infallible>(response.map(|body| when_sent(body, move |_| drop(in_flight))))
            }
        });
        let io = TokioIo::new(io);
        let ended = if http2 {
            watcher.watch(protocols.http2.serve_connection(io, service)).await
        } else {
            watcher.watch(protocols.http1.serve_connection(io, service)).await
        };
        if let Err(error) = ended {
            tracing::debug!(%remote, "connection ended with an error: {error}");
        }
    }
}
