"""SQLite databases that several instances can share: `sqlite3.connect`
opens file databases with SQLite's `unix-dotfile` VFS.

The sandbox's SQLite has no file locks (WASI has none), so its default VFS
lets two instances write one database at once and corrupt it. The dotfile
VFS locks a database `x.db` by creating the folder `x.db.lock`, which is
atomic on the host: every instance, and `terrarium exec`, then takes turns.
`install` wraps `sqlite3.connect` so that apps (and Django, Flask-SQLAlchemy,
...) get it without asking: a path becomes a `file:` URI naming the VFS; a
URI that names its own VFS, and in-memory databases, are left alone.
"""

import os
import sqlite3
import sqlite3.dbapi2
from urllib.parse import parse_qsl, quote

LOCKING_VFS = "unix-dotfile"

# `uri` is the 8th parameter of `sqlite3.connect` (index 7 with `database`).
_URI_POSITION = 6


def install():
    """Makes `sqlite3.connect` (and `sqlite3.dbapi2.connect`) lock."""
    original = sqlite3.dbapi2.connect
    if getattr(original, "_terrarium_locking", False):
        return

    def connect(database, *args, **kwargs):
        positional_uri = len(args) > _URI_POSITION
        uri = args[_URI_POSITION] if positional_uri else kwargs.get("uri", False)
        database, uri = with_locking_vfs(database, uri)
        if positional_uri:
            args = args[:_URI_POSITION] + (uri,) + args[_URI_POSITION + 1 :]
        else:
            kwargs["uri"] = uri
        return original(database, *args, **kwargs)

    connect.__doc__ = original.__doc__
    connect._terrarium_locking = True
    sqlite3.connect = sqlite3.dbapi2.connect = connect


def with_locking_vfs(database, uri):
    """`(database, uri)` for `sqlite3.connect`, naming the locking VFS when
    `database` is a file."""
    if isinstance(database, bytes):
        database = os.fsdecode(database)
    elif not isinstance(database, str):
        database = os.fspath(database)
        if isinstance(database, bytes):
            database = os.fsdecode(database)
    if database in ("", ":memory:"):
        return database, uri
    if uri and database.startswith("file:"):
        base, hash_sign, fragment = database.partition("#")
        path, _, query = base.partition("?")
        params = dict(parse_qsl(query, keep_blank_values=True))
        if "vfs" in params or params.get("mode") == "memory" or path in ("file:", "file::memory:"):
            return database, uri
        separator = "&" if query else "?"
        return f"{base}{separator}vfs={LOCKING_VFS}{hash_sign}{fragment}", True
    return f"file:{quote(database, safe='/')}?vfs={LOCKING_VFS}", True
