import pytest

from terrarium.routing import Pattern, Router, strip_prefix


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
    "path, prefix, rest",
    [("/api/users", ["api"], "/users"), ("/api", ["api"], "/"), ("/api/", ["api"], "/"),
     ("/apix", ["api"], None), ("/anything", [], "/anything"), ("/api/x/", ["api"], "/x/")],
)
def test_strip_prefix(path, prefix, rest):
    assert strip_prefix(path, prefix) == rest


class FakeRequest:
    def __init__(self, method, path):
        self.method, self.path, self.script_name, self.params = method, path, "", {}


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
