//! Sessions in a real Redis: two hosts sharing them, and Redis going away
//! and coming back while the server runs.

use std::process::Command;

use terrarium_test_support::{Client, Reply, Server, TestSite, cookie_of, redis::RedisServer, serve_process};

fn site_for(redis: &RedisServer) -> TestSite {
    TestSite::new(&format!(
        "[sessions]\nstore = \"redis\"\nurl = \"{}\"\nsecrets = [\"a-shared-secret-for-all-hosts\"]\n\
         [[mount]]\npath = \"/a\"\napp = \"@sessions\"\nsessions = true\ninstances = 1\n\
         [[mount]]\npath = \"/plain\"\napp = \"@sessions\"\ninstances = 1\n",
        redis.url()
    ))
}

async fn login(addr: std::net::SocketAddr, user: &str) -> Reply {
    let form = [("content-type", "application/x-www-form-urlencoded")];
    Client::at(addr)
        .send("POST", "/a/login", &form, format!("user={user}").into_bytes())
        .await
}

async fn get_with(addr: std::net::SocketAddr, path: &str, cookie: &str) -> Reply {
    Client::at(addr).get_with(path, &[("cookie", cookie)]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hosts_share_sessions_through_redis() {
    let redis = RedisServer::start();
    let site = site_for(&redis);
    // Two `terrarium serve` processes, the same site, the same Redis.
    let path = site.path().to_owned();
    let ((mut host_a, a), (mut host_b, b)) = tokio::task::spawn_blocking(move || {
        (
            serve_process(&path, &["--admin", "off"]),
            serve_process(&path, &["--admin", "off"]),
        )
    })
    .await
    .unwrap();

    let cookie = cookie_of(&login(a, "ada").await);
    assert_eq!(
        get_with(b, "/a/me", &cookie).await.json(),
        serde_json::json!({"user": "ada", "visits": 1})
    );
    assert_eq!(
        get_with(a, "/a/me", &cookie).await.json()["visits"],
        2,
        "B's update is seen by A"
    );
    assert_eq!(get_with(b, "/a/me", &cookie).await.json()["visits"], 3);
    let out = Client::at(b)
        .send("POST", "/a/logout", &[("cookie", &cookie)], Vec::new())
        .await;
    assert_eq!(out.status, 200);
    assert_eq!(
        get_with(a, "/a/peek", &cookie).await.json()["user"],
        serde_json::Value::Null,
        "logged out everywhere"
    );

    for host in [&mut host_a, &mut host_b] {
        let _ = Command::new("kill")
            .args(["-TERM", &host.id().to_string()])
            .status();
        assert!(host.wait().unwrap().success());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn while_redis_is_down_session_mounts_answer_503_and_then_recover() {
    let mut redis = RedisServer::start();
    let site = site_for(&redis);
    let server = Server::start(site.path()).await;
    let cookie = cookie_of(&login(server.addr, "ada").await);
    assert_eq!(
        get_with(server.addr, "/a/peek", &cookie).await.json()["user"],
        "ada"
    );

    tokio::task::block_in_place(|| redis.stop());
    for _ in 0..3 {
        let down = get_with(server.addr, "/a/peek", &cookie).await;
        assert_eq!(down.status, 503, "{}", down.text());
        assert!(down.headers.contains_key("retry-after"));
        assert_eq!(
            server.get("/plain/me").await.status,
            200,
            "mounts without sessions are untouched"
        );
    }

    tokio::task::block_in_place(|| redis.restart());
    let mut recovered = None;
    for _ in 0..50 {
        let reply = login(server.addr, "grace").await;
        if reply.status == 200 {
            recovered = Some(reply);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let cookie = cookie_of(&recovered.expect("service resumed once Redis was back, without a restart"));
    assert_eq!(
        get_with(server.addr, "/a/peek", &cookie).await.json()["user"],
        "grace"
    );
    server.stop().await;
}
