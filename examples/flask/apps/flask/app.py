"""A plain Flask app: nothing in it knows about Terrarium."""

import csv
import hashlib
import io

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for

app = Flask(__name__)

notes = []


@app.get("/")
def index():
    return render_template("index.html", notes=notes, visits=request.cookies.get("visits", "0"))


@app.post("/notes")
def add_note():
    text = request.form.get("text", "").strip()
    if not text:
        return "a note needs text", 400
    notes.append(text)
    return redirect(url_for("index"), code=303)


@app.get("/api/notes")
def list_notes():
    return jsonify(notes=notes, count=len(notes))


@app.post("/api/notes")
def create_note():
    payload = request.get_json(silent=True) or {}
    if "text" not in payload:
        return jsonify(error="send {\"text\": \"...\"}"), 400
    notes.append(str(payload["text"]))
    return jsonify(text=payload["text"], count=len(notes)), 201


@app.post("/upload")
def upload():
    file = request.files.get("file")
    if file is None:
        return jsonify(error="no file"), 400
    # Read in pieces: a large upload is never held whole (Werkzeug spools
    # it to /tmp as it arrives; the mount grants `tmp`).
    digest, size = hashlib.sha256(), 0
    while piece := file.stream.read(1 << 20):
        digest.update(piece)
        size += len(piece)
    return jsonify(name=file.filename, size=size, sha256=digest.hexdigest(), field=request.form.get("title"))


@app.get("/export.csv")
def export_csv():
    """A CSV export, sent as it is written: `rows` rows of numbers and notes."""
    count = min(int(request.args.get("rows", "1000")), 10_000_000)

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["number", "square", "note"])
        for number in range(count):
            writer.writerow([number, number * number, notes[number % len(notes)] if notes else ""])
            if buffer.tell() > 64 << 10:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(generate(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=export.csv"})


@app.get("/visit")
def visit():
    count = int(request.cookies.get("visits", "0")) + 1
    response = jsonify(visits=count)
    response.set_cookie("visits", str(count), httponly=True, samesite="Lax")
    return response


@app.get("/session-visits")
def session_visits():
    # With `sessions = true` on the mount, the host's session is in the environ.
    session = request.environ.get("terrarium.session")
    if session is None:
        return jsonify(sessions=False)
    session["visits"] = session.get("visits", 0) + 1
    return jsonify(visits=session["visits"])


@app.get("/boom")
def boom():
    raise RuntimeError("this stays in the log")
