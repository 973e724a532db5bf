//! The native SDK through real HTTP: every router style, middleware,
//! templates (Jinja2 from requirements.txt), forms, cookies, errors.

use terrarium_test_support::{Server, TestSite};

#[tokio::test(flavor = "multi_thread")]
async fn every_router_style_and_request_feature_works_in_the_sandbox() {
    let site = TestSite::new(
        "[[mount]]\npath = \"/\"\napp = \"@native\"\ninstances = 2\n[[mount]]\npath = \"/sub\"\napp = \"@native\"\ninstances = 1\n",
    );
    let server = Server::start(site.path()).await;
    let get = |path: &'static str| server.get(path);

    // Middleware: on the way out, and guarding a prefix.
    let door = get("/locked/door").await;
    assert_eq!(
        (door.status, door.headers["x-handled-by"].to_str().unwrap()),
        (403, "terrarium")
    );
    let open = server.get_with("/locked/door", &[("x-key", "open")]).await;
    assert_eq!(open.text(), "open door");

    // Growler's routerify, Guava's REST, MVC and custom routers, a sub-router.
    assert_eq!(get("/greet/hello/ada").await.text(), "hello ada");
    // The host keeps an encoded slash inside its segment and the SDK decodes
    // each segment once: no double decoding, no extra segment.
    assert_eq!(get("/greet/hello/a%2Fb").await.text(), "hello a/b");
    assert_eq!(get("/greet/hello/a%2541").await.text(), "hello a%41");
    assert_eq!(get("/api/users").await.json(), serde_json::json!(["ada"]));
    assert_eq!(
        get("/api/users/1").await.json(),
        serde_json::json!({"id": "1", "name": "ada"})
    );
    assert_eq!(get("/api/users/9").await.status, 404);
    let created = server.post("/api/users", br#"{"name":"grace"}"#.to_vec()).await;
    assert_eq!(created.status, 201);
    let put = server.send("PUT", "/api/users/1", &[], Vec::new()).await;
    assert_eq!(put.status, 405);
    assert!(put.headers["allow"].to_str().unwrap().contains("DELETE"));
    assert_eq!(
        server
            .send("DELETE", "/api/users/2", &[], Vec::new())
            .await
            .status,
        204
    );
    assert_eq!(get("/mvc").await.text(), "mvc index");
    assert_eq!(get("/mvc/user").await.text(), "user index");
    assert_eq!(get("/mvc/user/message").await.text(), "user message");
    assert_eq!(get("/mvc/user/nothing").await.status, 404);
    assert_eq!(get("/custom/about").await.text(), "about us");
    assert_eq!(
        server.post("/custom/contact", Vec::new()).await.text(),
        "message sent"
    );
    assert_eq!(
        get("/admin/where").await.json(),
        serde_json::json!({"path": "/where", "script_name": "/admin"})
    );
    assert_eq!(
        get("/sub/admin/where").await.json(),
        serde_json::json!({"path": "/where", "script_name": "/sub/admin"})
    );
    assert_eq!(
        get("/files/a/b.txt").await.json(),
        serde_json::json!({"rest": "a/b.txt"})
    );

    // Jinja2, installed from requirements.txt, rendering with autoescape.
    let page = get("/page?item=one&item=%3Ctwo%3E").await;
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        page.text(),
        "<h1>Items &lt;&amp;&gt;</h1><ul><li>one</li><li>&lt;two&gt;</li></ul>"
    );

    // Multipart upload.
    let body = b"--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nReport\r\n--B\r\n\
        Content-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\nContent-Type: text/csv\r\n\r\n\
        a,b\r\n1,2\r\n--B--\r\n"
        .to_vec();
    let upload = server
        .send(
            "POST",
            "/upload",
            &[("content-type", "multipart/form-data; boundary=B")],
            body,
        )
        .await;
    assert_eq!(
        upload.json(),
        serde_json::json!({"title": "Report", "name": "r.csv", "size": 8, "type": "text/csv"})
    );

    // Cookies and redirects.
    let login = server
        .post_as("/login", "application/x-www-form-urlencoded", b"user=ada")
        .await;
    assert_eq!(
        (login.status, login.headers["location"].to_str().unwrap()),
        (303, "/whoami")
    );
    let cookie = login.headers["set-cookie"].to_str().unwrap();
    assert_eq!(cookie, "user=ada; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax");
    let who = server.get_with("/whoami", &[("cookie", "user=ada")]).await;
    assert_eq!(who.json(), serde_json::json!({"user": "ada"}));
    let logout = server.post("/logout", Vec::new()).await;
    assert_eq!(logout.status, 302);
    assert!(
        logout.headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("user=; Max-Age=0")
    );

    // Errors: 404, 405, HTTPError, and an exception that leaves the instance alive.
    assert_eq!(get("/nowhere").await.status, 404);
    let wrong = server.post("/page", Vec::new()).await;
    assert_eq!(
        (wrong.status, wrong.headers["allow"].to_str().unwrap()),
        (405, "GET, HEAD")
    );
    assert_eq!(get("/teapot").await.status, 418);
    for _ in 0..3 {
        let boom = get("/boom").await;
        assert_eq!(boom.status, 500);
        assert!(!boom.text().contains("kept in the log"));
    }
    assert_eq!(get("/api/users").await.status, 200, "instances survived");
    server.stop().await;
}
