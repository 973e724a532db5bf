"""Flask's hello world: the same file runs in Terrarium and under the peers."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello from Flask!\n"
