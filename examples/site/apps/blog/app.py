"""A tiny blog: the part of the site we take down for maintenance."""

from terrarium import App

app = App()

POSTS = {
    "hello": ("Hello, sandbox", "Every request runs in its own WebAssembly instance of CPython."),
    "maintenance": ("Switching parts off", "Try: terrarium app disable blog"),
}


@app.get("/")
def index(req, res):
    items = "".join(f'<li><a href="{slug}">{title}</a></li>' for slug, (title, _) in POSTS.items())
    res.send_html(f"<h1>Blog</h1><ul>{items}</ul>")


@app.get("/:slug")
def post(req, res):
    if req.params["slug"] not in POSTS:
        return res.send_html("<h1>No such post</h1>", status=404)
    title, body = POSTS[req.params["slug"]]
    res.send_html(f"<h1>{title}</h1><p>{body}</p>")
