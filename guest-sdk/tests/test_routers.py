import pytest

from terrarium import App, CustomRouter, MVCRouter, RESTRouter, routerclass, routerify


class Greeter:
    def get_hello(self, req, res):
        """/hello/:name"""
        return f"hello {req.params['name']}"

    def post_hello(self, req, res):
        """/hello"""
        return res.send_text("created", status=201)

    def helper(self):
        return "not a route"


def test_routerify_takes_routes_from_methods_and_docstrings():
    app = App()
    app.use("/greet", routerify(Greeter()))
    assert app.test_request("GET", "/greet/hello/ada").body == b"hello ada"
    assert app.test_request("POST", "/greet/hello").status == 201
    assert app.test_request("GET", "/greet/helper").status == 404


def test_routerclass_instances_are_routerified_by_use():
    @routerclass
    class Pages:
        mount_point = "/pages"

        def get_about(self, req, res):
            """/about"""
            return "about"

    app = App()
    app.use(Pages())
    assert app.test_request("GET", "/pages/about").body == b"about"


class UsersController:
    def __init__(self):
        self.users = {"1": "ada"}

    def GET(self, req, res):
        return sorted(self.users.values())

    def GET_ONE(self, req, res, id):
        return {"id": id, "name": self.users[id]}

    def POST(self, req, res):
        self.users[str(len(self.users) + 1)] = req.text
        return res.send_text("created", status=201)

    def PUT(self, req, res, id):
        self.users[id] = req.text
        return "updated"

    def DELETE(self, req, res, id):
        del self.users[id]
        return res.send_text("", status=204)


def test_rest_router_maps_methods_by_convention():
    app = App()
    app.use(RESTRouter("/api", UsersController))
    assert app.test_request("GET", "/api/users").body == b'["ada"]'
    assert app.test_request("GET", "/api/users/1").body == b'{"id":"1","name":"ada"}'
    assert app.test_request("POST", "/api/users", body=b"grace").status == 201
    assert app.test_request("PUT", "/api/users/2", body=b"hopper").body == b"updated"
    assert app.test_request("GET", "/api/users").body == b'["ada","hopper"]'
    assert app.test_request("DELETE", "/api/users/1").status == 204
    patch = app.test_request("PATCH", "/api/users/2")
    assert patch.status == 405 and "PUT" in patch.headers["allow"]


class IndexController:
    def index(self, req, res):
        return "home"


class UserController:
    def index(self, req, res):
        return "user index"

    def message(self, req, res):
        return "user message"

    def _private(self, req, res):
        return "never"


def test_mvc_router_maps_controllers_and_actions():
    app = App()
    app.use(MVCRouter("/", IndexController, UserController))
    assert app.test_request("GET", "/").body == b"home"
    assert app.test_request("GET", "/user").body == b"user index"
    assert app.test_request("POST", "/user/message").body == b"user message"
    for missing in ["/user/_private", "/user/nothing", "/nobody", "/user/message/extra"]:
        assert app.test_request("GET", missing).status == 404, missing


def test_mvc_router_below_a_mount_point():
    app = App()
    app.use(MVCRouter("/mvc", UserController))
    assert app.test_request("GET", "/mvc/user/message").body == b"user message"


def test_custom_router_from_a_dict():
    app = App()
    app.use(CustomRouter("/c", {"/about": lambda req, res: "about", ("POST", "/contact"): lambda req, res: "sent"}))
    assert app.test_request("GET", "/c/about").body == b"about"
    assert app.test_request("POST", "/c/contact").body == b"sent"
    assert app.test_request("GET", "/c/contact").status == 405


def test_mvc_router_answers_the_root_with_its_own_route():
    class IndexController:
        def index(self, req, res):
            return {"params": req.params}

    app = App()
    app.use(MVCRouter("/", IndexController))
    # The "/" route answers "/" (no wildcard capture), not the "/*" one.
    assert app.test_request("GET", "/").body == b'{"params":{}}'
    assert app.test_request("GET", "/index").body == b'{"params":{"*":"index"}}'


def test_convention_routers_take_a_controller_as_their_first_argument():
    app = App()
    app.use("/api", RESTRouter(UsersController))
    app.use("/mvc", MVCRouter(UserController, IndexController))
    app.use("/c", CustomRouter({"/about": lambda req, res: "about"}))
    assert app.test_request("GET", "/api/users/1").body == b'{"id":"1","name":"ada"}'
    assert app.test_request("GET", "/mvc/user/message").body == b"user message"
    assert app.test_request("GET", "/mvc/").body == b"home"
    assert app.test_request("GET", "/c/about").body == b"about"
    assert RESTRouter(UsersController).mount_point == "/"


@pytest.mark.parametrize("make", [RESTRouter, MVCRouter, CustomRouter])
@pytest.mark.parametrize("bad", ["api", 42, ""])
def test_a_mount_point_that_is_not_a_path_is_refused_clearly(make, bad):
    with pytest.raises((TypeError, ValueError), match="mount point"):
        make(bad)
