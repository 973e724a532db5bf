"""Routers built by convention, from Growler and Guava.

- `routerify(obj)` / `@routerclass` (Growler): a route for every method named
  `get_*`, `post_*`, `put_*`, `patch_*`, `delete_*`, `head_*`, `options_*` or
  `all_*`; the first line of its docstring is the path.
- `RESTRouter` (Guava): `GET /users` -> `UsersController.GET`,
  `GET /users/10` -> `GET_ONE(req, res, "10")`, `POST /users` -> `POST`,
  `PUT|PATCH|DELETE /users/10` -> `PUT|PATCH|DELETE(req, res, "10")`.
- `MVCRouter` (Guava): `/` -> `IndexController.index`, `/user` ->
  `UserController.index`, `/user/message` -> `UserController.message`.
- `CustomRouter` (Guava): routes from a dict, `{"/path": handler}` or
  `{("POST", "/path"): handler}`.

Each has a `mount_point`, so `app.use(router)` mounts it there. The mount
point may be left out: `RESTRouter(UsersController)` mounts at "/" (and
`app.use("/api", RESTRouter(UsersController))` puts it below /api).
"""

import re

from .errors import HTTPError
from .routing import Router

_PREFIXES = ("get", "post", "put", "patch", "delete", "head", "options", "all")


def routerclass(cls):
    """Marks a class whose instances `app.use()` routerifies automatically."""
    cls.__terrarium_routerify__ = routerify
    return cls


def routerify(obj, mount_point=None):
    """A `Router` with a route for each `get_*`/`post_*`/... method of `obj`."""
    router = Router(mount_point if mount_point is not None else getattr(obj, "mount_point", "/"))
    for attribute in sorted(dir(obj)):
        prefix, _, rest = attribute.partition("_")
        if prefix not in _PREFIXES or not rest:
            continue
        method = getattr(obj, attribute)
        if not callable(method):
            continue
        doc = (method.__doc__ or "").strip()
        path = doc.splitlines()[0].strip() if doc else ""
        if not path.startswith("/"):
            raise ValueError(
                f"{type(obj).__name__}.{attribute}: the first line of its docstring must be the route path"
            )
        router.route(path, ("*",) if prefix == "all" else (prefix.upper(),), method)
    return router


def _resource_name(controller, suffix="Controller"):
    """UsersController -> "users", BlogPostController -> "blog_post"."""
    name = controller.__name__ if isinstance(controller, type) else type(controller).__name__
    if name.endswith(suffix):
        name = name[: -len(suffix)]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _instance(controller):
    return controller() if isinstance(controller, type) else controller


def _mount_point_and(first, rest, owner, what):
    """Splits a convention router's arguments: a leading path is the mount
    point; anything else is the first of the `what` (controllers or routes)."""
    if isinstance(first, str):
        return first, rest
    items = (first, *rest)
    for item in items:
        if not _is_controller(item):
            raise TypeError(
                f"{owner}: {item!r} is neither a mount point (a path such as \"/api\") nor {what}"
            )
    return "/", items


def _is_controller(obj):
    """A class, or an instance of one the app defines (not 42 or "x")."""
    return isinstance(obj, type) or type(obj).__module__ != "builtins"


class RESTRouter(Router):
    """REST resources by convention.

        class UsersController:
            def GET(self, req, res): ...             # GET    /users
            def GET_ONE(self, req, res, id): ...     # GET    /users/10
            def POST(self, req, res): ...            # POST   /users
            def PUT(self, req, res, id): ...         # PUT    /users/10
            def DELETE(self, req, res, id): ...      # DELETE /users/10

        app.use(RESTRouter("/api", UsersController))
    """

    _COLLECTION = {"GET": "GET", "POST": "POST"}
    _MEMBER = {"GET": "GET_ONE", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE"}

    def __init__(self, mount_point="/", *controllers):
        mount_point, controllers = _mount_point_and(
            mount_point, controllers, "RESTRouter", "a controller class or instance"
        )
        super().__init__(mount_point)
        for controller in controllers:
            self.add(controller)

    def add(self, controller, name=None):
        """Adds a controller (class or instance) at `/<name>` (from its class name by default)."""
        instance = _instance(controller)
        path = "/" + (name or _resource_name(controller))
        found = False
        for http_method, attribute in self._COLLECTION.items():
            handler = getattr(instance, attribute, None)
            if handler is not None:
                self.route(path, (http_method,), handler)
                found = True
        for http_method, attribute in self._MEMBER.items():
            handler = getattr(instance, attribute, None)
            if handler is not None:
                self.route(path + "/:id", (http_method,), _with_id(handler))
                found = True
        if not found:
            raise TypeError(
                f"RESTRouter: {type(instance).__name__} has none of GET, GET_ONE, POST, PUT, "
                "PATCH or DELETE, so it serves nothing"
            )
        return instance


def _with_id(handler):
    def call(req, res):
        return handler(req, res, req.params["id"])

    call.__name__ = getattr(handler, "__name__", "handler")
    return call


class MVCRouter(Router):
    """Controllers and actions by convention.

        class IndexController:
            def index(self, req, res): ...           # /
        class UserController:
            def index(self, req, res): ...           # /user
            def message(self, req, res): ...         # /user/message

        app.use(MVCRouter("/", IndexController, UserController))

    Actions answer any method; names starting with "_" are never routes.
    """

    def __init__(self, mount_point="/", *controllers):
        mount_point, controllers = _mount_point_and(
            mount_point, controllers, "MVCRouter", "a controller class or instance"
        )
        super().__init__(mount_point)
        self._controllers = {}
        for controller in controllers:
            self._controllers[_resource_name(controller)] = _instance(controller)
        self.all("/", self._dispatch)
        self.all("/*", self._dispatch)

    def _dispatch(self, req, res):
        parts = req.segments
        if len(parts) > 2:
            raise HTTPError(404)
        controller_name = parts[0] if parts else "index"
        action_name = parts[1] if len(parts) > 1 else "index"
        controller = self._controllers.get(controller_name)
        if controller is None or action_name.startswith("_"):
            raise HTTPError(404)
        action = getattr(controller, action_name, None)
        if not callable(action):
            raise HTTPError(404)
        return action(req, res)


class CustomRouter(Router):
    """Routes from a dict: `{"/about": about, ("POST", "/contact"): contact}`.

    A plain path key answers GET (and HEAD); a `(method, path)` key answers
    that method ("*" for any).
    """

    def __init__(self, mount_point="/", routes=None):
        if isinstance(mount_point, dict) and routes is None:
            mount_point, routes = "/", mount_point
        super().__init__(mount_point)
        for key, handler in (routes or {}).items():
            if isinstance(key, tuple):
                method, path = key
                self.route(path, (method,), handler)
            else:
                self.route(key, ("GET",), handler)
