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
    assert_eq!(
        upload.json(),
        serde_json::json!({"name": "data.bin", "size": 3000, "field": "My upload"})
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
