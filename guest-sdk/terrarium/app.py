"""The `App`: a `Router` that turns one request into one response."""

from .errors import HTTPError
from .request import Request
from .response import Response
from .routing import Router


class App(Router):
    """A Terrarium web app.

        app = App()

        @app.get("/users/:id")
        def show(req, res):
            res.send_json({"id": req.params["id"]})

    A handler takes `(req, res)` and fills in `res`. For convenience it may
    instead return a value: a `str` is sent as text, `bytes` as raw bytes, a
    `dict` or `list` as JSON, and a `Response` replaces `res`.

    Errors: `raise HTTPError(status, body)` answers with that status. Any
    other exception goes to the handlers added with `app.on_error`, in
    order: the first that returns (or raises `HTTPError`) answers; one that
    re-raises the exception it was given passes it to the next. An exception
    no handler answers becomes a 500 whose traceback goes to the log, and so
    does an error handler's own failure (with both tracebacks).

    Templates: set `app.renderer = lambda name, context: str` (for example
    `terrarium.templates.jinja2(env)`) and call `res.render(name, **context)`.
    """

    def __init__(self):
        super().__init__()
        self.renderer = None
        self._error_handlers = []

    def on_error(self, handler):
        """Adds `handler(req, res, exc)`; usable as a decorator."""
        self._error_handlers.append(handler)
        return handler

    def handle(self, req):
        """Dispatches one request and returns its `Response`."""
        res = Response._blank(self.renderer)
        try:
            allowed = set()
            if not self._walk_from(0, req, res, allowed):
                self._unanswered(req, res, allowed)
            result = res.result
            if result is not None and result is not res:
                res = _apply_return_value(res, result)
        except HTTPError as error:
            res = Response(renderer=self.renderer)
            error.apply(res)
        except Exception as exc:
            res = self._handle_error(req, exc)
        if req.method == "HEAD":
            if res.streamed is not None:
                close = getattr(res.streamed, "close", None)
                res.streamed = None
                if close is not None:
                    close()
            else:
                res.headers["Content-Length"] = str(len(res.body))
            res.body = b""
        return res

    def _unanswered(self, req, res, allowed):
        if req.method == "OPTIONS" and allowed:
            res.headers["Allow"] = _allow_header(allowed | {"OPTIONS"})
            res.status = 204
            return
        if allowed:
            raise HTTPError(405, headers={"Allow": _allow_header(allowed)})
        raise HTTPError(404)

    def _handle_error(self, req, exc):
        for handler in self._error_handlers:
            res = Response(renderer=self.renderer)
            try:
                result = handler(req, res, exc)
            except HTTPError as error:
                error.apply(res)
                return res
            except Exception as failure:
                if failure is exc:
                    continue  # re-raised as it came: "not mine", try the next one
                # A broken error page is a bug to see, never to skip: it
                # propagates (chained to `exc`) to the bridge, which logs
                # both tracebacks and answers a plain 500.
                failure.add_note(
                    f"raised by the on_error handler {getattr(handler, '__name__', handler)!s} "
                    f"while handling {type(exc).__name__}: {exc}"
                )
                raise
            return _apply_return_value(res, result)
        raise exc

    def test_request(self, method="GET", path="/", **kwargs):
        """Runs one request in-process (no sandbox, no sockets); for tests."""
        return self.handle(Request(method, path, **kwargs))


def _allow_header(methods):
    methods = set(methods)
    if "GET" in methods:
        methods.add("HEAD")
    if "*" in methods:
        return "*"
    return ", ".join(sorted(methods))


def _apply_return_value(res, result):
    if result is None or result is res:
        return res
    if isinstance(result, Response):
        return result
    if res.sent:
        return res
    if isinstance(result, str):
        return res.send_text(result)
    if isinstance(result, (bytes, bytearray)):
        return res.send_bytes(bytes(result))
    if isinstance(result, (dict, list)):
        return res.send_json(result)
    raise TypeError(
        f"handler returned {type(result).__name__}; return None, str, bytes, dict, list or Response"
    )


