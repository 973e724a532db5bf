"""The sandboxed half of benches/outbound-https.sh."""

from fetch import measure
from terrarium import App

app = App()


@app.get("/measure")
def run(req, res):
    res.send_json(measure(req.query["url"], int(req.query["count"])))
