//! Shared helpers for the integration tests: sites in temp folders, a real
//! server on 127.0.0.1:0 (in-process or the real binary), and a real HTTP client.

#![allow(dead_code)]

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, Once},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use terrarium::{
    config::{AccessLogTarget, SiteConfig},
    site::Site,
};
use terrarium_python_wasi::BuildCache;
use tokio::{net::TcpStream, sync::oneshot, task::JoinHandle};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// A build cache shared by every test, so each app is built once per run.
pub fn shared_cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("terrarium-build-cache")
}

/// Guest log lines show in a failing test's output.
pub fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info,cranelift_codegen=warn,wasmtime=warn")
            .with_test_writer()
            .try_init();
    });
}

/// A site folder with a terrarium.toml whose `app` paths point into the repo.
pub struct TestSite {
    pub dir: tempfile::TempDir,
}

impl TestSite {
    /// `config` may say `app = "@faults"` for `tests/apps/faults`, or
    /// `app = "@@hello"` for `examples/hello/apps/hello`.
    pub fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let apps = repo().join("tests/apps");
        let text = config
            .replace(
                "@@hello",
                &repo().join("examples/hello/apps/hello").display().to_string(),
            )
            .replace('@', &format!("{}/", apps.display()));
        std::fs::write(dir.path().join("terrarium.toml"), text).unwrap();
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file inside the site folder, creating folders as needed.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }
}

/// Builds run one at a time: two at once only slow each other down.
static PREPARE: Mutex<()> = Mutex::new(());

/// A server running in this process on 127.0.0.1:0, with its control API.
pub struct Server {
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start(site_dir: &Path) -> Self {
        init_logging();
        let site_dir = site_dir.to_owned();
        let site = tokio::task::spawn_blocking(move || {
            let _one_at_a_time = PREPARE.lock().unwrap_or_else(|e| e.into_inner());
            let mut config = SiteConfig::load(&site_dir).unwrap();
            // Access lines written straight to stderr would slip past the
            // test harness's capture; a test that wants them names a file.
            if config.server.access_log == AccessLogTarget::Stderr {
                config.server.access_log = AccessLogTarget::Off;
            }
            Site::prepare(config, &BuildCache::new(shared_cache_dir()), &mut |_| {})
        })
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("site failed to start: {e}"));
        // One socket per worker thread, as `terrarium serve` listens.
        let listener =
            terrarium::http::PublicListeners::bind("127.0.0.1:0".parse().unwrap(), site.workers()).unwrap();
        let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr();
        let admin = admin_listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(terrarium::http::serve_site(
            listener,
            Some(admin_listener),
            Arc::new(site),
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            admin,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
    }

    pub async fn get(&self, path: &str) -> Reply {
        request(self.addr, "GET", path, &[], Vec::new()).await
    }

    /// A request to the control API.
    pub async fn control(&self, method: &str, path: &str) -> Reply {
        request(self.admin, method, path, &[], Vec::new()).await
    }
}

/// What a client saw.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// The `name=value` part of a response's Set-Cookie header.
pub fn cookie_of(reply: &Reply) -> String {
    let header = reply
        .headers
        .get("set-cookie")
        .unwrap_or_else(|| panic!("no Set-Cookie: {reply:?}"));
    header.to_str().unwrap().split(';').next().unwrap().to_owned()
}

/// Starts `terrarium serve SITE --listen 127.0.0.1:0` (and the given extra
/// arguments) as its own process; returns it and the address it printed.
pub fn serve_process(site: &Path, extra: &[&str]) -> (std::process::Child, SocketAddr) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_terrarium"))
        .args(["serve", site.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("TERRARIUM_CACHE_DIR", shared_cache_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("terrarium: listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .parse()
        .unwrap();
    (child, addr)
}

/// Sends one request on a fresh connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut builder = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = sender
        .send_request(builder.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}
pub mod redis;
