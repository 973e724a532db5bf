//! The server's log as an operator reads it: each mount's own level and
//! rate, and JSON lines (`log_format = "json"`) with one record per guest
//! exception, its traceback inside, tagged with the request id the client saw.

use terrarium_test_support::{Client, TestSite};

/// A free loopback address for the control API.
fn free_address() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

/// Stops the server with SIGTERM and returns everything it wrote to `log`.
fn stop_and_read(mut child: terrarium_test_support::binary::ServedChild, log: &std::path::Path) -> String {
    terrarium_test_support::binary::signal(&child, "-TERM");
    let _ = child.wait();
    std::fs::read_to_string(log).unwrap()
}

const CHATTY_APP: &str = "\
from terrarium import App

app = App()


@app.get('/say')
def say(req, res):
    print('said by', req.script_name)
    return res.send_text('said')


@app.get('/flood')
def flood(req, res):
    for n in range(500):
        print('flood line', n)
    return res.send_text('flooded')
";

/// A mount's `log_level` keeps its app's info lines out while another
/// mount's are kept; an app that prints in a loop is held to its
/// `log_rate`, and the drops are counted and said.
#[test]
fn each_mount_has_its_own_log_level_and_rate() {
    let site = TestSite::new(
        "[[mount]]\npath = \"/quiet\"\napp = \"apps/chatty\"\ninstances = 1\nlog_level = \"error\"\n\
         [[mount]]\npath = \"/loud\"\napp = \"apps/chatty\"\ninstances = 1\nlog_rate = 50\n",
    );
    site.write("apps/chatty/app.py", CHATTY_APP);
    let admin = free_address();
    let log = site.path().join("server.log");
    let (child, addr) =
        terrarium_test_support::serve_process_logging_to(site.path(), &["--admin", &admin], &[], &log);
    let client = Client::at(addr);
    assert_eq!(client.get_blocking("/quiet/say").text(), "said");
    assert_eq!(client.get_blocking("/loud/say").text(), "said");
    assert_eq!(client.get_blocking("/loud/flood").text(), "flooded");
    let metrics = Client::at(admin.parse().unwrap()).get_blocking("/metrics").text();
    let output = stop_and_read(child, &log);
    assert!(output.contains("said by /loud"), "{output}");
    assert!(!output.contains("said by /quiet"), "{output}");
    let kept = output.matches("flood line").count();
    assert!(
        (40..=60).contains(&kept),
        "{kept} flood lines kept at 50 a second"
    );
    let dropped: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("terrarium_log_dropped_total{mount=\"loud\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(dropped as usize, 500 - kept, "{metrics}");
    assert!(
        output.contains(&format!(
            "dropped {dropped} log records of this app: over its log_rate of 50 a second"
        )),
        "{output}"
    );
    assert!(
        metrics.contains("terrarium_log_dropped_total{mount=\"quiet\"} 0\n"),
        "{metrics}"
    );
}

const NATIVE_APP: &str = "\
import logging

from terrarium import App

app = App()


@app.get('/boom')
def boom(req, res):
    raise RuntimeError('the cart is gone')


@app.get('/say')
def say(req, res):
    print('said once')
    return res.send_text('said')


@app.get('/caught')
def caught(req, res):
    try:
        {}['cart']
    except KeyError:
        logging.getLogger('shop').exception('could not load the cart')
    return res.send_text('caught')
";

const WSGI_APP: &str = "\
def application(environ, start_response):
    raise ValueError('no such page')
";

const ASGI_APP: &str = "\
async def app(scope, receive, send):
    if scope['type'] == 'lifespan':
        while True:
            message = await receive()
            if message['type'] == 'lifespan.startup':
                await send({'type': 'lifespan.startup.complete'})
            else:
                await send({'type': 'lifespan.shutdown.complete'})
                return
    raise LookupError('no such item')
";

/// The records of a JSON log, each checked to have the four fields every
/// record has.
fn json_records(output: &str) -> Vec<serde_json::Value> {
    output
        .lines()
        .map(|line| {
            let record: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
            for field in ["ts", "level", "target", "msg"] {
                assert!(record[field].is_string(), "no {field}: {line}");
            }
            assert!(
                record["ts"].as_str().unwrap().ends_with('Z'),
                "a UTC timestamp: {line}"
            );
            record
        })
        .collect()
}

/// With `log_format = "json"` every line the server writes is a JSON
/// record: its start, the access log, an app's print and `logging` record,
/// and one record per unhandled exception (native, WSGI, ASGI) that holds
/// the traceback as the author knows it and the id the 500 page named.
#[test]
fn json_logs_have_one_record_per_exception_with_its_request_id() {
    let site = TestSite::new(
        "[server]\nlog_format = \"json\"\n\
         [[mount]]\npath = \"/n\"\napp = \"apps/logs\"\ninstances = 1\n\
         [[mount]]\npath = \"/w\"\napp = \"apps/logs\"\nentry = \"wsgi_app:application\"\ninstances = 1\n\
         [[mount]]\npath = \"/s\"\napp = \"apps/logs\"\nentry = \"asgi_app:app\"\ninstances = 1\n",
    );
    site.write("apps/logs/app.py", NATIVE_APP);
    site.write("apps/logs/wsgi_app.py", WSGI_APP);
    site.write("apps/logs/asgi_app.py", ASGI_APP);
    let log = site.path().join("server.log");
    let (child, addr) = terrarium_test_support::serve_process_logging_to(site.path(), &[], &[], &log);
    let client = Client::at(addr);
    let said = client.get_blocking("/n/say");
    assert_eq!(said.text(), "said");
    assert_eq!(client.get_blocking("/n/caught").text(), "caught");
    let failures = [
        (
            "n",
            "/n/boom",
            "RuntimeError: the cart is gone",
            "File \"app.py\", line 10, in boom",
        ),
        (
            "w",
            "/w/page",
            "ValueError: no such page",
            "File \"wsgi_app.py\", line 2, in application",
        ),
        (
            "s",
            "/s/item",
            "LookupError: no such item",
            "File \"asgi_app.py\", line 10, in app",
        ),
    ]
    .map(|(mount, path, error, frame)| {
        let reply = client.get_blocking(path);
        assert_eq!(reply.status, 500, "{path}");
        let request = reply.header("x-request-id").to_owned();
        assert_eq!(
            reply.text(),
            format!("500 Internal Server Error (request {request})\n")
        );
        (mount, path, error, frame, request)
    });
    let output = stop_and_read(child, &log);
    let records = json_records(&output);
    let find = |target: &str, msg: &str| {
        records
            .iter()
            .filter(|record| record["target"] == target && record["msg"].as_str().unwrap().contains(msg))
            .collect::<Vec<_>>()
    };

    assert_eq!(
        find("terrarium", &format!("listening on http://{addr}")).len(),
        1,
        "{output}"
    );
    assert_eq!(find("terrarium", "stopped").len(), 1, "{output}");
    for (mount, path, error, frame, request) in &failures {
        let mentions: Vec<_> = records
            .iter()
            .filter(|record| record.to_string().contains(error))
            .collect();
        assert_eq!(mentions.len(), 1, "one record for {error}: {output}");
        let record = mentions[0];
        assert_eq!(
            (
                &record["level"],
                &record["target"],
                &record["app"],
                &record["request"]
            ),
            (
                &"error".into(),
                &"guest".into(),
                &(*mount).into(),
                &request.as_str().into()
            ),
            "{record}"
        );
        assert_eq!(
            record["msg"],
            format!("unhandled exception in GET {path}: {error}"),
            "{record}"
        );
        let traceback = record["traceback"].as_str().unwrap();
        assert!(
            traceback.starts_with("Traceback (most recent call last):\n")
                && traceback.contains(frame)
                && traceback.ends_with(error)
                && !traceback.contains("terrarium/"),
            "the app's frames only, as its author knows them: {traceback}"
        );
        let access = find("access", &format!("GET {path} 500"));
        assert_eq!(access.len(), 1, "{output}");
        assert_eq!(
            (&access[0]["app"], &access[0]["request"], &access[0]["status"]),
            (&(*mount).into(), &request.as_str().into(), &500.into()),
        );
        assert!(access[0]["duration_ms"].is_number() && access[0]["bytes"].is_number());
        assert_eq!(access[0]["host"], addr.to_string());
    }

    let printed = find("guest", "said once");
    assert_eq!(printed.len(), 1, "{output}");
    assert_eq!(
        (
            &printed[0]["level"],
            &printed[0]["stream"],
            &printed[0]["request"]
        ),
        (
            &"info".into(),
            &"stdout".into(),
            &said.header("x-request-id").into()
        )
    );
    let logged = find("guest", "could not load the cart");
    assert_eq!(
        logged.len(),
        1,
        "a logging record with its traceback is one record: {output}"
    );
    assert_eq!(logged[0]["level"], "error");
    assert_eq!(logged[0]["msg"], "could not load the cart");
    let traceback = logged[0]["traceback"].as_str().unwrap();
    assert!(
        traceback.contains("File \"app.py\", line 22, in caught") && traceback.ends_with("KeyError: 'cart'"),
        "{traceback}"
    );
}
