//! Unmodified Flask and Bottle apps (the bundled examples, with their
//! frameworks installed from requirements.txt) through real HTTP.

use terrarium_test_support::{Reply, Server, TestSite, repo};

fn example_site(example: &str, entry: &str) -> TestSite {
    let app = repo().join("examples").join(example).join("apps").join(example);
    TestSite::new(&format!(
        // One instance per mount: the examples keep their notes in instance memory.
        "[[mount]]\npath = \"/\"\napp = \"{}\"\nentry = \"{entry}\"\ninstances = 1\n\
         [[mount]]\npath = \"/mounted\"\napp = \"{}\"\nentry = \"{entry}\"\ninstances = 1\n",
        app.display(),
        app.display()
    ))
}

fn multipart(boundary: &str) -> Vec<u8> {
    format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nMy upload\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"data.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes()
    .into_iter()
    .chain(vec![7u8; 3000])
    .chain(format!("\r\n--{boundary}--\r\n").into_bytes())
    .collect()
}

/// What both examples answer the same way.
async fn check_common_behaviour(server: &Server) {
    let empty = server.get("/api/notes").await;
    assert_eq!(empty.status, 200, "{}", empty.text());
    assert_eq!(empty.json()["count"], 0);

    let created = server
        .post_as("/api/notes", "application/json", br#"{"text":"hi"}"#)
        .await;
    assert_eq!((created.status, created.json()["count"].as_u64()), (201, Some(1)));
    let bad = server.post_as("/api/notes", "application/json", b"{}").await;
    assert_eq!(bad.status, 400);

    let form = server
        .post_as(
            "/notes",
            "application/x-www-form-urlencoded",
            b"text=caf%C3%A9+au+lait",
        )
        .await;
    assert_eq!(form.status, 303);
    assert!(
        form.headers["location"].to_str().unwrap().ends_with('/'),
        "{:?}",
        form.headers
    );
    let page = server.get("/").await;
    assert!(page.text().contains("café au lait"), "{}", page.text());

    let boundary = "----terrarium-test-boundary";
    let upload: Reply = server
        .send(
            "POST",
            "/upload",
            &[(
                "content-type",
                &format!("multipart/form-data; boundary={boundary}"),
            )],
            multipart(boundary),
        )
        .await;
    assert_eq!(upload.status, 200, "{}", upload.text());
    let upload = upload.json();
    assert_eq!(
        (&upload["name"], &upload["size"], &upload["field"]),
        (
            &serde_json::json!("data.bin"),
            &serde_json::json!(3000),
            &serde_json::json!("My upload")
        ),
        "{upload}"
    );

    let first = server.get("/visit").await;
    let cookie = first.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("visits=1") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let second = server
        .get_with("/visit", &[("cookie", "visits=1; other=x")])
        .await;
    assert_eq!(second.json()["visits"], 2);

    assert_eq!(server.get("/nowhere").await.status, 404);
    assert_eq!(
        server.send("DELETE", "/api/notes", &[], Vec::new()).await.status,
        405
    );
    for _ in 0..3 {
        let boom = server.get("/boom").await;
        assert_eq!(boom.status, 500);
        assert!(!boom.text().contains("stays in the log"));
    }
    // The instances survived the exceptions: the notes are still there.
    assert!(server.get("/api/notes").await.json()["count"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unmodified_flask_app_runs() {
    let site = example_site("flask", "app:app");
    let server = Server::start(site.path()).await;
    check_common_behaviour(&server).await;
    let page = server.get("/").await;
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    assert!(
        page.text().contains("<form method=\"post\" action=\"/notes\">"),
        "url_for works: {}",
        page.text()
    );
    // Below a mount point, Flask sees SCRIPT_NAME and builds URLs with it.
    let mounted = server.get("/mounted/").await;
    assert!(
        mounted.text().contains("action=\"/mounted/notes\""),
        "{}",
        mounted.text()
    );
    server.stop().await;
}

/// The Flask example with room to stream: a 64 MiB memory cap, a private
/// /tmp and uploads up to 200 MiB.
fn roomy_flask_site() -> TestSite {
    let app = repo().join("examples/flask/apps/flask");
    TestSite::new(&format!(
        "[[mount]]\npath = \"/\"\napp = \"{}\"\nentry = \"app:app\"\ninstances = 1\n\
         memory = \"64MiB\"\ntmp = \"128MiB\"\nmax_body = \"200MiB\"\n",
        app.display()
    ))
}

/// A multipart body of one file of `size` bytes (a repeating pattern), and
/// that file's sha256.
fn large_multipart(boundary: &str, size: usize) -> (Vec<u8>, String) {
    use sha2::{Digest, Sha256};
    let file: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let digest = format!("{:x}", Sha256::digest(&file));
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (body, digest)
}

#[tokio::test(flavor = "multi_thread")]
async fn flask_takes_a_50_mb_upload_in_a_64_mib_sandbox_and_streams_a_csv_export() {
    let site = roomy_flask_site();
    let server = Server::start(site.path()).await;
    let boundary = "----terrarium-large-upload";
    let (body, digest) = large_multipart(boundary, 50 << 20);
    let upload = server
        .send(
            "POST",
            "/upload",
            &[(
                "content-type",
                &format!("multipart/form-data; boundary={boundary}"),
            )],
            body,
        )
        .await;
    assert_eq!(upload.status, 200, "{}", upload.text());
    assert_eq!(
        (&upload.json()["size"], upload.json()["sha256"].as_str()),
        (&serde_json::json!(50 << 20), Some(digest.as_str())),
        "request.files read it whole and intact, in a sandbox smaller than the file"
    );

    server
        .post_as(
            "/api/notes",
            "application/json",
            br#"{"text":"a, \"quoted\" note"}"#,
        )
        .await;
    let export = server.get("/export.csv?rows=100000").await;
    assert_eq!(export.status, 200);
    assert_eq!(
        export.headers["transfer-encoding"], "chunked",
        "streamed as written"
    );
    assert_eq!(export.headers["content-type"], "text/csv; charset=utf-8");
    let text = export.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 100_001);
    assert_eq!(lines[0], "number,square,note");
    assert_eq!(lines[12_346], "12345,152399025,\"a, \"\"quoted\"\" note\"");
    assert_eq!(lines[100_000], "99999,9999800001,\"a, \"\"quoted\"\" note\"");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flask_app_uses_the_host_session_through_the_environ() {
    let app = repo().join("examples/flask/apps/flask");
    let site = TestSite::new(&format!(
        "[sessions]\nsecrets = [\"flask-session-secret-000\"]\n\
         [[mount]]\npath = \"/\"\napp = \"{}\"\ninstances = 2\nsessions = true\n",
        app.display()
    ));
    let server = Server::start(site.path()).await;
    let first = server.get("/session-visits").await;
    assert_eq!(first.json()["visits"], 1);
    let cookie = first.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("tsid_root="), "{cookie}");
    for visits in 2..=5 {
        // Any of the pooled instances: the count lives in the host, not in an instance.
        let reply = server.get_with("/session-visits", &[("cookie", &cookie)]).await;
        assert_eq!(reply.json()["visits"], visits);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unmodified_bottle_app_runs() {
    let site = example_site("bottle", "app:application");
    let server = Server::start(site.path()).await;
    check_common_behaviour(&server).await;
    let hello = server.get("/mounted/hello/w%C3%B6rld").await;
    assert_eq!(
        hello.json(),
        serde_json::json!({"hello": "wörld", "script_name": "/mounted"})
    );
    server.stop().await;
}
