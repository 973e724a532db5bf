"""Terrarium: the Python side of apps served from WebAssembly sandboxes.

Module map:
    app       -- `App`: route registration and dispatch of one request.
    routing   -- path patterns (`/users/:id`, trailing `*`) and the route table.
    request   -- `Request`: what the handler reads (method, path, params, query, headers, body).
    response  -- `Response`: what the handler writes (status, headers, body helpers).
    datastructures -- case-insensitive headers and multi-valued query mappings.
    log       -- logging into the host's log, tagged with app and request id.
    _guest    -- the bridge between the WIT contract and the app (not for apps to use).

A minimal app:

    from terrarium import App
    app = App()

    @app.get("/hello/:name")
    def hello(req, res):
        res.send_text(f"Hello, {req.params['name']}!")
"""

from .app import App
from .request import Request
from .response import Response

__all__ = ["App", "Request", "Response"]
