//! The front door under requests no well-behaved client sends: HTTP/1.1
//! framing the host must refuse (RFC 9112), sent as raw bytes over loopback.

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
/// when the uploads go.
#[test]
fn stalled_uploads_hold_no_more_than_max_buffered_bodies() {
    use std::io::{Read, Write};
    use terrarium_test_support::{Client, binary::signal, serve_process};
    const UPLOADS: usize = 20;
    const SIZE: usize = 10_000_000;
    let site = TestSite::new(
        "[server]\nmax_buffered_bodies = \"50MiB\"\nbody_timeout = \"60s\"\n\
         [[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\nmax_body = \"20MB\"\n",
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
