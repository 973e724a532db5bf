//! The front door under requests no well-behaved client sends: HTTP/1.1
//! framing the host must refuse (RFC 9112), stalled and trickling bodies,
//! idle sockets at the connection cap, sent as raw bytes over loopback.

use std::time::Duration;

use terrarium_test_support::{Server, TestSite};

/// The status code of a raw HTTP/1.1 answer.
fn status_of(answer: &str) -> &str {
    answer.split(' ').nth(1).unwrap_or("(no answer)")
}

#[tokio::test(flavor = "multi_thread")]
async fn http_1_1_framing_is_enforced_before_any_app_sees_the_request() {
    let site = TestSite::new("[[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\n");
    let server = Server::start(site.path()).await;
    let client = server.client();
    let limit = Duration::from_secs(10);
    let cases: &[(&str, &str, &str)] = &[
        ("no Host", "GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n", "400"),
        (
            "two Host headers",
            "GET /ok HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n",
            "400",
        ),
        (
            "a transfer coding other than chunked",
            "POST /echo HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            "501",
        ),
        ("HTTP/1.0 without Host is fine", "GET /ok HTTP/1.0\r\n\r\n", "200"),
    ];
    let mut failures = Vec::new();
    for (what, request, status) in cases {
        let answer = client.raw(request.as_bytes(), limit).await;
        if status_of(&answer) != *status {
            failures.push(format!("{what}: expected {status}, got {answer:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // An absolute-form target's authority wins over Host (RFC 9112 §3.2.2).
    let answer = client
        .raw(
            b"POST http://origin.test/echo HTTP/1.1\r\nHost: other.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            limit,
        )
        .await;
    assert_eq!(status_of(&answer), "200", "{answer}");
    assert!(answer.contains(r#""host":"origin.test""#), "{answer}");
    server.stop().await;
}

/// Sends `head`, then each chunk after its pause; returns the status the
/// server answered, and how long after the head it came.
async fn send_slowly(
    addr: std::net::SocketAddr,
    head: &str,
    chunks: &[(Duration, &[u8])],
) -> (String, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let chunks: Vec<(Duration, Vec<u8>)> = chunks
        .iter()
        .map(|(pause, bytes)| (*pause, bytes.to_vec()))
        .collect();
    let sender = tokio::spawn(async move {
        for (pause, bytes) in chunks {
            tokio::time::sleep(pause).await;
            if writer.write_all(&bytes).await.is_err() {
                return;
            }
        }
        // Then nothing more, with the socket left open.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(15), reader.read_to_end(&mut answer)).await;
    let elapsed = started.elapsed();
    sender.abort();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    (status_of(&answer).to_owned(), elapsed)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_or_trickling_body_is_cut_at_body_timeout_and_a_steady_one_is_read() {
    let site = TestSite::new(
        "[server]\nbody_timeout = \"600ms\"\nmin_body_rate = \"1KiB\"\n\
         [[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\n",
    );
    let server = Server::start(site.path()).await;
    let head = |length: usize| format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {length}\r\n\r\n");
    let ms = Duration::from_millis;

    // Headers and ten bytes, then nothing: 408 at body_timeout, connection closed.
    let (status, after) = send_slowly(server.addr, &head(1000), &[(ms(0), &[b'x'; 10])]).await;
    assert_eq!(status, "408");
    assert!(after >= ms(550) && after < ms(5000), "answered after {after:?}");

    // A byte every 100 ms never stalls for 600 ms, but its rate is far
    // below 1 KiB/s: cut soon after body_timeout.
    let trickle: Vec<(Duration, &[u8])> = (0..100).map(|_| (ms(100), &b"x"[..])).collect();
    let (status, after) = send_slowly(server.addr, &head(1000), &trickle).await;
    assert_eq!(status, "408");
    assert!(after < ms(5000), "the trickle held the connection for {after:?}");

    // Four parts of 512 bytes, 200 ms apart (2.5 KiB/s): read whole.
    let steady: Vec<(Duration, &[u8])> = (0..4).map(|_| (ms(200), &[b'y'; 512][..])).collect();
    let (status, _) = send_slowly(
        server.addr,
        &head(2048).replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"),
        &steady,
    )
    .await;
    assert_eq!(status, "200");

    // The app was never disturbed.
    assert_eq!(server.get("/ok").await.status, 200);
    server.stop().await;
}

/// Started under a soft limit of 1,024 open files, the server raises it to
/// the hard limit and keeps serving while 1,100 idle connections are open
/// (more than the old limit would have let it accept).
#[test]
fn under_a_low_open_file_limit_the_server_raises_it_and_serves_beside_idle_sockets() {
    use terrarium_test_support::binary::{serve_process_with_open_files, signal};
    // This test's own process holds the idle sockets.
    terrarium::fd_limit::raise();
    let site = TestSite::new(
        "[server]\nmax_connections = 1200\n[[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\n",
    );
    let (mut child, addr) = serve_process_with_open_files(site.path(), 1024, &["--admin", "off"]);
    let idle: Vec<_> = (0..1100)
        .map(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap())
        .collect();
    let started = std::time::Instant::now();
    let reply = terrarium_test_support::Client::at(addr).get_blocking("/ok");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a fresh client waited {:?}",
        started.elapsed()
    );
    drop(idle);
    signal(&child, "-TERM");
    assert!(child.wait().unwrap().success());
}

/// Resident memory of a process, in bytes (Linux).
fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// 20 uploads of 10 MB that stop one byte short, against a budget of
/// 50 MiB: the server holds about the budget and no more (the rest are
/// refused with 503), serves others meanwhile, and gives the memory back
/// when the uploads go. The mount reads bodies whole before calling the
/// app (`buffer_body = max_body`), so no stalled upload holds its instance.
#[test]
fn stalled_uploads_hold_no_more_than_max_buffered_bodies() {
    use std::io::{Read, Write};
    use terrarium_test_support::{Client, binary::signal, serve_process};
    const UPLOADS: usize = 20;
    const SIZE: usize = 10_000_000;
    let site = TestSite::new(
        "[server]\nmax_buffered_bodies = \"50MiB\"\nbody_timeout = \"60s\"\n\
         [[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\nmax_body = \"20MB\"\n\
         buffer_body = \"20MB\"\n",
    );
    let (mut child, addr) = serve_process(site.path(), &["--admin", "off"]);
    assert_eq!(Client::at(addr).get_blocking("/ok").status, 200);
    let before = rss_of(child.id());
    let body = std::sync::Arc::new(vec![b'x'; SIZE - 1]);
    let uploads: Vec<_> = (0..UPLOADS)
        .map(|_| {
            let body = body.clone();
            std::thread::spawn(move || {
                let mut stream = std::net::TcpStream::connect(addr).unwrap();
                stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
                let head = format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {SIZE}\r\n\r\n");
                let sent = stream
                    .write_all(head.as_bytes())
                    .and_then(|()| stream.write_all(&body))
                    .is_ok();
                let mut answer = [0u8; 64];
                let refused = match stream.read(&mut answer) {
                    Ok(n) => String::from_utf8_lossy(&answer[..n]).contains(" 503 "),
                    Err(_) => !sent,
                };
                (stream, refused)
            })
        })
        .collect();
    let uploads: Vec<_> = uploads.into_iter().map(|t| t.join().unwrap()).collect();
    let refused = uploads.iter().filter(|(_, refused)| *refused).count();
    let held = rss_of(child.id()).saturating_sub(before);
    assert!(
        refused >= UPLOADS / 2,
        "only {refused} of {UPLOADS} uploads were refused"
    );
    assert!(held < 90 << 20, "the server grew by {} MiB", held >> 20);
    assert_eq!(
        Client::at(addr).get_blocking("/ok").status,
        200,
        "others are served meanwhile"
    );
    drop(uploads);
    let started = std::time::Instant::now();
    while rss_of(child.id()) > before + (30 << 20) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the memory was not given back: {} MiB over the start",
            (rss_of(child.id()) - before) >> 20
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(&child, "-TERM");
    assert!(child.wait().unwrap().success());
}

/// Whether the server has closed `stream` (end of file or reset), looking
/// for at most `wait`.
async fn is_closed(stream: &mut tokio::net::TcpStream, wait: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(wait, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// At `max_connections`, sockets that do nothing give way to real clients:
/// 600 with a stalled body and 600 that never send a head, against a cap of
/// 1,000, still let a fresh client in at once, and the ones cut are ones
/// that were waiting.
#[tokio::test(flavor = "multi_thread")]
async fn at_the_connection_cap_idle_and_stalled_sockets_give_way_to_a_fresh_client() {
    use tokio::io::AsyncWriteExt;
    let site = TestSite::new(
        "[server]\nmax_connections = 1000\n[[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\n",
    );
    let server = Server::start(site.path()).await;
    let mut stalled = Vec::new();
    for _ in 0..600 {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n0123456789")
            .await
            .unwrap();
        stalled.push(stream);
    }
    let mut idle = Vec::new();
    for _ in 0..600 {
        idle.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    // Long enough for every body to count as stalled.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    for attempt in 0..3 {
        let started = std::time::Instant::now();
        let reply = server.get("/ok").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "fresh client {attempt} waited {:?}",
            started.elapsed()
        );
    }
    let mut closed = 0;
    for stream in stalled.iter_mut().chain(idle.iter_mut()) {
        if is_closed(stream, Duration::from_millis(2)).await {
            closed += 1;
        }
    }
    // 200 over the cap, and one for the first fresh client (the others may
    // find the slot it left), no more than a few besides.
    assert!((201..=260).contains(&closed), "{closed} sockets were closed");
    server.stop().await;
}

/// A connection idle after its response is closed at `keep_alive`, well
/// before `header_timeout`; one that sends its next request in time is served.
#[tokio::test(flavor = "multi_thread")]
async fn an_idle_keep_alive_connection_is_closed_at_keep_alive() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let site = TestSite::new(
        "[server]\nkeep_alive = \"400ms\"\n[[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\n",
    );
    let server = Server::start(site.path()).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut answer = vec![0u8; 4096];
    for _ in 0..2 {
        stream
            .write_all(b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let read = stream.read(&mut answer).await.unwrap();
        assert!(
            answer[..read].starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&answer[..read])
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let idle_since = std::time::Instant::now();
    assert!(is_closed(&mut stream, Duration::from_secs(10)).await);
    let idle_for = idle_since.elapsed();
    assert!(
        idle_for >= Duration::from_millis(150) && idle_for < Duration::from_secs(3),
        "closed after {idle_for:?} idle"
    );
    server.stop().await;
}

/// 64 sockets that hold every slot of the control API without a word do
/// not keep an operator out.
#[tokio::test(flavor = "multi_thread")]
async fn idle_sockets_on_the_control_api_do_not_keep_an_authorized_request_out() {
    let token = "let-me-in-please-now";
    let site = TestSite::new(&format!(
        "[server]\nadmin_token = \"{token}\"\n[[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\n"
    ));
    let server = Server::start(site.path()).await;
    let mut idle = Vec::new();
    for _ in 0..64 {
        idle.push(tokio::net::TcpStream::connect(server.admin).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let admin = terrarium_test_support::Client::at(server.admin);
    let bearer = format!("Bearer {token}");
    for attempt in 0..3 {
        let started = std::time::Instant::now();
        let reply = admin.get_with("/mounts", &[("authorization", &bearer)]).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "authorized request {attempt} waited {:?}",
            started.elapsed()
        );
    }
    server.stop().await;
}
