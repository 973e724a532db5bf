"""Path patterns, and the `Router`: routes, middleware and sub-routers in order.

A pattern is a path whose segments may be `:name` (one segment, captured
into `req.params[name]`) and whose last segment may be `*` (the rest of the
path, captured as `req.params["*"]`). Everything else matches literally.

Patterns match a request's decoded segments (`req.segments`): the path
split at its slashes, then each segment percent-decoded once, as the host
does. So `/u/a%2Fb` has the two segments "u" and "a/b", and `/u/a%2541`
gives `a%41` to `/u/:id`.

A router is a stack walked in registration order, like Express and Growler:

    app.use(log_requests)             # middleware: (req, res, next)
    app.get("/", index)               # a route: (req, res)
    app.use("/api", api_router)       # a sub-router sees paths below /api

Middleware calls `next()` to pass the request on (and may act on the
response after `next()` returns); not calling it ends the request. The
first route that matches the path and method answers. When nothing answers,
the app sends 404, or 405 with `Allow` when the path matched other methods.
"""

from urllib.parse import unquote

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class Pattern:
    """A compiled path pattern such as `/users/:id/files/*`."""

    __slots__ = ("source", "_segments", "_wildcard", "_literal")

    def __init__(self, source):
        if not source.startswith("/"):
            raise ValueError(f"route path must start with '/': {source!r}")
        self.source = source
        segments = split_path(source)
        self._wildcard = bool(segments) and segments[-1] == "*"
        if self._wildcard:
            segments = segments[:-1]
        for segment in segments:
            if segment == "*":
                raise ValueError(f"'*' may only end a route path: {source!r}")
            if segment.startswith(":") and len(segment) == 1:
                raise ValueError(f"parameter without a name in {source!r}")
        self._segments = segments
        self._literal = not self._wildcard and not any(s.startswith(":") for s in segments)

    def match(self, path):
        """Returns the captured parameters, or None when the percent-encoded
        `path` does not match."""
        return self.match_segments(decode_segments(path))

    def match_segments(self, parts):
        """`match` for a path already split into its decoded, non-empty segments."""
        if self._literal:
            return {} if parts == self._segments else None
        fixed = len(self._segments)
        if len(parts) < fixed or (len(parts) > fixed and not self._wildcard):
            return None
        params = {}
        for expected, actual in zip(self._segments, parts):
            if expected.startswith(":"):
                params[expected[1:]] = actual
            elif expected != actual:
                return None
        if self._wildcard:
            params["*"] = "/".join(parts[fixed:])
        return params


def split_path(path):
    """The non-empty segments of a path, taken as written (a route's pattern)."""
    return list(filter(None, path.split("/")))


def decode_segments(path):
    """The non-empty segments of a percent-encoded path, each decoded once."""
    if "%" not in path:
        return list(filter(None, path.split("/")))
    return [unquote(segment) for segment in path.split("/") if segment]


class _Route:
    __slots__ = ("methods", "pattern", "handler", "literal", "accepts")

    def __init__(self, methods, path, handler):
        self.methods = frozenset(m.upper() for m in methods)
        self.pattern = Pattern(path)
        self.handler = handler
        # Precomputed for dispatch: the segments of a path without
        # parameters (compared as a whole), and the methods answered (None:
        # any), HEAD included wherever GET is.
        self.literal = self.pattern._segments if self.pattern._literal else None
        if "*" in self.methods:
            self.accepts = None
        elif "GET" in self.methods:
            self.accepts = self.methods | {"HEAD"}
        else:
            self.accepts = self.methods


class _Use:
    __slots__ = ("prefix", "target")

    def __init__(self, prefix, target):
        self.prefix = split_path(prefix)
        self.target = target


class Router:
    """Routes, middleware and sub-routers, tried in the order they were added."""

    #: Where this router belongs when added with `app.use(router)` and no prefix.
    mount_point = "/"

    def __init__(self, mount_point=None):
        if mount_point is not None:
            self.mount_point = check_mount_point(mount_point, type(self).__name__)
        self._stack = []

    # Registration -------------------------------------------------------

    def route(self, path, methods=("GET",), handler=None):
        """Registers `handler(req, res)` for `methods` on `path`; usable as a decorator."""
        if isinstance(methods, str):
            methods = (methods,)

        def register(func):
            self._stack.append(_Route(methods, path, func))
            return func

        return register(handler) if handler is not None else register

    def get(self, path, handler=None):
        return self.route(path, ("GET",), handler)

    def head(self, path, handler=None):
        return self.route(path, ("HEAD",), handler)

    def post(self, path, handler=None):
        return self.route(path, ("POST",), handler)

    def put(self, path, handler=None):
        return self.route(path, ("PUT",), handler)

    def patch(self, path, handler=None):
        return self.route(path, ("PATCH",), handler)

    def delete(self, path, handler=None):
        return self.route(path, ("DELETE",), handler)

    def options(self, path, handler=None):
        return self.route(path, ("OPTIONS",), handler)

    def all(self, path, handler=None):
        """Any method."""
        return self.route(path, ("*",), handler)

    def use(self, prefix_or_target, target=None):
        """Adds middleware `(req, res, next)` or a sub-router, optionally below a prefix.

            app.use(middleware)
            app.use("/api", api_router)
            app.use(rest_router)                 # at rest_router.mount_point
            app.use(routerify(controller))       # routes from methods (see routers.py)
        """
        if target is None:
            target = prefix_or_target
            prefix = getattr(target, "mount_point", "/") if _is_router_like(target) else "/"
        else:
            prefix = prefix_or_target
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ValueError(f"a prefix must be a path starting with '/', not {prefix!r}")
        routerify = getattr(type(target), "__terrarium_routerify__", None)
        if not isinstance(target, Router) and routerify is not None:
            target = routerify(target)
        if not isinstance(target, Router) and not callable(target):
            raise TypeError(f"use() needs middleware (req, res, next) or a Router, not {type(target).__name__}")
        self._stack.append(_Use(prefix, target))
        return target

    # Dispatch -----------------------------------------------------------

    def walk(self, req, res, allowed):
        """Runs the stack; returns True once something answered.

        `allowed` collects the methods of routes whose path matched, for 405.
        """
        return self._walk_from(0, req, res, allowed)

    def _walk_from(self, index, req, res, allowed):
        # The hot loop of every request: checks are inlined, not calls.
        parts = req.segments
        stack = self._stack
        for position in range(index, len(stack)):
            layer = stack[position]
            if type(layer) is _Route:
                literal = layer.literal
                if literal is not None:
                    if parts != literal:
                        continue
                    params = {}
                else:
                    params = layer.pattern.match_segments(parts)
                    if params is None:
                        continue
                accepts = layer.accepts
                if accepts is not None and req.method not in accepts:
                    allowed.update(layer.methods)
                    continue
                req.params = params
                res.result = layer.handler(req, res)
                return True
            prefix = layer.prefix
            if prefix and parts[: len(prefix)] != prefix:
                continue
            if isinstance(layer.target, Router):
                if self._enter(layer, req, res, allowed):
                    return True
                continue
            return self._run_middleware(position, layer.target, req, res, allowed)
        return False

    def _enter(self, layer, req, res, allowed):
        """Walks a sub-router with the request's path below its prefix."""
        saved = (req.path, req.segments, req.script_name)
        depth = len(layer.prefix)
        if depth:
            rest = req.segments[depth:]
            path = "/" + "/".join(rest)
            if rest and req.path.endswith("/"):
                path += "/"
            req.path, req.segments = path, rest
            req.script_name += "/" + "/".join(layer.prefix)
        try:
            return layer.target.walk(req, res, allowed)
        finally:
            req.path, req.segments, req.script_name = saved

    def _run_middleware(self, position, middleware, req, res, allowed):
        outcome = {"called": False, "handled": False}

        def next_():
            outcome["called"] = True
            outcome["handled"] = self._walk_from(position + 1, req, res, allowed)
            return outcome["handled"]

        middleware(req, res, next_)
        return outcome["handled"] if outcome["called"] else True


def check_mount_point(mount_point, owner):
    """`mount_point` when it is a path ("/" or "/api"); a clear error otherwise."""
    if not isinstance(mount_point, str):
        raise TypeError(
            f"{owner}: a mount point is a path such as \"/api\", not {type(mount_point).__name__} {mount_point!r}"
        )
    if not mount_point.startswith("/"):
        raise ValueError(f"{owner}: a mount point is a path starting with '/', such as \"/api\"; not {mount_point!r}")
    return mount_point


def _is_router_like(target):
    return isinstance(target, Router) or hasattr(type(target), "__terrarium_routerify__")
