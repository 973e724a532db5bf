import pytest

from terrarium import App
from terrarium.templates import format_strings, jinja2


def test_format_string_renderer():
    app = App()
    app.renderer = format_strings({"hello": "<p>Hello {name}</p>"})
    app.get("/:name", lambda req, res: res.render("hello", name=req.params["name"]))
    assert app.test_request("GET", "/ada").body == b"<p>Hello ada</p>"


def test_jinja2_renderer():
    jinja = pytest.importorskip("jinja2")
    env = jinja.Environment(loader=jinja.DictLoader({"page.html": "<p>{{ who }}</p>"}), autoescape=True)
    app = App()
    app.renderer = jinja2(env)
    app.get("/", lambda req, res: res.render("page.html", who="<ada>"))
    assert app.test_request("GET", "/").body == b"<p>&lt;ada&gt;</p>"
