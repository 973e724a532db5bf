"""The `App`: routes registered with decorators, dispatched one request at a time."""

from .request import Request
from .response import Response, reason_phrase
from .routing import RouteTable

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class App:
    """A Terrarium web app.

        app = App()

        @app.get("/users/:id")
        def show(req, res):
            res.send_json({"id": req.params["id"]})

    A handler takes `(req, res)` and fills in `res`. For convenience it may
    instead return a value: a `str` is sent as text, `bytes` as raw bytes, a
    `dict` or `list` as JSON, and a `Response` replaces `res`.
    """

    def __init__(self):
        self.routes = RouteTable()

    def route(self, path, methods=("GET",), handler=None):
        """Registers `handler` for `methods` on `path`; usable as a decorator."""
        if handler is not None:
            self.routes.add(methods, path, handler)
            return handler

        def decorator(func):
            self.routes.add(methods, path, func)
            return func

        return decorator

    def get(self, path, handler=None):
        return self.route(path, ("GET",), handler)

    def post(self, path, handler=None):
        return self.route(path, ("POST",), handler)

    def put(self, path, handler=None):
        return self.route(path, ("PUT",), handler)

    def patch(self, path, handler=None):
        return self.route(path, ("PATCH",), handler)

    def delete(self, path, handler=None):
        return self.route(path, ("DELETE",), handler)

    def handle(self, req):
        """Dispatches one request and returns its `Response`.

        Exceptions raised by handlers propagate: the caller (the sandbox
        bridge, or a test) decides how to answer them.
        """
        res = Response()
        handler, params, allowed = self.routes.resolve(req.method, req.path)
        if handler is None:
            if allowed:
                res.headers["Allow"] = ", ".join(allowed)
                return _plain_error(res, 405)
            return _plain_error(res, 404)
        req.params = params
        result = handler(req, res)
        res = _apply_return_value(res, result)
        if req.method == "HEAD":
            res.headers["Content-Length"] = str(len(res.body))
            res.body = b""
        return res

    def test_request(self, method="GET", path="/", **kwargs):
        """Runs one request in-process (no sandbox, no sockets); for tests."""
        return self.handle(Request(method, path, **kwargs))


def _plain_error(res, status):
    return res.send_text(f"{status} {reason_phrase(status)}\n", status=status)


def _apply_return_value(res, result):
    if result is None or result is res:
        return res
    if isinstance(result, Response):
        return result
    if isinstance(result, str):
        return res.send_text(result) if not res.sent else res
    if isinstance(result, (bytes, bytearray)):
        return res.send_bytes(bytes(result)) if not res.sent else res
    if isinstance(result, (dict, list)):
        return res.send_json(result) if not res.sent else res
    raise TypeError(
        f"handler returned {type(result).__name__}; return None, str, bytes, dict, list or Response"
    )

