"""One line on what to do, for the mistakes that fail a build in the
sandbox but not under a usual server: the app is imported (and
snapshotted) once, with its folder read-only, no data folder and no
network, so code that listens, opens its database or writes files at
import fails there.

`hint_for(error, app_folder)` reads the exception (and its causes) and
gives that line, or None when the error is the app's own.
"""

import errno
import os

from . import _net

# Where a server's listening code lives: a frame in one of these means the
# app started a server while it was imported.
_SERVER_FILES = ("socketserver.py", "wsgiref/simple_server.py", "http/server.py", "werkzeug/serving.py")
_SERVER_FUNCTIONS = frozenset({"run", "run_simple", "make_server", "serve", "serve_forever", "create_server"})
_READ_ONLY_ERRNOS = frozenset({errno.EPERM, errno.EACCES, errno.EROFS})

LISTENING = (
    "hint: the app starts a server while it is imported (an unguarded `run(...)`); "
    'put it under `if __name__ == "__main__":` — Terrarium serves the app itself'
)
DATABASE = (
    "hint: the app opens its database (or its data folder) while it is imported, when the data "
    "folder is not there: open it when a request needs it, and run setup (creating tables, "
    "migrations) with `terrarium exec SITE MOUNT -- ...`"
)
APP_FOLDER = (
    "hint: the app's folder is read-only in the sandbox: write into its data folder "
    "(`data = ...` in terrarium.toml) when a request needs it, or into /tmp"
)


def hint_for(error, app_folder):
    """The line that says what to do about `error`, which failed the build
    of the app in `app_folder`; None when there is none to give."""
    chain = list(_chain(error))
    if any(_while_building(e) for e in chain) and any(_listens(e) for e in chain):
        return LISTENING
    if any(_opens_a_database(e) for e in chain):
        return DATABASE
    if any(_writes_into(e, app_folder) for e in chain):
        return APP_FOLDER
    return None


def _chain(error):
    """`error` and the exceptions it was raised from or while handling."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _while_building(error):
    return isinstance(error, OSError) and error.strerror == _net._WHILE_BUILDING


def _listens(error):
    """Whether `error` was raised inside a server's code."""
    traceback = error.__traceback__
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if code.co_filename.endswith(_SERVER_FILES) or code.co_name in _SERVER_FUNCTIONS:
            return True
        traceback = traceback.tb_next
    return False


def _opens_a_database(error):
    """SQLite's "unable to open database file", as sqlite3 or SQLAlchemy
    (whose error names it in its text) raise it, or a file of the data
    folder (at /data) that is not there."""
    if type(error).__name__ == "OperationalError":
        return "unable to open database file" in str(error)
    return isinstance(error, FileNotFoundError) and _in(error.filename, "/data")


def _writes_into(error, app_folder):
    """Whether `error` refused a write into the app's folder."""
    return isinstance(error, OSError) and error.errno in _READ_ONLY_ERRNOS and _in(error.filename, app_folder)


def _in(filename, folder):
    """Whether `filename` (relative to the working folder) is in `folder`."""
    if not isinstance(filename, (str, bytes, os.PathLike)):
        return False
    path = os.path.abspath(os.fsdecode(filename))
    return os.path.commonpath([path, folder]) == folder
