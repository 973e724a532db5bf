//! Static mounts through real HTTP: types, validators, ranges, listings,
//! and every way of trying to get out of the folder.

use terrarium_test_support::{Server, TestSite};

fn static_site() -> TestSite {
    let site = TestSite::new(
        "[[mount]]\npath = \"/static\"\nstatic = \"files\"\nindex = true\n\
         [[mount]]\npath = \"/private\"\nstatic = \"private\"\n",
    );
    site.write("files/hello.txt", "hello, static world\n");
    site.write("files/page.html", "<h1>page</h1>");
    site.write("files/docs/a b.md", "# spaced");
    site.write("files/site/index.html", "<p>index</p>");
    site.write("files/.env", "SECRET=1");
    site.write("private/readme.txt", "private files");
    site.write("secret.txt", "outside the folder");
    let big: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    site.write("files/big.bin", big);
    std::os::unix::fs::symlink(
        site.path().join("secret.txt"),
        site.path().join("files/escape.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/passwd", site.path().join("files/passwd")).unwrap();
    std::os::unix::fs::symlink("hello.txt", site.path().join("files/alias.txt")).unwrap();
    site
}

#[tokio::test(flavor = "multi_thread")]
async fn files_have_types_validators_and_conditional_answers() {
    let site = static_site();
    let server = Server::start(site.path()).await;
    let hello = server.get("/static/hello.txt").await;
    assert_eq!(
        (hello.status, hello.text().as_str()),
        (200, "hello, static world\n")
    );
    assert_eq!(hello.headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(hello.headers["accept-ranges"], "bytes");
    let etag = hello.headers["etag"].to_str().unwrap().to_owned();
    let modified = hello.headers["last-modified"].to_str().unwrap().to_owned();
    assert_eq!(
        server.get("/static/page.html").await.headers["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(server.get("/static/docs/a%20b.md").await.text(), "# spaced");
    assert_eq!(
        server.get("/static/alias.txt").await.text(),
        "hello, static world\n",
        "links inside are fine"
    );

    let cached = server
        .send("GET", "/static/hello.txt", &[("if-none-match", &etag)], vec![])
        .await;
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
    let other = server
        .send(
            "GET",
            "/static/hello.txt",
            &[("if-none-match", "\"other\"")],
            vec![],
        )
        .await;
    assert_eq!(other.status, 200);
    let since = server
        .send(
            "GET",
            "/static/hello.txt",
            &[("if-modified-since", &modified)],
            vec![],
        )
        .await;
    assert_eq!(since.status, 304);
    let old = "Thu, 01 Jan 1970 00:00:00 GMT";
    let stale = server
        .send("GET", "/static/hello.txt", &[("if-modified-since", old)], vec![])
        .await;
    assert_eq!(stale.status, 200);

    let head = server.send("HEAD", "/static/hello.txt", &[], vec![]).await;
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.headers["content-length"], "20");
    let post = server.post("/static/hello.txt", vec![]).await;
    assert_eq!(
        (post.status, post.headers["allow"].to_str().unwrap()),
        (405, "GET, HEAD")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ranges_and_large_files() {
    let site = static_site();
    let server = Server::start(site.path()).await;
    let big = server.get("/static/big.bin").await;
    assert_eq!(big.status, 200);
    assert_eq!(big.body.len(), 5_000_000);
    assert!(
        big.body.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8),
        "streamed intact"
    );

    let part = server
        .send("GET", "/static/big.bin", &[("range", "bytes=1000-1009")], vec![])
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.headers["content-range"], "bytes 1000-1009/5000000");
    assert_eq!(
        part.body.to_vec(),
        (1000..1010u32).map(|i| (i % 251) as u8).collect::<Vec<_>>()
    );
    let tail = server
        .send("GET", "/static/hello.txt", &[("range", "bytes=-6")], vec![])
        .await;
    assert_eq!((tail.status, tail.text().as_str()), (206, "world\n"));
    let beyond = server
        .send("GET", "/static/hello.txt", &[("range", "bytes=500-")], vec![])
        .await;
    assert_eq!(beyond.status, 416);
    assert_eq!(beyond.headers["content-range"], "bytes */20");
    let stale_if_range = server
        .send(
            "GET",
            "/static/hello.txt",
            &[("range", "bytes=0-4"), ("if-range", "\"old\"")],
            vec![],
        )
        .await;
    assert_eq!(stale_if_range.status, 200, "a stale If-Range gets the whole file");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn folders_list_redirect_or_refuse() {
    let site = static_site();
    let server = Server::start(site.path()).await;
    let listing = server.get("/static/").await;
    assert_eq!(listing.status, 200);
    assert_eq!(listing.headers["content-type"], "text/html; charset=utf-8");
    let html = listing.text();
    for entry in [
        "href=\"docs/\"",
        "href=\"hello.txt\"",
        "href=\"big.bin\"",
        "href=\"site/\"",
    ] {
        assert!(html.contains(entry), "{entry} in {html}");
    }
    assert!(!html.contains(".env"), "hidden files are not listed");
    assert!(
        server
            .get("/static/docs/")
            .await
            .text()
            .contains("href=\"a%20b.md\"")
    );
    let redirect = server.get("/static/docs").await;
    assert_eq!(
        (redirect.status, redirect.headers["location"].to_str().unwrap()),
        (301, "/static/docs/")
    );
    assert_eq!(
        server.get("/static/site/").await.text(),
        "<p>index</p>",
        "index.html wins over a listing"
    );
    assert_eq!(
        server.get("/private/").await.status,
        403,
        "no listing without `index = true`"
    );
    assert_eq!(server.get("/private/readme.txt").await.status, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_escapes_the_folder() {
    let site = static_site();
    let server = Server::start(site.path()).await;
    let attempts = [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/%2E%2E/etc/passwd",
        "/static/..%2fsecret.txt",
        "/static/docs/..%2F..%2Fsecret.txt",
        "/static//..//..//secret.txt",
        "/static/escape.txt",
        "/static/passwd",
        "/static/.env",
        "/static/%2eenv",
        "/static/docs/%2e%2e/.env",
        "/private/../static/../secret.txt",
    ];
    for path in attempts {
        let reply = server.get(path).await;
        assert!(
            reply.status == 404 || reply.status == 400,
            "{path} answered {}: {}",
            reply.status,
            reply.text()
        );
        assert!(
            !reply.text().contains("outside the folder") && !reply.text().contains("root:"),
            "{path}"
        );
    }
    assert_eq!(server.get("/static/bad%zz").await.status, 400);
    assert_eq!(server.get("/static/nul%00.txt").await.status, 400);
    assert_eq!(
        server.get("/elsewhere").await.status,
        404,
        "no mount: the host's own 404"
    );
    server.stop().await;
}
