"""Path patterns and the route table.

A pattern is a path whose segments may be `:name` (one segment, captured
into `req.params[name]`) and whose last segment may be `*` (the rest of the
path, captured as `req.params["*"]`). Everything else matches literally.
"""

from urllib.parse import unquote


class Pattern:
    """A compiled path pattern such as `/users/:id/files/*`."""

    __slots__ = ("source", "_segments", "_wildcard")

    def __init__(self, source):
        if not source.startswith("/"):
            raise ValueError(f"route path must start with '/': {source!r}")
        self.source = source
        segments = _split(source)
        self._wildcard = bool(segments) and segments[-1] == "*"
        if self._wildcard:
            segments = segments[:-1]
        for segment in segments:
            if segment == "*":
                raise ValueError(f"'*' may only end a route path: {source!r}")
            if segment.startswith(":") and len(segment) == 1:
                raise ValueError(f"parameter without a name in {source!r}")
        self._segments = segments

    def match(self, path):
        """Returns the captured parameters, or None when `path` does not match."""
        parts = _split(path)
        fixed = len(self._segments)
        if len(parts) < fixed or (len(parts) > fixed and not self._wildcard):
            return None
        params = {}
        for expected, actual in zip(self._segments, parts):
            if expected.startswith(":"):
                params[expected[1:]] = unquote(actual)
            elif expected != actual:
                return None
        if self._wildcard:
            params["*"] = unquote("/".join(parts[fixed:]))
        return params


def _split(path):
    return [segment for segment in path.split("/") if segment]


class Route:
    """One (methods, pattern, handler) entry of a route table."""

    __slots__ = ("methods", "pattern", "handler")

    def __init__(self, methods, path, handler):
        self.methods = frozenset(m.upper() for m in methods)
        self.pattern = Pattern(path)
        self.handler = handler


class RouteTable:
    """Routes in registration order; the first match wins."""

    def __init__(self):
        self._routes = []

    def add(self, methods, path, handler):
        self._routes.append(Route(methods, path, handler))

    def resolve(self, method, path):
        """Finds the handler for a request.

        Returns `(handler, params, allowed)`: the handler and its captured
        params when a route matched, otherwise `(None, None, allowed)` where
        `allowed` lists the methods that would have matched the path (empty
        for a plain 404, non-empty for a 405).
        """
        allowed = set()
        for route in self._routes:
            params = route.pattern.match(path)
            if params is None:
                continue
            if "*" in route.methods or method in route.methods:
                return route.handler, params, allowed
            if method == "HEAD" and "GET" in route.methods:
                return route.handler, params, allowed
            allowed |= route.methods
        if "GET" in allowed:
            allowed.add("HEAD")
        return None, None, sorted(allowed)
