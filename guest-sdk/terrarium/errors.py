"""Exceptions a handler may raise to answer with an HTTP error."""

from .response import reason_phrase


class HTTPError(Exception):
    """Raise to answer with `status` (and a plain-text or JSON body).

        raise HTTPError(404, "no such user")
        raise HTTPError(400, {"error": "bad input"})   # sent as JSON
    """

    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.body = body if body is not None else f"{status} {reason_phrase(status)}\n"
        self.headers = dict(headers or {})
        super().__init__(f"{status}: {body!r}")

    def apply(self, res):
        """Writes this error into `res`."""
        for name, value in self.headers.items():
            res.headers[name] = value
        if isinstance(self.body, (dict, list)):
            return res.send_json(self.body, status=self.status)
        if isinstance(self.body, bytes):
            return res.send_bytes(self.body, status=self.status)
        return res.send_text(self.body, status=self.status)
