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

/// A copy of `examples/django` (its `var/` and cache left out).
fn django_site() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name == "var" || name == ".terrarium" || name == "__pycache__" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &to.join(&name));
            } else {
                std::fs::copy(entry.path(), to.join(&name)).unwrap();
            }
        }
    }
    let site = tempfile::tempdir().unwrap();
    copy(&repo().join("examples/django"), site.path());
    site
}

/// Runs `terrarium exec SITE root [EXTRA] -- ARGS`, which must succeed; returns its stdout.
fn exec_ok(site: &Path, extra: &[&str], args: &[&str]) -> String {
    let mut all = vec!["exec", site.to_str().unwrap(), "root"];
    all.extend_from_slice(extra);
    all.push("--");
    all.extend_from_slice(args);
    let ran = run_with_timeout(&all, Duration::from_secs(300));
    assert!(
        ran.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    String::from_utf8_lossy(&ran.stdout).into_owned()
}

/// Every cookie a reply sets, as `name=value; name=value`, over `jar`.
fn with_cookies(jar: &str, reply: &terrarium_test_support::Reply) -> String {
    let mut cookies: Vec<(String, String)> = jar
        .split("; ")
        .filter(|c| !c.is_empty())
        .filter_map(|c| c.split_once('=').map(|(n, v)| (n.to_owned(), v.to_owned())))
        .collect();
    for header in reply.headers.get_all("set-cookie") {
        let pair = header.to_str().unwrap().split(';').next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        cookies.retain(|(n, _)| n != name);
        cookies.push((name.to_owned(), value.to_owned()));
    }
    cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The CSRF token of the form in a page.
fn csrf_token(page: &str) -> String {
    let at = page
        .find("name=\"csrfmiddlewaretoken\" value=\"")
        .expect("the page has a CSRF token");
    let rest = &page[at + "name=\"csrfmiddlewaretoken\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_django_project_migrates_logs_into_its_admin_and_keeps_notes_and_uploads() {
    let site = django_site();
    let dir = site.path().to_owned();
    let (migrated, created) = tokio::task::spawn_blocking(move || {
        let migrated = exec_ok(&dir, &[], &["manage.py", "migrate"]);
        let created = exec_ok(
            &dir,
            &["--env", "DJANGO_SUPERUSER_PASSWORD=lovelace-1843"],
            &[
                "manage.py",
                "createsuperuser",
                "--noinput",
                "--username",
                "ada",
                "--email",
                "ada@example.com",
            ],
        );
        (migrated, created)
    })
    .await
    .unwrap();
    assert!(
        migrated.contains("Applying notes.0001_initial... OK"),
        "{migrated}"
    );
    assert_eq!(created, "Superuser created successfully.\n");

    let server = Server::start(site.path()).await;
    let client = server.client();
    let login_page = client.get("/admin/login/?next=/admin/").await;
    assert_eq!(login_page.status, 200);
    let jar = with_cookies("", &login_page);
    let form = format!(
        "csrfmiddlewaretoken={}&username=ada&password=lovelace-1843&next=/admin/",
        csrf_token(&login_page.text())
    );
    let logged_in = post_form(&client, "/admin/login/?next=/admin/", &form, Some(&jar)).await;
    assert_eq!(
        (logged_in.status, logged_in.header("location")),
        (302, "/admin/"),
        "{}",
        logged_in.text()
    );
    let jar = with_cookies(&jar, &logged_in);
    let admin = client.get_with("/admin/", &[("cookie", &jar)]).await;
    assert!(admin.text().contains("Site administration"), "{}", admin.text());

    let new_note = client.get_with("/notes/new", &[("cookie", &jar)]).await;
    let form = format!(
        "csrfmiddlewaretoken={}&title=On%20the%20Analytical%20Engine&body=Note%20G.",
        csrf_token(&new_note.text())
    );
    let saved = post_form(&client, "/notes/new", &form, Some(&jar)).await;
    assert_eq!(
        (saved.status, saved.header("location")),
        (302, "/"),
        "{}",
        saved.text()
    );

    // 20 MB: past Django's 2.5 MB in memory, so spooled to /tmp, then moved
    // into the data folder (across folders: copied).
    let upload_page = client.get_with("/uploads/new", &[("cookie", &jar)]).await;
    let token = csrf_token(&upload_page.text());
    let file: Vec<u8> = (0..20u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let boundary = "terrarium-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n{token}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"engine.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let uploaded = client
        .send(
            "POST",
            "/uploads/new",
            &[("content-type", &content_type), ("cookie", &jar)],
            body,
        )
        .await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.text());
    assert_eq!(
        uploaded.json(),
        serde_json::json!({"name": "uploads/engine.bin", "size": 20u32 << 20})
    );
    let landed = std::fs::read(site.path().join("var/site/media/uploads/engine.bin")).unwrap();
    assert!(landed == file, "the upload is in the data folder, intact");
    server.stop().await;

    let server = Server::start(site.path()).await;
    let client = server.client();
    let index = client.get_with("/", &[("cookie", &jar)]).await;
    assert!(
        index.text().contains("On the Analytical Engine") && index.text().contains("Signed in as ada"),
        "the note and the session are kept across a restart: {}",
        index.text()
    );
    server.stop().await;
}

/// Falcon's README example, and Pyramid's hello world (its app made at
/// import, outside `if __name__ == "__main__"`, so that it can be served),
/// each on its framework's latest release for CPython 3.14.
const FALCON_APP: &str = r#"
import falcon


class ThingsResource:
    def on_get(self, req, resp):
        """Handles GET requests"""
        resp.status = falcon.HTTP_200  # This is the default status
        resp.content_type = falcon.MEDIA_TEXT  # Default is JSON, so override
        resp.text = (
            "\nTwo things awe me most, the starry sky above me and the moral law within me.\n"
            "\n    ~ Immanuel Kant\n\n"
        )


app = falcon.App()
things = ThingsResource()
app.add_route("/things", things)
"#;

const PYRAMID_APP: &str = r#"
from pyramid.config import Configurator
from pyramid.response import Response


def hello_world(request):
    name = request.POST.get("name", "World")
    return Response(f"Hello {name}!")


with Configurator() as config:
    config.add_route("hello", "/")
    config.add_view(hello_world, route_name="hello")
    app = config.make_wsgi_app()
"#;

#[tokio::test(flavor = "multi_thread")]
async fn falcon_and_pyramid_docs_examples_answer() {
    let site = terrarium_test_support::TestSite::new(
        "[[mount]]\npath = \"/falcon\"\napp = \"apps/falcon\"\ninstances = 1\n\n\
         [[mount]]\npath = \"/pyramid\"\napp = \"apps/pyramid\"\ninstances = 1\n",
    );
    site.write("apps/falcon/app.py", FALCON_APP);
    site.write("apps/falcon/requirements.txt", "falcon\n");
    site.write("apps/pyramid/app.py", PYRAMID_APP);
    // Pyramid needs `legacy-cgi; python_version >= "3.13"` (WebOb parses forms with it).
    site.write("apps/pyramid/requirements.txt", "pyramid\n");
    let server = Server::start(site.path()).await;
    let kant = server.get("/falcon/things").await;
    assert_eq!(kant.status, 200);
    assert!(kant.text().contains("the starry sky above me"), "{}", kant.text());
    let hello = server.get("/pyramid/").await;
    assert_eq!((hello.status, hello.text()), (200, "Hello World!".to_owned()));
    let boundary = "b";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAda\r\n--{boundary}--\r\n"
    );
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let posted = server
        .send(
            "POST",
            "/pyramid/",
            &[("content-type", &content_type)],
            form.into_bytes(),
        )
        .await;
    assert_eq!((posted.status, posted.text()), (200, "Hello Ada!".to_owned()));
    server.stop().await;
}
