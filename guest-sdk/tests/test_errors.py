from terrarium import HTTPError, Response


def test_http_error_bodies():
    assert HTTPError(404).apply(Response()).body == b"404 Not Found\n"
    json_error = HTTPError(400, {"error": "x"}, headers={"X-Why": "y"}).apply(Response())
    assert (json_error.status, json_error.body, json_error.headers["x-why"]) == (400, b'{"error":"x"}', "y")
