//! The front door over TLS and HTTP/2, through real handshakes on
//! loopback with certificates the test makes: certificates chosen by SNI
//! (and the default for any other name), an app and a static folder over
//! HTTPS with HTTP/1.1 and HTTP/2 (ALPN), HTTP/2 by prior knowledge on the
//! plain listener, plain HTTP redirected to HTTPS for some hosts, a certificate replaced while connections stay open, a
//! rapid-reset flood cut off while a steady client keeps going, and a
//! broken certificate refused at start.

use std::time::{Duration, Instant};

use terrarium::{
    config::SiteConfig,
    launch::{LaunchOptions, launch},
};
use terrarium_python_wasi::BuildCache;
use terrarium_test_support::{
    Client, Issued, Server, TestCa, TestSite,
    https::{Connection, Trust},
    shared_cache_dir,
};

const SITE: &str = r#"
[server]
tls_listen = "127.0.0.1:0"
access_log = "access.log"

[sessions]
store = "memory"
secrets = ["a-secret-of-the-tls-tests"]

[[mount]]
path = "/app"
app = "@whoami"
name = "app"
instances = 2

[[mount]]
path = "/s"
app = "@sessions"
sessions = true
instances = 1

[[mount]]
path = "/faults"
app = "@faults"
instances = 1

[[mount]]
path = "/static"
static = "public"

[[tls]]
hosts = ["a.test"]
cert = "certs/a.pem"
key = "certs/a.key"

[[tls]]
hosts = ["*.b.test"]
cert = "certs/b.pem"
key = "certs/b.key"
redirect_http = true

[[tls]]
cert = "certs/default.pem"
key = "certs/default.key"
"#;

/// The site, its CA, and the certificates it serves: a.test, *.b.test,
/// and the default.
struct TlsSite {
    site: TestSite,
    ca: TestCa,
    a: Issued,
    b: Issued,
    default: Issued,
}

impl TlsSite {
    fn new() -> Self {
        let site = TestSite::new(SITE);
        site.write("public/hello.txt", "a static file");
        let ca = TestCa::new();
        let (a, b, default) = (
            ca.issue(&["a.test"]),
            ca.issue(&["*.b.test"]),
            ca.issue(&["localhost"]),
        );
        for (stem, issued) in [("a", &a), ("b", &b), ("default", &default)] {
            write_certificate(&site, stem, issued);
        }
        Self {
            site,
            ca,
            a,
            b,
            default,
        }
    }
}

fn write_certificate(site: &TestSite, stem: &str, issued: &Issued) {
    site.write(&format!("certs/{stem}.pem"), &issued.cert_pem);
    site.write(&format!("certs/{stem}.key"), &issued.key_pem);
}

#[tokio::test]
async fn certificates_are_chosen_by_name_and_apps_and_static_files_answer_over_https_and_http2() {
    let tls = TlsSite::new();
    let server = Server::start(tls.site.path()).await;
    let https = server.tls.expect("an HTTPS listener");

    // SNI chooses the certificate; any other name (or none) gets the default.
    for (name, expected) in [
        ("a.test", &tls.a),
        ("x.b.test", &tls.b),
        ("unknown.test", &tls.default),
    ] {
        let connection = Connection::tls(https, name, &["h2", "http/1.1"], Trust::Anything)
            .await
            .unwrap();
        assert!(connection.certificate.as_ref() == Some(&expected.der), "{name}");
    }

    // HTTP/1.1 over TLS, checked as a browser checks it.
    let mut http1 = Connection::tls(https, "a.test", &["http/1.1"], Trust::Ca(&tls.ca))
        .await
        .unwrap();
    assert_eq!(http1.alpn.as_deref(), Some("http/1.1"));
    let app = http1.get("a.test", "/app/").await.unwrap();
    assert_eq!(
        (app.status, app.version, app.text.as_str()),
        (200, http::Version::HTTP_11, "https a.test HTTP/1.1")
    );
    let file = http1.get("a.test", "/static/hello.txt").await.unwrap();
    assert_eq!((file.status, file.text.as_str()), (200, "a static file"));

    // HTTP/2 by ALPN: same routes, same answers.
    let mut http2 = Connection::tls(https, "x.b.test", &["h2", "http/1.1"], Trust::Ca(&tls.ca))
        .await
        .unwrap();
    assert_eq!(http2.alpn.as_deref(), Some("h2"));
    let app = http2.get("x.b.test", "/app/").await.unwrap();
    assert_eq!(
        (app.status, app.version, app.text.as_str()),
        (200, http::Version::HTTP_2, "https x.b.test HTTP/2")
    );
    let file = http2.get("x.b.test", "/static/hello.txt").await.unwrap();
    assert_eq!(
        (file.status, file.version, file.text.as_str()),
        (200, http::Version::HTTP_2, "a static file")
    );
    let missing = http2.get("x.b.test", "/nothing").await.unwrap();
    assert_eq!(missing.status, 404);
    // Request ids (sent as HPACK literals never indexed) reach the client
    // and differ from one response to the next on the same connection.
    let ids: Vec<_> = [&app, &file, &missing]
        .iter()
        .map(|answer| answer.headers["x-request-id"].to_str().unwrap().to_owned())
        .collect();
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && !ids[0].is_empty(),
        "{ids:?}"
    );
    // Sessions' `secure = "auto"` sees the connection's TLS.
    let session = http2.get("x.b.test", "/s/me").await.unwrap();
    let cookie = session.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");

    // HTTP/2 by prior knowledge on the plain listener; the app sees http
    // (and, as over TLS, the protocol it was reached by).
    let mut h2c = Connection::h2c(server.addr).await.unwrap();
    let app = h2c.get("a.test", "/app/").await.unwrap();
    assert_eq!(
        (app.status, app.version, app.text.as_str()),
        (200, http::Version::HTTP_2, "http a.test HTTP/2")
    );
    // And HTTP/1.1 there is unchanged.
    let plain = server.get_with("/app/", &[("host", "a.test")]).await;
    assert_eq!(plain.text(), "http a.test HTTP/1.1");
    let old = server
        .client()
        .raw(
            b"GET /app/ HTTP/1.0\r\nHost: a.test\r\n\r\n",
            Duration::from_secs(10),
        )
        .await;
    assert!(old.ends_with("\r\n\r\nhttp a.test HTTP/1.0"), "{old}");
    // But for the hosts whose certificate says `redirect_http`, plain HTTP
    // is sent to the same URL over HTTPS.
    let redirected = server.get_with("/app/x?q=1", &[("host", "X.b.test")]).await;
    assert_eq!(redirected.status, 308);
    assert_eq!(
        redirected.header("location"),
        format!("https://x.b.test:{}/app/x?q=1", https.port())
    );

    // The metrics say when each certificate expires.
    let metrics = Client::at(server.admin).get("/metrics").await.text();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for stem in ["a", "b", "default"] {
        let cert = tls.site.path().join(format!("certs/{stem}.pem"));
        let prefix = format!(
            "terrarium_tls_certificate_expiry_timestamp_seconds{{cert=\"{}\"}} ",
            cert.display()
        );
        let line = metrics
            .lines()
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} in:\n{metrics}"));
        let expires: u64 = line[prefix.len()..].parse().unwrap();
        assert!(expires > now, "{line}");
    }

    // The access log says which protocol and TLS version each request had.
    let log = tls.site.path().join("access.log");
    let wanted = [
        "path=/app/ status=200",
        "protocol=HTTP/2.0 tls=TLSv1.3",
        "protocol=HTTP/1.1 tls=TLSv1.3",
        "protocol=HTTP/2.0 tls=-",
    ];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let missing: Vec<_> = wanted.iter().filter(|w| !text.contains(*w)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "missing {missing:?} in:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_replaced_certificate_is_served_to_new_connections_while_open_ones_keep_going() {
    let tls = TlsSite::new();
    let server = Server::start(tls.site.path()).await;
    let https = server.tls.unwrap();
    let mut open = Connection::tls(https, "a.test", &["h2"], Trust::Ca(&tls.ca))
        .await
        .unwrap();
    assert_eq!(open.get("a.test", "/app/").await.unwrap().status, 200);

    let renewed = tls.ca.issue(&["a.test"]);
    write_certificate(&tls.site, "a", &renewed);
    let reloaded = Client::at(server.admin).post("/config/reload", "").await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.text());

    let fresh = Connection::tls(https, "a.test", &["h2"], Trust::Ca(&tls.ca))
        .await
        .unwrap();
    assert!(
        fresh.certificate.as_ref() == Some(&renewed.der),
        "a new connection gets the new certificate"
    );
    assert_eq!(open.certificate.as_ref(), Some(&tls.a.der));
    let still = open.get("a.test", "/app/").await.unwrap();
    assert_eq!((still.status, still.text.as_str()), (200, "https a.test HTTP/2"));

    // A broken file on reload changes nothing, and says which file.
    tls.site.write("certs/a.key", "not a key");
    let refused = Client::at(server.admin).post("/config/reload", "").await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.text().contains("a.key: holds no private key"),
        "{}",
        refused.text()
    );
    let after = Connection::tls(https, "a.test", &["h2"], Trust::Ca(&tls.ca))
        .await
        .unwrap();
    assert!(after.certificate.as_ref() == Some(&renewed.der));
    server.stop().await;
}

/// Opens streams on one h2c connection and resets each, after `pause`
/// (none: in the same breath), until the server closes the connection;
/// returns how many were reset, or None when it was never cut off.
async fn reset_flood(server: &Server, path: &str, pause: Duration) -> Option<usize> {
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut client, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(connection);
    let mut sent = 0;
    while sent < 5_000 && !connection.is_finished() {
        client = match client.ready().await {
            Ok(client) => client,
            Err(_) => break,
        };
        let request = http::Request::get(format!("http://a.test{path}"))
            .body(())
            .unwrap();
        let Ok((_response, mut stream)) = client.send_request(request, true) else {
            break;
        };
        if pause.is_zero() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(pause).await;
        }
        stream.send_reset(h2::Reason::CANCEL);
        sent += 1;
    }
    let ended = tokio::time::timeout(Duration::from_secs(10), connection).await;
    (ended.is_ok() && sent < 5_000).then_some(sent)
}

#[tokio::test]
async fn an_http2_client_that_resets_streams_in_a_loop_is_cut_off_and_a_steady_one_is_not() {
    let tls = TlsSite::new();
    let server = Server::start(tls.site.path()).await;
    let floods = async {
        // Reset before the server even takes the stream up (h2's own
        // limit), then after it has (the request is waiting for the app's
        // one instance, busy with a slow request: the server's own count).
        let at_once = reset_flood(&server, "/app/", Duration::ZERO).await;
        let client = Client::at(server.addr);
        let busy =
            tokio::spawn(async move { client.get_with("/faults/sleep/2000", &[("host", "a.test")]).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let taken_up = reset_flood(&server, "/faults/ok", Duration::from_millis(3)).await;
        assert_eq!(busy.await.unwrap().status, 200);
        (at_once, taken_up)
    };
    let steady = async {
        let mut connection = Connection::h2c(server.addr).await.unwrap();
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(
                connection
                    .get("a.test", "/app/")
                    .await
                    .map(|answer| answer.status),
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        statuses
    };
    let ((at_once, taken_up), statuses) = tokio::join!(floods, steady);
    assert!(at_once.is_some(), "resets at once were not cut off");
    let taken_up = taken_up.expect("resets of streams taken up were not cut off");
    assert!(
        (100..=200).contains(&taken_up),
        "cut off after {taken_up} cancelled requests"
    );
    assert!(
        statuses.iter().all(|status| matches!(status, Ok(200))),
        "the steady client saw {statuses:?}"
    );
    // And the server serves new connections.
    assert_eq!(server.get_with("/app/", &[("host", "a.test")]).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_broken_certificate_fails_the_start_naming_the_file() {
    let tls = TlsSite::new();
    tls.site.write(
        "certs/b.pem",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let mut config = SiteConfig::load(tls.site.path()).unwrap();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.tls_listen = Some("127.0.0.1:0".parse().unwrap());
    let options = LaunchOptions {
        cache: BuildCache::new(shared_cache_dir()),
        progress: Box::new(|_| {}),
    };
    let error = match launch(config, options, std::future::pending()).await {
        Ok(_) => panic!("started with a broken certificate"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("tls[1]: ") && error.contains("certs/b.pem: holds no certificate"),
        "{error}"
    );
}
