"""Terrarium: the Python side of apps served from WebAssembly sandboxes.

Module map:
    app       -- `App`: a Router that turns one request into one response; error hooks.
    routing   -- path patterns (`/users/:id`, trailing `*`) and `Router`: routes,
                 middleware and sub-routers walked in order (Express/Growler style);
                 paths matched as segments, each percent-decoded once.
    routers   -- routers by convention: `routerify`/`routerclass` (Growler),
                 `RESTRouter`, `MVCRouter`, `CustomRouter` (Guava).
    request   -- `Request`: method, path, segments, params, query, headers, cookies, body,
                 json(), form(), session.
    response  -- `Response`: status, headers, send_*, redirect, cookies, render.
    forms     -- urlencoded and multipart form parsing, uploaded files.
    errors    -- `HTTPError`, raised to answer with a status.
    templates -- renderers for `App.renderer` (Jinja2, or plain format strings).
    datastructures -- case-insensitive headers and multi-valued query mappings.
    wsgi      -- the PEP 3333 server side: any WSGI app runs unmodified.
    session   -- `Session`: the host-kept session dict (regenerate, destroy, clear).
    log       -- logging into the host's log, tagged with app and request id.
    _guest    -- the bridge between the WIT contract and the app (not for apps to use).
    _packing  -- the contract's packed request head and response headers (bridge only).
    _build_hints -- one line on what to do about a build that failed (bridge only).

The shims that give the sandbox's interpreter what it lacks, installed by
the bridge before the app is imported (not for apps to use):
    _phase    -- whether the app is being built: the shims do not call the host then.
    _import_folders -- folders on `sys.path` listed once, at build time, not in every instance.
    _oserrors -- the shims' own OSErrors, shown with their errno's name (WASI's numbers mislead).
    _hashlib  -- `hashlib.pbkdf2_hmac` and `scrypt`, computed by the host.
    _sqlite   -- `sqlite3.connect` on the VFS whose locks instances share.
    _storage  -- `open()` and `os` calls that say which rule of a writable folder refused them.
    _posix    -- `os.getuid` and its kin: the sandbox's one user.
    _asyncio  -- the selector event loop without its self-pipe.
    _net      -- name lookups by the host, and its refusals explained, behind `socket`.
    _tls      -- `_ssl` for CPython's own `ssl`: TLS done by the host.

A minimal app:

    from terrarium import App
    app = App()

    @app.get("/hello/:name")
    def hello(req, res):
        res.send_text(f"Hello, {req.params['name']}!")
"""

from .app import App
from .errors import HTTPError
from .request import Request
from .response import Response
from .routers import CustomRouter, MVCRouter, RESTRouter, routerclass, routerify
from .routing import Router

__all__ = [
    "App",
    "CustomRouter",
    "HTTPError",
    "MVCRouter",
    "RESTRouter",
    "Request",
    "Response",
    "Router",
    "routerclass",
    "routerify",
]
