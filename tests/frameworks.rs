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
    // DEBUG is off; the admin's styles were collected by the mount's
    // `build` command and are served by WhiteNoise, as the page names them.
    assert!(
        login_page.text().contains("href=\"/static/admin/css/base.css\""),
        "{}",
        login_page.text()
    );
    let css = client.get("/static/admin/css/base.css").await;
    assert_eq!(css.status, 200, "{}", css.text());
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        css.text().contains("body {") || css.text().contains("body{"),
        "{}",
        css.text()
    );
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

    // The same project through Django's ASGI handler.
    let config = site.path().join("terrarium.toml");
    let wsgi = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        wsgi.replace("mysite.wsgi:application", "mysite.asgi:application"),
    )
    .unwrap();
    let server = Server::start(site.path()).await;
    check_django_over_asgi(&server.client(), &jar).await;
    server.stop().await;
}

/// What the Django test left (a note by ada, her session in `jar`), seen
/// through Django's ASGI handler.
async fn check_django_over_asgi(client: &Client, jar: &str) {
    let index = client.get_with("/", &[("cookie", jar)]).await;
    assert_eq!(index.status, 200, "{}", index.text());
    assert!(
        index.text().contains("On the Analytical Engine") && index.text().contains("Signed in as ada"),
        "{}",
        index.text()
    );
    assert_eq!(
        index.header("x-frame-options"),
        "DENY",
        "the middleware's headers"
    );
    let admin = client.get_with("/admin/", &[("cookie", jar)]).await;
    assert!(admin.text().contains("Site administration"), "{}", admin.text());
    let note = client.get("/notes/1.json").await;
    assert_eq!(
        note.json(),
        serde_json::json!({"id": 1, "title": "On the Analytical Engine", "body": "Note G.", "author": "ada"})
    );
    assert_eq!(client.get("/notes/99.json").await.status, 404);
    assert_eq!(client.get("/no/such/page").await.status, 404);
    let found = client
        .post_as(
            "/notes/search",
            "application/json",
            br#"{"q": "analytical"}"#.to_vec(),
        )
        .await;
    assert_eq!(
        found.json(),
        serde_json::json!({"q": "analytical", "titles": ["On the Analytical Engine"]})
    );
    let refused = client
        .post_as("/notes/search", "application/json", b"[]".to_vec())
        .await;
    assert_eq!(refused.status, 400);
    let anonymous = client.get("/notes/new").await;
    assert_eq!(
        (anonymous.status, anonymous.header("location")),
        (302, "/admin/login/?next=/notes/new")
    );
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

/// `examples/starlette`, at `/` and again at `/star` (one build, two mounts).
fn starlette_site() -> terrarium_test_support::TestSite {
    let app = repo().join("examples/starlette/apps/starlette");
    let app = app.to_str().unwrap();
    terrarium_test_support::TestSite::new(&format!(
        "[[mount]]\npath = \"/\"\napp = \"{app}\"\ninstances = 1\n\n\
         [[mount]]\npath = \"/star\"\napp = \"{app}\"\ninstances = 1\n"
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_starlette_example_serves_routes_json_cookies_and_streams() {
    let site = starlette_site();
    let server = Server::start(site.path()).await;
    let client = server.client();
    let notes = client.get("/notes").await;
    assert_eq!(
        notes.json(),
        serde_json::json!([{"id": 1, "text": "loaded by the lifespan startup"}]),
        "the lifespan's state reaches requests"
    );
    let added = client
        .post_as("/notes", "application/json", br#"{"text": "Note G"}"#.to_vec())
        .await;
    assert_eq!(added.status, 201, "{}", added.text());
    assert_eq!(added.json(), serde_json::json!({"id": 2, "text": "Note G"}));
    assert_eq!(added.header("location"), "/notes/2");
    let note = client.get("/notes/2").await;
    assert_eq!(note.json(), serde_json::json!({"id": 2, "text": "Note G"}));
    let page = client.get("/star/notes.html").await;
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert!(
        page.text().contains("<h1>1 note</h1>")
            && page.text().contains("<a href=\"http://127.0.0.1:")
            && page
                .text()
                .contains("/star/notes/1\">loaded by the lifespan startup</a>"),
        "the template, its url_for under the mount: {}",
        page.text()
    );
    assert_eq!(client.get("/notes/9").await.status, 404);
    let unknown = client.get("/no/such/page").await;
    assert_eq!((unknown.status, unknown.text().as_str()), (404, "Not Found"));
    let refused = client
        .post_as("/notes", "application/json", b"[1]".to_vec())
        .await;
    assert_eq!(refused.status, 422);
    let wrong_method = client.send("DELETE", "/notes", &[], Vec::new()).await;
    assert_eq!(wrong_method.status, 405);
    assert!(
        wrong_method.header("allow").contains("GET"),
        "{:?}",
        wrong_method.headers
    );

    let first = client
        .get_with("/star/hello/ada", &[("user-agent", "analytical/1.0")])
        .await;
    assert_eq!(
        first.json(),
        serde_json::json!({"hello": "ada", "visits": 1, "agent": "analytical/1.0", "root_path": "/star"})
    );
    assert!(
        first.header("set-cookie").contains("HttpOnly"),
        "{:?}",
        first.headers
    );
    let again = client
        .get_with("/star/hello/ada", &[("cookie", &cookie_of(&first))])
        .await;
    assert_eq!(again.json()["visits"], 2, "the cookie came back");

    let started = std::time::Instant::now();
    let mut countdown = client
        .open(
            "GET",
            "/countdown?from=3&gap=0.4",
            &[],
            http_body_util::Empty::<bytes::Bytes>::new(),
        )
        .await;
    let first_line = countdown.next_part().await.unwrap().unwrap();
    let first_after = started.elapsed();
    let mut text = String::from_utf8(first_line.to_vec()).unwrap();
    while let Some(part) = countdown.next_part().await {
        text.push_str(std::str::from_utf8(&part.unwrap()).unwrap());
    }
    assert_eq!(text, "3\n2\n1\nliftoff\n");
    assert!(
        first_after < Duration::from_millis(350) && started.elapsed() > Duration::from_millis(1100),
        "the first line came after {first_after:?}, all after {:?}",
        started.elapsed()
    );
    server.stop().await;
}

#[test]
fn a_failing_lifespan_startup_fails_the_build_naming_the_app() {
    let site = terrarium_test_support::TestSite::new(
        "[[mount]]\npath = \"/\"\napp = \"apps/starts-badly\"\ninstances = 1\n",
    );
    site.write(
        "apps/starts-badly/app.py",
        "import contextlib\nfrom starlette.applications import Starlette\n\n\
         @contextlib.asynccontextmanager\nasync def lifespan(app):\n    \
         raise RuntimeError('the database is not there')\n    yield\n\n\
         app = Starlette(lifespan=lifespan)\n",
    );
    site.write("apps/starts-badly/requirements.txt", "starlette>=1,<2\n");
    let build = run_with_timeout(
        &["build", site.path().to_str().unwrap()],
        Duration::from_secs(300),
    );
    let message = String::from_utf8_lossy(&build.stderr);
    assert!(!build.status.success(), "{message}");
    assert!(
        message.contains("app `root` failed to build")
            && message.contains("lifespan startup")
            && message.contains("the database is not there"),
        "{message}"
    );
}

/// Bottle's hello world with a template in `views/`, found by Bottle's
/// default lookup (`./views/`, relative to the working folder).
const BOTTLE_VIEWS_APP: &str = "\
from bottle import Bottle, template

app = Bottle()


@app.route('/hello/<name>')
def hello(name):
    return template('hello', name=name)
";

/// A Falcon resource that renders with Jinja2's `FileSystemLoader(\"templates\")`
/// and reads a file at import, both by relative paths.
const FALCON_JINJA_APP: &str = "\
import json

import falcon
from jinja2 import Environment, FileSystemLoader

env = Environment(loader=FileSystemLoader('templates'))
with open('settings.json') as file:
    settings = json.load(file)


class Things:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_HTML
        resp.text = env.get_template('things.html').render(title=settings['title'], things=['a', 'b'])


app = falcon.App()
app.add_route('/things', Things())
";

#[tokio::test(flavor = "multi_thread")]
async fn relative_paths_in_tutorials_find_the_apps_files() {
    let site = terrarium_test_support::TestSite::new(
        "[[mount]]\npath = \"/bottle\"\napp = \"apps/bottle\"\ninstances = 1\n\n\
         [[mount]]\npath = \"/falcon\"\napp = \"apps/falcon\"\ninstances = 1\n",
    );
    site.write("apps/bottle/app.py", BOTTLE_VIEWS_APP);
    site.write("apps/bottle/views/hello.tpl", "<b>Hello {{name}}</b>!\n");
    site.write("apps/bottle/requirements.txt", "bottle>=0.13,<0.14\n");
    site.write("apps/falcon/app.py", FALCON_JINJA_APP);
    site.write(
        "apps/falcon/templates/things.html",
        "<h1>{{ title }}</h1>{% for thing in things %}<li>{{ thing }}{% endfor %}",
    );
    site.write("apps/falcon/settings.json", r#"{"title": "Things"}"#);
    site.write("apps/falcon/requirements.txt", "falcon\njinja2\n");
    let server = Server::start(site.path()).await;
    let hello = server.get("/bottle/hello/ada").await;
    assert_eq!(
        (hello.status, hello.text().as_str()),
        (200, "<b>Hello ada</b>!\n")
    );
    let things = server.get("/falcon/things").await;
    assert_eq!(
        (things.status, things.text().as_str()),
        (200, "<h1>Things</h1><li>a<li>b")
    );
    server.stop().await;
}
