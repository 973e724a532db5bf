"""The WSGI server side, checked with wsgiref.validate around every app."""

import sys
from wsgiref.validate import validator

import pytest

from terrarium.wsgi import RawRequest, WSGIError, build_environ, run_wsgi


def echo_environ(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    keys = ["REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
            "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "HTTP_X_THING", "HTTP_COOKIE", "REMOTE_ADDR"]
    lines = [f"{key}={environ.get(key)!r}" for key in keys]
    lines.append("body=" + environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode())
    return ["\n".join(lines).encode()]


def run(app, raw):
    return run_wsgi(validator(app), raw, errors=sys.stderr)


def test_environ_has_every_required_key_with_the_right_types():
    raw = RawRequest("POST", "/api/caf%C3%A9", script_name="/api", path_info="/caf%C3%A9", query="a=1",
                     headers=[("Content-Type", "text/plain"), ("Content-Length", "5"), ("X-Thing", "1"),
                              ("X-Thing", "2"), ("Cookie", "a=1"), ("Cookie", "b=2")],
                     body=b"hello", authority="example.com:8080", remote_addr="10.1.2.3:4444")
    status, headers, body = run(echo_environ, raw)
    text = body.decode()
    assert status == 200 and headers == [("Content-Type", "text/plain")]
    assert "SCRIPT_NAME='/api'" in text
    assert "PATH_INFO='/cafÃ©'" in text, "bytes decoded as latin-1, per PEP 3333"
    for expected in ["QUERY_STRING='a=1'", "CONTENT_TYPE='text/plain'", "CONTENT_LENGTH='5'",
                     "SERVER_NAME='example.com'", "SERVER_PORT='8080'", "SERVER_PROTOCOL='HTTP/1.1'",
                     "HTTP_X_THING='1,2'", "HTTP_COOKIE='a=1; b=2'", "REMOTE_ADDR='10.1.2.3'", "body=hello"]:
        assert expected in text, expected


@pytest.mark.parametrize("version", ["1.0", "1.1", "2"])
def test_server_protocol_is_the_version_the_client_spoke(version):
    assert build_environ(RawRequest(http_version=version))["SERVER_PROTOCOL"] == "HTTP/" + version


@pytest.mark.parametrize("authority, scheme, name, port", [
    ("example.com", "http", "example.com", "80"), ("example.com", "https", "example.com", "443"),
    ("[::1]:9000", "http", "[::1]", "9000"), ("", "http", "localhost", "80"),
])
def test_server_name_and_port(authority, scheme, name, port):
    environ = build_environ(RawRequest(authority=authority, scheme=scheme))
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"], environ["wsgi.url_scheme"]) == (name, port, scheme)


def test_write_callable_and_iterable_are_joined_and_close_is_called():
    closed = []

    class Body:
        def __iter__(self):
            yield b"b"
            yield b""
            yield b"c"

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        write = start_response("201 Created", [("Content-Type", "text/plain"), ("X-A", "1")])
        write(b"a")
        return Body()

    assert run(app, RawRequest()) == (201, [("Content-Type", "text/plain"), ("X-A", "1")], b"abc")
    assert closed == [True]


def test_close_is_called_even_when_iteration_fails():
    closed = []

    class Failing:
        def __iter__(self):
            raise RuntimeError("mid-body")

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [])
        return Failing()

    with pytest.raises(RuntimeError):
        run_wsgi(app, RawRequest())
    assert closed == [True]


def test_exc_info_replaces_headers_before_the_body_starts():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-First", "1")])
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain"), ("X-Second", "1")], sys.exc_info())
        return [b"error page"]

    assert run(app, RawRequest()) == (500, [("Content-Type", "text/plain"), ("X-Second", "1")], b"error page")


def test_exc_info_after_the_body_started_reraises():
    def app(environ, start_response):
        write = start_response("200 OK", [])
        write(b"partial")
        try:
            raise ValueError("too late")
        except ValueError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        return []

    with pytest.raises(ValueError, match="too late"):
        run_wsgi(app, RawRequest())


@pytest.mark.parametrize("app, message", [
    (lambda e, s: [b"x"], "before start_response"),
    (lambda e, s: [], "without calling start_response"),
    (lambda e, s: (s("200 OK", []), s("200 OK", []))[0] and [], "twice"),
    (lambda e, s: (s("OK", []), [])[1], "three-digit"),
    (lambda e, s: (s("200 OK", [("Connection", "close")]), [])[1], "not allowed"),
    (lambda e, s: (s("200 OK", [("X", "a\nb")]), [])[1], "control character"),
    (lambda e, s: (s("200 OK", [("X", "ü€")]), [])[1], "latin-1"),
    (lambda e, s: (s("200 OK", []), ["text"])[1], "not bytes"),
    (lambda e, s: (s("200 OK", ()), [])[1], "must be a list"),
])
def test_protocol_violations_are_reported(app, message):
    with pytest.raises(WSGIError, match=message):
        run_wsgi(app, RawRequest())


def test_file_wrapper():
    import io

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"x" * 20000), 4096)

    assert run(app, RawRequest())[2] == b"x" * 20000
