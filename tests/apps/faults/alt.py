"""A second app in the same folder, made by a factory (as Flask's tutorial
does): reached with `entry = "alt:create_app()"`."""

import os

from terrarium import App

calls = 0


def create_app():
    global calls
    calls += 1
    # Read while building, as settings modules do: the mount's env is set.
    title_at_build = os.environ.get("TITLE")
    application = App()

    @application.get("/")
    def which(req, res):
        res.send_text(f"alt entry, made by create_app() {calls} time(s)")

    @application.get("/env/:name")
    def env(req, res):
        res.send_json({"value": os.environ.get(req.params["name"]), "title_at_build": title_at_build})

    return application
