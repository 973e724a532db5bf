//! Frameworks' own apps, unmodified, through real HTTP: Flask's tutorial
//! (flaskr) with its database in the data folder, set up with
//! `terrarium exec` as its README says.

use std::{path::Path, process::Command, time::Duration};

use terrarium_test_support::{Client, Server, cookie_of, repo, run_with_timeout};

const FORM: &str = "application/x-www-form-urlencoded";

/// A copy of `examples/flaskr` with Flask's tutorial fetched into it.
fn flaskr_site() -> tempfile::TempDir {
    let site = tempfile::tempdir().unwrap();
    let example = repo().join("examples/flaskr");
    std::fs::copy(example.join("terrarium.toml"), site.path().join("terrarium.toml")).unwrap();
    let fetched = Command::new("python3")
        .arg(example.join("fetch_tutorial.py"))
        .arg(site.path())
        .status()
        .unwrap();
    assert!(fetched.success(), "fetching Flask's tutorial from PyPI failed");
    site
}

async fn post_form(
    client: &Client,
    path: &str,
    form: &str,
    cookie: Option<&str>,
) -> terrarium_test_support::Reply {
    let mut headers = vec![("content-type", FORM)];
    if let Some(cookie) = cookie {
        headers.push(("cookie", cookie));
    }
    client
        .send("POST", path, &headers, form.as_bytes().to_vec())
        .await
}

fn init_db(site: &Path) {
    let site = site.to_str().unwrap();
    let ran = run_with_timeout(
        &[
            "exec", site, "root", "--", "-m", "flask", "--app", "flaskr", "init-db",
        ],
        Duration::from_secs(300),
    );
    assert!(
        ran.status.success(),
        "init-db failed: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout),
        "Initialized the database.\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn flasks_tutorial_registers_logs_in_and_keeps_posts_across_a_restart() {
    let site = flaskr_site();
    let site_dir = site.path().to_owned();
    tokio::task::spawn_blocking(move || init_db(&site_dir))
        .await
        .unwrap();
    assert!(
        site.path().join("var/flaskr/flaskr.sqlite").is_file(),
        "the database is in the data folder"
    );

    let server = Server::start(site.path()).await;
    let client = server.client();
    let registered = post_form(
        &client,
        "/auth/register",
        "username=ada&password=analytical%20engine",
        None,
    )
    .await;
    assert_eq!(
        (registered.status, registered.header("location")),
        (302, "/auth/login")
    );
    let taken = post_form(&client, "/auth/register", "username=ada&password=x", None).await;
    assert!(
        taken.text().contains("User ada is already registered."),
        "{}",
        taken.text()
    );

    let wrong = post_form(&client, "/auth/login", "username=ada&password=babbage", None).await;
    assert!(wrong.text().contains("Incorrect password."), "{}", wrong.text());
    let logged_in = post_form(
        &client,
        "/auth/login",
        "username=ada&password=analytical%20engine",
        None,
    )
    .await;
    assert_eq!((logged_in.status, logged_in.header("location")), (302, "/"));
    let session = cookie_of(&logged_in);

    let created = post_form(
        &client,
        "/create",
        "title=Notes%20on%20the%20Engine&body=It%20weaves.",
        Some(&session),
    )
    .await;
    assert_eq!(created.status, 302, "{}", created.text());
    let index = client.get_with("/", &[("cookie", &session)]).await;
    assert!(
        index.text().contains("Notes on the Engine") && index.text().contains("Log Out"),
        "{}",
        index.text()
    );
    server.stop().await;

    let server = Server::start(site.path()).await;
    let client = server.client();
    let index = client.get_with("/", &[("cookie", &session)]).await;
    assert!(
        index.text().contains("Notes on the Engine") && index.text().contains("It weaves."),
        "the post is still there after a restart: {}",
        index.text()
    );
    assert!(index.text().contains("ada"), "and the login: {}", index.text());
    let again = post_form(
        &client,
        "/auth/login",
        "username=ada&password=analytical%20engine",
        None,
    )
    .await;
    assert_eq!(again.status, 302, "the account is kept too");
    server.stop().await;
}
