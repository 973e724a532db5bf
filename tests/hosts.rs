//! Virtual hosts through real HTTP: mounts chosen by host name, then by
//! path; canonical host matching, the absolute form, sessions kept to their
//! host, one host switched off while another serves, unknown hosts.

use std::time::{Duration, Instant};

use terrarium_test_support::{Reply, Server, TestSite};

/// Two tenants on `/` by host name (one with a wildcard), a default site.
const TENANTS: &str = r#"
[server]
access_log = "access.log"

[sessions]
store = "memory"
secrets = ["first-secret-0123456789"]

[[mount]]
path = "/"
host = "blog.example.com"
name = "blog"
app = "@sessions"
sessions = true
instances = 1

[[mount]]
path = "/"
hosts = ["shop.example.com", "*.tenants.example.com"]
name = "shop"
app = "@sessions"
sessions = true
instances = 2

[[mount]]
path = "/"
static = "public"
"#;

fn tenants_site() -> TestSite {
    let site = TestSite::new(TENANTS);
    site.write("public/index.html", "the default site");
    site
}

async fn get_on(server: &Server, host: &str, path: &str, cookie: Option<&str>) -> Reply {
    let mut headers = vec![("host", host)];
    headers.extend(cookie.map(|cookie| ("cookie", cookie)));
    server.get_with(path, &headers).await
}

async fn login_on(server: &Server, host: &str, user: &str) -> Reply {
    let headers = [
        ("host", host),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    server
        .send("POST", "/login", &headers, format!("user={user}").into_bytes())
        .await
}

/// The session cookie's name a login on `host` sets ("" when none): which
/// app mount answered.
async fn session_cookie_on(server: &Server, host: &str) -> String {
    let reply = login_on(server, host, "ada").await;
    reply
        .headers
        .get("set-cookie")
        .map(|cookie| cookie.to_str().unwrap().split('=').next().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_host_reaches_its_own_mount() {
    let site = tenants_site();
    let server = Server::start(site.path()).await;

    let cases = [
        ("blog.example.com", "tsid_blog"),
        ("BLOG.example.com.", "tsid_blog"),
        ("blog.example.com:8080", "tsid_blog"),
        ("shop.example.com", "tsid_shop"),
        ("a.tenants.example.com", "tsid_shop"),
        ("Tenant-7.Tenants.Example.Com", "tsid_shop"),
        ("tenants.example.com", ""),
        ("x.a.tenants.example.com", ""),
        ("elsewhere.example", ""),
    ];
    for (host, cookie) in cases {
        assert_eq!(session_cookie_on(&server, host).await, cookie, "{host}");
    }
    // The default site is served where no mount claims the host.
    for host in [
        "tenants.example.com",
        "x.a.tenants.example.com",
        "elsewhere.example",
    ] {
        let reply = get_on(&server, host, "/", None).await;
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (200, "the default site"),
            "{host}"
        );
    }
    // A host's own mounts only: the default site's files are not under it.
    assert_eq!(
        get_on(&server, "blog.example.com", "/index.html", None)
            .await
            .status,
        404
    );
    let who = get_on(&server, "Blog.Example.com", "/who", None).await.json();
    assert_eq!(
        (who["host"].as_str(), who["root"].as_str()),
        (Some("Blog.Example.com"), Some(""))
    );

    // The absolute form's authority wins over Host, in routing and for the app.
    let client = server.client();
    let absolute = client
        .raw(
            b"GET http://blog.example.com/who HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n",
            Duration::from_secs(10),
        )
        .await;
    assert!(absolute.starts_with("HTTP/1.1 200"), "{absolute}");
    assert!(absolute.contains(r#""host":"blog.example.com""#), "{absolute}");
    let absolute_login = client
        .raw(
            b"POST http://blog.example.com/login HTTP/1.1\r\nHost: shop.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\nConnection: close\r\n\r\nuser=bob",
            Duration::from_secs(10),
        )
        .await;
    assert!(
        absolute_login.contains("set-cookie: tsid_blog="),
        "{absolute_login}"
    );

    // A malformed host is refused, not guessed at.
    for host in [
        "bad host",
        "a..b.example",
        "blog.example.com:99999",
        "user@blog.example.com",
    ] {
        let reply = get_on(&server, host, "/", None).await;
        assert_eq!(reply.status, 400, "{host}: {}", reply.text());
    }

    // /mounts shows each mount's hosts, /metrics the requests each host took.
    let mounts = server.control("GET", "/mounts").await.json();
    assert_eq!(
        mounts["mounts"][0]["hosts"],
        serde_json::json!(["blog.example.com"])
    );
    assert_eq!(
        mounts["mounts"][1]["hosts"],
        serde_json::json!(["shop.example.com", "*.tenants.example.com"])
    );
    assert_eq!(mounts["mounts"][2]["hosts"], serde_json::json!([]));
    let metrics = server.control("GET", "/metrics").await.text();
    for line in [
        "terrarium_host_requests_total{host=\"blog.example.com\"} 7\n",
        "terrarium_host_requests_total{host=\"shop.example.com\"} 1\n",
        "terrarium_host_requests_total{host=\"*.tenants.example.com\"} 2\n",
        "terrarium_unknown_host_total 0\n",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }

    // The access log names the host each request was routed by.
    let log = site.path().join("access.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    let wanted = ["mount=shop", "host=tenant-7.tenants.example.com"];
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text
            .lines()
            .any(|line| wanted.iter().all(|part| line.contains(part)))
        {
            break;
        }
        assert!(Instant::now() < deadline, "no line with {wanted:?} in\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_stays_on_the_host_that_made_it() {
    let site = tenants_site();
    let server = Server::start(site.path()).await;
    let login = login_on(&server, "blog.example.com", "ada").await;
    let set_cookie = login.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        !set_cookie.to_ascii_lowercase().contains("domain="),
        "host-only, so a browser sends it to this host alone: {set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let mine = get_on(&server, "blog.example.com", "/peek", Some(&cookie)).await;
    assert_eq!(mine.json()["user"], "ada");
    // Sent to another tenant's host anyway, it is not accepted there.
    let theirs = get_on(&server, "shop.example.com", "/peek", Some(&cookie)).await;
    assert_eq!(theirs.json()["user"], serde_json::Value::Null);
    let forged = cookie.replacen("tsid_blog", "tsid_shop", 1);
    let theirs = get_on(&server, "shop.example.com", "/peek", Some(&forged)).await;
    assert_eq!(
        theirs.json()["user"],
        serde_json::Value::Null,
        "signed for its own mount"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn switching_one_host_off_leaves_the_others_serving() {
    let site = tenants_site();
    let server = Server::start(site.path()).await;
    let client = server.client();
    let steady = tokio::spawn(async move {
        let (mut served, mut failed) = (0, 0);
        let until = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < until {
            let reply = client
                .get_with("/who", &[("host", "a.tenants.example.com")])
                .await;
            if reply.status == 200 {
                served += 1;
            } else {
                failed += 1;
            }
        }
        (served, failed)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let off = server.control("POST", "/mounts/blog/disable").await;
    assert_eq!(off.json()["state"], "disabled");
    assert_eq!(
        get_on(&server, "blog.example.com", "/who", None).await.status,
        503
    );
    assert_eq!(
        get_on(&server, "shop.example.com", "/who", None).await.status,
        200
    );
    assert_eq!(get_on(&server, "elsewhere.example", "/", None).await.status, 200);
    let (served, failed) = steady.await.unwrap();
    assert!(served > 10 && failed == 0, "{served} served, {failed} failed");
    assert_eq!(server.control("POST", "/mounts/blog/enable").await.status, 200);
    assert_eq!(
        get_on(&server, "blog.example.com", "/who", None).await.status,
        200
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_no_mount_serves_gets_the_configured_answer() {
    for (setting, status) in [("", 404), ("unknown_host = \"421\"\n", 421)] {
        let site = TestSite::new(&format!(
            "[server]\n{setting}[[mount]]\npath = \"/\"\nhost = \"docs.example.com\"\nstatic = \"docs\"\n"
        ));
        site.write("docs/index.html", "the docs");
        let server = Server::start(site.path()).await;
        let docs = get_on(&server, "docs.example.com", "/", None).await;
        assert_eq!((docs.status, docs.text().as_str()), (200, "the docs"));
        let other = get_on(&server, "other.example.com", "/", None).await;
        assert_eq!(other.status, status, "{}", other.text());
        assert!(
            other.text().contains("does not serve that host"),
            "{}",
            other.text()
        );
        // HTTP/1.0 may name no host at all.
        let nameless = server
            .client()
            .raw(b"GET / HTTP/1.0\r\n\r\n", Duration::from_secs(10))
            .await;
        assert!(nameless.starts_with(&format!("HTTP/1.0 {status}")), "{nameless}");
        let metrics = server.control("GET", "/metrics").await.text();
        assert!(metrics.contains("terrarium_unknown_host_total 2\n"), "{metrics}");
        server.stop().await;
    }
}
