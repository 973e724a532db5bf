import pytest

from terrarium import App, HTTPError, Router


def make_app():
    app = App()

    @app.get("/")
    def index(req, res):
        res.send_text("home")

    @app.get("/users/:id")
    def user(req, res):
        return {"id": req.params["id"]}

    app.post("/echo", lambda req, res: res.send_bytes(req.body, "text/plain"))
    app.all("/any", lambda req, res: req.method)
    app.head("/only-head", lambda req, res: res.send_text("x"))
    app.options("/opts", lambda req, res: res.send_text("custom options"))
    return app


def test_routes_params_and_return_values():
    app = make_app()
    assert app.test_request("GET", "/").body == b"home"
    reply = app.test_request("GET", "/users/7")
    assert (reply.status, reply.body, reply.headers["content-type"]) == (200, b'{"id":"7"}', "application/json")
    assert app.test_request("POST", "/echo", body=b"abc").body == b"abc"
    assert app.test_request("PATCH", "/any").body == b"PATCH"


def test_404_405_head_and_options():
    app = make_app()
    assert app.test_request("GET", "/missing").status == 404
    not_allowed = app.test_request("DELETE", "/users/1")
    assert not_allowed.status == 405 and not_allowed.headers["allow"] == "GET, HEAD"
    head = app.test_request("HEAD", "/users/1")
    assert (head.status, head.body, head.headers["content-length"]) == (200, b"", "10")
    options = app.test_request("OPTIONS", "/users/1")
    assert options.status == 204 and options.headers["allow"] == "GET, HEAD, OPTIONS"
    assert app.test_request("OPTIONS", "/opts").body == b"custom options"


def test_middleware_runs_in_order_and_may_end_the_request():
    app = App()
    order = []

    def first(req, res, next):
        order.append("first")
        next()
        res.headers["X-After"] = "yes"  # acts on the response on its way out

    def guard(req, res, next):
        order.append("guard")
        if req.headers.get("x-token") != "ok":
            return res.send_text("no", status=401)
        next()

    app.use(first)
    app.use(guard)
    app.get("/", lambda req, res: order.append("handler") or "hi")
    refused = app.test_request("GET", "/")
    assert (refused.status, order) == (401, ["first", "guard"])
    assert refused.headers["x-after"] == "yes"
    order.clear()
    allowed = app.test_request("GET", "/", headers=[("X-Token", "ok")])
    assert (allowed.body, order) == (b"hi", ["first", "guard", "handler"])


def test_middleware_below_a_prefix_and_sub_routers():
    app = App()
    api = Router()
    api.get("/users", lambda req, res: {"path": req.path, "script_name": req.script_name})
    app.use("/api", lambda req, res, next: (res.headers.add("X-Api", "1"), next()))
    app.use("/api", api)
    app.get("/api-docs", lambda req, res: "docs")
    reply = app.test_request("GET", "/api/users", script_name="/site")
    assert reply.body == b'{"path":"/users","script_name":"/site/api"}'
    assert reply.headers["x-api"] == "1"
    assert app.test_request("GET", "/api-docs").body == b"docs"
    assert app.test_request("GET", "/api/nothing").status == 404


def test_errors_http_error_and_error_hooks():
    app = App()

    @app.get("/teapot")
    def teapot(req, res):
        raise HTTPError(418, {"error": "teapot"})

    @app.get("/crash")
    def crash(req, res):
        raise KeyError("boom")

    assert app.test_request("GET", "/teapot").status == 418
    assert app.test_request("GET", "/teapot").body == b'{"error":"teapot"}'
    with pytest.raises(KeyError):
        app.test_request("GET", "/crash")

    @app.on_error
    def friendly(req, res, exc):
        res.send_json({"error": type(exc).__name__}, status=500)

    assert app.test_request("GET", "/crash").body == b'{"error":"KeyError"}'


def test_a_handler_returning_nonsense_is_an_error():
    app = App()
    app.get("/", lambda req, res: 42)
    with pytest.raises(TypeError):
        app.test_request("GET", "/")


def test_an_error_handler_that_raises_is_not_skipped():
    app = App()
    app.get("/crash", lambda req, res: 1 / 0)
    later = []

    @app.on_error
    def broken(req, res, exc):
        raise RuntimeError("the error page itself broke")

    @app.on_error
    def never(req, res, exc):
        later.append(exc)
        return "the next handler must not hide the first one's failure"

    with pytest.raises(RuntimeError, match="error page itself broke") as raised:
        app.test_request("GET", "/crash")
    assert later == []
    assert isinstance(raised.value.__context__, ZeroDivisionError), "the original error is chained"
    assert any("on_error handler broken" in note for note in raised.value.__notes__)
