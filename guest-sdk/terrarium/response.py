"""The response a handler writes."""

import json as _json

from .datastructures import Headers

_REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
    302: "Found", 303: "See Other", 304: "Not Modified", 307: "Temporary Redirect",
    308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type",
    422: "Unprocessable Content", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
}


def reason_phrase(status):
    """The standard reason phrase for a status code ("" when unknown)."""
    return _REASONS.get(status, "")


class Response:
    """What the app answers: a status, headers and a body.

    A handler receives an empty 200 response and fills it in, either field by
    field (`res.status = 201`, `res.headers["X-Thing"] = "1"`) or with one of
    the `send_*` helpers, which set the body and its Content-Type.
    """

    __slots__ = ("status", "headers", "body", "sent")

    def __init__(self, status=200, headers=(), body=b""):
        self.status = status
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.body = body
        self.sent = False

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

    def _send(self, body, content_type, status):
        if status is not None:
            self.status = status
        if content_type and "content-type" not in self.headers:
            self.headers["Content-Type"] = content_type
        self.body = body
        self.sent = True
        return self

    def __repr__(self):
        return f"<Response {self.status} {len(self.body)} bytes>"
