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
