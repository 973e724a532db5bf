//! Host-owned sessions through real HTTP: login with regenerate, forged and
//! tampered cookies, per-mount isolation, expiry, key rotation, and the file
//! store surviving a restart.

use std::time::Duration;

use terrarium_test_support::{Reply, Server, TestSite, cookie_of};

const S1: &str = "first-secret-0123456789";
const S2: &str = "second-secret-0123456789";

fn config(store: &str, secrets: &[&str], idle: &str) -> String {
    let secrets: Vec<String> = secrets.iter().map(|s| format!("\"{s}\"")).collect();
    format!(
        "[sessions]\n{store}\nsecrets = [{}]\nidle_timeout = \"{idle}\"\n\
         [[mount]]\npath = \"/a\"\napp = \"@sessions\"\nsessions = true\ninstances = 1\n\
         [[mount]]\npath = \"/b\"\napp = \"@sessions\"\nsessions = true\ninstances = 1\n\
         [[mount]]\npath = \"/plain\"\napp = \"@sessions\"\ninstances = 1\n",
        secrets.join(", ")
    )
}

const MEMORY: &str = "store = \"memory\"";

async fn login(server: &Server, mount: &str, user: &str) -> Reply {
    let path = format!("{mount}/login");
    let form = [("content-type", "application/x-www-form-urlencoded")];
    server
        .send("POST", &path, &form, format!("user={user}").into_bytes())
        .await
}

async fn get_with(server: &Server, path: &str, cookie: &str) -> Reply {
    server.get_with(path, &[("cookie", cookie)]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn login_visits_regenerate_and_logout() {
    let site = TestSite::new(&config(MEMORY, &[S1], "30m"));
    let server = Server::start(site.path()).await;

    let anonymous = server.get("/a/peek").await;
    assert_eq!(anonymous.json()["user"], serde_json::Value::Null);
    assert!(
        anonymous.headers.get("set-cookie").is_none(),
        "reading creates no session"
    );

    let first = login(&server, "/a", "ada").await;
    let set_cookie = first.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.starts_with("tsid_a=") && set_cookie.ends_with("; Path=/a; HttpOnly; SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = cookie_of(&first);
    assert!(
        cookie.len() > "tsid_a=".len() + 43,
        "a 256-bit id plus its signature: {cookie}"
    );

    for visit in 1..=3 {
        let me = get_with(&server, "/a/me", &cookie).await;
        assert_eq!(me.json(), serde_json::json!({"user": "ada", "visits": visit}));
        assert!(
            me.headers.get("set-cookie").is_none(),
            "an existing session needs no new cookie"
        );
    }

    // Logging in again moves the data to a new id; the old cookie is dead.
    let again = server
        .send(
            "POST",
            "/a/login",
            &[
                ("cookie", &cookie),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            b"user=ada".to_vec(),
        )
        .await;
    let renewed = cookie_of(&again);
    assert_ne!(renewed, cookie);
    assert_eq!(
        get_with(&server, "/a/peek", &cookie).await.json()["user"],
        serde_json::Value::Null
    );
    assert_eq!(
        get_with(&server, "/a/me", &renewed).await.json()["visits"],
        4,
        "same data, new id"
    );

    let out = server
        .send("POST", "/a/logout", &[("cookie", &renewed)], Vec::new())
        .await;
    assert!(out.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(
        get_with(&server, "/a/peek", &renewed).await.json()["user"],
        serde_json::Value::Null
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_tampered_and_foreign_cookies_start_a_fresh_session() {
    let site = TestSite::new(&config(MEMORY, &[S1], "30m"));
    let server = Server::start(site.path()).await;
    let cookie = cookie_of(&login(&server, "/a", "ada").await);
    let value = cookie.strip_prefix("tsid_a=").unwrap();
    let (id, mac) = value.split_once('.').unwrap();
    let mut flipped = mac.as_bytes().to_vec();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let forged = [
        "tsid_a=garbage".to_owned(),
        "tsid_a=".to_owned(),
        format!("tsid_a={id}"),
        format!("tsid_a={id}.{}", String::from_utf8(flipped).unwrap()),
        format!("tsid_a={}.{mac}", "A".repeat(43)),
        format!("tsid_a=../../etc/passwd.{mac}"),
        format!("tsid_b={value}"),
    ];
    for bad in &forged {
        let mount = if bad.starts_with("tsid_b") { "/b" } else { "/a" };
        let reply = get_with(&server, &format!("{mount}/peek"), bad).await;
        assert_eq!(reply.status, 200, "{bad}");
        assert_eq!(reply.json()["user"], serde_json::Value::Null, "{bad}");
    }
    assert_eq!(
        get_with(&server, "/a/peek", &cookie).await.json()["user"],
        "ada",
        "the real one still works"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_mount_has_its_own_session_and_cookie() {
    let site = TestSite::new(&config(MEMORY, &[S1], "30m"));
    let server = Server::start(site.path()).await;
    let a = cookie_of(&login(&server, "/a", "ada").await);
    let b_reply = login(&server, "/b", "grace").await;
    assert!(
        b_reply.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Path=/b")
    );
    let b = cookie_of(&b_reply);
    let both = format!("{a}; {b}");
    assert_eq!(get_with(&server, "/a/peek", &both).await.json()["user"], "ada");
    assert_eq!(get_with(&server, "/b/peek", &both).await.json()["user"], "grace");
    assert_eq!(
        get_with(&server, "/plain/me", &both).await.json(),
        serde_json::json!({"sessions": false})
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_sessions_expire() {
    let site = TestSite::new(&config(MEMORY, &[S1], "2s"));
    let server = Server::start(site.path()).await;
    let cookie = cookie_of(&login(&server, "/a", "ada").await);
    assert_eq!(get_with(&server, "/a/peek", &cookie).await.json()["user"], "ada");
    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert_eq!(
        get_with(&server, "/a/peek", &cookie).await.json()["user"],
        serde_json::Value::Null
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn file_sessions_survive_a_restart_and_secrets_rotate() {
    let site = TestSite::new("");
    let store = "store = \"file\"\npath = \"var/sessions\"";
    let write_config = |secrets: &[&str]| {
        std::fs::write(
            site.path().join("terrarium.toml"),
            config(store, secrets, "30m").replace(
                "\"@",
                &format!(
                    "\"{}/",
                    terrarium_test_support::repo().join("tests/apps").display()
                ),
            ),
        )
        .unwrap();
    };
    write_config(&[S1]);
    let server = Server::start(site.path()).await;
    let cookie = cookie_of(&login(&server, "/a", "ada").await);
    server.stop().await;
    let files: Vec<_> = std::fs::read_dir(site.path().join("var/sessions/a"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1, "one file per session");

    // A new secret signs; the old one still verifies.
    write_config(&[S2, S1]);
    let server = Server::start(site.path()).await;
    assert_eq!(
        get_with(&server, "/a/peek", &cookie).await.json()["user"],
        "ada",
        "survived the restart"
    );
    let fresh = cookie_of(&login(&server, "/a", "grace").await);
    server.stop().await;

    // Once the old secret is dropped, its cookies stop working; new ones go on.
    write_config(&[S2]);
    let server = Server::start(site.path()).await;
    assert_eq!(
        get_with(&server, "/a/peek", &cookie).await.json()["user"],
        serde_json::Value::Null
    );
    assert_eq!(get_with(&server, "/a/peek", &fresh).await.json()["user"], "grace");
    server.stop().await;
}

/// A flood of anonymous requests that each start a session, as many as the
/// store holds, leaves a logged-in user logged in: sessions that never came
/// back are the first to go.
#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_anonymous_sessions_leaves_a_logged_in_user_logged_in() {
    let text = config(MEMORY, &[S1], "30m").replace("idle_timeout", "max_sessions = 1000\nidle_timeout");
    let site = TestSite::new(&text);
    let server = Server::start(site.path()).await;
    let cookie = cookie_of(&login(&server, "/a", "ada").await);
    assert_eq!(get_with(&server, "/a/me", &cookie).await.json()["user"], "ada");
    let client = server.client();
    let flood: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(async move {
                for _ in 0..125 {
                    let reply = client.get("/a/me").await;
                    assert_eq!(reply.status, 200);
                    assert!(reply.headers.contains_key("set-cookie"), "each starts a session");
                }
            })
        })
        .collect();
    for task in flood {
        task.await.unwrap();
    }
    assert_eq!(
        get_with(&server, "/a/peek", &cookie).await.json()["user"],
        "ada",
        "1,000 anonymous sessions pushed the user out"
    );
    server.stop().await;
}

/// A WSGI app that answers with a `Set-Cookie` for each `cookie` in its query.
const COOKIE_SETTER: &str = "\
from urllib.parse import parse_qs


def app(environ, start_response):
    cookies = parse_qs(environ['QUERY_STRING']).get('cookie', [])
    start_response('200 OK', [('Content-Type', 'text/plain')] + [('Set-Cookie', c) for c in cookies])
    return [b'set']
";

#[tokio::test(flavor = "multi_thread")]
async fn an_app_cannot_set_cookies_for_another_mount() {
    let site = TestSite::new(&format!(
        "[sessions]\n{MEMORY}\nsecrets = [\"{S1}\"]\n\
         [[mount]]\npath = \"/a\"\napp = \"@sessions\"\nsessions = true\ninstances = 1\n\
         [[mount]]\npath = \"/c\"\napp = \"apps/c\"\ninstances = 1\n\
         [[mount]]\npath = \"/shared\"\napp = \"apps/c\"\ninstances = 1\nshare_cookies = true\n"
    ));
    site.write("apps/c/app.py", COOKIE_SETTER);
    let server = Server::start(site.path()).await;
    let asked = [
        "tsid_a=forged; Path=/a",
        "theme=dark",
        "x=1; Path=/a",
        "y=2; Path=/c/deep",
        "z=3; Path=/",
    ];
    let query: Vec<String> = asked
        .iter()
        .map(|cookie| {
            format!(
                "cookie={}",
                cookie
                    .replace(' ', "%20")
                    .replace(';', "%3B")
                    .replace('=', "%3D")
                    .replace('/', "%2F")
            )
        })
        .collect();
    let set_cookies = |reply: &Reply| -> Vec<String> {
        reply
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect()
    };
    let kept = server.get(&format!("/c/set?{}", query.join("&"))).await;
    assert_eq!(kept.status, 200);
    assert_eq!(
        set_cookies(&kept),
        ["theme=dark", "y=2; Path=/c/deep", "z=3; Path=/c"],
        "another mount's session cookie and path dropped, a path above the mount narrowed to it"
    );
    let shared = server.get(&format!("/shared/set?{}", query.join("&"))).await;
    assert_eq!(set_cookies(&shared), asked, "share_cookies lets them all through");
    let metrics = server.control("GET", "/metrics").await.text();
    assert!(
        metrics.contains("terrarium_cookies_dropped_total{mount=\"c\"} 2\n")
            && metrics.contains("terrarium_cookies_dropped_total{mount=\"shared\"} 0\n"),
        "{metrics}"
    );
    // The session mount's own cookie still works.
    let login = login(&server, "/a", "ada").await;
    assert!(cookie_of(&login).starts_with("tsid_a="), "{:?}", login.headers);
    server.stop().await;
}
