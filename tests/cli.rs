//! The `terrarium` binary: build progress and cache, refusal to start on a
//! broken config or app, requirements.txt, serving, and graceful shutdown.

use std::{
    path::Path,
    process::{Child, Command, Output},
    time::{Duration, Instant},
};

use terrarium_test_support::{
    Client, TestSite,
    binary::{ServedChild, signal},
    run_with_timeout, serve_process,
};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `terrarium serve SITE --listen 127.0.0.1:0 EXTRA...`, which must be
/// refused before it listens; returns its stderr.
fn refused_to_serve(site: &Path, extra: &[&str], limit: Duration) -> String {
    let mut args = vec!["serve", site.to_str().unwrap(), "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let output = run_with_timeout(&args, limit);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stdout).is_empty(),
        "it must not listen"
    );
    stderr(&output)
}

#[test]
fn missing_or_malformed_config_is_refused_before_listening() {
    let empty = tempfile::tempdir().unwrap();
    let site = empty.path().to_str().unwrap();
    let message = refused_to_serve(empty.path(), &[], Duration::from_secs(30));
    assert!(
        message.contains("terrarium.toml: cannot read the site configuration"),
        "{message}"
    );

    std::fs::write(
        empty.path().join("terrarium.toml"),
        "[[mount]]\npath = \"/\"\napp = \"apps/x\"\nthreads = 3\n",
    )
    .unwrap();
    for command in ["serve", "build"] {
        let output = run_with_timeout(&[command, site], Duration::from_secs(30));
        assert!(!output.status.success());
        let message = stderr(&output);
        assert!(
            message.contains("terrarium.toml") && message.contains("unknown field `threads`"),
            "{message}"
        );
    }
}

/// Runs `terrarium build` on `site`, which must fail; returns its stderr.
fn failed_build(site: &TestSite) -> String {
    let build = run_with_timeout(
        &["build", site.path().to_str().unwrap()],
        Duration::from_secs(300),
    );
    assert!(!build.status.success(), "the build must fail");
    stderr(&build)
}

#[test]
fn a_failing_warm_up_request_fails_the_build_naming_the_path() {
    let site = TestSite::new("[[mount]]\npath = \"/\"\napp = \"@faults\"\nwarm_up = [\"/ok\", \"/raise\"]\n");
    let message = failed_build(&site);
    assert!(message.contains("app `root` failed to build"), "{message}");
    assert!(
        message.contains("warm-up request GET /raise failed"),
        "the failing warm-up path is named: {message}"
    );
}

#[test]
fn an_app_that_fails_to_import_is_named_with_its_traceback() {
    let site = TestSite::new("[[mount]]\npath = \"/\"\napp = \"@broken\"\n");
    let site_arg = site.path().to_str().unwrap();
    let message = failed_build(&site);
    assert!(message.contains("app `root` failed to build"), "{message}");
    assert!(
        message.contains("ZeroDivisionError"),
        "the traceback is shown: {message}"
    );
    assert!(
        message.contains("ratio = 1 / 0"),
        "the failing line is shown: {message}"
    );
    assert!(
        message.contains("File \"app.py\", line 7, in <module>")
            && !message.contains("_terrarium_main")
            && !message.contains("terrarium/_guest.py")
            && !message.contains("<frozen importlib"),
        "the app's frames only, as its author knows them: {message}"
    );

    let serve = run_with_timeout(
        &["serve", site_arg, "--listen", "127.0.0.1:0"],
        Duration::from_secs(300),
    );
    assert!(!serve.status.success());
    let refused = stderr(&serve);
    assert!(
        refused.contains("app `root` failed to build") && refused.contains("ZeroDivisionError"),
        "{refused}"
    );
    assert!(!String::from_utf8_lossy(&serve.stdout).contains("listening"));

    let wrong_entry = TestSite::new("[[mount]]\npath = \"/\"\napp = \"@faults\"\nentry = \"app:nothing\"\n");
    let message = failed_build(&wrong_entry);
    assert!(
        message.contains("module 'app' has no attribute 'nothing'"),
        "{message}"
    );
}

/// A site of one app at "/" whose app.py is `source`.
fn site_of_one_app(source: &str) -> tempfile::TempDir {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("app")).unwrap();
    std::fs::write(site.path().join("app/app.py"), source).unwrap();
    std::fs::write(
        site.path().join("terrarium.toml"),
        "[[mount]]\npath = \"/\"\napp = \"app\"\ndata = \"var\"\n",
    )
    .unwrap();
    site
}

/// Mistakes that fail only in the sandbox's build get the app's traceback
/// once, then a last line that says what to do.
#[test]
fn build_time_mistakes_end_with_what_to_do() {
    for (source, hint) in [
        (
            "import sqlite3\ndb = sqlite3.connect('/data/app.db')\n\
             def app(environ, start_response):\n    return []\n",
            "hint: the app opens its database (or its data folder) while it is imported",
        ),
        (
            "from wsgiref.simple_server import make_server\n\
             def app(environ, start_response):\n    return []\n\
             make_server('', 8000, app).serve_forever()\n",
            "hint: the app starts a server while it is imported (an unguarded `run(...)`)",
        ),
    ] {
        let site = site_of_one_app(source);
        let build = run_with_timeout(
            &["build", site.path().to_str().unwrap()],
            Duration::from_secs(300),
        );
        assert!(!build.status.success(), "the build must fail");
        let message = stderr(&build);
        let last = message.trim_end().lines().last().unwrap_or_default();
        assert!(last.starts_with(hint), "the last line says what to do: {message}");
        assert_eq!(
            message.matches("Traceback (most recent call last)").count(),
            1,
            "the traceback once: {message}"
        );
    }
}

#[test]
fn requirements_are_installed_with_pip_and_import_lazily_too() {
    let site = tempfile::tempdir().unwrap();
    let app = site.path().join("apps/withreqs");
    std::fs::create_dir_all(app.join("wheels")).unwrap();
    make_wheel(&app.join("wheels/tinypkg-1.0-py3-none-any.whl"));
    std::fs::write(
        app.join("requirements.txt"),
        "--no-index\n--find-links wheels\ntinypkg==1.0\n",
    )
    .unwrap();
    std::fs::write(
        app.join("app.py"),
        "import tinypkg\nfrom terrarium import App\napp = App()\n\n\
         @app.get('/')\ndef index(req, res):\n    import tinypkg.lazy\n    \
         res.send_text(f'{tinypkg.VALUE} {tinypkg.lazy.WORD}')\n",
    )
    .unwrap();
    std::fs::write(
        site.path().join("terrarium.toml"),
        "[[mount]]\npath = \"/\"\napp = \"apps/withreqs\"\ninstances = 1\n",
    )
    .unwrap();
    let (mut child, client) = start_serving(site.path());
    let body = get_ok(&client, "/");
    assert!(body.ends_with("42 lazy"), "{body}");
    stop(&mut child);
}

/// A pure-Python wheel made by hand, with fixed timestamps so its hash is stable.
fn make_wheel(path: &Path) {
    let script = r#"
import sys, zipfile
files = {
    "tinypkg/__init__.py": "VALUE = 42\n",
    "tinypkg/lazy.py": "WORD = 'lazy'\n",
    "tinypkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n",
    "tinypkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
files["tinypkg-1.0.dist-info/RECORD"] = "".join(f"{name},,\n" for name in list(files) + ["tinypkg-1.0.dist-info/RECORD"])
with zipfile.ZipFile(sys.argv[1], "w") as wheel:
    for name, text in files.items():
        wheel.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), text)
"#;
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Starts `terrarium serve SITE` on free ports; returns it and a client of it.
fn start_serving(site: &Path) -> (ServedChild, Client) {
    let (child, addr) = serve_process(site, &["--admin", "127.0.0.1:0"]);
    (child, Client::at(addr))
}

/// `GET path`, which must answer 200; returns the body.
fn get_ok(client: &Client, path: &str) -> String {
    let reply = client.get_blocking(path);
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
    reply.text()
}

/// SIGTERM, and the server must exit cleanly.
fn stop(child: &mut Child) {
    signal(child, "-TERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn second_build_comes_from_the_cache_and_sigterm_drains_requests() {
    let site = TestSite::new("[[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 2\n");
    let site_arg = site.path().to_str().unwrap();
    let first = run_with_timeout(&["build", site_arg], Duration::from_secs(600));
    assert!(first.status.success(), "{}", stderr(&first));
    let second = run_with_timeout(&["build", site_arg], Duration::from_secs(60));
    let message = stderr(&second);
    assert!(second.status.success(), "{message}");
    assert!(message.contains("[root] ready (from cache"), "{message}");
    assert!(
        !message.contains("building") && !message.contains("compiling"),
        "{message}"
    );

    let (mut child, client) = start_serving(site.path());
    assert_eq!(get_ok(&client, "/ok"), "ok");
    // A request in flight when SIGTERM arrives still gets its answer.
    let in_flight = std::thread::spawn(move || get_ok(&client, "/sleep/800"));
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, "-TERM");
    assert_eq!(in_flight.join().unwrap(), "slept");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(
        std::net::TcpStream::connect(client.addr).is_err(),
        "no longer listening"
    );
}

#[test]
fn the_access_log_goes_to_the_named_file_a_line_per_request_and_reopens_on_sighup() {
    let site = TestSite::new("[[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 2\n");
    let log = site.path().join("access.log");

    // A file that cannot be opened stops the server before it listens.
    let missing = site.path().join("no/such/folder/access.log");
    let message = refused_to_serve(
        site.path(),
        &["--access-log", missing.to_str().unwrap()],
        Duration::from_secs(600),
    );
    assert!(
        message.contains("server.access_log: cannot open") && message.contains("no/such/folder"),
        "{message}"
    );

    let (mut child, addr) = serve_process(
        site.path(),
        &["--admin", "off", "--access-log", log.to_str().unwrap()],
    );
    let client = Client::at(addr);
    assert_eq!(get_ok(&client, "/ok"), "ok");
    assert_eq!(get_ok(&client, "/ok?second=1"), "ok");
    // An idle worker writes its lines at once: no need to stop the server.
    let started = Instant::now();
    let lines = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 2 || started.elapsed() > Duration::from_secs(10) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        let fields: Vec<&str> = line.split(' ').collect();
        assert!(
            fields[0].ends_with('Z') && fields[0].len() == "2026-11-22T21:52:03.394Z".len(),
            "{line}"
        );
        assert_eq!(
            fields[1..6],
            ["access", "mount=root", "method=GET", "path=/ok", "status=200"],
            "{line}"
        );
        assert!(
            fields[6] == "bytes=2" && fields[7].starts_with("duration_ms="),
            "{line}"
        );
        assert!(
            fields[8].starts_with("request=") && fields[9].starts_with("remote=127.0.0.1:"),
            "{line}"
        );
    }
    assert_ne!(
        lines[0].split(' ').nth(8),
        lines[1].split(' ').nth(8),
        "each request has its own id"
    );

    // Rotation: rename the file, send SIGHUP, and new lines go to a new file
    // under the old name (a request may still land in the old one until the
    // signal has been handled).
    let rotated = site.path().join("access.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    signal(&child, "-HUP");
    let started = Instant::now();
    while std::fs::read_to_string(&log).unwrap_or_default().lines().count() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no new access.log after SIGHUP"
        );
        assert_eq!(get_ok(&client, "/ok"), "ok");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(std::fs::read_to_string(&rotated).unwrap().lines().count() >= 2);
    let fresh = std::fs::read_to_string(&log).unwrap();
    assert!(
        fresh.lines().all(|line| line.contains(" path=/ok status=200 ")),
        "{fresh}"
    );
    stop(&mut child);
}

#[test]
fn a_control_api_reachable_from_other_machines_needs_a_token_also_from_the_command_line() {
    let site = TestSite::new("[[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\n");
    let message = refused_to_serve(site.path(), &["--admin", "0.0.0.0:0"], Duration::from_secs(60));
    assert!(
        message.contains("terrarium.toml: server.admin: 0.0.0.0:0 is reachable from other machines")
            && message.contains("server.admin_token"),
        "{message}"
    );
}

#[test]
fn exec_runs_python_in_a_mounts_sandbox_while_the_site_is_served() {
    let site = TestSite::new(
        "[[mount]]\npath = \"/store\"\nname = \"store\"\napp = \"@storage\"\ndata = \"var/store\"\ntmp = \"1MiB\"\n\
         instances = 2\nenv = { GREETING = \"hello\" }\n\n[[mount]]\npath = \"/files\"\nstatic = \"public\"\n",
    );
    std::fs::create_dir_all(site.path().join("public")).unwrap();
    let (mut child, client) = start_serving(site.path());
    assert_eq!(client.post_blocking("/store/sqlite/init").status, 200);

    let site_arg = site.path().to_str().unwrap();
    let add = "import os, sqlite3, sys\n\
               db = sqlite3.connect('/data/counter.db')\n\
               db.execute('UPDATE counter SET n = n + 41')\n\
               db.commit()\n\
               print(os.environ['GREETING'], os.getcwd(), os.environ['TMPDIR'], sys.argv[1:])\n\
               sys.exit(3)";
    let ran = run_with_timeout(
        &["exec", site_arg, "store", "--", "-c", add, "extra"],
        Duration::from_secs(120),
    );
    assert_eq!(ran.status.code(), Some(3), "{}", stderr(&ran));
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "hello /2 /tmp ['extra']\n");
    let state = client.get_blocking("/store/sqlite").json();
    assert_eq!(state["n"], 41, "the served instances see what exec committed");

    let failed = run_with_timeout(
        &["exec", site_arg, "store", "--", "-c", "1/0"],
        Duration::from_secs(60),
    );
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        stderr(&failed).contains("ZeroDivisionError"),
        "{}",
        stderr(&failed)
    );
    let exited = run_with_timeout(
        &[
            "exec",
            site_arg,
            "store",
            "--",
            "-c",
            "import os; print('bye', flush=True); os._exit(3)",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(exited.status.code(), Some(3), "{}", stderr(&exited));
    assert_eq!(String::from_utf8_lossy(&exited.stdout), "bye\n");
    assert!(
        !stderr(&exited).contains("crash") && !stderr(&exited).contains("backtrace"),
        "{}",
        stderr(&exited)
    );
    let not_an_app = run_with_timeout(
        &["exec", site_arg, "files", "--", "-c", "1"],
        Duration::from_secs(60),
    );
    assert!(
        stderr(&not_an_app).contains("serves static files"),
        "{}",
        stderr(&not_an_app)
    );
    stop(&mut child);
}

/// `terrarium new site` and `new app` with each template make a site that
/// serves every app's hello; an edit keeps the file's comments, and nothing
/// that exists is overwritten.
#[test]
fn new_site_and_new_apps_of_each_template_answer() {
    let parent = tempfile::tempdir().unwrap();
    let site = parent.path().join("mysite");
    let site_arg = site.to_str().unwrap();
    let run = |args: &[&str]| run_with_timeout(args, Duration::from_secs(60));
    let made = run(&["new", "site", site_arg]);
    assert!(made.status.success(), "{}", stderr(&made));
    assert!(stderr(&made).contains("terrarium serve"), "{}", stderr(&made));
    for template in ["wsgi", "asgi", "flask"] {
        let name = format!("my-{template}");
        let made = run(&["new", "app", &name, "--site", site_arg, "--template", template]);
        assert!(made.status.success(), "{template}: {}", stderr(&made));
    }
    let again = run(&["new", "app", "my-wsgi", "--site", site_arg]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("a mount is already named \"my-wsgi\""),
        "{}",
        stderr(&again)
    );
    let again = run(&["new", "site", site_arg]);
    assert!(
        !again.status.success() && stderr(&again).contains("terrarium.toml already exists"),
        "{}",
        stderr(&again)
    );
    let file = std::fs::read_to_string(site.join("terrarium.toml")).unwrap();
    assert!(file.contains("# Files served by the host itself"), "{file}");

    let (child, addr) = serve_process(&site, &["--admin", "off"]);
    let client = Client::at(addr);
    for (path, expected) in [
        ("/", "Hello from hello!\n"),
        ("/my-wsgi/", "Hello from my-wsgi!\n"),
        ("/my-asgi/", "Hello from my-asgi!\n"),
        ("/my-flask/", "Hello from my-flask!\n"),
    ] {
        let reply = client.get_blocking(path);
        assert_eq!((reply.status, reply.text()), (200, expected.to_owned()), "{path}");
    }
    assert_eq!(client.get_blocking("/static/").status, 200);
    drop(child);
}

/// Polls `check` every 100 ms for up to `limit`; panics with `what` when
/// it never holds.
fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "after {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How long `serve --watch` may take to rebuild an app.
const REBUILD_WITHIN: Duration = Duration::from_secs(300);

/// `serve --watch`: a saved edit of an app is rebuilt and served; a syntax
/// error keeps the old answer and its error is printed; a mount added to
/// terrarium.toml is served.
#[test]
fn watch_rebuilds_on_save_and_keeps_serving_through_a_broken_edit() {
    let app = |answer: &str| {
        format!(
            "from terrarium import App\n\napp = App()\n\n\n@app.get(\"/\")\ndef index(req, res):\n    res.send_text(\"{answer}\")\n"
        )
    };
    let site = TestSite::new("# watched\n[[mount]]\npath = \"/w\"\napp = \"apps/w\"\n");
    site.write("apps/w/app.py", app("first"));
    let log = site.path().join("serve.log");
    let (child, addr) = terrarium_test_support::serve_process_logging_to(
        site.path(),
        &["--admin", "off", "--watch"],
        &[],
        &log,
    );
    let client = Client::at(addr);
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(client.get_blocking("/w/").text(), "first");

    site.write("apps/w/app.py", app("second"));
    // A rebuild pre-initializes CPython and compiles it again: about 20 s
    // alone, minutes beside the other tests' first builds on 2 cores.
    eventually(REBUILD_WITHIN, "the edit was rebuilt", || {
        read_log().contains("watch: rebuilt and swapped in")
    });
    assert_eq!(
        client.get_blocking("/w/").text(),
        "second",
        "served once swapped in"
    );

    site.write("apps/w/app.py", "def broken(:\n");
    eventually(REBUILD_WITHIN, "the syntax error was printed", || {
        read_log().contains("SyntaxError")
    });
    assert_eq!(
        client.get_blocking("/w/").text(),
        "second",
        "the old version keeps serving"
    );
    assert_eq!(
        read_log().matches("reload failed").count(),
        1,
        "said once: {}",
        read_log()
    );

    site.write("apps/w/app.py", app("second"));
    let file = std::fs::read_to_string(site.path().join("terrarium.toml")).unwrap();
    site.write(
        "terrarium.toml",
        format!("{file}\n[[mount]]\npath = \"/more\"\napp = \"apps/w\"\n"),
    );
    eventually(REBUILD_WITHIN, "the added mount serves", || {
        client.get_blocking("/more/").text() == "second"
    });
    drop(child);
}
