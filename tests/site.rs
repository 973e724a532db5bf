//! A site of several mounts through real HTTP: routing that no spelling of a
//! path can fool, switching mounts off and on, reloading apps (also with a
//! broken build), the control API and its CLI, and all of it under load.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use terrarium_test_support::{Client, Server, TestSite, repo, terrarium};

#[tokio::test(flavor = "multi_thread")]
async fn routing_reaches_only_the_named_mount() {
    let site = TestSite::new(
        "[[mount]]\npath = \"/\"\napp = \"@@hello\"\n[[mount]]\npath = \"/api\"\napp = \"@faults\"\ninstances = 2\n",
    );
    let server = Server::start(site.path()).await;
    let echo = |path: &'static str| {
        let addr = server.addr;
        async move { Client::at(addr).post(path, Vec::new()).await }
    };
    let cases = [
        ("/api/echo", "/api", "/echo"),
        ("//api//echo", "/api", "/echo"),
        ("/api/./echo", "/api", "/echo"),
        ("/%61pi/echo", "/api", "/echo"),
        ("/blog/../api/echo", "/api", "/echo"),
        ("/api/x/../echo", "/api", "/echo"),
    ];
    for (path, script_name, path_info) in cases {
        let reply = echo(path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert_eq!(
            (
                reply.json()["script_name"].as_str(),
                reply.json()["path"].as_str()
            ),
            (Some(script_name), Some(path_info)),
            "{path}"
        );
    }
    // These name the root app, never /api.
    for path in ["/apix/echo", "/api/../echo", "/api/%2e%2e/echo", "/api%2Fecho"] {
        let reply = echo(path).await;
        assert!(
            !reply.text().contains("script_name"),
            "{path} reached /api: {}",
            reply.text()
        );
    }
    assert_eq!(echo("/api/../echo").await.status, 200, "the root app's own /echo");
    assert_eq!(server.get("/api/bad%zz").await.status, 400);
    server.stop().await;
}

const BLOG_SITE: &str = "[[mount]]\npath = \"/\"\napp = \"@@hello\"\n\
    [[mount]]\npath = \"/blog\"\napp = \"apps/blog\"\ninstances = 1\nmaintenance = \"maintenance.html\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn mounts_switch_off_and_on_and_reload_through_the_control_api() {
    let site = TestSite::new(BLOG_SITE);
    site.copy_app("faults", "apps/blog");
    site.write("maintenance.html", "<h1>The blog is resting</h1>");
    let server = Server::start(site.path()).await;

    assert_eq!(
        server.control("GET", "/health").await.json(),
        serde_json::json!({"status": "ok"})
    );
    let mounts = server.control("GET", "/mounts").await.json();
    let blog = &mounts["mounts"][1];
    assert_eq!(
        (
            blog["name"].as_str(),
            blog["path"].as_str(),
            blog["kind"].as_str()
        ),
        (Some("blog"), Some("/blog"), Some("app"))
    );
    assert_eq!(
        (
            blog["state"].as_str(),
            blog["isolation"].as_str(),
            blog["instances"].as_u64()
        ),
        (Some("enabled"), Some("pooled"), Some(1))
    );
    assert_eq!(blog["interface"], "native", "what the build found");
    assert_eq!(mounts["mounts"][0]["name"], "root");

    assert_eq!(server.get("/blog/counter").await.text(), "1");
    assert_eq!(server.get("/blog/counter").await.text(), "2");

    // Switching off: a request already running finishes; new ones get 503.
    let addr = server.addr;
    let sleeper = tokio::spawn(async move { Client::at(addr).get("/blog/sleep/600").await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let disabled = server.control("POST", "/mounts/blog/disable").await;
    assert_eq!(
        (disabled.status, disabled.json()["state"].as_str()),
        (200, Some("disabled"))
    );
    let down = server.get("/blog/ok").await;
    assert_eq!(
        (down.status, down.text().as_str()),
        (503, "<h1>The blog is resting</h1>")
    );
    assert_eq!(down.headers["retry-after"], "30");
    assert_eq!(down.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(server.get("/").await.status, 200, "other mounts are untouched");
    assert_eq!(sleeper.await.unwrap().text(), "slept");
    assert_eq!(
        server.control("GET", "/mounts").await.json()["mounts"][1]["state"],
        "disabled"
    );
    assert_eq!(server.control("POST", "/mounts/blog/enable").await.status, 200);
    assert_eq!(
        server.get("/blog/counter").await.text(),
        "3",
        "same instance after off and on"
    );

    // Reload with nothing changed: same version, fresh instances.
    let reloaded = server.control("POST", "/mounts/blog/reload").await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.text());
    let first_version = reloaded.json()["version"].as_str().unwrap().to_owned();
    assert_eq!(server.get("/blog/counter").await.text(), "1");

    // Reload after an edit: the new code serves.
    let app = site.path().join("apps/blog/app.py");
    let mut source = std::fs::read_to_string(&app).unwrap();
    source.push_str("\n\n@app.get(\"/version\")\ndef version(req, res):\n    res.send_text(\"v2\")\n");
    std::fs::write(&app, &source).unwrap();
    assert_eq!(server.get("/blog/version").await.status, 404);
    let reloaded = server.control("POST", "/mounts/blog/reload").await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.text());
    assert_ne!(reloaded.json()["version"].as_str().unwrap(), first_version);
    assert_eq!(server.get("/blog/version").await.text(), "v2");

    // A reload whose build fails keeps the old version serving.
    std::fs::write(
        &app,
        format!("{source}\nraise RuntimeError(\"broken on purpose\")\n"),
    )
    .unwrap();
    let failed = server.control("POST", "/mounts/blog/reload").await;
    assert_eq!(failed.status, 500);
    let error = failed.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("broken on purpose") && error.contains("previous version keeps serving"),
        "{error}"
    );
    assert_eq!(server.get("/blog/version").await.text(), "v2");
    let status = server.control("GET", "/mounts").await.json();
    assert!(
        status["mounts"][1]["last_error"]
            .as_str()
            .unwrap()
            .contains("broken on purpose")
    );

    // Mistakes are answered clearly.
    assert_eq!(server.control("POST", "/mounts/nope/disable").await.status, 404);
    assert_eq!(server.control("GET", "/mounts/blog/disable").await.status, 405);
    assert_eq!(server.control("GET", "/nowhere").await.status, 404);

    let metrics = server.control("GET", "/metrics").await;
    assert!(
        metrics.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text();
    for needle in [
        "terrarium_requests_total{mount=\"blog\"}",
        "terrarium_errors_total{mount=\"root\"} 0",
        "terrarium_request_duration_seconds_bucket{mount=\"blog\",le=\"+Inf\"}",
        "terrarium_instances_live{mount=\"blog\"} 1",
        "terrarium_mount_enabled{mount=\"blog\"} 1",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mount_can_start_switched_off_and_the_token_guards_the_api() {
    let site = TestSite::new(
        "[server]\nadmin_token = \"let-me-in-please-now\"\n[[mount]]\npath = \"/\"\napp = \"@@hello\"\nenabled = false\n",
    );
    let server = Server::start(site.path()).await;
    let down = server.get("/").await;
    assert_eq!(down.status, 503);
    assert!(
        down.text().contains("maintenance"),
        "the plain default page: {}",
        down.text()
    );
    let refused = server.control("POST", "/mounts/root/enable").await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.headers["www-authenticate"], "Bearer");
    let wrong = Client::at(server.admin)
        .get_with("/health", &[("authorization", "Bearer nope")])
        .await;
    assert_eq!(wrong.status, 401);
    let allowed = Client::at(server.admin)
        .send(
            "POST",
            "/mounts/root/enable",
            &[("authorization", "Bearer let-me-in-please-now")],
            Vec::new(),
        )
        .await;
    assert_eq!(allowed.status, 200);
    assert_eq!(server.get("/").await.status, 200);
    server.stop().await;
}

fn cli(args: &[&str]) -> (bool, String, String) {
    let output = terrarium(args).output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (
        output.status.success(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_lists_disables_enables_and_reloads() {
    let site = TestSite::new(BLOG_SITE);
    site.copy_app("faults", "apps/blog");
    site.write("maintenance.html", "<h1>resting</h1>");
    let server = Server::start(site.path()).await;
    let admin = server.admin.to_string();
    let run = move |args: &'static [&'static str]| {
        let admin = admin.clone();
        tokio::task::spawn_blocking(move || {
            let mut all: Vec<&str> = args.to_vec();
            all.extend(["--admin", &admin]);
            cli(&all)
        })
    };

    let (ok, out, err) = run(&["app", "list"]).await.unwrap();
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("STATE") && lines[0].contains("REQUESTS"),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("blog")
            && l.contains("/blog")
            && l.contains("native")
            && l.contains("enabled")
            // None made before its first request (min_instances = 0).
            && l.contains("0/1")),
        "{out}"
    );

    // `terrarium mounts` lists the same, with each mount's hosts ("*": any).
    let (ok, mounts, err) = run(&["mounts"]).await.unwrap();
    assert!(ok, "{err}");
    assert!(
        mounts.lines().next().unwrap().starts_with("NAME  HOSTS  PATH"),
        "{mounts}"
    );
    assert!(
        mounts
            .lines()
            .any(|l| l.split_whitespace().take(3).eq(["blog", "*", "/blog"])),
        "{mounts}"
    );

    let (ok, out, _) = run(&["app", "disable", "blog"]).await.unwrap();
    assert!(ok && out.trim() == "blog (/blog): disabled", "{out}");
    assert_eq!(server.get("/blog/ok").await.status, 503);
    let (ok, out, _) = run(&["app", "enable", "blog"]).await.unwrap();
    assert!(ok && out.trim() == "blog (/blog): enabled", "{out}");
    assert_eq!(server.get("/blog/ok").await.status, 200);
    let (ok, out, err) = run(&["app", "reload", "blog"]).await.unwrap();
    assert!(
        ok && out.contains("blog (/blog): reloaded in") && out.contains("version"),
        "{out}{err}"
    );

    let (ok, _, err) = run(&["app", "disable", "nope"]).await.unwrap();
    assert!(
        !ok && err.contains("no mount is named \"nope\"") && err.contains("404"),
        "{err}"
    );
    server.stop().await;
    let (ok, _, err) = tokio::task::spawn_blocking(|| cli(&["app", "list", "--admin", "127.0.0.1:1"]))
        .await
        .unwrap();
    assert!(
        !ok && err.contains("cannot reach the control API at 127.0.0.1:1"),
        "{err}"
    );
}

/// While traffic runs against / and /api, /blog is disabled, enabled and
/// reloaded, round after round: / and /api never fail, /blog only answers
/// 200 or 503. The rounds go on (at least 50, at most a minute) until the
/// load has been served and /blog has been seen both up and down, so the
/// toggles and the load overlap by construction, however fast a round is.
#[tokio::test(flavor = "multi_thread")]
async fn toggling_one_mount_under_load_disturbs_no_other() {
    const ROUNDS: u32 = 50;
    const SERVED: u64 = 200;
    let site = TestSite::new(
        "[[mount]]\npath = \"/\"\napp = \"@@hello\"\ninstances = 2\n\
         [[mount]]\npath = \"/api\"\napp = \"@faults\"\ninstances = 2\n\
         [[mount]]\npath = \"/blog\"\napp = \"apps/blog\"\ninstances = 1\n",
    );
    site.copy_app("faults", "apps/blog");
    let server = Arc::new(Server::start(site.path()).await);
    let done = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let served = Arc::new(AtomicU64::new(0));

    let mut load = Vec::new();
    for path in ["/", "/api/ok", "/", "/api/ok"] {
        let (server, done, failures, served) =
            (server.clone(), done.clone(), failures.clone(), served.clone());
        load.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let reply = server.get(path).await;
                if reply.status == 200 {
                    served.fetch_add(1, Ordering::Relaxed);
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                    eprintln!("{path} answered {}: {}", reply.status, reply.text());
                }
            }
        }));
    }
    // /blog's answers: [200, 503, anything else].
    let blog = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let blog_load = {
        let (server, done, blog) = (server.clone(), done.clone(), blog.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let reply = server.get("/blog/ok").await;
                let slot = match reply.status {
                    200 => 0,
                    503 => 1,
                    other => {
                        eprintln!("/blog answered {other}: {}", reply.text());
                        2
                    }
                };
                blog[slot].fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let started = std::time::Instant::now();
    let mut rounds = 0;
    let overlapped = || {
        served.load(Ordering::Relaxed) >= SERVED
            && blog[0].load(Ordering::Relaxed) > 0
            && blog[1].load(Ordering::Relaxed) > 0
    };
    while rounds < ROUNDS || !overlapped() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "after {rounds} rounds in 60 s: {} served, /blog {blog:?}",
            served.load(Ordering::Relaxed)
        );
        for action in ["disable", "enable", "reload"] {
            let reply = server.control("POST", &format!("/mounts/blog/{action}")).await;
            assert_eq!(reply.status, 200, "round {rounds}, {action}: {}", reply.text());
        }
        rounds += 1;
    }
    done.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    blog_load.await.unwrap();
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "requests to / and /api failed"
    );
    assert_eq!(
        blog[2].load(Ordering::Relaxed),
        0,
        "/blog answered something other than 200 or 503"
    );
    Arc::try_unwrap(server).ok().expect("all tasks done").stop().await;
}

#[test]
fn the_bundled_example_sites_are_valid() {
    for example in ["examples/hello", "examples/site"] {
        let config = terrarium::config::SiteConfig::load(&repo().join(example))
            .unwrap_or_else(|e| panic!("{example}: {e}"));
        assert!(!config.mounts.is_empty());
    }
    let site = terrarium::config::SiteConfig::load(&repo().join("examples/site")).unwrap();
    let names: Vec<&str> = site.mounts.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["site", "api", "blog", "static", "tenant-blog", "tenant-api"]
    );
    assert_eq!(site.mounts[5].hosts[0].to_string(), "*.tenants.localhost");
}

/// A flood of requests that never finish takes only its own mount's
/// instances: the other mount keeps answering at once, the flooded one
/// answers 504/503 rather than queueing forever.
#[tokio::test(flavor = "multi_thread")]
async fn one_mounts_flood_never_takes_anothers_capacity() {
    let site = TestSite::new(
        "[[mount]]\npath = \"/\"\napp = \"@@hello\"\ninstances = 2\n\
         [[mount]]\npath = \"/api\"\napp = \"@faults\"\ninstances = 2\ntimeout = \"1500ms\"\n",
    );
    let server = Server::start(site.path()).await;
    let mut flood = Vec::new();
    for _ in 0..6 {
        let addr = server.addr;
        flood.push(tokio::spawn(async move {
            Client::at(addr).get("/api/loop").await.status
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..20 {
        let started = std::time::Instant::now();
        assert_eq!(server.get("/").await.status, 200);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "/ waited {:?} behind /api's flood",
            started.elapsed()
        );
    }
    let mut statuses: Vec<u16> = Vec::new();
    for task in flood {
        statuses.push(task.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 504 || *s == 503), "{statuses:?}");
    assert!(statuses.contains(&504), "{statuses:?}");
    assert_eq!(
        server.get("/api/ok").await.status,
        200,
        "the flooded mount recovers"
    );
    server.stop().await;
}

/// `server.workers`: every worker thread serves, each from its own share of
/// a pool's instances, and no pool ever holds more instances than it may.
#[tokio::test(flavor = "multi_thread")]
async fn worker_threads_each_serve_from_their_own_instances() {
    let site = TestSite::new(
        "[server]\nworkers = 3\n\
         [[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 2\n\
         [[mount]]\npath = \"/fresh\"\napp = \"@faults\"\nname = \"fresh\"\nisolation = \"request\"\ninstances = 1\n",
    );
    let server = Server::start(site.path()).await;
    let done = Arc::new(AtomicBool::new(false));
    let most_live = {
        let (admin, done) = (server.admin, done.clone());
        tokio::spawn(async move {
            let mut most = (0, 0);
            while !done.load(Ordering::Relaxed) {
                let mounts = Client::at(admin).get("/mounts").await.json();
                let live = |i: usize| mounts["mounts"][i]["live_instances"].as_u64().unwrap();
                most = (most.0.max(live(0)), most.1.max(live(1)));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            most
        })
    };
    // Each request on a connection of its own: the kernel spreads them over
    // the three workers' sockets.
    let addr = server.addr;
    let counters: Vec<_> = (0..40)
        .map(|_| tokio::spawn(async move { Client::at(addr).get("/counter").await }))
        .collect();
    let fresh: Vec<_> = (0..6)
        .map(|_| tokio::spawn(async move { Client::at(addr).get("/fresh/sleep/30").await }))
        .collect();
    let mut seen = Vec::new();
    for reply in counters {
        let reply = reply.await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text());
        seen.push(reply.text().parse::<u64>().unwrap());
    }
    for reply in fresh {
        let reply = reply.await.unwrap();
        assert_eq!((reply.status, reply.text()), (200, "slept".to_owned()));
    }
    done.store(true, Ordering::Relaxed);
    let (most_pooled, most_fresh) = most_live.await.unwrap();
    assert!(
        most_pooled <= 2 && most_fresh <= 1,
        "{most_pooled} pooled, {most_fresh} fresh"
    );
    // Each instance counts from 1: worker 1 uses its own, workers 0 and 2
    // share the other, and both served.
    let firsts = seen.iter().filter(|&&n| n == 1).count();
    assert_eq!(firsts, 2, "counts: {seen:?}");
    server.stop().await;
}

/// An app that raises and prints its secret, and (once `break-on-import`
/// is in its folder) fails at import with it.
const LEAKY_APP: &str = "\
import os

from terrarium import App

if os.path.exists('break-on-import'):
    raise RuntimeError('key=' + os.environ['SECRET_A'])

app = App()


@app.get('/leak')
def leak(req, res):
    raise RuntimeError('secret leaked: ' + os.environ['SECRET_A'])


@app.get('/print')
def shout(req, res):
    print('printing', os.environ['SECRET_A'], os.environ['TOKEN'])
    return res.send_text('printed')


@app.get('/sees')
def sees(req, res):
    return res.send_text(os.environ['SECRET_A'] + ' ' + os.environ['TOKEN'] + ' ' + os.environ['PORT'])
";

#[test]
fn secrets_never_reach_the_log_the_control_api_or_an_error_page() {
    const SECRET: &str = "hunter2-but-longer";
    const TOKEN: &str = "a-literal-token-value";
    let site = TestSite::new(
        "[[mount]]\npath = \"/a\"\napp = \"apps/a\"\nname = \"a\"\ninstances = 1\n\
         env = { SECRET_A = \"env:TERRARIUM_TEST_SECRET_A\", TOKEN = \"a-literal-token-value\", PORT = \"8000\" }\n",
    );
    site.write("apps/a/app.py", LEAKY_APP);
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let log = site.path().join("server.log");
    let (mut child, addr) = terrarium_test_support::serve_process_logging_to(
        site.path(),
        &["--admin", &admin],
        &[("TERRARIUM_TEST_SECRET_A", SECRET)],
        &log,
    );
    let client = Client::at(addr);
    let control = Client::at(admin.parse().unwrap());

    let sees = client.get_blocking("/a/sees");
    assert_eq!(
        sees.text(),
        format!("{SECRET} {TOKEN} 8000"),
        "the app reads the real values"
    );
    let leak = client.get_blocking("/a/leak");
    assert_eq!(leak.status, 500);
    let request_id = leak.header("x-request-id").to_owned();
    assert_eq!(
        leak.text(),
        format!("500 Internal Server Error (request {request_id})\n"),
        "the page names the request, and nothing more"
    );
    assert_ne!(
        client.get_blocking("/a/sees").header("x-request-id"),
        request_id,
        "one id per request"
    );
    assert_eq!(client.get_blocking("/a/print").text(), "printed");

    site.write("apps/a/break-on-import", "");
    let reload = control.post_blocking("/mounts/a/reload");
    assert_eq!(reload.status, 500, "{}", reload.text());
    let mounts = control.get_blocking("/mounts").text();

    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let output = std::fs::read_to_string(&log).unwrap();
    for (place, text) in [
        ("the error page", leak.text()),
        ("the reload answer", reload.text()),
        ("/mounts", mounts.clone()),
        ("the server's output", output.clone()),
    ] {
        assert!(
            !text.contains(SECRET) && !text.contains(TOKEN),
            "a secret in {place}: {text}"
        );
    }
    assert!(
        reload.text().contains("key=[secret SECRET_A]") && mounts.contains("key=[secret SECRET_A]"),
        "the build error, masked: {}",
        reload.text()
    );
    assert!(
        output.matches(request_id.as_str()).count() >= 2,
        "the 500's X-Request-Id finds its access-log line and the app's record: {output}"
    );
    // One record for the exception, its traceback inside, as the author
    // knows the file, without the SDK's frames.
    assert_eq!(
        output.matches("unhandled exception in GET /a/leak").count(),
        1,
        "{output}"
    );
    let record = output
        .split("unhandled exception in GET /a/leak")
        .nth(1)
        .and_then(|rest| rest.split(" app=\"a\"").next())
        .unwrap();
    assert!(
        record.contains("File \"app.py\", line 13, in leak") && !record.contains("/terrarium/"),
        "{record}"
    );
    assert!(
        output.contains(&format!("{record} app=\"a\" request=\"{request_id}\"")),
        "the record carries the request id the 500 named: {output}"
    );
    assert!(
        output.contains("secret leaked: [secret SECRET_A]")
            && output.contains("printing [secret SECRET_A] [secret TOKEN]"),
        "the app's records, masked: {output}"
    );
}
