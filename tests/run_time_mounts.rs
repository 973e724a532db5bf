//! Mounts added, changed and removed while the site serves, through the
//! control API (`PUT` and `DELETE /mounts/{name}`) and its CLI (`terrarium
//! app add` and `remove`), with a steady client of another mount that must
//! see no failure; what was added survives a restart, in a terrarium.toml
//! whose comments are kept.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use terrarium_test_support::{
    Client, Reply, Server, TestSite, binary::signal, repo, serve_process, terrarium,
};

const SITE: &str = "# the tenants' site: comments survive run-time edits\n\
                    [[mount]]\npath = \"/steady\"  # the mount a client keeps using\napp = \"@@hello\"\n";

/// The faults app's folder, as a `PUT` names it.
fn faults_app() -> String {
    repo().join("tests/apps/faults").display().to_string()
}

async fn put(server: &Server, name: &str, keys: serde_json::Value) -> Reply {
    Client::at(server.admin)
        .send(
            "PUT",
            &format!("/mounts/{name}"),
            &[("content-type", "application/json")],
            serde_json::to_vec(&keys).unwrap(),
        )
        .await
}

/// A client that GETs `/steady/` in a loop until stopped.
struct SteadyClient {
    stop: Arc<AtomicBool>,
    made: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<u64>,
}

impl SteadyClient {
    fn start(server: &Server) -> Self {
        let (stop, made) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let addr = server.addr;
        let (stopped, counted) = (stop.clone(), made.clone());
        let task = tokio::spawn(async move {
            let mut failures = 0;
            let client = Client::at(addr);
            while !stopped.load(Ordering::Relaxed) {
                if client.get("/steady/").await.status != 200 {
                    failures += 1;
                }
                counted.fetch_add(1, Ordering::Relaxed);
            }
            failures
        });
        Self { stop, made, task }
    }

    /// Stops it once it has made at least 20 requests (however fast the
    /// rest of the test went); returns how many it made and how many failed.
    async fn stop(self) -> (u64, u64) {
        while self.made.load(Ordering::Relaxed) < 20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.stop.store(true, Ordering::Relaxed);
        let failures = self.task.await.unwrap();
        (self.made.load(Ordering::Relaxed), failures)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mount_is_added_used_and_removed_while_another_serves() {
    let site = TestSite::new(SITE);
    let server = Server::start(site.path()).await;
    let steady = SteadyClient::start(&server);

    // Added: 202 at once, live once built.
    let reply = put(
        &server,
        "shop",
        serde_json::json!({"path": "/shop", "app": faults_app(), "instances": 2, "timeout": "10s"}),
    )
    .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    assert_eq!(reply.json()["state"], "building");
    let status = server.settled("shop").await;
    assert_eq!(status["mount"]["state"], "enabled", "{status}");
    assert_eq!(status["mount"]["instances"], 2);
    assert_eq!(server.get("/shop/counter").await.text(), "1");
    let listed = server.control("GET", "/mounts").await.json();
    assert_eq!(listed["mounts"][1]["name"], "shop", "{listed}");

    // Removed while a slow request runs in it: that one finishes, the
    // next gets 404.
    let addr = server.addr;
    let slow = tokio::spawn(async move { Client::at(addr).get("/shop/sleep/1500").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let removed = server.control("DELETE", "/mounts/shop").await;
    assert_eq!(
        (removed.status, removed.json()["state"].as_str()),
        (200, Some("removed"))
    );
    assert_eq!(server.get("/shop/counter").await.status, 404);
    let slow = slow.await.unwrap();
    assert_eq!((slow.status, slow.text()), (200, "slept".to_owned()));
    assert_eq!(server.control("GET", "/mounts/shop").await.status, 404);
    assert_eq!(server.control("DELETE", "/mounts/shop").await.status, 404);

    // Added again and kept across a restart, the file's comments too.
    let reply = put(
        &server,
        "kept",
        serde_json::json!({"path": "/kept", "app": faults_app()}),
    )
    .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    assert_eq!(server.settled("kept").await["mount"]["state"], "enabled");
    let (made, failures) = steady.stop().await;
    assert_eq!(failures, 0, "of {made} steady requests");
    server.stop().await;

    let file = std::fs::read_to_string(site.path().join("terrarium.toml")).unwrap();
    assert!(
        file.starts_with("# the tenants' site: comments survive run-time edits\n")
            && file.contains("# the mount a client keeps using")
            && file.contains("name = \"kept\"")
            && !file.contains("/shop"),
        "{file}"
    );
    let server = Server::start(site.path()).await;
    assert_eq!(server.get("/kept/ok").await.status, 200);
    assert_eq!(server.get("/steady/").await.status, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_put_is_refused_and_a_failed_build_leaves_the_old_version_serving() {
    let site = TestSite::new(SITE);
    let server = Server::start(site.path()).await;
    let before = std::fs::read_to_string(site.path().join("terrarium.toml")).unwrap();

    let cases = [
        (
            serde_json::json!({"path": "/x", "app": faults_app(), "colour": "red"}),
            "colour",
        ),
        (
            serde_json::json!({"path": "/x", "app": faults_app(), "instances": 0}),
            "instances",
        ),
        (
            serde_json::json!({"path": "/steady", "app": faults_app()}),
            "already serves this path",
        ),
        (serde_json::json!(["not", "an", "object"]), "JSON object"),
    ];
    for (keys, named) in cases {
        let reply = put(&server, "x", keys.clone()).await;
        assert_eq!(reply.status, 400, "{keys}: {}", reply.text());
        assert!(
            reply.json()["error"].as_str().unwrap().contains(named),
            "{keys}: {}",
            reply.text()
        );
    }
    assert_eq!(server.control("GET", "/mounts/x").await.status, 404);

    // The steady mount changed to an app whose build fails: it keeps serving.
    let broken = repo().join("tests/apps/broken").display().to_string();
    let reply = put(
        &server,
        "steady",
        serde_json::json!({"path": "/steady", "app": broken}),
    )
    .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    let status = server.settled("steady").await;
    assert_eq!(status["change"]["state"], "failed", "{status}");
    assert!(
        status["change"]["error"]
            .as_str()
            .unwrap()
            .contains("ZeroDivisionError"),
        "{status}"
    );
    assert_eq!(status["mount"]["state"], "enabled", "{status}");
    assert_eq!(server.get("/steady/").await.status, 200);
    let after = std::fs::read_to_string(site.path().join("terrarium.toml")).unwrap();
    assert_eq!(after, before, "a failed change leaves the file as it was");
    server.stop().await;
}

/// `terrarium app add` waits until the mount is live; `app remove` takes it
/// out; a bad key is refused, naming it.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_adds_and_removes_mounts() {
    let site = TestSite::new(SITE);
    let server = Server::start(site.path()).await;
    let admin = server.admin.to_string();
    let run = move |args: Vec<String>| {
        let admin = admin.clone();
        tokio::task::spawn_blocking(move || {
            let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
            all.extend(["--admin", &admin]);
            let output = terrarium(&all).output().unwrap();
            let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
            (
                output.status.success(),
                text(&output.stdout),
                text(&output.stderr),
            )
        })
    };
    let words = |text: &str| text.split(' ').map(str::to_owned).collect::<Vec<_>>();

    let mut add = words("app add blog --path /blog --app");
    add.extend([
        faults_app(),
        "instances=1".to_owned(),
        "env={TITLE=\"Blog\"}".to_owned(),
    ]);
    let (ok, out, err) = run(add).await.unwrap();
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("blog (/blog): live, enabled"), "{out}");
    assert_eq!(server.get("/blog/ok").await.status, 200);
    let file = std::fs::read_to_string(site.path().join("terrarium.toml")).unwrap();
    assert!(file.contains("env = { TITLE = \"Blog\" }"), "{file}");

    let mut bad = words("app add other --path /other --app");
    bad.extend([faults_app(), "colour=red".to_owned()]);
    let (ok, _, err) = run(bad).await.unwrap();
    assert!(!ok && err.contains("colour") && err.contains("HTTP 400"), "{err}");

    let (ok, out, err) = run(words("app remove blog")).await.unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("blog: removed"), "{out}");
    assert_eq!(server.get("/blog/ok").await.status, 404);
    server.stop().await;
}

/// `GET /mounts/{name}` from a test without a runtime, until no change of
/// it is building.
fn settled_blocking(admin: &Client, name: &str) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let reply = admin.get_blocking(&format!("/mounts/{name}"));
        if reply.status == 200 {
            let status = reply.json();
            if status["change"].is_null() || status["change"]["state"] == "failed" {
                return status;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{name} did not settle"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An edit of terrarium.toml applied on SIGHUP: one mount added, one
/// changed, one removed, while a steady client of a fourth sees no failure;
/// an invalid edit changes nothing and says why.
#[test]
fn a_file_edit_is_applied_as_a_diff_on_sighup() {
    let faults = faults_app();
    let mounts = |change_keys: &str, tail: &str| {
        format!(
            "{SITE}\n# changed on the fly\n[[mount]]\npath = \"/change\"\napp = \"{faults}\"\n{change_keys}\n{tail}"
        )
        .replace("@@hello", &repo().join("examples/hello/apps/hello").display().to_string())
    };
    let before = mounts(
        "instances = 1",
        &format!("[[mount]]\npath = \"/remove\"\napp = \"{faults}\"\n"),
    );
    let site = TestSite::new(&before);
    let admin_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (mut child, addr) = serve_process(site.path(), &["--admin", &admin_addr.to_string()]);
    let (client, admin) = (Client::at(addr), Client::at(admin_addr));
    assert_eq!(client.get_blocking("/change/counter").text(), "1");
    assert_eq!(client.get_blocking("/remove/ok").status, 200);

    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let steady = {
        let (stop, made) = (stop.clone(), made.clone());
        std::thread::spawn(move || {
            let client = Client::at(addr);
            let mut failed = 0;
            while !stop.load(Ordering::Relaxed) {
                made.fetch_add(1, Ordering::Relaxed);
                if client.get_blocking("/steady/").status != 200 {
                    failed += 1;
                }
            }
            failed
        })
    };

    let after = mounts(
        "instances = 2",
        &format!("[[mount]]\npath = \"/added\"\napp = \"{faults}\"\n"),
    );
    site.write("terrarium.toml", &after);
    signal(&child, "-HUP");
    let added = settled_blocking(&admin, "added");
    assert_eq!(added["mount"]["state"], "enabled", "{added}");
    let changed = settled_blocking(&admin, "change");
    assert_eq!(changed["mount"]["instances"], 2, "{changed}");
    assert_eq!(client.get_blocking("/added/ok").status, 200);
    assert_eq!(client.get_blocking("/remove/ok").status, 404);
    assert_eq!(client.get_blocking("/change/ok").status, 200);

    // An invalid edit changes nothing, and the reload says why.
    site.write(
        "terrarium.toml",
        after.replace("instances = 2", "instances = \"many\""),
    );
    let refused = admin.post_blocking("/config/reload");
    assert_eq!(refused.status, 400, "{}", refused.text());
    let error = refused.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("instances") && error.contains("nothing was changed"),
        "{error}"
    );
    signal(&child, "-HUP");
    assert_eq!(client.get_blocking("/added/ok").status, 200);
    // Not rebuilt: the mount that served keeps its counters.
    let change = admin.get_blocking("/mounts/change").json();
    assert_eq!(
        (&change["change"], &change["mount"]["requests"]),
        (&serde_json::Value::Null, &1.into()),
        "{change}"
    );

    // A [server] change is reported, not applied; mounts as they were.
    site.write("terrarium.toml", format!("[server]\nworkers = 1\n{after}"));
    let reloaded = admin.post_blocking("/config/reload").json();
    assert_eq!(
        reloaded["need_restart"],
        serde_json::json!(["[server]"]),
        "{reloaded}"
    );
    assert_eq!(reloaded["unchanged"], 3, "{reloaded}");

    // However fast the rest went, the steady client has had its say.
    while made.load(Ordering::Relaxed) < 20 {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let failed = steady.join().unwrap();
    let made = made.load(Ordering::Relaxed);
    assert_eq!(failed, 0, "of {made} steady requests");
    signal(&child, "-TERM");
    child.wait().unwrap();
}
