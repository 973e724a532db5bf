//! Many apps on one host through real HTTP: a thousand mounts start with
//! default settings and answer; a small site-wide instance budget is shared
//! by more busy apps than it holds (idle instances of other apps retired to
//! make room, no request failing); idle apps scale to zero and give their
//! memory back, then answer again.

use std::time::{Duration, Instant};

use terrarium_test_support::{Client, Server, TestSite, run_with_timeout, serve_process};

/// A site of `count` mounts of the hello app, `/a0` to `/a{count-1}`,
/// each with `keys`.
fn many_mounts(count: usize, server: &str, keys: &str) -> TestSite {
    let mut text = format!("[server]\n{server}\n");
    for index in 0..count {
        text.push_str(&format!(
            "[[mount]]\npath = \"/a{index}\"\napp = \"@@hello\"\n{keys}\n"
        ));
    }
    TestSite::new(&text)
}

/// The mount named `name` in a `GET /mounts` answer.
fn mount<'a>(mounts: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    mounts["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|mount| mount["name"] == name)
        .unwrap_or_else(|| panic!("no mount {name} in {mounts}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_mounts_with_default_settings_start_and_answer() {
    let site = many_mounts(1000, "", "");
    let server = Server::start(site.path()).await;
    let mounts = server.control("GET", "/mounts").await.json();
    let budget = &mounts["budget"];
    assert!(
        budget["max_instances"].as_u64().unwrap() >= 1,
        "a budget is set: {budget}"
    );
    assert_eq!(budget["in_use"], 0, "nothing is made before it is asked for");
    // Every mount answers, eight clients at a time.
    let addr = server.addr;
    let mut clients = Vec::new();
    for client in 0..8 {
        clients.push(tokio::spawn(async move {
            let client_of = Client::at(addr);
            for index in (client..1000).step_by(8) {
                let reply = client_of.get(&format!("/a{index}/hello/t{index}")).await;
                assert_eq!(reply.status, 200, "/a{index}: {}", reply.text());
                assert_eq!(reply.json()["hello"], format!("t{index}"));
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let mounts = server.control("GET", "/mounts").await.json();
    let a7 = mount(&mounts, "a7");
    assert_eq!((&a7["cold_starts"], &a7["ready"]), (&1.into(), &1.into()), "{a7}");
    let metrics = server.control("GET", "/metrics").await.text();
    assert!(
        metrics.contains("terrarium_cold_starts_total{mount=\"a999\"} 1\n"),
        "{metrics}"
    );
    server.stop().await;
}

/// A budget of two instances for four apps: each request to an app with no
/// instance retires the least recently used idle one of another app; when
/// all are busy, a request waits for one to go idle rather than failing.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_budget_retires_other_apps_idle_instances_and_no_request_fails() {
    let mut text = "[server]\nmax_instances = 2\n".to_owned();
    for name in ["a", "b", "c", "d"] {
        text.push_str(&format!(
            "[[mount]]\npath = \"/{name}\"\napp = \"@faults\"\ninstances = 2\ntimeout = \"10s\"\n"
        ));
    }
    let site = TestSite::new(&text);
    let server = Server::start(site.path()).await;
    let client = server.client();
    // One after another: a and b fill the budget, c retires a (the least
    // recently used), d retires b.
    for name in ["a", "b", "c", "d"] {
        let reply = client.get(&format!("/{name}/counter")).await;
        assert_eq!((reply.status, reply.text()), (200, "1".to_owned()), "/{name}");
    }
    let mounts = server.control("GET", "/mounts").await.json();
    let retired: Vec<_> = ["a", "b", "c", "d"]
        .iter()
        .map(|name| mount(&mounts, name)["retired_for_room"].as_u64().unwrap())
        .collect();
    assert_eq!(retired, [1, 1, 0, 0], "{mounts}");
    assert_eq!(mounts["budget"]["in_use"], 2);
    // A retired instance's app starts over in a fresh one.
    assert_eq!(client.get("/a/counter").await.text(), "1");

    // Sixteen requests that each hold an instance for 100 ms, spread over
    // the four apps at once: at most two run at a time, all succeed.
    let addr = server.addr;
    let started = Instant::now();
    let slow: Vec<_> = (0..16)
        .map(|index| {
            let name = ["a", "b", "c", "d"][index % 4];
            tokio::spawn(async move { Client::at(addr).get(&format!("/{name}/sleep/100")).await })
        })
        .collect();
    for reply in slow {
        let reply = reply.await.unwrap();
        assert_eq!((reply.status, reply.text()), (200, "slept".to_owned()));
    }
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "16 x 100 ms on 2 instances cannot take {:?}",
        started.elapsed()
    );
    let mounts = server.control("GET", "/mounts").await.json();
    assert!(mounts["budget"]["in_use"].as_u64().unwrap() <= 2, "{mounts}");
    assert!(
        mounts["budget"]["retired_for_room"].as_u64().unwrap() > 2,
        "{mounts}"
    );
    server.stop().await;
}

/// The resident memory of process `pid`, in bytes.
fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// After `idle` without requests every app holds no instance, the server
/// process's resident memory has fallen, and the next request is answered.
#[test]
fn idle_apps_scale_to_zero_and_give_their_memory_back() {
    let mut text = String::new();
    for index in 0..6 {
        text.push_str(&format!(
            "[[mount]]\npath = \"/m{index}\"\napp = \"@faults\"\ninstances = 1\nidle = \"1s\"\n"
        ));
    }
    let site = TestSite::new(&text);
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (child, addr) = serve_process(site.path(), &["--admin", &admin.to_string()]);
    let client = Client::at(addr);
    let control = Client::at(admin);
    // Each app keeps 24 MiB: six instances, 144 MiB in all.
    for index in 0..6 {
        for _ in 0..6 {
            assert_eq!(client.get_blocking(&format!("/m{index}/grow")).status, 200);
        }
    }
    let busy = resident_bytes(child.id());
    let live = |mounts: &serde_json::Value| -> u64 {
        mounts["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|mount| mount["live_instances"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(live(&control.get_blocking("/mounts").json()), 6);
    let waited = Instant::now();
    loop {
        let mounts = control.get_blocking("/mounts").json();
        if live(&mounts) == 0 {
            assert_eq!(mount(&mounts, "m3")["retired_idle"], 1, "{mounts}");
            assert_eq!(mounts["budget"]["in_use"], 0, "{mounts}");
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "still live after 20 s: {mounts}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The retired instances' memory goes back to the OS (RSS, not only PSS).
    std::thread::sleep(Duration::from_millis(500));
    let idle = resident_bytes(child.id());
    assert!(
        idle + (100 << 20) < busy,
        "RSS {} MiB while busy, {} MiB once idle",
        busy >> 20,
        idle >> 20
    );
    // And the next request makes a fresh instance on the spot.
    let reply = client.get_blocking("/m3/grow");
    assert_eq!((reply.status, reply.text()), (200, "1".to_owned()));
    let metrics = control.get_blocking("/metrics").text();
    for needle in [
        "terrarium_cold_starts_total{mount=\"m3\"} 2\n",
        "terrarium_instances_retired_total{mount=\"m3\",reason=\"idle\"} 1\n",
        "terrarium_instances_ready{mount=\"m3\"} 1\n",
        "terrarium_instance_budget_in_use 1\n",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from\n{metrics}");
    }
}

/// A budget the address space cannot hold is refused before anything is
/// built, saying what to change, without a backtrace.
#[test]
fn a_budget_that_cannot_fit_says_what_to_change() {
    let mut text = "[server]\nmax_instances = 100000\n".to_owned();
    for index in 0..50 {
        text.push_str(&format!(
            "[[mount]]\npath = \"/a{index}\"\napp = \"@@hello\"\ninstances = 1024\n"
        ));
    }
    let site = TestSite::new(&text);
    let output = run_with_timeout(
        &["serve", site.path().to_str().unwrap(), "--listen", "127.0.0.1:0"],
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("100000 instances of up to 256 MiB each do not fit")
            && stderr.contains("lower server.max_instances (about"),
        "{stderr}"
    );
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
}

/// The app each tenant of the shared-interpreter test runs: its own
/// `helpers` module (the same name in every app) and what it can see.
const TENANT_APP: &str = r#"
import os, sys
from terrarium import App
import helpers

app = App()
hits = 0

@app.get("/")
def index(req, res):
    global hits
    hits += 1
    res.send_json({
        "name": helpers.NAME,
        "hits": hits,
        "title": os.environ.get("TITLE"),
        "files": sorted(os.listdir(".")),
        "cwd": os.getcwd(),
        "other_file": os.path.exists("two_only.txt"),
        "layer_immortal": sys._is_immortal(App.handle),
        "own_immortal": sys._is_immortal(index),
    })
"#;

#[tokio::test(flavor = "multi_thread")]
async fn apps_on_a_shared_interpreter_keep_their_modules_files_and_env_apart() {
    let site = TestSite::new(
        "[[mount]]\npath = \"/one\"\napp = \"apps/one\"\nsnapshot = \"shared\"\ninstances = 1\n\
         env = { TITLE = \"One\" }\n\
         [[mount]]\npath = \"/two\"\napp = \"apps/two\"\nsnapshot = \"shared\"\ninstances = 1\n\
         env = { TITLE = \"Two\" }\n",
    );
    for (app, name) in [("one", "one"), ("two", "two")] {
        site.write(&format!("apps/{app}/app.py"), TENANT_APP);
        site.write(&format!("apps/{app}/helpers.py"), format!("NAME = {name:?}\n"));
    }
    site.write("apps/two/two_only.txt", "two's own\n");
    let server = Server::start(site.path()).await;

    let one = server.get("/one/").await.json();
    // Having answered, that first cold start on the interpreter made spare
    // instances of it (a few milliseconds each): two's first instance is
    // one of them, given two's grants as it is taken.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let two = server.get("/two/").await.json();
    assert_eq!(one["name"], "one", "{one}");
    assert_eq!(one["title"], "One", "{one}");
    // Its own files, and the bytecode its build compiled for its instances.
    assert_eq!(
        one["files"],
        serde_json::json!(["__pycache__", "app.py", "helpers.py"]),
        "{one}"
    );
    assert_eq!(one["other_file"], false, "{one}");
    assert_eq!(two["name"], "two", "{two}");
    assert_eq!(two["title"], "Two", "{two}");
    assert_eq!(two["other_file"], true, "{two}");
    // The layer's objects are immortal (their pages stay shared); the
    // app's own, made in its instance, are not.
    assert_eq!(
        (&one["layer_immortal"], &one["own_immortal"]),
        (&serde_json::json!(true), &serde_json::json!(false)),
        "{one}"
    );
    assert_eq!(
        one["cwd"], two["cwd"],
        "both see their own folder at the same path"
    );
    // Module state lives in each app's own instance.
    assert_eq!(server.get("/one/").await.json()["hits"], 2);
    assert_eq!(server.get("/one/").await.json()["hits"], 3);
    assert_eq!(server.get("/two/").await.json()["hits"], 2);

    // One interpreter for both: the apps' cache entries hold their folders
    // only, and the component they run is a layer's.
    let mounts = server.control("GET", "/mounts").await.json();
    let key_of =
        |mounts: &serde_json::Value, name: &str| mount(mounts, name)["version"].as_str().unwrap().to_owned();
    let (key_one, key_two) = (key_of(&mounts, "one"), key_of(&mounts, "two"));
    assert_ne!(key_one, key_two);
    let spare_starts = |name: &str| mount(&mounts, name)["spare_starts"].as_u64();
    assert_eq!(
        (spare_starts("one"), spare_starts("two")),
        (Some(0), Some(1)),
        "{mounts}"
    );
    let cache = terrarium_test_support::shared_cache_dir();
    for key in [&key_one, &key_two] {
        let entry = cache.join("apps").join(key);
        assert!(entry.join("app/helpers.py").is_file(), "{}", entry.display());
        assert!(!entry.join("component.wasm").exists(), "{}", entry.display());
    }

    // A change to one app rebuilds that app only: the other keeps its
    // build and its instance (and so its count).
    site.write("apps/one/helpers.py", "NAME = \"one, edited\"\n");
    let reloaded = server.control("POST", "/mounts/one/reload").await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.text());
    let one = server.get("/one/").await.json();
    assert_eq!(
        (one["name"].as_str(), one["hits"].as_u64()),
        (Some("one, edited"), Some(1)),
        "{one}"
    );
    assert_eq!(server.get("/two/").await.json()["hits"], 3);
    let mounts = server.control("GET", "/mounts").await.json();
    assert_ne!(key_of(&mounts, "one"), key_one);
    assert_eq!(key_of(&mounts, "two"), key_two);

    // An app that fails as it is imported is refused with its traceback,
    // and the others keep serving.
    let broken = Client::at(server.admin)
        .send(
            "PUT",
            "/mounts/broken",
            &[("content-type", "application/json")],
            serde_json::to_vec(&serde_json::json!({
                "path": "/broken",
                "app": terrarium_test_support::repo().join("tests/apps/broken").display().to_string(),
                "snapshot": "shared",
            }))
            .unwrap(),
        )
        .await;
    assert_eq!(broken.status, 202, "{}", broken.text());
    let status = server.settled("broken").await;
    let error = status["change"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("failed to start") && error.contains("ZeroDivisionError") && error.contains("app.py"),
        "{status}"
    );
    assert_eq!(server.get("/broken/").await.status, 404);
    assert_eq!(server.get("/two/").await.json()["hits"], 4);
    server.stop().await;
}
