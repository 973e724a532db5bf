//! The dashboard on the admin listener: in a real headless Chromium (driven
//! through chromedriver), and its login and CSRF guards through plain HTTP.
//!
//! The browser test needs Debian's `chromium` and `chromium-driver` (README,
//! `.ci/run`). `TERRARIUM_SCREENSHOT=1` makes it refresh docs/dashboard.png.

use std::{
    net::TcpListener,
    process::Stdio,
    time::{Duration, Instant},
};

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use terrarium_test_support::{Client, Server, TestSite, repo};

const TOKEN: &str = "dashboard-token-123";

/// A site with an app at `/` and a static folder at `/docs`, and an admin token.
fn site() -> TestSite {
    let site = TestSite::named(
        "example-site",
        &format!(
            "[server]\nadmin_token = \"{TOKEN}\"\n\
         [[mount]]\npath = \"/\"\napp = \"@native\"\n\
         [[mount]]\npath = \"/docs\"\nstatic = \"docs\"\n"
        ),
    );
    site.write("docs/index.html", "<h1>the docs</h1>");
    site
}

/// The value of the dashboard's session cookie in a login's answer.
fn session_of(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    assert!(pair.starts_with("terrarium_admin="), "{set_cookie}");
    pair.to_owned()
}

/// The CSRF token in the page's `<meta name="csrf-token">`.
fn csrf_of(page: &str) -> String {
    let from = page
        .find(r#"<meta name="csrf-token" content=""#)
        .expect("the page has its CSRF token")
        + 33;
    page[from..from + page[from..].find('"').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_login_cookie_and_csrf_token_guard_every_change() {
    let site = site();
    let server = Server::start(site.path()).await;
    let admin = Client::at(server.admin);
    let origin = format!("http://{}", server.admin);

    // Without the token: the login form, nothing else.
    let stranger = admin.get("/").await;
    assert_eq!(stranger.status, 200);
    let page = stranger.text();
    assert!(page.contains(r#"action="/dashboard/login""#), "{page}");
    assert!(!page.contains("data-mount"), "a stranger sees no mount: {page}");
    assert_eq!(stranger.header("x-frame-options"), "DENY");
    assert_eq!(admin.get("/dashboard/live").await.status, 401);
    assert_eq!(admin.get("/dashboard/dashboard.js").await.status, 200);

    let form = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", origin.as_str()),
    ];
    let started = Instant::now();
    let wrong = admin
        .send("POST", "/dashboard/login", &form, b"token=guess".to_vec())
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("That is not the admin token."));
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "a wrong token is answered slowly"
    );
    let forged = admin
        .send(
            "POST",
            "/dashboard/login",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", "http://evil.example"),
            ],
            format!("token={TOKEN}").into_bytes(),
        )
        .await;
    assert_eq!(forged.status, 403, "a login posted from another site");

    let login = admin
        .send(
            "POST",
            "/dashboard/login",
            &form,
            format!("token={TOKEN}").into_bytes(),
        )
        .await;
    assert_eq!((login.status, login.header("location")), (303, "/"));
    let set_cookie = login.header("set-cookie");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = session_of(set_cookie);

    // Signed in: every mount, with the page's CSRF token.
    let page = admin.get_with("/", &[("cookie", &cookie)]).await.text();
    assert!(
        page.contains(r#"<tr data-mount="root" data-state="enabled">"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<tr data-mount="docs" data-state="enabled">"#),
        "{page}"
    );
    let csrf = csrf_of(&page);

    // A change with the cookie alone, or from another origin, is refused.
    let bare = admin
        .send("POST", "/mounts/docs/disable", &[("cookie", &cookie)], Vec::new())
        .await;
    assert_eq!(bare.status, 403, "{}", bare.text());
    assert!(bare.text().contains("CSRF"));
    let elsewhere = admin
        .send(
            "POST",
            "/mounts/docs/disable",
            &[
                ("cookie", &cookie),
                ("x-csrf-token", &csrf),
                ("origin", "http://evil.example"),
            ],
            Vec::new(),
        )
        .await;
    assert_eq!(elsewhere.status, 403);
    let other_login = session_of(
        admin
            .send(
                "POST",
                "/dashboard/login",
                &form,
                format!("token={TOKEN}").into_bytes(),
            )
            .await
            .header("set-cookie"),
    );
    let borrowed = admin
        .send(
            "POST",
            "/mounts/docs/disable",
            &[("cookie", &other_login), ("x-csrf-token", &csrf)],
            Vec::new(),
        )
        .await;
    assert_eq!(
        borrowed.status, 403,
        "a CSRF token is good for its own login only"
    );
    assert_eq!(server.get("/docs/").await.status, 200, "nothing was switched off");

    // A plain form (no script): the change, then back to the page.
    let posted = admin
        .send(
            "POST",
            "/mounts/docs/disable",
            &[
                ("cookie", &cookie),
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "text/html"),
                ("origin", &origin),
            ],
            format!("csrf={csrf}").into_bytes(),
        )
        .await;
    assert_eq!((posted.status, posted.header("location")), (303, "/"));
    assert_eq!(server.get("/docs/").await.status, 503);
    // The script's way: the token in a header, JSON back.
    let enabled = admin
        .send(
            "POST",
            "/mounts/docs/enable",
            &[
                ("cookie", &cookie),
                ("x-csrf-token", &csrf),
                ("origin", &origin),
                ("accept", "application/json"),
            ],
            Vec::new(),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.text());
    assert_eq!(enabled.json()["state"], "enabled");
    assert_eq!(server.get("/docs/").await.status, 200);

    // Scripts with the bearer token work as before, with no CSRF token.
    let scripted = admin
        .send(
            "GET",
            "/mounts",
            &[("authorization", &format!("Bearer {TOKEN}"))],
            Vec::new(),
        )
        .await;
    assert_eq!(scripted.status, 200);

    // The last minute's figures, after some requests to the app.
    for _ in 0..5 {
        assert_eq!(server.get("/page").await.status, 200);
    }
    let mounts = scripted_json(&admin, "/mounts/root").await;
    let minute = &mounts["mount"]["last_minute"];
    assert!(minute["requests"].as_u64().unwrap() >= 5, "{minute}");
    assert!(minute["p50_us"].as_u64().unwrap() > 0, "{minute}");
    assert!(minute["per_second"].as_f64().unwrap() > 0.0, "{minute}");

    // A mount added through the API whose build fails: the page shows its error.
    let broken = repo().join("tests/apps/broken").display().to_string();
    let added = admin
        .send(
            "PUT",
            "/mounts/blog",
            &[("authorization", &format!("Bearer {TOKEN}"))],
            serde_json::json!({"path": "/blog", "app": broken})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(added.status, 202, "{}", added.text());
    let deadline = Instant::now() + Duration::from_secs(120);
    while scripted_json(&admin, "/mounts/blog").await["change"]["state"] != "failed" {
        assert!(
            Instant::now() < deadline,
            "the broken build did not fail within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let page = admin.get_with("/", &[("cookie", &cookie)]).await.text();
    assert!(
        page.contains(r#"<tr data-mount="blog" data-state="failed">"#),
        "{page}"
    );
    assert!(page.contains("the new version failed to build"), "{page}");
    assert!(page.contains("ZeroDivisionError"), "{page}");

    // The app never sees the admin listener's cookie, which the browser
    // sends to every port of the host.
    let seen = server
        .get_with("/cookie-header", &[("cookie", &format!("user=ada; {cookie}"))])
        .await;
    assert_eq!(seen.json()["cookie"], "user=ada");

    // Signing out clears the cookie.
    let out = admin
        .send(
            "POST",
            "/dashboard/logout",
            &[("cookie", &cookie), ("origin", &origin)],
            Vec::new(),
        )
        .await;
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    server.stop().await;
}

async fn scripted_json(admin: &Client, path: &str) -> serde_json::Value {
    admin
        .send(
            "GET",
            path,
            &[("authorization", &format!("Bearer {TOKEN}"))],
            Vec::new(),
        )
        .await
        .json()
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: tokio::process::Child,
    url: String,
    profile: tempfile::TempDir,
}

impl Driver {
    async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start chromedriver ({e}): install Debian's chromium and chromium-driver (see README)")
            });
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            child,
            url,
            profile: tempfile::tempdir().unwrap(),
        }
    }

    /// A new headless Chromium, 1280×800, its own empty profile.
    async fn browser(&self) -> Browser {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,800",
                    format!("--user-data-dir={}", self.profile.path().display()),
                ],
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("chromedriver starts a headless Chromium")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Clicks the element matching `css`.
async fn click(browser: &Browser, css: &str) {
    on_element(browser, css, |element| async move { element.click().await }).await;
}

/// The text of the element matching `css`.
async fn text_of(browser: &Browser, css: &str) -> String {
    on_element(browser, css, |element| async move { element.text().await }).await
}

/// Runs `act` on the element matching `css`, finding it again when the live
/// refresh (the dashboard re-renders its rows every second or so) replaced it
/// between finding and acting.
async fn on_element<T, F, Fut>(browser: &Browser, css: &str, act: F) -> T
where
    F: Fn(fantoccini::elements::Element) -> Fut,
    Fut: std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
{
    const TRIES: usize = 20;
    for _ in 0..TRIES {
        match act(wait_for(browser, css).await).await {
            Err(e) if e.is_stale_element_reference() => continue,
            done => return done.unwrap_or_else(|e| panic!("{css}: {e}")),
        }
    }
    panic!("{css} was re-rendered {TRIES} times in a row under the test");
}

/// What the browser shows, for a failure's message.
fn page_of(browser: &Browser) -> String {
    let browser = browser.clone();
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new().unwrap().block_on(async move {
            format!(
                "{} {}",
                browser
                    .current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default(),
                browser.source().await.unwrap_or_default()
            )
        })
    })
    .join()
    .unwrap_or_default()
}

/// Waits up to 10 s for an element matching `css`.
async fn wait_for(browser: &Browser, css: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} within 10 s: {e}; the page: {:?}", page_of(browser)))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_in_a_real_browser() {
    let site = site();
    let server = Server::start(site.path()).await;
    let driver = Driver::start().await;
    let browser = driver.browser().await;
    let dashboard = format!("http://{}/", server.admin);

    // Without the cookie: the login form alone.
    browser.goto(&dashboard).await.unwrap();
    wait_for(&browser, "form.login").await;
    assert!(
        browser
            .find_all(Locator::Css("tr[data-mount]"))
            .await
            .unwrap()
            .is_empty()
    );

    // A wrong token is refused, and still nothing shows.
    wait_for(&browser, "#token")
        .await
        .send_keys("not-the-token")
        .await
        .unwrap();
    click(&browser, "form.login button").await;
    wait_for(&browser, "form.login .refused").await;
    assert!(
        browser
            .find_all(Locator::Css("tr[data-mount]"))
            .await
            .unwrap()
            .is_empty()
    );

    // The right one: every mount.
    wait_for(&browser, "#token").await.send_keys(TOKEN).await.unwrap();
    click(&browser, "form.login button").await;
    wait_for(&browser, r#"tr[data-mount="root"][data-state="enabled"]"#).await;
    wait_for(&browser, r#"tr[data-mount="docs"][data-state="enabled"]"#).await;
    wait_for(&browser, r#"body[data-live="yes"]"#).await;

    // "Disable": the mount answers 503 and the page shows it switched off.
    click(
        &browser,
        r#"form[data-mount="docs"][data-action="disable"] button"#,
    )
    .await;
    wait_for(&browser, r#"tr[data-mount="docs"][data-state="disabled"]"#).await;
    assert_eq!(server.get("/docs/").await.status, 503);
    assert_eq!(
        server.get("/page").await.status,
        200,
        "the rest of the site serves on"
    );

    // Requests show up in the live figures within a few seconds.
    for _ in 0..20 {
        server.get("/page").await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let row = text_of(&browser, r#"tr[data-mount="root"]"#).await;
        if !row.contains("– / –") {
            break;
        }
        assert!(Instant::now() < deadline, "no latency shown for root: {row}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    take_screenshot(&browser).await;

    // "Enable" brings it back.
    click(
        &browser,
        r#"form[data-mount="docs"][data-action="enable"] button"#,
    )
    .await;
    wait_for(&browser, r#"tr[data-mount="docs"][data-state="enabled"]"#).await;
    assert_eq!(server.get("/docs/").await.status, 200);

    // On a phone's screen: nothing wider than the screen, the buttons shown.
    browser.set_window_size(390, 844).await.unwrap();
    browser.refresh().await.unwrap();
    let widths = browser
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth]",
            vec![],
        )
        .await
        .unwrap();
    assert!(widths[1].as_u64().unwrap() < 600, "a narrow window: {widths}");
    assert!(
        widths[0].as_u64() <= widths[1].as_u64(),
        "the page fits a phone's width: {widths}"
    );
    let shown = on_element(
        &browser,
        r#"form[data-mount="docs"][data-action="disable"] button"#,
        |button| async move { button.is_displayed().await },
    )
    .await;
    assert!(shown, "the disable button shows on a phone");

    browser.close().await.unwrap();
    server.stop().await;
}

/// A screenshot of the page as it is; written over docs/dashboard.png (the
/// README's) when `TERRARIUM_SCREENSHOT` is set.
async fn take_screenshot(browser: &Browser) {
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    if std::env::var_os("TERRARIUM_SCREENSHOT").is_some() {
        let path = repo().join("docs/dashboard.png");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, png).unwrap();
        eprintln!("wrote {}", path.display());
    }
}
