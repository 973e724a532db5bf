//! A Python app served from wasm sandboxes, through real HTTP on loopback:
//! the hello example, every fault, lazy imports and both isolation modes.

use std::time::{Duration, Instant};

use terrarium_test_support::{Client, Server, TestSite, https::Connection};

const FAULTS_POOLED: &str = r#"
[[mount]]
path = "/"
app = "@faults"
instances = 2
memory = "128MiB"
timeout = "1s"
max_body = "1KiB"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn hello_example_answers() {
    let site = TestSite::new("[[mount]]\npath = \"/\"\napp = \"@@hello\"\n");
    let server = Server::start(site.path()).await;

    let index = server.get("/").await;
    assert_eq!(index.status, 200);
    assert_eq!(index.text(), "Hello from Python in a WebAssembly sandbox!\n");
    assert_eq!(index.headers["content-type"], "text/plain; charset=utf-8");

    let hello = server.get("/hello/w%C3%B6rld?lang=en").await;
    assert_eq!(hello.status, 200);
    assert_eq!(
        hello.json(),
        serde_json::json!({"hello": "wörld", "query": {"lang": "en"}})
    );

    let echo = server
        .post_as("/echo", "application/x-thing", b"\x00\x01binary")
        .await;
    assert_eq!((echo.status, &echo.body[..]), (200, &b"\x00\x01binary"[..]));
    assert_eq!(echo.headers["content-type"], "application/x-thing");

    let missing = server.get("/nope").await;
    assert_eq!(missing.status, 404);
    let wrong_method = server.send("DELETE", "/", &[], Vec::new()).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.headers["allow"], "GET, HEAD");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn handler_exception_is_a_500_and_the_instance_lives_on() {
    let site = TestSite::new(FAULTS_POOLED);
    let server = Server::start(site.path()).await;
    let before: u32 = server.get("/counter").await.text().parse().unwrap();
    for _ in 0..3 {
        let reply = server.get("/raise").await;
        assert_eq!(reply.status, 500);
        assert!(
            !reply.text().contains("secret detail"),
            "tracebacks stay in the log: {}",
            reply.text()
        );
        assert_eq!(
            server.get("/exit").await.status,
            500,
            "sys.exit in a handler is a 500 too"
        );
    }
    // Exceptions do not discard instances: the counters kept their state.
    let mut after = 0;
    for _ in 0..4 {
        after = after.max(server.get("/counter").await.text().parse::<u32>().unwrap());
    }
    assert!(
        after >= before + 2,
        "counter went from {before} to {after}: instances were replaced"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn infinite_loop_is_a_504_after_the_deadline_and_others_are_served_meanwhile() {
    let site = TestSite::new(FAULTS_POOLED);
    let server = Server::start(site.path()).await;
    let addr = server.addr;
    let started = Instant::now();
    let stuck = tokio::spawn(async move { Client::at(addr).get("/loop").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The other instance keeps answering while one spins.
    for _ in 0..5 {
        assert_eq!(server.get("/ok").await.status, 200);
    }
    let reply = stuck.await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(reply.status, 504);
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    // The spinning instance was replaced: the pool is whole again.
    for _ in 0..4 {
        assert_eq!(server.get("/ok").await.status, 200);
    }
    server.stop().await;
}

/// The mount's `timeout` bounds a request's whole time in the app: one
/// that waited for the only instance has only the rest of it to run.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_waited_for_an_instance_has_only_the_rest_of_its_timeout() {
    let site = TestSite::new("[[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\ntimeout = \"1s\"\n");
    let server = Server::start(site.path()).await;
    let addr = server.addr;
    let first = tokio::spawn(async move { Client::at(addr).get("/sleep/700").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    // Waits about 600 ms for the instance, then would sleep 700 ms more.
    let queued = server.get("/sleep/700").await;
    let elapsed = started.elapsed();
    assert_eq!(first.await.unwrap().status, 200);
    assert_eq!(queued.status, 504, "{}", queued.text());
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(1250),
        "cut a second after it arrived, not a second after it started: {elapsed:?}"
    );
    assert_eq!(server.get("/ok").await.status, 200);
    server.stop().await;
}

/// A client that hangs up (HTTP/1.1) or resets its stream (HTTP/2) while
/// the app runs does not cut the app short: the call finishes, and its
/// instance goes back to the pool with its state.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_goes_away_does_not_cut_the_app_short() {
    let site = TestSite::new("[[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\n");
    let server = Server::start(site.path()).await;
    let first: u32 = server.get("/counter").await.text().parse().unwrap();
    let hung_up = Client::at(server.addr)
        .raw(
            b"GET /sleep/300 HTTP/1.1\r\nhost: a\r\n\r\n",
            Duration::from_millis(50),
        )
        .await;
    assert_eq!(hung_up, "", "no answer came within 50 ms");
    let mut h2 = Connection::h2c(server.addr).await.unwrap();
    let reset = tokio::time::timeout(Duration::from_millis(50), h2.get("a", "/sleep/300")).await;
    assert!(reset.is_err(), "the stream was dropped (and reset) unanswered");
    // The only instance finishes both naps, then counts on from where it was.
    let next: u32 = server.get("/counter").await.text().parse().unwrap();
    assert_eq!(next, first + 1, "the instance was replaced: a call was cut short");
    assert_eq!(
        h2.get("a", "/ok").await.unwrap().text,
        "ok",
        "the HTTP/2 connection lives on"
    );
    server.stop().await;
}

/// `hashlib.pbkdf2_hmac` and `hashlib.scrypt`, which the sandbox's CPython
/// lacks, give CPython's results (computed by the host); a derivation past
/// the deadline is a 504 like any other, and the pool is whole after it.
#[tokio::test(flavor = "multi_thread")]
async fn passwords_hash_on_the_host_with_cpythons_results() {
    let site = TestSite::new(FAULTS_POOLED);
    let server = Server::start(site.path()).await;
    let pbkdf2 = |iterations: u32| {
        let server = &server;
        async move { server.get(&format!("/pbkdf2/{iterations}")).await }
    };
    // The published PBKDF2-HMAC-SHA256 vector ("password", "salt", c = 1, 32 bytes).
    assert_eq!(
        pbkdf2(1).await.json()["key"],
        "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
    );
    // Werkzeug's default cost: the same key as the host's own function gives.
    let reply = pbkdf2(600_000).await.json();
    let expected = terrarium::kdf::pbkdf2_hmac(
        "sha256",
        b"password",
        b"salt",
        600_000,
        32,
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap();
    let hex: String = expected.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(reply["key"], hex);
    println!(
        "pbkdf2_hmac sha256, 600,000 iterations, in the sandbox: {} s",
        reply["seconds"]
    );
    // RFC 7914 §12.
    assert_eq!(
        server.get("/scrypt/10").await.json()["key"],
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
         2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
    );
    assert_eq!(
        server.get("/scrypt/20").await.json()["error"],
        "scrypt may use at most 256 MiB in this sandbox."
    );

    let started = Instant::now();
    assert_eq!(pbkdf2(u32::MAX).await.status, 504);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    for _ in 0..4 {
        assert_eq!(server.get("/ok").await.status, 200);
    }
    server.stop().await;
}

/// `zoneinfo` finds the IANA database without the app shipping `tzdata`.
#[tokio::test(flavor = "multi_thread")]
async fn time_zones_are_there_without_tzdata() {
    let site = TestSite::new(FAULTS_POOLED);
    let server = Server::start(site.path()).await;
    let paris = server.get("/tz/Europe/Paris").await.json();
    assert_eq!(paris["local"], "2026-07-01T14:00:00+02:00");
    assert!(paris["zones"].as_u64().unwrap() > 400, "{paris}");
    let deep = server.get("/tz/America/Argentina/Buenos_Aires").await.json();
    assert_eq!(deep["local"], "2026-07-01T09:00:00-03:00");
    assert_eq!(
        server.get("/tz/UTC").await.json()["local"],
        "2026-07-01T12:00:00+00:00"
    );
    assert_eq!(server.get("/tz/Not/A_Zone").await.status, 500);
    server.stop().await;
}

/// `asyncio.run` works in the sandbox (its loop needs no self-pipe, its
/// default executor no thread): three 100 ms sleeps run at once, a timer
/// fires, `asyncio.to_thread` answers, and it works twice in one instance.
#[tokio::test(flavor = "multi_thread")]
async fn asyncio_runs_timers_and_tasks_in_the_sandbox() {
    let site = TestSite::new(FAULTS_POOLED);
    let server = Server::start(site.path()).await;
    for _ in 0..2 {
        let answer = server.get("/asyncio").await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let answer = answer.json();
        assert_eq!(answer["results"], serde_json::json!([0, 1, 2, "timer", "INLINE"]));
        let seconds = answer["seconds"].as_f64().unwrap();
        assert!((0.1..0.29).contains(&seconds), "the sleeps overlap: {seconds} s");
    }
    server.stop().await;
}

/// A pooled instance that leaks is retired between requests before it
/// reaches its memory cap: 100 calls that each keep 4 MiB more, against a
/// 128 MiB cap, all answer 200, and its state starts over in its successor.
#[tokio::test(flavor = "multi_thread")]
async fn a_leaking_instance_is_replaced_before_its_cap_fails_a_request() {
    let site =
        TestSite::new("[[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\nmemory = \"128MiB\"\n");
    let server = Server::start(site.path()).await;
    let mut kept = Vec::new();
    for call in 0..100 {
        let reply = server.get("/grow").await;
        assert_eq!(reply.status, 200, "call {call}: {}", reply.text());
        kept.push(reply.text().parse::<u32>().unwrap());
    }
    assert!(
        kept.iter().max().unwrap() * 4 < 128,
        "never near the cap: {kept:?}"
    );
    assert!(
        kept.iter().filter(|&&n| n == 1).count() >= 3,
        "replaced several times: {kept:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unbounded_allocation_hits_the_cap_as_a_500() {
    let site = TestSite::new(FAULTS_POOLED);
    let server = Server::start(site.path()).await;
    for _ in 0..2 {
        assert_eq!(server.get("/alloc").await.status, 500);
        assert_eq!(server.get("/ok").await.status, 200);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deep_recursion_and_stack_overflow_are_500s() {
    let site = TestSite::new(FAULTS_POOLED);
    let server = Server::start(site.path()).await;
    for path in ["/recurse", "/deep-stack", "/recurse"] {
        assert_eq!(server.get(path).await.status, 500, "{path}");
        assert_eq!(server.get("/ok").await.status, 200, "after {path}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stdlib_modules_import_lazily_inside_a_handler() {
    let site = TestSite::new(FAULTS_POOLED);
    let server = Server::start(site.path()).await;
    let reply = server.get("/decimal").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        serde_json::json!({"sum": "3.3", "preloaded": false})
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn request_details_reach_the_app_and_limits_hold() {
    let site = TestSite::new(FAULTS_POOLED);
    let server = Server::start(site.path()).await;
    let reply = server
        .send("POST", "/echo?q=1&q=two", &[("X-Test", "yes")], b"hello".to_vec())
        .await;
    assert_eq!(
        reply.json(),
        serde_json::json!({"method": "POST", "path": "/echo", "script_name": "", "query": ["1", "two"],
                           "header": "yes", "length": 5, "remote": "127.0.0.1",
                           "host": server.addr.to_string()})
    );
    let too_big = server.post("/echo", vec![b'x'; 2048]).await;
    assert_eq!(too_big.status, 413);
    assert_eq!(
        server.get("/bad-status").await.status,
        500,
        "an invalid status from the app is a 500"
    );
    assert_eq!(server.get("/log").await.text(), "logged");
    server.stop().await;
}

/// Both isolation modes under both ways of resetting a sandbox's memory
/// (`server.memory_reset`): a pooled instance keeps its state until it is
/// replaced (here after blowing its memory cap), and its replacement, made in
/// the same memory, starts fresh; request instances never share anything.
#[tokio::test(flavor = "multi_thread")]
async fn pooled_instances_keep_state_request_instances_share_nothing() {
    for reset in ["auto", "decommit"] {
        let site = TestSite::new(&format!(
            "[server]\nmemory_reset = \"{reset}\"\n\
             [[mount]]\npath = \"/pooled\"\napp = \"@faults\"\ninstances = 1\nmemory = \"64MiB\"\n\
             [[mount]]\npath = \"/request\"\napp = \"@faults\"\nisolation = \"request\"\ninstances = 2\n"
        ));
        let server = Server::start(site.path()).await;
        let counts = |prefix: &'static str| {
            let server = &server;
            async move {
                let mut out = Vec::new();
                for _ in 0..3 {
                    out.push(server.get(&format!("{prefix}/counter")).await.text());
                }
                out
            }
        };
        assert_eq!(counts("/pooled").await, ["1", "2", "3"], "memory_reset = {reset}");
        assert_eq!(server.get("/pooled/alloc").await.status, 500);
        assert_eq!(
            counts("/pooled").await,
            ["1", "2", "3"],
            "memory_reset = {reset}: replaced fresh"
        );

        assert_eq!(
            counts("/request").await,
            ["1", "1", "1"],
            "memory_reset = {reset}"
        );
        // Faults in request mode are contained the same way.
        assert_eq!(server.get("/request/raise").await.status, 500);
        assert_eq!(server.get("/request/alloc").await.status, 500);
        assert_eq!(server.get("/request/decimal").await.status, 200);
        assert_eq!(
            counts("/request").await,
            ["1", "1", "1"],
            "memory_reset = {reset}"
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn warm_up_requests_run_before_the_snapshot_every_instance_starts_from() {
    let site = TestSite::new(
        "[[mount]]\npath = \"/\"\napp = \"@faults\"\nisolation = \"request\"\ninstances = 2\n\
         warm_up = [\"/counter\", \"/ok\"]\n",
    );
    let server = Server::start(site.path()).await;
    // The build served /counter 8 times before the snapshot; each fresh
    // instance starts from there, and nothing a request does survives it.
    let counts: Vec<String> = futures_sequential(&server, 3).await;
    assert_eq!(counts, ["9", "9", "9"]);
    assert_eq!(server.get("/ok").await.status, 200);
    server.stop().await;
}

async fn futures_sequential(server: &Server, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(server.get("/counter").await.text());
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn apps_mounted_below_the_root_see_their_script_name() {
    let site = TestSite::new(
        "[[mount]]\npath = \"/\"\napp = \"@@hello\"\n[[mount]]\npath = \"/faults\"\napp = \"@faults\"\ninstances = 1\n\
         [[mount]]\npath = \"/alt\"\napp = \"@faults\"\nentry = \"alt:create_app()\"\ninstances = 1\n\
         env = { TITLE = \"Hello\", API_KEY = \"s3cret-value\", FROM_HOST = \"env:CARGO_PKG_NAME\", EMPTY = \"\" }\n",
    );
    let server = Server::start(site.path()).await;
    assert_eq!(
        server.get("/alt").await.text(),
        "alt entry, made by create_app() 1 time(s)",
        "entry names a factory in another module, called once at build time"
    );
    // The mount's env is os.environ, at build time and in every request.
    let env = |name: &str| {
        let server = &server;
        let path = format!("/alt/env/{name}");
        async move { server.get(&path).await.json() }
    };
    assert_eq!(env("TITLE").await["title_at_build"], "Hello");
    assert_eq!(env("API_KEY").await["value"], "s3cret-value");
    assert_eq!(
        env("FROM_HOST").await["value"],
        std::env::var("CARGO_PKG_NAME").unwrap()
    );
    assert_eq!(env("EMPTY").await["value"], "");
    assert!(
        env("HOME").await["value"].is_null(),
        "nothing of the host's but what env names"
    );
    // The control API shows the names, never a value.
    let mounts = server.control("GET", "/mounts").await;
    let alt = &mounts.json()["mounts"][2];
    assert_eq!(
        alt["env"],
        serde_json::json!(["API_KEY", "EMPTY", "FROM_HOST", "TITLE"])
    );
    assert!(!mounts.text().contains("s3cret-value"), "{}", mounts.text());
    let reply = server.post("/faults/echo", Vec::new()).await;
    assert_eq!(reply.json()["script_name"], "/faults");
    assert_eq!(reply.json()["path"], "/echo");
    assert_eq!(
        server.get("/faultsx").await.status,
        404,
        "served by the root app, which has no such route"
    );
    assert_eq!(server.get("/").await.status, 200);
    server.stop().await;
}
