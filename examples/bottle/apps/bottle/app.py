"""A plain Bottle app: nothing in it knows about Terrarium."""

import bottle
from bottle import Bottle, redirect, request, response

application = Bottle()

notes = []


@application.get("/")
def index():
    items = "".join(f"<li>{bottle.html_escape(n)}</li>" for n in notes)
    return f"<h1>Notes</h1><ul>{items}</ul>"


@application.post("/notes")
def add_note():
    text = (request.forms.getunicode("text") or "").strip()
    if not text:
        response.status = 400
        return "a note needs text"
    notes.append(text)
    redirect("/", 303)


@application.get("/api/notes")
def list_notes():
    return {"notes": notes, "count": len(notes)}


@application.post("/api/notes")
def create_note():
    payload = request.json or {}
    if "text" not in payload:
        response.status = 400
        return {"error": "send {\"text\": \"...\"}"}
    notes.append(str(payload["text"]))
    response.status = 201
    return {"text": payload["text"], "count": len(notes)}


@application.post("/upload")
def upload():
    upload = request.files.get("file")
    if upload is None:
        response.status = 400
        return {"error": "no file"}
    data = upload.file.read()
    return {"name": upload.raw_filename, "size": len(data), "field": request.forms.get("title")}


@application.get("/visit")
def visit():
    count = int(request.get_cookie("visits", "0")) + 1
    response.set_cookie("visits", str(count), httponly=True, samesite="Lax")
    return {"visits": count}


@application.get("/hello/<name>")
def hello(name):
    return {"hello": name, "script_name": request.environ["SCRIPT_NAME"]}


@application.get("/boom")
def boom():
    raise RuntimeError("this stays in the log")
