from datetime import datetime, timezone

import pytest

from terrarium import Response


def test_send_helpers_set_body_and_type():
    assert Response().send_json({"a": "é"}).body == '{"a":"é"}'.encode()
    html = Response().send_html("<p>x</p>", status=201)
    assert (html.status, html.headers["content-type"]) == (201, "text/html; charset=utf-8")
    with pytest.raises(TypeError):
        Response().send_bytes("text")


def test_redirect():
    res = Response().redirect("/next", status=303)
    assert (res.status, res.headers["location"]) == (303, "/next")
    with pytest.raises(ValueError):
        Response().redirect("/x", status=200)


def test_cookies_with_every_attribute():
    res = Response()
    res.set_cookie("sid", "abc", max_age=60, expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                   path="/app", domain="example.com", secure=True, httponly=True, samesite="strict",
                   partitioned=True)
    res.delete_cookie("old", path="/app")
    first, second = res.headers.getall("set-cookie")
    assert first == ("sid=abc; Max-Age=60; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Domain=example.com; "
                     "Path=/app; Secure; HttpOnly; SameSite=Strict; Partitioned")
    assert second.startswith("old=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/app")
    for bad in [("bad name", "v"), ("n", "a;b"), ("n", "sp ace")]:
        with pytest.raises(ValueError):
            Response().set_cookie(*bad)
    with pytest.raises(ValueError):
        Response().set_cookie("n", "v", samesite="sometimes")


def test_render_uses_the_renderer():
    res = Response(renderer=lambda name, ctx: f"{name}:{ctx['who']}")
    assert res.render("page", who="ada").body == b"page:ada"
    with pytest.raises(RuntimeError):
        Response().render("page")


def test_a_blank_response_equals_a_new_one():
    renderer = object()
    blank, new = Response._blank(renderer), Response(renderer=renderer)
    for name in Response.__slots__:
        if name != "headers":
            assert getattr(blank, name) == getattr(new, name), name
    assert blank.headers.items() == new.headers.items() == []
    # The first Content-Type is appended, a later one replaces it.
    blank.send_text("x")
    blank.send_text("y", content_type="text/html")
    assert blank.headers.items() == [("Content-Type", "text/plain; charset=utf-8")]
    blank.headers["content-type"] = "text/csv"
    assert blank.send_json([]).headers.items() == [("content-type", "text/csv")]
