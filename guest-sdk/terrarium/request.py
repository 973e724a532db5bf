"""The request a handler reads."""

import json as _json
from urllib.parse import unquote

from .datastructures import Headers, QueryParams
from .forms import parse_form
from .routing import decode_segments


class Request:
    """One HTTP request, as routed to this app.

    Attributes:
        method       -- "GET", "POST", ...
        path         -- the path inside the app's mount, decoded ("/users/10")
        segments     -- the same path as a list of segments, each decoded once
                        (`/files/a%2Fb` -> ["files", "a/b"]); routes match these
        raw_path     -- the path inside the mount, still percent-encoded
        script_name  -- the mount point, decoded ("" for the root mount)
        full_path    -- script_name + path, percent-encoded, as the host made it canonical
        query_string -- the raw query string without '?'
        query        -- the parsed query (`QueryParams`, multi-valued)
        headers      -- case-insensitive `Headers`
        body         -- the raw body (bytes), read whole on first use; `stream()`
                        reads it in parts as it arrives instead
        params       -- parameters captured by the route pattern
        remote_addr  -- the client's "ip:port"
        scheme, host -- "http"/"https" and the Host header
        http_version -- the protocol's version: "1.0", "1.1" or "2"
        request_id   -- the host's id for this request (also in its log)
    """

    __slots__ = (
        "method",
        "path",
        "segments",
        "script_name",
        "full_path",
        "raw_path",
        "query_string",
        "_headers",
        "_header_lines",
        "_body",
        "_body_file",
        "params",
        "remote_addr",
        "scheme",
        "host",
        "http_version",
        "request_id",
        "session",
        "_query",
        "_cookies",
        "_form",
    )

    def __init__(
        self,
        method="GET",
        path="/",
        *,
        script_name="",
        query_string="",
        headers=(),
        body=b"",
        remote_addr="",
        scheme="http",
        host="",
        request_id="",
        full_path=None,
        http_version="1.1",
    ):
        self.method = method if method.isupper() else method.upper()
        self.raw_path = path
        self.path = (unquote(path) if "%" in path else path) or "/"
        self.segments = decode_segments(path)
        self.script_name = unquote(script_name) if "%" in script_name else script_name
        self.full_path = full_path if full_path is not None else script_name + path
        self.query_string = query_string
        # Headers as given (pairs or `Headers`); turned into `Headers` on first use.
        self._headers = headers
        self._header_lines = None
        self._body = body
        self._body_file = None
        self.params = {}
        self.remote_addr = remote_addr
        self.scheme = scheme
        self.host = host
        self.http_version = http_version
        self.request_id = request_id
        self.session = None
        self._query = None
        self._cookies = None
        self._form = None

    @classmethod
    def _from_host(cls, fields, header_lines, body, body_file=None):
        """A request from the host's packed head (see `_packing.unpack_head`):
        the ten `fields`, the header lines (split into `Headers` only if the
        app reads them) and the body (or, when it streams, `body_file` to
        read it from). The host has already checked the method
        and split SCRIPT_NAME and PATH_INFO; this is `__init__` without its
        keyword handling, for the one call every request makes."""
        (request_id, method, scheme, host, full_path, query, remote_addr, script_name, path,
         http_version) = fields
        path = path or "/"
        self = cls.__new__(cls)
        self.method = method if method.isupper() else method.upper()
        self.raw_path = path
        if "%" in path:
            self.path = unquote(path)
            self.segments = [unquote(segment) for segment in path.split("/") if segment]
        else:
            self.path = path
            self.segments = list(filter(None, path.split("/")))
        self.script_name = unquote(script_name) if "%" in script_name else script_name
        self.full_path = full_path
        self.query_string = query
        self._headers = None
        self._header_lines = header_lines
        self._body = body
        self._body_file = body_file
        self.params = {}
        self.remote_addr = remote_addr
        self.scheme = scheme
        self.host = host
        self.http_version = http_version
        self.request_id = request_id
        self.session = None
        self._query = None
        self._cookies = None
        self._form = None
        return self

    @property
    def body(self):
        """The whole body (bytes); one that streams is read to its end first."""
        if self._body_file is not None:
            self._body = self._body_file.read()
            self._body_file = None
        return self._body

    @body.setter
    def body(self, value):
        self._body = value
        self._body_file = None

    def stream(self, size=64 << 10):
        """The body in parts of at most `size` bytes, as they arrive (one
        part when it came whole); what is read this way is not kept."""
        source, self._body_file = self._body_file, None
        if source is None:
            body, self._body = self._body, b""
            if body:
                yield body
            return
        while part := source.read1(size):
            yield part

    @property
    def headers(self):
        """The request's headers (case-insensitive `Headers`)."""
        headers = self._headers
        if not isinstance(headers, Headers):
            if self._header_lines is not None:
                headers = Headers._from_wire(self._header_lines)
                self._header_lines = None
            else:
                headers = Headers(headers)
            self._headers = headers
        return headers

    @headers.setter
    def headers(self, value):
        self._headers = value
        self._header_lines = None

    @property
    def query(self):
        if self._query is None:
            self._query = QueryParams(self.query_string)
        return self._query

    @property
    def content_type(self):
        """The media type of the body without parameters, lower case ("" when absent)."""
        value = self.headers.get("content-type", "")
        return value.split(";", 1)[0].strip().lower()

    @property
    def text(self):
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    def json(self):
        """The body parsed as JSON; raises ValueError when it is not valid JSON."""
        return _json.loads(self.body)

    @property
    def cookies(self):
        """The request's cookies as a dict (the first value of a repeated name wins)."""
        if self._cookies is None:
            cookies = {}
            for header in self.headers.getall("cookie"):
                for pair in header.split(";"):
                    name, sep, value = pair.strip().partition("=")
                    if sep and name and name not in cookies:
                        value = value.strip()
                        if len(value) >= 2 and value[0] == value[-1] == '"':
                            value = value[1:-1]
                        cookies[name] = value
            self._cookies = cookies
        return self._cookies

    def form(self):
        """The body as a form (`FormData`): urlencoded or multipart, with `.files`."""
        if self._form is None:
            self._form = parse_form(self.headers.get("content-type", ""), self.body)
        return self._form

    @property
    def files(self):
        """Files uploaded in a multipart form, by field name."""
        return self.form().files

    def __repr__(self):
        return f"<Request {self.method} {self.full_path}>"
