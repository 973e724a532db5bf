import pytest

from terrarium.routing import Pattern, Router, decode_segments


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        ("/", "/", {}),
        ("/users", "/users", {}),
        ("/users", "/users/", {}),
        ("/users", "/users/1", None),
        ("/users/:id", "/users/10", {"id": "10"}),
        ("/users/:id", "/users/caf%C3%A9", {"id": "café"}),
        ("/users/:id/posts/:post", "/users/1/posts/2", {"id": "1", "post": "2"}),
        ("/files/*", "/files/a/b/c.txt", {"*": "a/b/c.txt"}),
        ("/files/*", "/files", {"*": ""}),
        ("/users/:id", "/posts/10", None),
    ],
)
def test_patterns(pattern, path, expected):
    assert Pattern(pattern).match(path) == expected


@pytest.mark.parametrize("bad", ["users", "/a/*/b", "/a/:"])
def test_bad_patterns_are_refused(bad):
    with pytest.raises(ValueError):
        Pattern(bad)


@pytest.mark.parametrize(
    "path, segments",
    [("/", []), ("/api/users", ["api", "users"]), ("//api//x/", ["api", "x"]),
     ("/a%2Fb/c", ["a/b", "c"]), ("/a%2541", ["a%41"]), ("/caf%C3%A9", ["café"])],
)
def test_decode_segments(path, segments):
    assert decode_segments(path) == segments


class FakeRequest:
    def __init__(self, method, path):
        self.method, self.path, self.script_name, self.params = method, path, "", {}
        self.segments = decode_segments(path)


class FakeResponse:
    result = None


def test_router_walks_in_order_and_collects_allowed_methods():
    router = Router()
    seen = []
    router.use(lambda req, res, next: (seen.append("mw"), next()))
    router.post("/items", lambda req, res: "post")
    router.get("/items", lambda req, res: "get")
    res, allowed = FakeResponse(), set()
    assert router.walk(FakeRequest("GET", "/items"), res, allowed)
    assert res.result == "get" and seen == ["mw"] and allowed == {"POST"}
    allowed = set()
    assert not router.walk(FakeRequest("DELETE", "/items"), FakeResponse(), allowed)
    assert allowed == {"GET", "POST"}


@pytest.mark.parametrize(
    "path, expected",
    [
        # Each segment is decoded once: an escaped '%' stays a '%'.
        ("/u/a%2541", {"id": "a%41"}),
        # An encoded slash stays inside its segment, as the host keeps it.
        ("/u/a%2Fb", {"id": "a/b"}),
        ("/u/caf%C3%A9", {"id": "café"}),
        ("/u/%3A", {"id": ":"}),
    ],
)
def test_a_path_is_decoded_once_per_segment(path, expected):
    from terrarium import App

    app = App()
    app.get("/u/:id", lambda req, res: req.params)
    reply = app.test_request("GET", path)
    assert reply.status == 200, path
    import json

    assert json.loads(reply.body) == expected


def test_literal_routes_and_prefixes_match_decoded_segments_once():
    from terrarium import App

    app = App()
    api = Router()
    api.get("/x%41", lambda req, res: "escaped percent")
    api.get("/files/*", lambda req, res: req.params["*"])
    app.use("/caf\u00e9", api)
    assert app.test_request("GET", "/caf%C3%A9/x%2541").body == b"escaped percent"
    assert app.test_request("GET", "/caf%C3%A9/xA").status == 404
    assert app.test_request("GET", "/caf%C3%A9/files/a%2Fb/c").body == b"a/b/c"
    # A slash encoded in the prefix's place is one segment, not two.
    assert app.test_request("GET", "/caf%C3%A9%2Ffiles/x").status == 404
