"""The front of the site: a page that links to the other mounts."""

from terrarium import App

app = App()

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Terrarium site</title>
<link rel="stylesheet" href="/static/css/site.css"></head>
<body><h1>A site of sandboxed apps</h1>
<ul>
  <li><a href="/api/users">/api</a>: a JSON API, its own sandbox</li>
  <li><a href="/blog/">/blog</a>: a blog that can be switched off</li>
  <li><a href="/static/">/static</a>: files served by the host</li>
</ul></body></html>
"""


@app.get("/")
def index(req, res):
    res.send_html(PAGE)
