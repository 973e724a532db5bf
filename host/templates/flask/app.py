"""__NAME__: a Terrarium app, with Flask (installed from requirements.txt at build)."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello from __NAME__!\n", {"Content-Type": "text/plain; charset=utf-8"}
