"""Hello, Terrarium: a tiny app served from a WebAssembly sandbox."""

from terrarium import App

app = App()


@app.get("/")
def index(req, res):
    res.send_text("Hello from Python in a WebAssembly sandbox!\n")


@app.get("/hello/:name")
def hello(req, res):
    res.send_json({"hello": req.params["name"], "query": req.query.to_dict()})


@app.post("/echo")
def echo(req, res):
    res.send_bytes(req.body, req.headers.get("content-type", "application/octet-stream"))
