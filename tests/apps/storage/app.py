"""A test app that writes: its data folder, its /tmp, and SQLite in both."""

import errno
import os
import sqlite3
import tempfile
import time

from terrarium import App

app = App()

APP_DIR = os.path.dirname(__file__)


def data(*names):
    """A path in the data folder: /data, or (with `data_at = "instance"`)
    inside the app. Looked for per request: the build sees neither."""
    folder = "/data" if os.path.isdir("/data") else os.path.join(APP_DIR, "instance")
    return os.path.join(folder, *names)


@app.put("/files/:name")
def put_file(req, res):
    """Writes the body (repeated `times`) to the data folder; ENOSPC is a 507."""
    times = int(req.query.get("times", "1"))
    path = data(req.params["name"])
    try:
        with open(path, "ab" if req.query.get("append") else "wb") as file:
            for _ in range(times):
                file.write(req.body)
    except OSError as error:
        status = 507 if error.errno == errno.ENOSPC else 500
        res.send_text(f"{errno.errorcode.get(error.errno, error.errno)}: {error.strerror}", status=status)
        return
    res.send_text(str(os.path.getsize(path)))


@app.get("/files/:name")
def get_file(req, res):
    with open(data(req.params["name"]), "rb") as file:
        res.send_bytes(file.read())


@app.delete("/files/:name")
def delete_file(req, res):
    os.remove(data(req.params["name"]))
    res.send_text("deleted")


@app.get("/listing")
def listing(req, res):
    res.send_json(sorted(os.listdir(data())))


@app.post("/tmp/:name")
def tmp_write(req, res):
    """Leaves a file in /tmp (through tempfile, as apps do) and lists what is there."""
    path = os.path.join(tempfile.gettempdir(), req.params["name"])
    with open(path, "wb") as file:
        file.write(req.body)
    res.send_json({"tmpdir": tempfile.gettempdir(), "files": sorted(os.listdir("/tmp"))})


@app.get("/tmp")
def tmp_list(req, res):
    res.send_json(sorted(os.listdir("/tmp")))


@app.post("/tmp-spool")
def tmp_spool(req, res):
    """Spools the body to a temporary file past 1 KiB, as Werkzeug does with uploads."""
    with tempfile.SpooledTemporaryFile(max_size=1024) as spool:
        spool.write(req.body)
        spool.seek(0)
        res.send_text(str(len(spool.read())))


@app.post("/sqlite/init")
def sqlite_init(req, res):
    with sqlite3.connect(data("counter.db")) as db:
        db.execute("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER)")
        db.execute("INSERT OR IGNORE INTO counter VALUES (1, 0)")
    res.send_text("ok")


@app.post("/sqlite/increment")
def sqlite_increment(req, res):
    """One transaction: read the row, write it back one higher."""
    db = sqlite3.connect(data("counter.db"), isolation_level=None, timeout=30)
    try:
        db.execute("BEGIN IMMEDIATE")
        (n,) = db.execute("SELECT n FROM counter WHERE id = 1").fetchone()
        db.execute("UPDATE counter SET n = ? WHERE id = 1", (n + 1,))
        db.execute("COMMIT")
    finally:
        db.close()
    res.send_text(str(n + 1))


@app.get("/sqlite")
def sqlite_state(req, res):
    with sqlite3.connect(data("counter.db")) as db:
        (n,) = db.execute("SELECT n FROM counter WHERE id = 1").fetchone()
        (check,) = db.execute("PRAGMA integrity_check").fetchone()
    res.send_json({"n": n, "integrity": check})


@app.post("/sqlite/stuck")
def sqlite_stuck(req, res):
    """Takes the write lock and never lets go: the deadline ends the instance."""
    db = sqlite3.connect(data("counter.db"), isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE counter SET n = -1 WHERE id = 1")
    while True:
        time.sleep(0.01)


@app.post("/os")
def os_calls(req, res):
    """Runs os calls in order, as the app sees them: the body is a list of
    [name, arg, ...], an argument "@p" being p in the data folder and
    "flags:CREAT|WRONLY" os.open's flags; ["pwrite", path, offset] writes
    one byte there. Answers each call's result or error."""
    answers = []
    for name, *raw in req.json():
        args = [_os_arg(arg) for arg in raw]
        try:
            result = _pwrite(*args) if name == "pwrite" else getattr(os, name)(*args)
            answers.append("ok" if result is None or name == "open" else str(result))
            if name == "open":
                os.close(result)
        except OSError as error:
            code = errno.errorcode.get(error.errno, error.errno)
            answers.append(f"{type(error).__name__}: {code}: {error.strerror}")
    res.send_json(answers)


def _os_arg(arg):
    if isinstance(arg, str) and arg.startswith("@"):
        return data(arg[1:])
    if isinstance(arg, str) and arg.startswith("flags:"):
        flags = 0
        for flag in arg[len("flags:"):].split("|"):
            flags |= getattr(os, "O_" + flag)
        return flags
    return arg


def _pwrite(path, offset):
    fd = os.open(path, os.O_WRONLY)
    try:
        return os.pwrite(fd, b"x", offset)
    finally:
        os.close(fd)
