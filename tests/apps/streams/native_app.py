"""A native Terrarium app whose bodies stream both ways (tests/streaming.rs).

- `/chunks?count=5&gap=0.3`: as the WSGI app's, through `res.stream`;
- `/upload`: the request body, read with `req.stream()`, as "SIZE SHA256";
- `/hello`: a whole answer.
"""

import hashlib
import time

from terrarium import App

app = App()


@app.get("/chunks")
def chunks(req, res):
    count, gap = int(req.query.get("count", "5")), float(req.query.get("gap", "0.3"))

    def lines():
        for number in range(count):
            if number:
                time.sleep(gap)
            yield f"chunk {number} at {time.monotonic():.3f}\n"

    return res.stream(lines(), content_type="text/plain")


@app.post("/upload")
def upload(req, res):
    digest, size = hashlib.sha256(), 0
    for part in req.stream():
        digest.update(part)
        size += len(part)
    return res.send_text(f"{size} {digest.hexdigest()}")


@app.get("/hello")
def hello(req, res):
    return res.send_text("hello from native")
