import pytest

from terrarium import Request


def test_basic_fields_and_decoding():
    req = Request("post", "/caf%C3%A9/x", script_name="/api", query_string="a=1&a=2",
                  headers=[("Content-Type", "application/json; charset=utf-8")], body=b'{"k": 1}',
                  remote_addr="10.0.0.1:5000")
    assert req.method == "POST" and req.path == "/café/x" and req.script_name == "/api"
    assert req.full_path == "/api/caf%C3%A9/x"
    assert req.query.getall("a") == ["1", "2"]
    assert req.content_type == "application/json"
    assert req.json() == {"k": 1} and req.text == '{"k": 1}'
    with pytest.raises(ValueError):
        Request("POST", "/", body=b"not json").json()


def test_cookies():
    req = Request(headers=[("Cookie", 'a=1; b="quoted"; a=2'), ("cookie", "c=3")])
    assert req.cookies == {"a": "1", "b": "quoted", "c": "3"}
    assert Request().cookies == {}


def test_form_urlencoded():
    req = Request("POST", "/", headers=[("content-type", "application/x-www-form-urlencoded")],
                  body=b"name=caf%C3%A9+au+lait&tag=a&tag=b&empty=")
    form = req.form()
    assert form["name"] == "café au lait" and form.getall("tag") == ["a", "b"] and form["empty"] == ""
    assert req.files == {}


@pytest.mark.parametrize("fields", [
    ["r1", "GET", "http", "example.com", "/", "", "127.0.0.1:1", "", "/", "1.1"],
    ["r2", "post", "https", "h:8", "/api/caf%C3%A9/x", "a=1", "[::1]:9", "/api", "/caf%C3%A9/x", "2"],
    ["r3", "DELETE", "http", "h", "/sh%20op", "", "1.2.3.4:5", "/sh%20op", "", "1.0"],
])
def test_a_request_from_the_host_equals_one_made_with_keywords(fields):
    (request_id, method, scheme, host, full_path, query, remote_addr, script_name, path,
     http_version) = fields
    lines = ["Content-Type\0text/plain", "X-Twice\0a", "x-twice\0b"]
    fast = Request._from_host(fields, lines, b"body")
    slow = Request(method, path or "/", script_name=script_name, query_string=query,
                   headers=[line.split("\0") for line in lines], body=b"body", remote_addr=remote_addr,
                   scheme=scheme, host=host, request_id=request_id, full_path=full_path,
                   http_version=http_version)
    for name in Request.__slots__:
        if name not in ("_headers", "_header_lines"):
            assert getattr(fast, name) == getattr(slow, name), name
    assert fast.headers.items() == slow.headers.items()
    assert fast.headers.getall("x-twice") == ["a", "b"]
    fast.headers = [("Replaced", "1")]
    assert fast.headers.items() == [("Replaced", "1")]
