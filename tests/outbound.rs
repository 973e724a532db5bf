//! Apps that call other services, through real HTTP and real loopback
//! servers (no internet): the stdlib's `urllib`, `requests` and redis-py
//! to destinations in `outbound`, clear refusals for the rest (counted in
//! `/metrics`), the per-mount connection limit, asyncio streams, and a
//! slow outbound call that holds no worker thread.

use std::time::{Duration, Instant};

use terrarium_test_support::{Backend, Server, TestCa, TestSite, backend::SLOW, redis::RedisServer};

/// A listener whose accept queue is full, so a connect to it waits (its
/// SYN is dropped) until the client gives up.
struct Blackhole {
    port: u16,
    _listener: socket2::Socket,
    _queued: Vec<std::net::TcpStream>,
}

impl Blackhole {
    fn new() -> Self {
        let listener = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        listener
            .bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into())
            .unwrap();
        listener.listen(0).unwrap();
        let addr = listener.local_addr().unwrap().as_socket().unwrap();
        let queued = (0..4)
            .filter_map(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok())
            .collect();
        Self {
            port: addr.port(),
            _listener: listener,
            _queued: queued,
        }
    }
}

/// A site whose `/net` app may reach `backend` and `redis` (by name), and
/// whose `/closed` app may reach nothing; one worker thread serves all.
/// `/limited` may also reach `blackhole`, and gives up connecting after 300 ms.
fn site(backend: &Backend, redis: &RedisServer) -> TestSite {
    site_with(backend, redis, 9)
}

fn site_with(backend: &Backend, redis: &RedisServer, blackhole: u16) -> TestSite {
    let port = backend.addr.port();
    TestSite::new(&format!(
        r#"
[server]
workers = 1

[[mount]]
path = "/net"
app = "@outbound"
outbound = ["localhost:{port}", "localhost:{redis}", "LOCALHOST.:{port}"]
instances = 2
timeout = "10s"

[[mount]]
path = "/limited"
app = "@outbound"
outbound = ["127.0.0.1:{port}", "127.0.0.1:{blackhole}"]
outbound_connections = 3
outbound_connect_timeout = "300ms"
instances = 1
timeout = "1s"

[[mount]]
path = "/closed"
app = "@outbound"
instances = 1
"#,
        redis = redis.port
    ))
}

fn query(text: &str) -> String {
    text.replace(':', "%3A").replace('/', "%2F")
}

/// The value of one metric line, e.g. `terrarium_outbound_refused_total{mount="net"}`.
fn metric(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{metrics}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn apps_reach_what_outbound_allows_and_nothing_else() {
    let backend = Backend::start();
    let redis = RedisServer::start();
    let site = site(&backend, &redis);
    let server = Server::start(site.path()).await;
    let port = backend.addr.port();

    let by_name = format!("http://localhost:{port}/hello?x=1");
    let urllib = server.get(&format!("/net/urllib?url={}", query(&by_name))).await;
    assert_eq!(
        (urllib.status, urllib.text()),
        (200, "backend saw /hello?x=1".to_owned())
    );
    let requests = server
        .get(&format!(
            "/net/requests?url={}",
            query(&format!("http://localhost:{port}/r"))
        ))
        .await;
    assert_eq!(
        (requests.status, requests.text()),
        (200, "200 backend saw /r".to_owned())
    );
    // An address a name entry resolves to is allowed on that entry's port.
    let direct = server
        .get(&format!("/net/connect?host=127.0.0.1&port={port}"))
        .await;
    assert_eq!(direct.text(), "connected");

    // Another loopback port, listening but not listed: refused at once, and
    // the app decides what to answer.
    let unlisted = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other = unlisted.local_addr().unwrap().port();
    let refused = server
        .get(&format!("/net/connect?host=127.0.0.1&port={other}"))
        .await;
    assert_eq!(refused.status, 200);
    assert_eq!(
        refused.text(),
        format!(
            "PermissionError: outbound: 127.0.0.1:{other} is not in this app's `outbound` list (it allows localhost:{port}, localhost:{})",
            redis.port
        )
    );
    let by_unlisted_name = server.get("/net/connect?host=example.com&port=80").await;
    assert!(
        by_unlisted_name
            .text()
            .starts_with("PermissionError: outbound: example.com:80 is not in this app's `outbound` list"),
        "{}",
        by_unlisted_name.text()
    );
    // The refused lookup said why itself; a later error is not given its text.
    assert_eq!(
        server.get("/net/udp").await.text(),
        "PermissionError: socket: apps in the sandbox may open outbound TCP connections only \
         (UDP, raw and Unix sockets are not available)"
    );
    let closed = server
        .get(&format!("/closed/connect?host=localhost&port={port}"))
        .await;
    assert!(
        closed.text().ends_with(&format!(
            "localhost:{port} is not in this app's `outbound` list (it has none)"
        )),
        "{}",
        closed.text()
    );
    let listen = server.get("/net/listen").await;
    assert!(listen.text().starts_with("PermissionError"), "{}", listen.text());
    assert!(
        listen.text().contains("may connect out, not listen"),
        "{}",
        listen.text()
    );

    let metrics = server.control("GET", "/metrics").await.text();
    assert_eq!(
        metric(&metrics, "terrarium_outbound_refused_total{mount=\"net\"}"),
        3,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "terrarium_outbound_refused_total{mount=\"closed\"}"),
        1
    );
    let mounts = server.control("GET", "/mounts").await.json();
    let net = &mounts["mounts"][0];
    assert_eq!(
        net["outbound"]["allow"],
        serde_json::json!([format!("localhost:{port}"), format!("localhost:{}", redis.port)])
    );
    assert_eq!(net["outbound"]["connections"], 32);
    assert_eq!(net["outbound"]["refused"], 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_py_sets_and_gets_through_an_allowed_name() {
    let backend = Backend::start();
    let redis = RedisServer::start();
    let site = site(&backend, &redis);
    let server = Server::start(site.path()).await;
    let reply = server
        .get(&format!("/net/redis?port={}&value=hej", redis.port))
        .await;
    assert_eq!((reply.status, reply.text()), (200, "hej".to_owned()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_are_limited_per_mount_and_a_wait_stays_under_the_timeout() {
    let backend = Backend::start();
    let redis = RedisServer::start();
    let blackhole = Blackhole::new();
    let site = site_with(&backend, &redis, blackhole.port);
    let server = Server::start(site.path()).await;
    let port = backend.addr.port();

    let held = server
        .get(&format!("/limited/hold?host=127.0.0.1&port={port}&count=10"))
        .await;
    assert_eq!(
        held.text(),
        "3 then OSError: outbound: the app already has 3 outbound connections open, its `outbound_connections`"
    );
    let metrics = server.control("GET", "/metrics").await.text();
    assert_eq!(metric(&metrics, "terrarium_outbound_open{mount=\"limited\"}"), 3);
    assert_eq!(server.get("/limited/release").await.text(), "released");
    let metrics = server.control("GET", "/metrics").await.text();
    assert_eq!(metric(&metrics, "terrarium_outbound_open{mount=\"limited\"}"), 0);

    // A connect that gets no answer gives up at `outbound_connect_timeout`.
    let started = Instant::now();
    let unanswered = server
        .get(&format!(
            "/limited/connect-blocking?host=127.0.0.1&port={}",
            blackhole.port
        ))
        .await;
    assert_eq!(
        unanswered.text(),
        format!(
            "TimeoutError: outbound: connecting to 127.0.0.1:{} timed out after 0.3 s (the mount's outbound_connect_timeout)",
            blackhole.port
        )
    );
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    // Waiting on a reply is not computing: the deadline still ends it.
    let started = Instant::now();
    let slow = format!("http://127.0.0.1:{port}/slow");
    let timed_out = server.get(&format!("/limited/urllib?url={}", query(&slow))).await;
    assert_eq!(timed_out.status, 504);
    assert!(started.elapsed() < SLOW, "the 1 s timeout, not the 2 s reply");
    // The instance it held is replaced, and its connection closed with it.
    assert_eq!(server.get("/limited/ok").await.text(), "ok");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn asyncio_streams_and_timers_overlap() {
    let backend = Backend::start();
    let redis = RedisServer::start();
    let site = site(&backend, &redis);
    let server = Server::start(site.path()).await;
    let reply = server
        .get(&format!(
            "/net/asyncio?host=localhost&port={}",
            backend.addr.port()
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["body"], "backend saw /async");
    let seconds = body["seconds"].as_f64().unwrap();
    assert!(
        (0.3..0.8).contains(&seconds),
        "three 0.3 s sleeps overlap: {seconds} s"
    );
    server.stop().await;
}

/// While two requests of `/net` wait on a slow service, the one worker
/// thread keeps answering `/closed` as fast as before (p99 of 40).
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_outbound_call_holds_no_worker_thread() {
    let backend = Backend::start();
    let redis = RedisServer::start();
    let site = site(&backend, &redis);
    let server = Server::start(site.path()).await;
    let client = server.client();
    let steady = || async {
        let mut latencies = Vec::new();
        for _ in 0..40 {
            let started = Instant::now();
            assert_eq!(client.get("/closed/ok").await.text(), "ok");
            latencies.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        latencies.sort();
        latencies[latencies.len() * 99 / 100]
    };
    let before = steady().await;
    let slow_url = query(&backend.url("/slow").replace("127.0.0.1", "localhost"));
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let client = server.client();
            let path = format!("/net/urllib?url={slow_url}");
            tokio::spawn(async move { client.get(&path).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let during = steady().await;
    for call in slow {
        assert_eq!(call.await.unwrap().text(), "backend saw /slow");
    }
    assert!(
        // A worker held by the waits would add their 2 s; other tests of
        // this binary share the cores, hence the margin.
        during < before + Duration::from_millis(500),
        "p99 of the steady client: {before:?} before, {during:?} while two calls waited"
    );
    server.stop().await;
}

/// A site whose `/tls` app trusts the test's CA (`outbound_ca`) and whose
/// `/noca` app does not; both may reach the two HTTPS backends by name.
fn tls_site(ca: &TestCa, good: &Backend, wrong_name: &Backend) -> TestSite {
    let allow = format!(
        r#"outbound = ["localhost:{}", "localhost:{}"]"#,
        good.addr.port(),
        wrong_name.addr.port()
    );
    let site = TestSite::new(&format!(
        r#"
[[mount]]
path = "/tls"
app = "@outbound"
{allow}
outbound_ca = "certs/ca.pem"
instances = 1

[[mount]]
path = "/noca"
app = "@outbound"
{allow}
instances = 1
"#
    ));
    site.write("certs/ca.pem", &ca.pem);
    site
}

#[tokio::test(flavor = "multi_thread")]
async fn https_is_verified_by_the_host_against_outbound_ca_and_the_name() {
    let ca = TestCa::new();
    let good = Backend::start_tls(ca.server_config(&["localhost"]));
    let wrong_name = Backend::start_tls(ca.server_config(&["other.test"]));
    let site = tls_site(&ca, &good, &wrong_name);
    let server = Server::start(site.path()).await;
    let url =
        |backend: &Backend, path: &str| query(&format!("https://localhost:{}{path}", backend.addr.port()));

    let urllib = server
        .get(&format!("/tls/try?url={}", url(&good, "/secure")))
        .await;
    assert_eq!(urllib.text(), "ok backend saw /secure");
    let requests = server
        .get(&format!("/tls/try-requests?url={}", url(&good, "/r")))
        .await;
    assert_eq!(requests.text(), "ok backend saw /r");
    let httpx = server
        .get(&format!("/tls/httpx?url={}", url(&good, "/async")))
        .await;
    assert_eq!(
        (httpx.status, httpx.text()),
        (200, "200 HTTP/1.1 backend saw /async".to_owned())
    );

    let details = server
        .get(&format!(
            "/tls/tls-details?host=localhost&port={}",
            good.addr.port()
        ))
        .await
        .json();
    assert_eq!(details["version"], "TLSv1.3");
    assert!(
        details["cipher"].as_str().unwrap().starts_with("TLS_"),
        "{details}"
    );
    assert_eq!(
        details["subject"],
        serde_json::json!([[["commonName", "Terrarium test server"]]])
    );
    assert_eq!(details["san"], serde_json::json!([["DNS", "localhost"]]));
    assert!(details["der"].as_u64().unwrap() > 100);

    let untrusted = server.get(&format!("/noca/try?url={}", url(&good, "/"))).await;
    assert_eq!(
        untrusted.text(),
        "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate"
    );
    let untrusted = server
        .get(&format!("/noca/try-requests?url={}", url(&good, "/")))
        .await;
    assert!(untrusted.text().starts_with("SSLError: "), "{}", untrusted.text());
    assert!(
        untrusted.text().contains("CERTIFICATE_VERIFY_FAILED"),
        "{}",
        untrusted.text()
    );
    let mismatch = server
        .get(&format!("/tls/try?url={}", url(&wrong_name, "/")))
        .await;
    assert_eq!(
        mismatch.text(),
        "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'."
    );
    server.stop().await;
}
