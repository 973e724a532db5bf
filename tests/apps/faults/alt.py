"""A second app object in the same folder, reached with `entry = "alt:application"`."""

from terrarium import App

application = App()


@application.get("/")
def which(req, res):
    res.send_text("alt entry")
