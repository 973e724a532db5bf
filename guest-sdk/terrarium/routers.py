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

Each has a `mount_point`, so `app.use(router)` mounts it there.
"""

import re

from .errors import HTTPError
from .routing import Router, split_path

_PREFIXES = ("get", "post", "put", "patch", "delete", "head", "options", "all")


def routerclass(cls):
    """Marks a class whose instances `app.use()` routerifies automatically."""
    cls.__terrarium_routerclass__ = True
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

    def __init__(self, mount_point="/", *controllers):
        super().__init__(mount_point)
        for controller in controllers:
            self.add(controller)

    def add(self, controller, name=None):
        """Adds a controller (class or instance) at `/<name>` (from its class name by default)."""
        instance = _instance(controller)
        path = "/" + (name or _resource_name(controller))
        collection = {"GET": "GET", "POST": "POST"}
        member = {"GET": "GET_ONE", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE"}
        for http_method, attribute in collection.items():
            handler = getattr(instance, attribute, None)
            if handler is not None:
                self.route(path, (http_method,), handler)
        for http_method, attribute in member.items():
            handler = getattr(instance, attribute, None)
            if handler is not None:
                self.route(path + "/:id", (http_method,), _with_id(handler))
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
        super().__init__(mount_point)
        self._controllers = {}
        for controller in controllers:
            self._controllers[_resource_name(controller)] = _instance(controller)
        self.all("/*", self._dispatch)
        self.all("/", self._dispatch)

    def _dispatch(self, req, res):
        parts = split_path(req.path)
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
        super().__init__(mount_point)
        for key, handler in (routes or {}).items():
            if isinstance(key, tuple):
                method, path = key
                self.route(path, (method,), handler)
            else:
                self.route(key, ("GET",), handler)
