"""The response a handler writes."""

import json as _json
from datetime import datetime, timezone
from email.utils import format_datetime

from .datastructures import Headers

_REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 206: "Partial Content",
    301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
    307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 410: "Gone", 413: "Content Too Large", 415: "Unsupported Media Type",
    422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
}

_SAMESITE = {"strict": "Strict", "lax": "Lax", "none": "None"}


def reason_phrase(status):
    """The standard reason phrase for a status code ("" when unknown)."""
    return _REASONS.get(status, "")


class Response:
    """What the app answers: a status, headers and a body.

    A handler receives an empty 200 response and fills it in, either field by
    field (`res.status = 201`, `res.headers["X-Thing"] = "1"`) or with one of
    the `send_*` helpers, which set the body and its Content-Type.
    """

    __slots__ = ("status", "headers", "body", "sent", "result", "_renderer", "streamed")

    def __init__(self, status=200, headers=(), body=b"", renderer=None):
        self.status = status
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.body = body
        self.sent = False
        self.result = None
        self._renderer = renderer
        self.streamed = None

    @classmethod
    def _blank(cls, renderer=None):
        """`Response(renderer=renderer)` without the argument checks: the
        empty 200 every request starts from."""
        self = cls.__new__(cls)
        headers = Headers.__new__(Headers)
        headers._items = []
        self.status = 200
        self.headers = headers
        self.body = b""
        self.sent = False
        self.result = None
        self._renderer = renderer
        self.streamed = None
        return self

    def send_bytes(self, data, content_type="application/octet-stream", status=None):
        """Sends raw bytes."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"send_bytes needs bytes, not {type(data).__name__}")
        return self._send(bytes(data), content_type, status)

    def send_text(self, text, status=None, content_type="text/plain; charset=utf-8"):
        """Sends text encoded as UTF-8."""
        return self._send(str(text).encode("utf-8"), content_type, status)

    def send_html(self, html, status=None):
        """Sends an HTML document."""
        return self.send_text(html, status, "text/html; charset=utf-8")

    def send_json(self, value, status=None):
        """Sends `value` serialized as compact JSON."""
        body = _json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return self._send(body, "application/json", status)

    def stream(self, parts, content_type="application/octet-stream", status=None):
        """Sends the body as `parts` (an iterable of bytes or str, e.g. a
        generator) produce it: each part reaches the client as soon as it
        is made, chunked unless a Content-Length header is set. Iteration
        stops (and the generator is closed) when the client goes away.
        Session changes made after the handler returns are not saved."""
        self._send(b"", content_type, status)
        self.streamed = parts
        return self

    def redirect(self, location, status=302):
        """Redirects to `location` (302 by default; 301, 303, 307, 308 also make sense)."""
        if status not in (300, 301, 302, 303, 307, 308):
            raise ValueError(f"{status} is not a redirect status")
        self.headers["Location"] = location
        return self.send_text(f"Redirecting to {location}\n", status=status)

    def render(self, template, status=None, **context):
        """Renders `template` with the app's renderer (see `App.renderer`) and sends it as HTML."""
        if self._renderer is None:
            raise RuntimeError("no template renderer: set app.renderer (e.g. terrarium.templates.jinja2(env))")
        return self.send_html(self._renderer(template, context), status)

    def set_cookie(
        self,
        name,
        value="",
        *,
        max_age=None,
        expires=None,
        path="/",
        domain=None,
        secure=False,
        httponly=False,
        samesite="Lax",
        partitioned=False,
    ):
        """Adds a Set-Cookie header. `expires` may be a datetime or a timestamp."""
        if not name or any(c in name for c in ' \t\r\n;,="()<>@:\\/[]?{}'):
            raise ValueError(f"invalid cookie name {name!r}")
        value = str(value)
        if any(c in value for c in '\r\n;,"\\') or any(ord(c) < 0x21 or ord(c) > 0x7E for c in value):
            raise ValueError(f"cookie {name!r}: quote or encode the value (it has ';', ',', spaces or non-ASCII)")
        parts = [f"{name}={value}"]
        if max_age is not None:
            parts.append(f"Max-Age={int(max_age)}")
        if expires is not None:
            if not isinstance(expires, datetime):
                expires = datetime.fromtimestamp(float(expires), tz=timezone.utc)
            parts.append("Expires=" + format_datetime(expires.astimezone(timezone.utc), usegmt=True))
        if domain:
            parts.append(f"Domain={domain}")
        if path:
            parts.append(f"Path={path}")
        if secure:
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        if samesite:
            normal = _SAMESITE.get(str(samesite).lower())
            if normal is None:
                raise ValueError(f"samesite must be Strict, Lax or None, not {samesite!r}")
            parts.append(f"SameSite={normal}")
        if partitioned:
            parts.append("Partitioned")
        self.headers.add("Set-Cookie", "; ".join(parts))
        return self

    def delete_cookie(self, name, *, path="/", domain=None, secure=False, httponly=False, samesite="Lax"):
        """Tells the client to drop a cookie (same path and domain as when it was set)."""
        return self.set_cookie(
            name, "", max_age=0, expires=0, path=path, domain=domain,
            secure=secure, httponly=httponly, samesite=samesite,
        )

    def _send(self, body, content_type, status):
        if status is not None:
            self.status = status
        if content_type:
            headers = self.headers
            if not headers._items:
                headers._items.append(("Content-Type", content_type))
            elif "content-type" not in headers:
                headers["Content-Type"] = content_type
        self.body = body
        self.streamed = None
        self.sent = True
        return self

    def __repr__(self):
        return f"<Response {self.status} {len(self.body)} bytes>"
