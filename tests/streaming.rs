//! Bodies that stream both ways, through real HTTP: parts reach the client
//! as the app makes them (WSGI and ASGI), a client that goes away frees
//! the instance, a mount's `timeout` bounds the gap between parts, and a
//! gibibyte crosses each way in bounded memory.
//!
//! The two tests take turns ([`TAKE_TURNS`]): the second reuses the
//! components the first built, and neither's timings suffer from the other.

use std::{
    convert::Infallible,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{Empty, StreamBody};
use hyper::body::Frame;
use sha2::{Digest, Sha256};
use terrarium_test_support::{Client, Server, StreamedReply, TestSite, serve_process};

/// Held by each test for its whole run.
static TAKE_TURNS: Mutex<()> = Mutex::new(());

const MIB: usize = 1 << 20;
const GIB_IN_MIB: usize = 1024;

/// `/wsgi` and `/asgi` (one instance each); `/gap`: the WSGI app with a
/// 1 s `timeout`, a 1 MiB `max_body` and bodies over 64 KiB streamed;
/// `/endless`: the WSGI app with a 1 s `stream_timeout`; `/native`: the
/// native app. `server` is the
/// `[server]` table's keys; `extra(prefix)` is added to the first two mounts.
fn streams_site(server: &str, extra: impl Fn(&str) -> String) -> TestSite {
    let (wsgi, asgi) = (extra("wsgi"), extra("asgi"));
    TestSite::new(&format!(
        "[server]\n{server}\n\
         [[mount]]\npath = \"/wsgi\"\napp = \"@streams\"\nentry = \"wsgi_app:app\"\ninstances = 1\n{wsgi}\
         [[mount]]\npath = \"/asgi\"\napp = \"@streams\"\nentry = \"asgi_app:app\"\ninstances = 1\n{asgi}\
         [[mount]]\npath = \"/gap\"\napp = \"@streams\"\nentry = \"wsgi_app:app\"\ninstances = 1\n\
         timeout = \"1s\"\nmax_body = \"1MiB\"\nbuffer_body = \"64KiB\"\n\
         [[mount]]\npath = \"/endless\"\napp = \"@streams\"\nentry = \"wsgi_app:app\"\ninstances = 1\n\
         stream_timeout = \"1s\"\n\
         [[mount]]\npath = \"/native\"\napp = \"@streams\"\nentry = \"native_app:app\"\ninstances = 1\n"
    ))
}

/// A GET whose body is read as it arrives.
async fn open(client: &Client, path: &str) -> StreamedReply {
    client.open("GET", path, &[], Empty::<Bytes>::new()).await
}

/// Each part of a body with when it arrived (since `start`), to its end;
/// the error when the body was cut.
async fn parts_with_times(
    reply: &mut StreamedReply,
    start: Instant,
) -> (Vec<(Bytes, Duration)>, Option<hyper::Error>) {
    let mut parts = Vec::new();
    while let Some(part) = reply.next_part().await {
        match part {
            Ok(data) => parts.push((data, start.elapsed())),
            Err(error) => return (parts, Some(error)),
        }
    }
    (parts, None)
}

/// The time at which each line of a body had arrived whole.
fn line_arrivals(parts: &[(Bytes, Duration)]) -> Vec<Duration> {
    let mut arrivals = Vec::new();
    for (data, at) in parts {
        arrivals.extend(data.iter().filter(|&&byte| byte == b'\n').map(|_| *at));
    }
    arrivals
}

/// Five chunks made 0.3 s apart: the first arrives before the third is
/// made, and the whole takes about 1.5 s.
async fn check_chunks_arrive_as_made(client: &Client, prefix: &str) {
    let start = Instant::now();
    let mut reply = open(client, &format!("{prefix}/chunks?count=5&gap=0.3")).await;
    assert_eq!(reply.status, 200, "{prefix}");
    assert_eq!(reply.headers["transfer-encoding"], "chunked", "{prefix}");
    let (parts, cut) = parts_with_times(&mut reply, start).await;
    assert!(cut.is_none(), "{prefix}: the stream was cut: {cut:?}");
    let text: Vec<u8> = parts.iter().flat_map(|(data, _)| data.to_vec()).collect();
    let text = String::from_utf8(text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{prefix}: {text}");
    for (number, line) in lines.iter().enumerate() {
        assert!(
            line.starts_with(&format!("chunk {number} at ")),
            "{prefix}: {text}"
        );
    }
    let arrivals = line_arrivals(&parts);
    assert!(
        arrivals[0] < Duration::from_millis(500),
        "{prefix}: the first chunk took {:?} (third made at 0.6 s)",
        arrivals[0]
    );
    for pair in arrivals.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(200),
            "{prefix}: {arrivals:?}"
        );
    }
    let total = arrivals[4];
    assert!(
        (Duration::from_millis(1200)..Duration::from_millis(3000)).contains(&total),
        "{prefix}: the five chunks took {total:?}"
    );
    println!(
        "{prefix}: first chunk after {:?}, all five after {total:?}",
        arrivals[0]
    );
}

/// An endless event stream read for five events, then dropped: the
/// mount's only instance serves the next request within a second.
async fn check_a_gone_client_frees_the_instance(client: &Client, prefix: &str) {
    let start = Instant::now();
    let mut reply = open(client, &format!("{prefix}/sse")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "text/event-stream");
    let mut events = String::new();
    while events.matches("\n\n").count() < 5 {
        let part = reply.next_part().await.expect("an endless stream").unwrap();
        events.push_str(std::str::from_utf8(&part).unwrap());
    }
    assert!(
        events.starts_with("data: tick 0\n\ndata: tick 1\n\n"),
        "{prefix}: {events}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{prefix}: five events took {:?}",
        start.elapsed()
    );
    drop(reply);
    let gone = Instant::now();
    let next = tokio::time::timeout(Duration::from_secs(5), client.get(&format!("{prefix}/hello")))
        .await
        .unwrap_or_else(|_| panic!("{prefix}: the instance stayed busy after its client left"));
    let waited = gone.elapsed();
    assert_eq!(next.status, 200, "{prefix}: {}", next.text());
    assert!(
        waited < Duration::from_secs(1),
        "{prefix}: the next request waited {waited:?}"
    );
    println!("{prefix}: served again {waited:?} after the event stream's client left");
}

/// `/gap` has `timeout = "1s"`: 0.6 s gaps stream to the end (1.8 s in
/// all), a 1.6 s gap cuts the response after what came before it.
async fn check_timeout_bounds_the_gap(client: &Client) {
    let start = Instant::now();
    let mut reply = open(client, "/gap/chunks?count=4&gap=0.6").await;
    let (parts, cut) = parts_with_times(&mut reply, start).await;
    assert!(cut.is_none(), "short gaps were cut: {cut:?}");
    assert_eq!(line_arrivals(&parts).len(), 4);
    assert!(
        start.elapsed() > Duration::from_secs(1),
        "longer in all than the timeout"
    );

    let start = Instant::now();
    let mut reply = open(client, "/gap/chunks?count=3&gap=1.6").await;
    assert_eq!(reply.status, 200);
    let (parts, cut) = parts_with_times(&mut reply, start).await;
    assert!(cut.is_some(), "a gap past the timeout must cut the response");
    assert_eq!(
        line_arrivals(&parts).len(),
        1,
        "only the chunk before the long gap"
    );
    // Timed from the first chunk's arrival, the gap's start (the test's
    // own start may wait for a busy machine); the next chunk would come
    // 1.6 s after it.
    let after = start.elapsed() - parts[0].1;
    assert!(
        (Duration::from_millis(900)..Duration::from_millis(1500)).contains(&after),
        "cut {after:?} after the first chunk, not about the 1 s timeout"
    );
    let next = client.get("/gap/hello").await;
    assert_eq!((next.status, next.text().as_str()), (200, "hello from wsgi"));
}

/// A body sent without a length (chunked), past `max_body` (1 MiB) while
/// the app reads it: 413, and the mount serves on.
async fn check_max_body_applies_mid_stream(client: &Client) {
    let parts = (0..3).map(|_| Ok::<_, Infallible>(Frame::data(Bytes::from(vec![b'y'; MIB]))));
    let body = StreamBody::new(futures_util::stream::iter(parts));
    let mut reply = client.open("POST", "/gap/upload", &[], body).await;
    assert_eq!(reply.status, 413);
    while let Some(Ok(_)) = reply.next_part().await {}
    let small = client.post("/gap/upload", vec![b'z'; 1000]).await;
    let expected = format!("1000 {:x}", Sha256::digest(vec![b'z'; 1000]));
    assert_eq!((small.status, small.text()), (200, expected));
}

/// `/endless` has `stream_timeout = "1s"`: an endless event stream is cut
/// after about a second, though no gap between its events is long.
async fn check_stream_timeout_cuts_an_endless_stream(client: &Client) {
    let start = Instant::now();
    let mut reply = open(client, "/endless/sse").await;
    assert_eq!(reply.status, 200);
    let (parts, cut) = parts_with_times(&mut reply, start).await;
    let after = start.elapsed();
    assert!(cut.is_some(), "an endless stream ended as if complete");
    assert!(parts.len() >= 3, "events flowed until the cut: {parts:?}");
    assert!(
        (Duration::from_millis(900)..Duration::from_millis(2000)).contains(&after),
        "cut after {after:?}, not about the 1 s stream_timeout"
    );
    let next = client.get("/endless/hello").await;
    assert_eq!(next.status, 200, "the instance serves on");
}

/// `/metrics` counts a streamed response's whole time: the endless stream
/// cut after 1 s is in the mount's duration sum.
async fn check_metrics_count_streams_whole(server: &Server) {
    let metrics = server.control("GET", "/metrics").await.text();
    let sum: f64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("terrarium_request_duration_seconds_sum{mount=\"endless\"} "))
        .unwrap_or_else(|| panic!("{metrics}"))
        .parse()
        .unwrap();
    assert!(sum >= 0.9, "the endless stream's second is not counted: {sum}");
}

/// A client that sends more than `buffer_body` (so the app is called and
/// reads the rest as it comes) and then stops: it gets 408 after the
/// server's 1 s `body_timeout`, and the mount's one instance serves the
/// next request at once.
async fn check_a_stalled_upload_is_cut_and_frees_the_instance(client: &Client) {
    let first = futures_util::stream::iter([Ok::<_, Infallible>(Frame::data(Bytes::from(vec![
        b's';
        100 << 10
    ])))]);
    let body = StreamBody::new(first.chain(futures_util::stream::pending()));
    let start = Instant::now();
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        client.open("POST", "/gap/upload", &[], body),
    )
    .await
    .expect("a stalled upload was never answered");
    assert_eq!(reply.status, 408);
    let after = start.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(3)).contains(&after),
        "answered after {after:?}, not about the 1 s body_timeout"
    );
    let start = Instant::now();
    let next = client.get("/gap/hello").await;
    assert_eq!(next.status, 200);
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "the next request waited {:?}",
        start.elapsed()
    );
}

/// HEAD, 204 and 304 answers carry no body, whatever the app yields; a 1xx
/// status from the app is its error (500), never a final answer.
async fn check_bodies_that_may_not_be_sent_are_not(client: &Client) {
    for code in [204, 304] {
        let mut reply = open(client, &format!("/gap/status?code={code}")).await;
        assert_eq!(reply.status, code);
        assert!(reply.next_part().await.is_none(), "{code} with a body");
    }
    let mut head = client
        .open("HEAD", "/gap/chunks?count=2&gap=0", &[], Empty::<Bytes>::new())
        .await;
    assert_eq!(head.status, 200);
    assert!(head.next_part().await.is_none(), "HEAD with a body");
    for code in [100, 103] {
        let reply = client.get(&format!("/gap/status?code={code}")).await;
        assert_eq!(reply.status, 500, "{code}: {}", reply.text());
    }
    assert_eq!(client.get("/gap/hello").await.status, 200);
}

/// An app whose parts add up to less, or more, than the `Content-Length`
/// it set: the connection is cut, so the client sees the body incomplete.
async fn check_a_wrong_content_length_is_never_taken_for_whole(client: &Client) {
    let mut right = open(client, "/gap/length?declared=100&sent=100").await;
    let (parts, cut) = parts_with_times(&mut right, Instant::now()).await;
    assert!(cut.is_none(), "{cut:?}");
    assert_eq!(parts.iter().map(|(part, _)| part.len()).sum::<usize>(), 100);
    // With a gap between the parts the head has gone out with the first,
    // and the body is cut; without one, the wrong length shows before the
    // head is sent, and the connection closes without an answer.
    for (sent, gap) in [(50, 0.2), (150, 0.2), (50, 0.0), (150, 0.0)] {
        let path = format!("/gap/length?declared=100&sent={sent}&gap={gap}");
        let mut reply = match client.try_open("GET", &path, &[], Empty::<Bytes>::new()).await {
            Ok(reply) => reply,
            Err(error) if gap == 0.0 && error.is_incomplete_message() => continue,
            Err(error) => panic!("sent {sent}, {gap} s apart: no head: {error}"),
        };
        assert_eq!(reply.status, 200);
        assert_eq!(reply.headers["content-length"], "100");
        let (parts, cut) = parts_with_times(&mut reply, Instant::now()).await;
        let got: usize = parts.iter().map(|(part, _)| part.len()).sum();
        assert!(
            cut.is_some() && got < 100,
            "sent {sent}, {gap} s apart: the client took {got} bytes as the whole body"
        );
    }
    assert_eq!(client.get("/gap/hello").await.status, 200);
}

#[test]
fn streams_reach_the_client_as_they_are_made_and_end_when_it_goes() {
    let _turn = TAKE_TURNS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(chunks_gone_clients_gaps_and_limits());
}

/// The body of the test above, run while it holds its turn.
async fn chunks_gone_clients_gaps_and_limits() {
    let site = streams_site("body_timeout = \"1s\"", |_| String::new());
    let server = Server::start(site.path()).await;
    let client = server.client();
    let mounts = server.control("GET", "/mounts").await.json();
    let interfaces: Vec<_> = mounts["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mount| {
            (
                mount["path"].as_str().unwrap(),
                mount["interface"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        interfaces,
        [
            ("/wsgi", "wsgi"),
            ("/asgi", "asgi"),
            ("/gap", "wsgi"),
            ("/endless", "wsgi"),
            ("/native", "native")
        ],
        "what each build found"
    );
    let hello = client.get("/asgi/hello").await;
    let stamp = hello.json()["state"]["stamp"].clone();
    assert_eq!(
        hello.json(),
        serde_json::json!({"hello": "from asgi", "state": {"started": "at build", "stamp": stamp}})
    );
    for _ in 0..2 {
        let bound = client.get("/asgi/loop-bound").await;
        assert_eq!(
            (bound.status, bound.text().as_str()),
            (200, "the startup's event fired"),
            "an object bound to the instance's loop serves request after request"
        );
    }
    for prefix in ["/wsgi", "/asgi", "/native"] {
        check_chunks_arrive_as_made(&client, prefix).await;
    }
    for prefix in ["/wsgi", "/asgi"] {
        check_a_gone_client_frees_the_instance(&client, prefix).await;
    }
    assert_eq!(
        client.get("/wsgi/closed").await.text(),
        "1",
        "the WSGI iterable's close() ran when its client left"
    );
    let body = vec![b'n'; 3 << 20];
    let uploaded = client.post("/native/upload", body.clone()).await;
    assert_eq!(
        uploaded.text(),
        format!("{} {:x}", body.len(), Sha256::digest(&body)),
        "req.stream() past buffer_body"
    );
    check_timeout_bounds_the_gap(&client).await;
    check_stream_timeout_cuts_an_endless_stream(&client).await;
    check_metrics_count_streams_whole(&server).await;
    check_max_body_applies_mid_stream(&client).await;
    check_a_stalled_upload_is_cut_and_frees_the_instance(&client).await;
    check_bodies_that_may_not_be_sent_are_not(&client).await;
    check_a_wrong_content_length_is_never_taken_for_whole(&client).await;
    server.stop().await;

    // A second server on the same build: the lifespan's stamp is the
    // build's, older than this server, the same as the first server saw.
    let restarted_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let server = Server::start(site.path()).await;
    let again = server.client().get("/asgi/hello").await.json();
    assert_eq!(again["state"]["stamp"], stamp, "the startup ran once, at build");
    assert!(
        stamp.as_f64().unwrap() < restarted_at,
        "{stamp} is not older than {restarted_at}"
    );
    server.stop().await;
}

/// The resident memory of process `pid`, in bytes (Linux).
fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// The highest RSS of `pid` while it is watched, sampled every 20 ms.
struct PeakRss {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    sampler: Option<std::thread::JoinHandle<()>>,
}

impl PeakRss {
    fn watch(pid: u32) -> Self {
        let peak = Arc::new(AtomicU64::new(rss_of(pid)));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = std::thread::spawn({
            let (peak, stop) = (peak.clone(), stop.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_of(pid), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        Self {
            peak,
            stop,
            sampler: Some(sampler),
        }
    }

    fn peak(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.sampler.take().unwrap().join().unwrap();
        self.peak.load(Ordering::Relaxed)
    }
}

/// The 1 MiB part the test apps repeat: every byte value in turn.
fn pattern_part() -> Bytes {
    (0..MIB).map(|index| index as u8).collect::<Vec<u8>>().into()
}

/// A GiB download: every byte as the app made it, and its sha256.
async fn download_gib(client: &Client, prefix: &str) -> u64 {
    let mut reply = open(client, &format!("{prefix}/bytes?mib={GIB_IN_MIB}")).await;
    assert_eq!(reply.status, 200, "{prefix}");
    assert_eq!(
        reply.headers["content-length"],
        (GIB_IN_MIB * MIB).to_string(),
        "{prefix}"
    );
    let (mut received, mut digest) = (0u64, Sha256::new());
    while let Some(part) = reply.next_part().await {
        let part = part.unwrap_or_else(|error| panic!("{prefix}: cut after {received} bytes: {error}"));
        received += part.len() as u64;
        digest.update(&part);
    }
    let mut expected = Sha256::new();
    let part = pattern_part();
    for _ in 0..GIB_IN_MIB {
        expected.update(&part);
    }
    assert_eq!(received, (GIB_IN_MIB * MIB) as u64, "{prefix}");
    assert_eq!(
        digest.finalize(),
        expected.finalize(),
        "{prefix}: the bytes differ"
    );
    received
}

/// A GiB upload, streamed (chunked) in 1 MiB parts that differ from one
/// another; returns the app's answer and the sha256 the test computed.
async fn upload_gib(client: &Client, prefix: &str) -> (String, String) {
    let digest = Arc::new(Mutex::new(Sha256::new()));
    let template = pattern_part();
    let parts = futures_util::stream::unfold(0usize, {
        let digest = digest.clone();
        move |number| {
            let digest = digest.clone();
            let mut part = template.to_vec();
            async move {
                if number == GIB_IN_MIB {
                    return None;
                }
                part[..8].copy_from_slice(&(number as u64).to_le_bytes());
                digest.lock().unwrap().update(&part);
                Some((Ok::<_, Infallible>(Frame::data(Bytes::from(part))), number + 1))
            }
        }
    });
    let mut reply = client
        .open("POST", &format!("{prefix}/upload"), &[], StreamBody::new(parts))
        .await;
    let mut answer = Vec::new();
    while let Some(part) = reply.next_part().await {
        answer.extend_from_slice(&part.unwrap());
    }
    assert_eq!(
        reply.status,
        200,
        "{prefix}: {}",
        String::from_utf8_lossy(&answer)
    );
    let expected = format!("{:x}", digest.lock().unwrap().clone().finalize());
    (String::from_utf8(answer).unwrap(), expected)
}

/// The sha256 of the file at `path`, in hex.
fn sha256_of_file(path: &std::path::Path) -> String {
    let mut digest = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path).unwrap(), &mut digest).unwrap();
    format!("{:x}", digest.finalize())
}

#[test]
fn a_gibibyte_streams_each_way_in_bounded_memory() {
    let _turn = TAKE_TURNS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let data = tempfile::tempdir().unwrap();
    let site = streams_site("", |name| {
        let folder = data.path().join(name);
        std::fs::create_dir(&folder).unwrap();
        format!(
            "data = \"{}\"\ndata_quota = \"2GiB\"\nmax_body = \"2GiB\"\n",
            folder.display()
        )
    });
    let access_log = data.path().join("access.log");
    let (child, addr) = serve_process(
        site.path(),
        &["--admin", "off", "--access-log", access_log.to_str().unwrap()],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = Client::at(addr);
    runtime.block_on(async {
        for prefix in ["/wsgi", "/asgi"] {
            assert_eq!(client.get(&format!("{prefix}/hello")).await.status, 200);
        }
    });
    let limit = 64 * MIB as u64;
    for prefix in ["/wsgi", "/asgi"] {
        let before = rss_of(child.id());
        let watch = PeakRss::watch(child.id());
        let started = Instant::now();
        runtime.block_on(download_gib(&client, prefix));
        let (took, grew) = (started.elapsed(), watch.peak().saturating_sub(before));
        println!("{prefix}: 1 GiB down in {took:?}, RSS +{} MiB", grew / MIB as u64);
        assert!(
            grew < limit,
            "{prefix}: a 1 GiB response grew the RSS by {grew} bytes"
        );

        let before = rss_of(child.id());
        let watch = PeakRss::watch(child.id());
        let started = Instant::now();
        let (answer, expected) = runtime.block_on(upload_gib(&client, prefix));
        let (took, grew) = (started.elapsed(), watch.peak().saturating_sub(before));
        println!("{prefix}: 1 GiB up in {took:?}, RSS +{} MiB", grew / MIB as u64);
        assert_eq!(answer, format!("{} {expected}", GIB_IN_MIB * MIB), "{prefix}");
        assert!(
            grew < limit,
            "{prefix}: a 1 GiB upload grew the RSS by {grew} bytes"
        );
        let written = data.path().join(&prefix[1..]).join("upload");
        assert_eq!(
            sha256_of_file(&written),
            expected,
            "{prefix}: the file in the data folder"
        );
        std::fs::remove_file(written).unwrap();
    }
    check_streams_are_logged_whole(&access_log);
}

/// Each GiB download's access-log line has the bytes it sent and the time
/// until its last part, not the head's.
fn check_streams_are_logged_whole(access_log: &std::path::Path) {
    let text = std::fs::read_to_string(access_log).unwrap();
    let downloads: Vec<&str> = text.lines().filter(|line| line.contains("/bytes ")).collect();
    assert_eq!(downloads.len(), 2, "{text}");
    for line in downloads {
        let field = |name: &str| {
            line.split(' ')
                .find_map(|field| field.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {line}"))
                .parse::<f64>()
                .unwrap()
        };
        assert_eq!(field("bytes="), (GIB_IN_MIB * MIB) as f64, "{line}");
        assert!(
            field("duration_ms=") > 200.0,
            "the head's time, not the stream's: {line}"
        );
    }
}
