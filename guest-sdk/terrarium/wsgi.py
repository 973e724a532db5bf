"""The server side of PEP 3333, so any WSGI app (Flask, Bottle, ...) runs unmodified.

`run_wsgi(application, raw)` turns one `RawRequest` into the WSGI environ,
calls the application with a checking `start_response`, collects the body
(from the returned iterable and from `write()`), always calls `close()` on
the iterable, and returns `(status, headers, body)`: the headers are the
app's checked `(name, value)` str pairs, ready for `_packing.pack_headers`.

`start_wsgi(..., streaming=True)` does the same, but a body that is not known to be complete after its first
part (an iterable that is not a list or tuple, without a `Content-Length`
it has reached) streams: it returns that first part and the rest
as a `streams.PartStream`, which goes on iterating as the host pulls and
calls `close()` at the end (or when the client goes away).

Environ strings follow the PEP: "native strings" holding bytes decoded as
latin-1 (`SCRIPT_NAME`, `PATH_INFO` are percent-decoded first), so an app
that re-encodes them with latin-1 gets the bytes the client sent. Request
header values are such strings too (`RawRequest.from_packed` decodes the
contract's packed head).
"""

import re
import sys
from urllib.parse import unquote_to_bytes

from ._packing import header_pairs, unpack_head
from .streams import PartStream, request_body

# A header name may not hold these; a value may hold neither a line break nor
# NUL, nor a character latin-1 cannot encode.
_BAD_NAME = re.compile(r"[ \t\r\n\0:]")
_BAD_VALUE = re.compile(r"[\r\n\0]|[^\x00-\xff]")
_CONTROL = re.compile(r"[\r\n\0]")

# Environ keys (`HTTP_ACCEPT_LANGUAGE`) of the headers most requests carry,
# computed once; `build_environ` computes the others per request.
_ENVIRON_KEYS = {
    name: "HTTP_" + name.upper().replace("-", "_")
    for name in ("host", "user-agent", "accept", "accept-language", "accept-encoding",
                 "cookie", "connection", "referer", "origin", "cache-control", "pragma",
                 "upgrade-insecure-requests", "authorization", "x-forwarded-for",
                 "x-forwarded-proto", "x-request-id", "if-none-match", "if-modified-since",
                 "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-user",
                 "dnt", "priority", "te")
}

_HOP_BY_HOP = frozenset(
    ("connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
     "te", "trailers", "transfer-encoding", "upgrade")
)


class WSGIError(Exception):
    """The application broke the WSGI protocol; the bridge answers 500."""


class RawRequest:
    """A request as the host hands it over (see the WIT contract)."""

    __slots__ = ("request_id", "method", "scheme", "authority", "path", "query",
                 "headers", "body", "remote_addr", "script_name", "path_info",
                 "http_version", "more_body", "read_part")
    # The contract's `session` field is handled by the bridge, not copied here.

    def __init__(self, method="GET", path="/", *, query="", headers=(), body=b"",
                 scheme="http", authority="localhost", remote_addr="127.0.0.1:0",
                 script_name="", path_info=None, request_id="", http_version="1.1",
                 more_body=False, read_part=None):
        self.method = method
        self.path = path
        self.query = query
        self.headers = [(name.lower(), value.decode("latin-1") if isinstance(value, bytes) else value)
                        for name, value in headers]
        self.body = body
        self.scheme = scheme
        self.authority = authority
        self.remote_addr = remote_addr
        self.script_name = script_name
        self.path_info = path if path_info is None else path_info
        self.http_version = http_version
        self.request_id = request_id
        self.more_body = more_body
        self.read_part = read_part

    @classmethod
    def from_packed(cls, head, body, more_body=False, read_part=None):
        """The request from the contract's packed head and its body (its
        first part when `more_body`: `read_part(max)` reads the rest)."""
        raw = cls.__new__(cls)
        fields, header_lines = unpack_head(head)  # in _packing.HEAD_FIELDS order
        (raw.request_id, raw.method, raw.scheme, raw.authority, raw.path, raw.query,
         raw.remote_addr, raw.script_name, raw.path_info, raw.http_version) = fields
        raw.headers = header_pairs(header_lines)
        raw.body = body
        raw.more_body = more_body
        raw.read_part = read_part
        return raw


def _native(encoded):
    """A percent-encoded path as a WSGI native string (bytes decoded as latin-1)."""
    if "%" not in encoded and encoded.isascii():
        return encoded
    return unquote_to_bytes(encoded).decode("latin-1")


def _server_name_and_port(authority, scheme):
    default_port = "443" if scheme == "https" else "80"
    if not authority:
        return "localhost", default_port
    if authority.startswith("["):  # [::1]:8080
        host, _, rest = authority.partition("]")
        port = rest[1:] if rest.startswith(":") else default_port
        return host + "]", port
    host, sep, port = authority.rpartition(":")
    if sep and port.isdigit():
        return host, port
    return authority, default_port


def build_environ(raw, errors=None, session=None):
    """The WSGI environ for one request."""
    server_name, server_port = _server_name_and_port(raw.authority, raw.scheme)
    remote_host, _, remote_port = raw.remote_addr.rpartition(":")
    uri = raw.path + "?" + raw.query if raw.query else raw.path
    environ = {
        "REQUEST_METHOD": raw.method,
        "SCRIPT_NAME": _native(raw.script_name),
        "PATH_INFO": _native(raw.path_info),
        "QUERY_STRING": raw.query,
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": "HTTP/" + raw.http_version,
        "REMOTE_ADDR": remote_host.strip("[]") or raw.remote_addr,
        "REMOTE_PORT": remote_port,
        "REQUEST_URI": uri,
        "RAW_URI": uri,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": raw.scheme,
        "wsgi.input": request_body(raw.body, raw.more_body, raw.read_part),
        "wsgi.errors": errors if errors is not None else sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
        "wsgi.file_wrapper": FileWrapper,
        "terrarium.request_id": raw.request_id,
    }
    if session is not None:
        environ["terrarium.session"] = session
    known_keys = _ENVIRON_KEYS
    for name, text in raw.headers:
        if name == "content-type":
            environ["CONTENT_TYPE"] = text
        elif name == "content-length":
            environ["CONTENT_LENGTH"] = text
        else:
            key = known_keys.get(name) or "HTTP_" + name.upper().replace("-", "_")
            if key in environ:
                separator = "; " if key == "HTTP_COOKIE" else ","
                environ[key] = environ[key] + separator + text
            else:
                environ[key] = text
    if "CONTENT_LENGTH" not in environ and raw.body and not raw.more_body:
        environ["CONTENT_LENGTH"] = str(len(raw.body))
    return environ


class FileWrapper:
    """`wsgi.file_wrapper`: iterates a file-like object in blocks."""

    def __init__(self, filelike, block_size=8192):
        self.filelike = filelike
        self.block_size = block_size
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        while True:
            block = self.filelike.read(self.block_size)
            if not block:
                return
            yield block


def _check_status(status):
    if not isinstance(status, str):
        raise WSGIError(f"status must be a str, not {type(status).__name__}")
    code, _, _reason = status.partition(" ")
    if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 599:
        raise WSGIError(f"status {status!r} must start with a three-digit code")
    return int(code)


def _check_headers(headers):
    if not isinstance(headers, list):
        raise WSGIError(f"headers must be a list, not {type(headers).__name__}")
    checked = []
    for item in headers:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise WSGIError(f"each header must be a (name, value) tuple, not {item!r}")
        name, value = item
        if not isinstance(name, str) or not isinstance(value, str):
            raise WSGIError(f"header {item!r} must be a pair of str")
        if not name or _BAD_NAME.search(name) or name.lower() in _HOP_BY_HOP:
            raise WSGIError(f"header name {name!r} is not allowed")
        if _BAD_VALUE.search(value):
            if _CONTROL.search(value):
                raise WSGIError(f"header {name!r} has a control character in its value")
            raise WSGIError(f"header {name!r} is not latin-1")
        checked.append((name, value))
    return checked


def run_wsgi(application, raw, errors=None, session=None):
    """Runs one request through a WSGI application; returns (status, headers, body)."""
    status, headers, body, _ = start_wsgi(application, raw, errors, session)
    return status, headers, body


def start_wsgi(application, raw, errors=None, session=None, streaming=False):
    """Runs one request through a WSGI application; returns (status,
    headers, body, rest): `rest` is None when `body` is whole, else the
    `PartStream` of the parts after it (see the module's doc)."""
    state = {"status": None, "headers": None, "sent": False}
    body = []

    def write(data):
        if state["status"] is None:
            raise WSGIError("write() called before start_response()")
        if not isinstance(data, (bytes, bytearray)):
            raise WSGIError(f"write() needs bytes, not {type(data).__name__}")
        if data:
            state["sent"] = True
            body.append(bytes(data))

    def start_response(status, headers, exc_info=None):
        if exc_info:
            try:
                if state["sent"]:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif state["status"] is not None:
            raise WSGIError("start_response() called twice without exc_info")
        state["status"] = _check_status(status)
        state["headers"] = _check_headers(headers)
        return write

    result = application(build_environ(raw, errors, session), start_response)
    close = getattr(result, "close", None)
    whole = not streaming or type(result) in (list, tuple)
    try:
        chunks = iter(result)
        for chunk in chunks:
            chunk = _checked_chunk(chunk, state)
            if not chunk:
                continue
            body.append(chunk)
            length = _declared_length(state["headers"])
            if not whole and (length is None or sum(map(len, body)) < length):
                rest = PartStream((_checked_chunk(chunk, state) for chunk in chunks), close)
                close = None
                return state["status"], state["headers"], b"".join(body), rest
    finally:
        if close is not None:
            close()
    if state["status"] is None:
        raise WSGIError("the application returned without calling start_response()")
    return state["status"], state["headers"], b"".join(body), None


def _checked_chunk(chunk, state):
    """A chunk the application yielded, as bytes; WSGIError when it is not
    bytes or comes before start_response()."""
    if not isinstance(chunk, (bytes, bytearray)):
        raise WSGIError(f"the application yielded {type(chunk).__name__}, not bytes")
    if chunk and state["status"] is None:
        raise WSGIError("the application sent a body before start_response()")
    state["sent"] = state["sent"] or bool(chunk)
    return bytes(chunk)


def _declared_length(headers):
    """The Content-Length the application set, if it set a valid one."""
    for name, value in headers:
        if name.lower() == "content-length":
            value = value.strip()
            return int(value) if value.isdigit() else None
    return None
