"""A Starlette app: routes with path parameters, a JSON API, a Jinja2
template, a streamed countdown and a Server-Sent Events clock. Plain Starlette, nothing of
Terrarium's: the same file runs under uvicorn.

The lifespan runs once, when Terrarium builds the app: what it loads is
in every instance from the start (here, the notes to begin with).
"""

import asyncio
import contextlib
import datetime
import json
import pathlib

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Route
from starlette.templating import Jinja2Templates

templates = Jinja2Templates(directory=pathlib.Path(__file__).parent / "templates")

PAGE = """<!doctype html>
<title>Starlette in Terrarium</title>
<h1>Starlette in Terrarium</h1>
<p>The time, from <code>/clock</code> (Server-Sent Events): <output id="now">...</output></p>
<script>
new EventSource("clock").onmessage = (event) => {
  document.getElementById("now").textContent = event.data;
};
</script>
"""


@contextlib.asynccontextmanager
async def lifespan(app):
    app.state.notes = {1: {"id": 1, "text": "loaded by the lifespan startup"}}
    yield


async def homepage(request: Request):
    return HTMLResponse(PAGE)


async def list_notes(request: Request):
    return JSONResponse(list(request.app.state.notes.values()))


async def notes_page(request: Request):
    notes = list(request.app.state.notes.values())
    return templates.TemplateResponse(request, "notes.html", {"notes": notes})


async def add_note(request: Request):
    payload = await request.json()
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        return JSONResponse({"error": 'send {"text": "..."}'}, status_code=422)
    notes = request.app.state.notes
    note = {"id": max(notes, default=0) + 1, "text": payload["text"]}
    notes[note["id"]] = note
    return JSONResponse(note, status_code=201, headers={"Location": f"/notes/{note['id']}"})


async def get_note(request: Request):
    note = request.app.state.notes.get(request.path_params["note_id"])
    if note is None:
        return JSONResponse({"error": "no such note"}, status_code=404)
    return JSONResponse(note)


async def greet(request: Request):
    name = request.path_params["name"]
    visits = int(request.cookies.get("visits", "0")) + 1
    response = JSONResponse({
        "hello": name,
        "visits": visits,
        "agent": request.headers.get("user-agent"),
        "root_path": request.scope["root_path"],
    })
    response.set_cookie("visits", str(visits), httponly=True, samesite="lax")
    return response


async def countdown(request: Request):
    """Lines made one by one: each reaches the client as it is made."""
    count = min(int(request.query_params.get("from", "5")), 100)
    gap = min(float(request.query_params.get("gap", "0.5")), 10.0)

    async def lines():
        for number in range(count, 0, -1):
            yield f"{number}\n"
            await asyncio.sleep(gap)
        yield "liftoff\n"

    return StreamingResponse(lines(), media_type="text/plain")


async def clock(request: Request):
    """The time every second, as Server-Sent Events, until the client leaves."""

    async def ticks():
        while True:
            now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            yield f"data: {json.dumps(now)}\n\n"
            await asyncio.sleep(1)

    return StreamingResponse(ticks(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


app = Starlette(
    routes=[
        Route("/", homepage),
        Route("/notes", list_notes, methods=["GET"]),
        Route("/notes", add_note, methods=["POST"]),
        Route("/notes/{note_id:int}", get_note),
        Route("/notes.html", notes_page),
        Route("/hello/{name}", greet),
        Route("/countdown", countdown),
        Route("/clock", clock),
    ],
    lifespan=lifespan,
)
