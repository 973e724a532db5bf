"""The bridge, with stand-ins for the `wit_world` bindings componentize-py generates.

The stand-ins mirror the contract's shapes (records as keyword dataclasses);
the real bindings are exercised by the integration tests in ../../tests.
"""

import builtins
import dataclasses
import io
import json
import os
import sqlite3
import sys
import types

import pytest
from conftest import from_host_text, keep_socket_api


HEAD_DEFAULTS = {
    "request_id": "r1", "method": "GET", "scheme": "http", "authority": "example.com", "path": "/",
    "query": "", "remote_addr": "127.0.0.1:1", "script_name": "", "path_info": "/",
    "http_version": "1.1",
}


@dataclasses.dataclass
class PackedRequest:
    head: bytes
    body: bytes
    session: object
    more_body: bool = False


def WitRequest(headers=(), body=b"", session=None, more_body=False, **fields):
    """The contract's request record, packed here by hand (not by the SDK) so
    the tests check the SDK's unpacking against the documented layout."""
    unknown = set(fields) - set(HEAD_DEFAULTS)
    assert not unknown, unknown
    values = [fields.get(name, default) for name, default in HEAD_DEFAULTS.items()]
    head = "".join(value + "\n" for value in values)
    head += "".join(f"{name}\0{value}\n" for name, value in headers)
    return PackedRequest(head.encode("latin-1"), body, session, more_body)


def headers_of(reply):
    """The (name, value) pairs of a reply's packed headers, values as bytes."""
    lines = reply.headers.split(b"\n")
    assert lines[-1] == b"", "every header ends with LF"
    return [(name.decode("latin-1"), value) for name, value in (line.split(b"\0") for line in lines[:-1])]


@dataclasses.dataclass
class WitResponse:
    """The response record; `headers` and `body` arrive as the host gets
    them (latin-1 text) and are kept as the bytes they stand for."""

    status: int
    headers: bytes
    body: bytes
    session: object
    more_body: bool = False

    def __post_init__(self):
        self.headers, self.body = from_host_text(self.headers), from_host_text(self.body)


def pulled(handler, reply, limit=None):
    """The parts of a reply as the host sees them: its first part, then
    what each `next_part` gives until the end (or `limit` parts in all,
    after which the host ends the stream)."""
    parts = [reply.body]
    while reply.more_body and (limit is None or len(parts) < limit):
        part = handler.next_part()
        if part is None:
            return parts
        parts.append(from_host_text(part))
    if reply.more_body:
        handler.end_stream()
    return parts


@dataclasses.dataclass
class Unchanged:
    pass


@dataclasses.dataclass
class Save:
    value: str


@dataclasses.dataclass
class Regenerate:
    value: str


@dataclasses.dataclass
class Destroy:
    pass


class FakeStreams(types.ModuleType):
    """The contract's `streams` import: hands out `body_parts` one per
    read, and says the client is `gone` once a test sets it."""

    def __init__(self, host_error):
        super().__init__("wit_world.imports.streams")
        self._error = host_error
        self.body_parts = []
        self.gone = False

    def read_body(self, size):
        if not self.body_parts:
            return None
        part = self.body_parts.pop(0)
        if not isinstance(part, bytes):
            raise self._error(part)
        return part

    def client_gone(self):
        return self.gone


@pytest.fixture
def guest(monkeypatch):
    world = types.ModuleType("wit_world")
    exports = types.ModuleType("wit_world.exports")
    exports.Handler = type("Handler", (), {})
    exports.Command = type("Command", (), {})
    imports = types.ModuleType("wit_world.imports")
    http = types.ModuleType("wit_world.imports.http")
    http.Response, http.Request = WitResponse, PackedRequest
    http.SessionChange_Unchanged, http.SessionChange_Save = Unchanged, Save
    http.SessionChange_Regenerate, http.SessionChange_Destroy = Regenerate, Destroy
    log = types.ModuleType("wit_world.imports.log")
    records = []
    log.write = lambda level, message: records.append((level, message))
    log.Level = types.SimpleNamespace(DEBUG=0, INFO=1, WARNING=2, ERROR=3)
    kdf = types.ModuleType("wit_world.imports.kdf")
    storage = types.ModuleType("wit_world.imports.storage")
    storage.take_refusal = lambda: None
    net = types.ModuleType("wit_world.imports.net")
    net.LookupError_Refused = type("LookupError_Refused", (), {})
    net.resolve = lambda name, port: ["127.0.0.1"]
    net.take_refusal = lambda: None
    net.connect_timeout = lambda: 10_000
    tls = types.ModuleType("wit_world.imports.tls")
    host_types = types.ModuleType("componentize_py_types")
    host_types.Err = type("Err", (Exception,), {"__init__": lambda self, value: setattr(self, "value", value)})
    streams = FakeStreams(host_types.Err)
    imports.http, imports.log, imports.kdf, imports.storage, imports.net, imports.tls = http, log, kdf, storage, net, tls
    imports.streams = streams
    world.exports, world.imports = exports, imports
    for name, module in [("wit_world", world), ("wit_world.exports", exports), ("wit_world.imports", imports),
                         ("wit_world.imports.http", http), ("wit_world.imports.log", log),
                         ("wit_world.imports.kdf", kdf), ("wit_world.imports.storage", storage),
                         ("wit_world.imports.net", net), ("wit_world.imports.tls", tls),
                         ("wit_world.imports.streams", streams),
                         ("componentize_py_types", host_types)]:
        monkeypatch.setitem(sys.modules, name, module)
    # boot() installs the shims: keep what they replace, to put it back.
    monkeypatch.setattr(builtins, "open", builtins.open)
    monkeypatch.setattr(io, "open", io.open)
    monkeypatch.setattr(sqlite3, "connect", sqlite3.connect)
    monkeypatch.setattr(sqlite3.dbapi2, "connect", sqlite3.dbapi2.connect)
    from terrarium import _storage

    for name in _storage._OS_CALLS:
        if hasattr(os, name):
            monkeypatch.setattr(os, name, getattr(os, name))
    keep_socket_api(monkeypatch)
    from terrarium import _phase

    monkeypatch.setattr(_phase, "building", False)  # put back even when boot() fails midway
    monkeypatch.delitem(sys.modules, "terrarium._guest", raising=False)
    import terrarium._guest as guest_module

    guest_module.host_log = records  # what reached the host's `log` import, one record each
    guest_module.host_streams = streams  # what the app streamed, and the body it reads
    yield guest_module
    sys.modules.pop("terrarium._guest", None)
    from terrarium import log

    log._attach(None, None)  # boot() attached the stand-in host


def native_module(monkeypatch):
    from terrarium import App

    module = types.ModuleType("native_app")
    module.app = App()
    module.app.get("/hello/:name", lambda req, res: {"hello": req.params["name"], "script": req.script_name})
    module.app.get("/boom", lambda req, res: 1 / 0)
    module.app.get("/teapot", lambda req, res: res.send_text("no", status=501))
    module.not_an_app = 42
    monkeypatch.setitem(sys.modules, "native_app", module)
    return module


def test_native_apps_are_served_and_failures_become_500s(guest, monkeypatch, capsys):
    native_module(monkeypatch)
    guest.boot("native_app:app")
    handler = guest.Handler()
    reply = handler.handle(WitRequest(path="/x/hello/ada", script_name="/x", path_info="/hello/ada"))
    assert (reply.status, reply.body) == (200, b'{"hello":"ada","script":"/x"}')
    assert ("Content-Type", b"application/json") in headers_of(reply)
    crash = handler.handle(WitRequest(path="/x/boom", path_info="/boom"))
    assert (crash.status, crash.body) == (500, b"500 Internal Server Error (request r1)\n")
    assert headers_of(crash) == [("content-type", b"text/plain; charset=utf-8")]
    assert len(guest.host_log) == 1, "the traceback is one record of the host's log, not a line each"
    level, record = guest.host_log[0]
    assert level == 3 and record.startswith(
        "unhandled exception in GET /x/boom: ZeroDivisionError: division by zero\nTraceback"
    ), record
    assert "Traceback (most recent call last)" in record and "ZeroDivisionError" in record
    assert capsys.readouterr().err == "", "nothing goes around the log"


def test_request_heads_reach_the_app_with_every_field_and_header(guest, monkeypatch):
    from terrarium import App

    module = types.ModuleType("echo_app")
    module.app = App()
    module.app.get("/echo", lambda req, res: {
        "id": req.request_id, "host": req.host, "scheme": req.scheme, "remote": req.remote_addr,
        "query": req.query_string, "cookie": req.headers.get("cookie"), "bytes": req.headers.get("x-bytes"),
        "empty": req.headers.get("x-empty"), "all": req.headers.getall("x-multi"),
    })
    monkeypatch.setitem(sys.modules, "echo_app", module)
    guest.boot("echo_app:app")
    reply = guest.Handler().handle(WitRequest(
        request_id="abc", authority="h:1", scheme="https", remote_addr="10.0.0.1:9", query="a=1",
        path="/echo", path_info="/echo",
        headers=[("cookie", "a=1; b=2"), ("x-bytes", "caf\u00e9"), ("x-empty", ""), ("x-multi", "1"), ("x-multi", "2")]))
    assert reply.status == 200
    assert json.loads(reply.body) == {
        "id": "abc", "host": "h:1", "scheme": "https", "remote": "10.0.0.1:9", "query": "a=1",
        "cookie": "a=1; b=2", "bytes": "caf\u00e9", "empty": "", "all": ["1", "2"],
    }


def test_a_response_header_that_would_smuggle_another_becomes_a_500(guest, monkeypatch):
    from terrarium import App

    module = types.ModuleType("smuggle_app")
    module.app = App()

    def smuggle(req, res):
        res.headers["X-Evil"] = "1\nSet-Cookie\0admin=1"
        return "hi"

    module.app.get("/", smuggle)
    monkeypatch.setitem(sys.modules, "smuggle_app", module)
    guest.boot("smuggle_app:app")
    reply = guest.Handler().handle(WitRequest())
    assert reply.status == 500 and b"admin" not in reply.headers
    assert any("X-Evil" in record for _, record in guest.host_log), guest.host_log


def test_wsgi_apps_are_detected_and_adapted(guest, monkeypatch):
    module = types.ModuleType("wsgi_app")

    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode("latin-1")]

    module.application = application
    monkeypatch.setitem(sys.modules, "wsgi_app", module)
    guest.boot("wsgi_app:application")
    reply = guest.Handler().handle(WitRequest(path_info="/caf%C3%A9"))
    assert (reply.status, headers_of(reply), reply.body) == (200, [("Content-Type", b"text/plain")], "/café".encode())


def test_entries_that_name_nothing_useful_are_refused(guest, monkeypatch):
    native_module(monkeypatch)
    with pytest.raises(LookupError, match="has no attribute 'missing'"):
        guest.load_entry("native_app:missing")
    with pytest.raises(TypeError, match="neither a terrarium.App nor a WSGI or ASGI application"):
        guest.load_entry("native_app:not_an_app")
    with pytest.raises(ModuleNotFoundError):
        guest.load_entry("no_such_module:app")
    with pytest.raises(TypeError, match="'not_an_app' is not callable"):
        guest.load_entry("native_app:not_an_app()")


def test_a_factory_entry_is_called_once_with_no_arguments(guest, monkeypatch):
    from terrarium import App

    module = native_module(monkeypatch)
    made = []

    def create_app():
        made.append(App())
        return made[-1]

    module.create_app = create_app
    assert guest.load_entry("native_app:create_app()") is made[0]
    assert len(made) == 1
    module.make_wsgi = lambda: 42
    with pytest.raises(TypeError, match="neither a terrarium.App nor a WSGI or ASGI application"):
        guest.load_entry("native_app:make_wsgi()")


def test_sessions_reach_native_and_wsgi_apps_and_changes_go_back(guest, monkeypatch):
    from terrarium import App

    module = types.ModuleType("session_app")
    module.app = App()

    @module.app.post("/login")
    def login(req, res):
        req.session["user"] = req.text
        req.session.regenerate()
        return "ok"

    module.app.get("/whoami", lambda req, res: {"user": req.session.get("user")})
    module.app.post("/logout", lambda req, res: req.session.destroy())
    module.app.post("/count", lambda req, res: req.session.update(n=req.session.get("n", 0) + 1))

    def wsgi(environ, start_response):
        environ["terrarium.session"]["seen"] = True
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"wsgi"]

    module.wsgi = wsgi
    monkeypatch.setitem(sys.modules, "session_app", module)
    guest.boot("session_app:app")
    handler = guest.Handler()
    assert handler.handle(WitRequest(method="POST", path_info="/login", body=b"ada", session="{}")).session \
        == Regenerate('{"user":"ada"}')
    who = handler.handle(WitRequest(path_info="/whoami", session='{"user":"ada"}'))
    assert (who.body, who.session) == (b'{"user":"ada"}', Unchanged())
    assert handler.handle(WitRequest(method="POST", path_info="/logout", session='{"user":"ada"}')).session == Destroy()
    assert handler.handle(WitRequest(method="POST", path_info="/count", session='{"n":2}')).session == Save('{"n":3}')
    assert handler.handle(WitRequest(path_info="/whoami")).session == Unchanged(), "no sessions on this mount"

    guest.boot("session_app:wsgi")
    assert handler.handle(WitRequest(session="{}")).session == Save('{"seen":true}')


def test_warm_up_serves_each_path_before_the_snapshot(guest, monkeypatch):
    from terrarium import App

    module = types.ModuleType("warm_app")
    module.app = App()
    seen = []

    @module.app.get("/items/:id")
    def item(req, res):
        seen.append((req.params["id"], req.query.get("q"), req.session is not None, req.request_id))
        if req.session is not None:
            req.session["dropped"] = True
        return "ok"

    module.app.get("/", lambda req, res: seen.append(("root", req.host, req.script_name)))
    monkeypatch.setitem(sys.modules, "warm_app", module)
    guest.boot("warm_app:app", warm_up=["/items/7?q=x", "/"])
    rounds = guest.WARM_UP_ROUNDS
    assert seen == [("7", "x", True, "warm-up-1")] * rounds + [("root", "localhost", "")] * rounds
    reply = guest.Handler().handle(WitRequest(path="/items/8", path_info="/items/8"))
    assert (reply.status, reply.session) == (200, Unchanged()), "warm-up leaves no trace in later requests"


@pytest.mark.parametrize("entry, path, failure", [
    ("failing_app:app", "/boom", "failed: ZeroDivisionError: division by zero"),
    ("failing_app:app", "/teapot", "answered 501"),
    ("failing_app:wsgi", "/anything", "answered 503"),
])
def test_a_warm_up_request_answering_5xx_fails_the_build_naming_it(guest, monkeypatch, entry, path, failure):
    from terrarium import App

    module = types.ModuleType("failing_app")
    module.app = App()
    module.app.get("/boom", lambda req, res: 1 / 0)
    module.app.get("/teapot", lambda req, res: res.send_text("no", status=501))

    def wsgi(environ, start_response):
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"down"]

    module.wsgi = wsgi
    monkeypatch.setitem(sys.modules, "failing_app", module)
    with pytest.raises(RuntimeError, match=f"warm-up request GET {path} {failure}"):
        guest.boot(entry, warm_up=[path])


def test_a_warm_up_path_that_is_not_found_is_no_error(guest, monkeypatch):
    native_module(monkeypatch)
    guest.boot("native_app:app", warm_up=["/missing"])


def test_an_error_handler_that_raises_is_logged_with_its_traceback_and_answers_500(guest, monkeypatch):
    from terrarium import App

    module = types.ModuleType("broken_handler_app")
    module.app = App()
    module.app.get("/boom", lambda req, res: 1 / 0)

    @module.app.on_error
    def error_page(req, res, exc):
        return {}["missing template"]

    monkeypatch.setitem(sys.modules, "broken_handler_app", module)
    guest.boot("broken_handler_app:app")
    reply = guest.Handler().handle(WitRequest(path="/boom", path_info="/boom"))
    assert reply.status == 500
    [(_, record)] = guest.host_log
    assert "ZeroDivisionError" in record and "KeyError: 'missing template'" in record, record
    assert "raised by the on_error handler error_page" in record, record


def test_commands_run_as_python_would_run_them(guest, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", sys.argv)
    (tmp_path / "manage.py").write_text(
        "import sys\nprint('manage', sys.argv[1:])\nsys.exit(len(sys.argv) - 1)\n"
    )
    (tmp_path / "tool.py").write_text("import sys\nprint('tool', sys.argv[1:])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    run = lambda *args: guest.run_command(list(args), folder=str(tmp_path))
    assert run("manage.py", "migrate", "--noinput") == 2
    assert run("-m", "tool", "x") == 0
    assert run("-c", "import sys; print(sys.argv); sys.exit(3)", "a") == 3
    assert run("-c", "raise SystemExit('went wrong')") == 1
    assert run("-c", "1/0") == 1
    real_exit = os._exit
    assert run("-c", "import os\ntry:\n    os._exit(4)\nexcept Exception:\n    print('caught')") == 4
    assert os._exit is real_exit, "put back after the command"
    assert run() == 1
    out, err = capsys.readouterr()
    assert "manage ['migrate', '--noinput']" in out and "caught" not in out
    assert "tool ['x']" in out
    assert "['-c', 'a']" in out
    assert "went wrong" in err and "ZeroDivisionError" in err and "nothing to run" in err


def test_build_commands_write_through_the_writable_alias_and_are_forgotten(guest, tmp_path, monkeypatch):
    folder, alias = tmp_path / "app", tmp_path / "alias"
    for root in (folder, alias):  # one folder, seen twice (as the build's /2 and /5)
        (root / "proj").mkdir(parents=True)
        (root / "proj" / "__init__.py").write_text("")
        (root / "proj" / "settings.py").write_text(
            "from pathlib import Path\nOUT = Path(__file__).resolve().parent.parent / 'collected'\n"
        )
        (root / "collect.py").write_text(
            "import sys\nfrom proj import settings\nsettings.OUT.mkdir(exist_ok=True)\n"
            "(settings.OUT / 'base.css').write_text('body {}')\nsys.exit(int(sys.argv[1]))\n"
        )
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.chdir(folder)
    monkeypatch.setattr(sys, "argv", ["boot"])
    guest.run_build_command("collect.py 0", (str(alias), str(folder)))
    assert (alias / "collected" / "base.css").read_text() == "body {}"
    assert not (folder / "collected").exists(), "written through the alias"
    assert "proj.settings" not in sys.modules and "proj" not in sys.modules, "imported afresh after"
    assert sys.path[0] == str(folder) and os.getcwd() == str(folder) and sys.argv == ["boot"]
    with pytest.raises(guest.BuildCommandFailed, match="'collect.py 3' exited with status 3"):
        guest.run_build_command("collect.py 3", (str(alias), str(folder)))


def install_app(monkeypatch, name, app):
    module = types.ModuleType(name)
    module.app = app
    monkeypatch.setitem(sys.modules, name, module)


def test_a_wsgi_generator_streams_each_part_as_it_is_made(guest, monkeypatch):
    closed = []

    def parts():
        try:
            yield b"first"
            yield b""
            yield b"second"
        finally:
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return parts()

    install_app(monkeypatch, "gen_app", app)
    guest.boot("gen_app:app")
    handler = guest.Handler()
    reply = handler.handle(WitRequest())
    assert (reply.status, reply.more_body) == (200, True)
    assert closed == [], "the iterable stays open while the host pulls"
    assert pulled(handler, reply) == [b"first", b"second"]
    assert closed == [True]


def test_a_wsgi_body_known_complete_goes_back_whole(guest, monkeypatch):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "5")])
        return iter([b"hello"])

    install_app(monkeypatch, "whole_app", app)
    guest.boot("whole_app:app")
    reply = guest.Handler().handle(WitRequest())
    assert (reply.status, reply.body, reply.more_body) == (200, b"hello", False)


def test_a_client_that_goes_away_ends_a_wsgi_stream_quietly(guest, monkeypatch):
    made, closed = [], []

    def endless():
        try:
            while True:
                made.append(1)
                yield b"tick"
        finally:
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [])
        return endless()

    install_app(monkeypatch, "endless_app", app)
    guest.boot("endless_app:app")
    handler = guest.Handler()
    assert pulled(handler, handler.handle(WitRequest()), limit=3) == [b"tick"] * 3
    assert len(made) == 3 and closed == [True]
    assert guest.host_log == [], "a client going away is not an error of the app"


def test_wsgi_input_reads_a_streaming_body_as_it_arrives(guest, monkeypatch):
    seen = []

    def app(environ, start_response):
        body = environ["wsgi.input"]
        seen.append(body.readline())
        seen.append(body.read())
        start_response("200 OK", [])
        return [b"ok"]

    install_app(monkeypatch, "upload_app", app)
    guest.boot("upload_app:app")
    guest.host_streams.body_parts = [b"rest\nof ", b"the body"]
    reply = guest.Handler().handle(WitRequest(method="POST", body=b"first ", more_body=True))
    assert reply.status == 200
    assert seen == [b"first rest\n", b"of the body"]


def test_a_body_the_host_cannot_read_raises_request_body_error(guest, monkeypatch):
    from terrarium.streams import RequestBodyError

    raised = []

    def app(environ, start_response):
        try:
            environ["wsgi.input"].read()
        except RequestBodyError as error:
            raised.append(str(error))
            raise
        return []

    install_app(monkeypatch, "refused_app", app)
    guest.boot("refused_app:app")
    guest.host_streams.body_parts = [types.SimpleNamespace(value=10)]
    reply = guest.Handler().handle(WitRequest(method="POST", body=b"x", more_body=True))
    assert reply.status == 500, "the host answers 413 in its place"
    assert raised == ["the request body is larger than the mount's max_body (10 bytes)"]


def test_native_responses_and_request_bodies_stream(guest, monkeypatch):
    from terrarium import App

    app = App()

    @app.post("/echo")
    def echo(req, res):
        sizes = [len(part) for part in req.stream()]
        res.stream((f"{size}\n" for size in sizes), content_type="text/plain")

    install_app(monkeypatch, "native_stream_app", app)
    guest.boot("native_stream_app:app")
    guest.host_streams.body_parts = [b"x" * 10, b"y" * 20]
    handler = guest.Handler()
    reply = handler.handle(WitRequest(method="POST", path="/echo", path_info="/echo", body=b"abc", more_body=True))
    assert pulled(handler, reply) == [b"3\n", b"10\n", b"20\n"]


def asgi_app(startup=None, lifespan=True):
    """An ASGI app: `/` echoes its scope, `/stream` sends three parts,
    `/wait` waits for the client to go away; its lifespan sets state."""
    events = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            if not lifespan:
                raise ValueError("no lifespan here")
            message = await receive()
            events.append(message["type"])
            if startup is not None:
                await send({"type": "lifespan.startup.failed", "message": startup})
                return
            scope["state"]["db"] = "loaded"
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            events.append(message["type"])
            await send({"type": "lifespan.shutdown.complete"})
            return
        request = await receive()
        if scope["path"].endswith("/stream"):
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            for part in (b"a", b"b", b"c"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["path"].endswith("/wait"):
            import asyncio
            asyncio.get_running_loop().call_later(0.1, lambda: setattr(app.streams, "gone", True))
            events.append((await receive())["type"])
            await send({"type": "http.response.start", "status": 204})
            await send({"type": "http.response.body"})
            return
        described = {key: scope[key] for key in ("path", "root_path", "method", "scheme", "http_version")}
        described.update(raw_path=scope["raw_path"].decode(), query=scope["query_string"].decode(),
                         client=list(scope["client"]), server=list(scope["server"]), state=scope["state"],
                         headers=[[n.decode(), v.decode()] for n, v in scope["headers"]],
                         body=request["body"].decode(), more=request["more_body"])
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x-asgi", b"yes")]})
        await send({"type": "http.response.body", "body": json.dumps(described).encode()})

    app.events = events
    return app


def test_asgi_apps_get_a_complete_scope_and_answer_whole(guest, monkeypatch):
    app = asgi_app()
    install_app(monkeypatch, "asgi_app", app)
    guest.boot("asgi_app:app")
    reply = guest.Handler().handle(WitRequest(
        method="POST", path="/shop/caf%C3%A9", script_name="/shop", path_info="/caf%C3%A9", query="a=1",
        authority="example.com:8080", remote_addr="10.0.0.1:5000", headers=[("x-one", "1")], body=b"hi",
        http_version="2"))
    assert reply.status == 201 and ("x-asgi", b"yes") in headers_of(reply)
    assert json.loads(reply.body) == {
        "path": "/shop/caf\u00e9", "root_path": "/shop", "raw_path": "/shop/caf%C3%A9", "method": "POST",
        "scheme": "http", "http_version": "2", "query": "a=1", "client": ["10.0.0.1", 5000],
        "server": ["example.com", 8080], "state": {"db": "loaded"}, "headers": [["x-one", "1"]],
        "body": "hi", "more": False,
    }
    assert app.events == ["lifespan.startup"]
    guest.Handler().shutdown()
    assert app.events == ["lifespan.startup", "lifespan.shutdown"]


def test_asgi_parts_stream_and_disconnects_are_told(guest, monkeypatch):
    app = asgi_app()
    install_app(monkeypatch, "asgi_stream_app", app)
    guest.boot("asgi_stream_app:app")
    app.streams = guest.host_streams
    handler = guest.Handler()
    assert pulled(handler, handler.handle(WitRequest(path="/stream", path_info="/stream"))) == [b"a", b"b", b"c"]
    reply = guest.Handler().handle(WitRequest(path="/wait", path_info="/wait"))
    assert reply.status == 204 and app.events[-1] == "http.disconnect"


def test_an_asgi_startup_that_fails_fails_the_build(guest, monkeypatch):
    install_app(monkeypatch, "asgi_failing_app", asgi_app(startup="no database"))
    with pytest.raises(RuntimeError, match="lifespan startup failed: no database"):
        guest.boot("asgi_failing_app:app")


def test_an_asgi_app_without_lifespan_still_builds(guest, monkeypatch):
    install_app(monkeypatch, "asgi_plain_app", asgi_app(lifespan=False))
    guest.boot("asgi_plain_app:app")
    assert guest.Handler().handle(WitRequest()).status == 201
    guest.Handler().shutdown()


def test_the_interface_an_app_speaks_is_told_to_the_host(guest, monkeypatch, tmp_path):
    native_module(monkeypatch)
    install_app(monkeypatch, "asgi_told_app", asgi_app(lifespan=False))
    module = types.ModuleType("wsgi_told_app")
    module.application = lambda environ, start_response: [b""]
    monkeypatch.setitem(sys.modules, "wsgi_told_app", module)
    told = tmp_path / "interface"
    for entry, interface in [("native_app:app", "native"), ("asgi_told_app:app", "asgi"),
                             ("wsgi_told_app:application", "wsgi")]:
        guest.boot(entry, interface_file=str(told))
        assert told.read_text() == interface, entry


def test_an_asgi2_double_callable_is_refused_with_the_way_out(guest, monkeypatch):
    module = types.ModuleType("asgi2_app")

    class Application:
        def __init__(self, scope):
            self.scope = scope

        async def __call__(self, receive, send):
            pass

    module.Application = Application
    monkeypatch.setitem(sys.modules, "asgi2_app", module)
    with pytest.raises(TypeError, match="is an ASGI 2 application .*guarantee_single_callable"):
        guest.load_entry("asgi2_app:Application")
