"""__NAME__: a Terrarium app, with Terrarium's own routing."""

from terrarium import App

app = App()


@app.get("/")
def index(req, res):
    res.send_text("Hello from __NAME__!\n")


@app.get("/hello/:who")
def hello(req, res):
    res.send_json({"hello": req.params["who"]})
