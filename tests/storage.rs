//! Apps that write, through real HTTP: the data folder (its quota, kept
//! across restarts, inside the app folder with a relative `data_at`),
//! SQLite shared by four instances, and the private `/tmp`.

use std::{path::Path, sync::Arc};

use terrarium_test_support::{Server, TestSite};

const SITE: &str = r#"
[[mount]]
path = "/store"
app = "@storage"
data = "var/store"
data_quota = "1MiB"
tmp = "1MiB"
instances = 4
timeout = "3s"
max_body = "2MiB"

[[mount]]
path = "/other"
app = "@storage"
tmp = "1MiB"
instances = 1

[[mount]]
path = "/fresh"
app = "@storage"
isolation = "request"
instances = 2
tmp = "1MiB"

[[mount]]
path = "/links"
app = "@storage"
data = "var/links"
data_quota = "1MiB"
instances = 1

[[mount]]
path = "/inapp"
app = "@storage"
data = "var/inapp"
data_at = "instance"
instances = 1
"#;

/// The quota of `/store`'s data folder.
const QUOTA: u64 = 1 << 20;

/// What the files below `folder` hold, in bytes.
fn bytes_below(folder: &Path) -> u64 {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().metadata().unwrap())
        .filter(|metadata| metadata.is_file())
        .map(|metadata| metadata.len())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_data_folder_keeps_files_within_its_quota_and_across_restarts() {
    let site = TestSite::new(SITE);
    let server = Server::start(site.path()).await;
    let chunk: Vec<u8> = (0..400_000u32).map(|i| (i % 251) as u8).collect();

    for name in ["a", "b"] {
        let put = server
            .send("PUT", &format!("/store/files/{name}"), &[], chunk.clone())
            .await;
        assert_eq!((put.status, put.text()), (200, "400000".to_owned()));
    }
    let refused = server.send("PUT", "/store/files/c", &[], chunk.clone()).await;
    assert_eq!(refused.status, 507, "{}", refused.text());
    assert!(
        refused.text().starts_with("ENOSPC") && refused.text().contains("the quota of /data is full"),
        "{}",
        refused.text()
    );
    let data = site.path().join("var/store");
    assert!(
        bytes_below(&data) <= QUOTA,
        "the host folder holds at most the quota"
    );

    let deleted = server.send("DELETE", "/store/files/a", &[], Vec::new()).await;
    assert_eq!(deleted.status, 200);
    let fits_again = server.send("PUT", "/store/files/c", &[], chunk.clone()).await;
    assert_eq!(
        fits_again.status,
        200,
        "space freed is found again: {}",
        fits_again.text()
    );

    let nested = server
        .send("PUT", "/inapp/files/note", &[], b"kept".to_vec())
        .await;
    assert_eq!(nested.status, 200, "{}", nested.text());
    assert_eq!(
        std::fs::read(site.path().join("var/inapp/note")).unwrap(),
        b"kept"
    );
    assert!(
        !terrarium_test_support::repo()
            .join("tests/apps/storage/instance")
            .exists(),
        "a relative data_at shows the data folder inside the app, the app folder stays as it was"
    );

    let mounts = server.control("GET", "/mounts").await.json();
    let store = &mounts["mounts"][0];
    assert_eq!(store["data"]["at"], "/data");
    assert_eq!(store["data"]["quota"], QUOTA);
    assert!(store["data"]["used"].as_u64().unwrap() >= 800_000);
    assert_eq!(store["tmp_quota"], QUOTA);
    assert_eq!(mounts["mounts"][4]["data"]["at"], "/2/instance");
    server.stop().await;

    let server = Server::start(site.path()).await;
    let kept = server.get("/store/files/b").await;
    assert_eq!((kept.status, kept.body.len()), (200, chunk.len()));
    assert!(kept.body[..] == chunk[..], "the same bytes after a restart");
    assert_eq!(
        server.get("/store/listing").await.json(),
        serde_json::json!(["b", "c"])
    );
    server.stop().await;
}

/// Runs `calls` (see the storage app's `/os`) in `/links`' data folder.
async fn os_calls(server: &Server, calls: serde_json::Value) -> Vec<String> {
    let reply = server
        .send("POST", "/links/os", &[], calls.to_string().into_bytes())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    serde_json::from_value(reply.json()).unwrap()
}

/// Links stay inside the data folder; a file with many hard links counts
/// once, before and after a restart; every quota refusal names the quota.
#[tokio::test(flavor = "multi_thread")]
async fn links_stay_in_the_data_folder_and_every_refusal_says_why() {
    let site = TestSite::new(SITE);
    let server = Server::start(site.path()).await;
    let escape = "PermissionError: EPERM: Operation not permitted (links in /data must point inside it, \
                  by a relative path whose `..` come first:";
    let answers = os_calls(
        &server,
        serde_json::json!([
            ["symlink", "../../.terrarium", "@out"],
            ["symlink", "/etc/passwd", "@abs"],
            ["mkdir", "@sub"],
            ["mkdir", "@sub/deeper"],
            ["symlink", "../f", "@sub/up"],
            ["symlink", "sub/up/../../x", "@through"],
            ["symlink", "../../f", "@sub/deeper/z"],
            ["rename", "@sub/deeper", "@lifted"],
            ["rename", "@sub/deeper", "@sub/again"],
            ["link", "@sub/up", "@up"],
        ]),
    )
    .await;
    let verdicts: Vec<bool> = answers.iter().map(|answer| answer.starts_with(escape)).collect();
    assert_eq!(
        verdicts,
        [true, true, false, false, false, true, false, true, false, true],
        "{answers:#?}"
    );
    assert_eq!(answers[4], "ok", "a link inside the folder works");
    assert_eq!(answers[8], "ok", "a folder of links moved sideways");
    let folder = site.path().join("var/links");
    assert!(!folder.join("out").exists() && folder.join("out").symlink_metadata().is_err());
    assert_eq!(
        std::fs::read_link(folder.join("sub/up")).unwrap(),
        Path::new("../f")
    );

    // 100 kB and 200 hard links to it: 921 kB of the 1 MiB quota.
    let big = vec![7u8; 100_000];
    let put = server.send("PUT", "/links/files/big", &[], big).await;
    assert_eq!(put.status, 200);
    let links: Vec<serde_json::Value> = (0..200)
        .map(|n| serde_json::json!(["link", "@big", format!("@big.{n}")]))
        .collect();
    let answers = os_calls(&server, serde_json::Value::Array(links)).await;
    assert!(answers.iter().all(|answer| answer == "ok"), "{answers:?}");
    server.stop().await;
    let server = Server::start(site.path()).await;
    let small = server.send("PUT", "/links/files/small", &[], b"1".to_vec()).await;
    assert_eq!(
        small.status,
        200,
        "counted once after a restart: {}",
        small.text()
    );

    let full = "OSError: ENOSPC: No space left on device (the quota of /data is full)";
    let mut calls = vec![
        serde_json::json!(["truncate", "@small", 2_000_000]),
        serde_json::json!(["pwrite", "@small", 2_000_000]),
    ];
    calls.extend((0..40).map(|n| serde_json::json!(["mkdir", format!("@m{n}")])));
    calls.push(serde_json::json!(["open", "@created", "flags:CREAT|WRONLY"]));
    calls.push(serde_json::json!(["open", "@missing", "flags:RDONLY"]));
    let answers = os_calls(&server, serde_json::Value::Array(calls)).await;
    let (last, refusals) = answers.split_last().unwrap();
    assert_eq!(
        last, "FileNotFoundError: ENOENT: No such file or directory",
        "a later, unrelated error keeps its own text"
    );
    assert_eq!(refusals[..2], [full, full], "truncate and pwrite: {answers:#?}");
    assert_eq!(refusals.last().unwrap(), full, "creating a file: {answers:#?}");
    let mkdirs = &refusals[2..42];
    assert!(
        mkdirs.iter().all(|answer| answer == "ok" || answer == full) && mkdirs.contains(&full.to_owned()),
        "mkdir until the entries run out: {answers:#?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn four_instances_share_one_sqlite_database_without_losing_a_write() {
    let site = TestSite::new(SITE);
    let server = Server::start(site.path()).await;
    assert_eq!(server.post("/store/sqlite/init", Vec::new()).await.status, 200);

    let client = Arc::new(server.client());
    let mut increments = tokio::task::JoinSet::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(16));
    for _ in 0..1000 {
        let (client, permits) = (client.clone(), permits.clone());
        increments.spawn(async move {
            let _permit = permits.acquire().await.unwrap();
            client.post("/store/sqlite/increment", Vec::new()).await.status
        });
    }
    let statuses = increments.join_all().await;
    assert!(statuses.iter().all(|&status| status == 200), "{statuses:?}");
    let state = server.get("/store/sqlite").await.json();
    assert_eq!(state, serde_json::json!({"n": 1000, "integrity": "ok"}));

    // An instance interrupted inside a transaction leaves no lock behind:
    // the next writer rolls its change back and goes on.
    let stuck = server.post("/store/sqlite/stuck", Vec::new()).await;
    assert_eq!(stuck.status, 504);
    let after = server.post("/store/sqlite/increment", Vec::new()).await;
    assert_eq!((after.status, after.text()), (200, "1001".to_owned()));
    server.stop().await;

    let server = Server::start(site.path()).await;
    let state = server.get("/store/sqlite").await.json();
    assert_eq!(state, serde_json::json!({"n": 1001, "integrity": "ok"}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tmp_is_private_to_each_instance_and_each_isolated_request() {
    let site = TestSite::new(SITE);
    let server = Server::start(site.path()).await;

    let left = server.post("/store/tmp/secret", b"mine".to_vec()).await.json();
    assert_eq!(left["tmpdir"], "/tmp");
    assert!(left["files"].as_array().unwrap().contains(&"secret".into()));
    assert_eq!(
        server.get("/other/tmp").await.json(),
        serde_json::json!([]),
        "another app's /tmp is its own"
    );

    let first = server.post("/fresh/tmp/one", b"x".to_vec()).await.json();
    assert_eq!(first["files"], serde_json::json!(["one"]));
    for _ in 0..3 {
        assert_eq!(
            server.get("/fresh/tmp").await.json(),
            serde_json::json!([]),
            "in request isolation every request starts with an empty /tmp"
        );
    }

    let spooled = server.post("/store/tmp-spool", vec![7u8; 500_000]).await;
    assert_eq!((spooled.status, spooled.text()), (200, "500000".to_owned()));
    let too_big = server.post("/store/tmp-spool", vec![7u8; 1_500_000]).await;
    assert_eq!(too_big.status, 500, "past the tmp quota");
    server.stop().await;
}

const WRITES_INTO_ITS_FOLDER: &str = r#"
import importlib.util
import os

from terrarium import App

HERE = os.path.dirname(__file__)


def try_to_write(name):
    try:
        with open(os.path.join(HERE, name), "w") as file:
            file.write("x")
        return "written"
    except OSError as error:
        return type(error).__name__


AT_BUILD = try_to_write("made-at-build.txt")
app = App()


@app.get("/")
def index(req, res):
    import lazy

    res.send_json({
        "build": AT_BUILD,
        "run": try_to_write("made-at-run.txt"),
        "file": __file__,
        "lazy_bytecode": os.path.exists(importlib.util.cache_from_source(lazy.__file__)),
    })
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_app_folder_is_read_only_while_building_and_serving() {
    let site = TestSite::new("[[mount]]\npath = \"/\"\napp = \"apps/ro\"\ninstances = 1\n");
    site.write("apps/ro/app.py", WRITES_INTO_ITS_FOLDER);
    site.write("apps/ro/lazy.py", "VALUE = 1\n");
    let server = Server::start(site.path()).await;
    let answer = server.get("/").await.json();
    assert_eq!(
        answer,
        serde_json::json!({
            "build": "PermissionError",
            "run": "PermissionError",
            "file": "/2/app.py",
            "lazy_bytecode": true,
        })
    );
    server.stop().await;
    let mut left: Vec<String> = std::fs::read_dir(site.path().join("apps/ro"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["app.py", "lazy.py"],
        "not even __pycache__ is written into the app folder"
    );
}
