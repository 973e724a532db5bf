import sqlite3

import pytest

from terrarium import _sqlite


@pytest.mark.parametrize(
    "database, uri, expected",
    [
        ("blog.db", False, ("file:blog.db?vfs=unix-dotfile", True)),
        ("/data/my blog?.db", False, ("file:/data/my%20blog%3F.db?vfs=unix-dotfile", True)),
        (b"/data/b.db", False, ("file:/data/b.db?vfs=unix-dotfile", True)),
        ("file:/data/a.db?mode=ro", True, ("file:/data/a.db?mode=ro&vfs=unix-dotfile", True)),
        ("file:a.db#x", True, ("file:a.db?vfs=unix-dotfile#x", True)),
        ("file:a.db?vfs=unix-none", True, ("file:a.db?vfs=unix-none", True)),
        ("file:mem?mode=memory&cache=shared", True, ("file:mem?mode=memory&cache=shared", True)),
        (":memory:", False, (":memory:", False)),
        ("", False, ("", False)),
        ("file:x.db", False, ("file:file%3Ax.db?vfs=unix-dotfile", True)),
    ],
)
def test_file_databases_name_the_locking_vfs(database, uri, expected):
    assert _sqlite.with_locking_vfs(database, uri) == expected


def test_connect_passes_the_rewritten_database_on(monkeypatch, tmp_path):
    seen = []

    def fake_connect(database, *args, **kwargs):
        seen.append((database, args, kwargs))
        return "connection"

    monkeypatch.setattr(sqlite3.dbapi2, "connect", fake_connect)
    monkeypatch.setattr(sqlite3, "connect", fake_connect)
    _sqlite.install()
    assert sqlite3.connect(tmp_path / "a.db", timeout=2) == "connection"
    assert sqlite3.dbapi2.connect is sqlite3.connect
    database, args, kwargs = seen[0]
    assert database == f"file:{tmp_path}/a.db?vfs=unix-dotfile"
    assert kwargs == {"timeout": 2, "uri": True}
    _sqlite.install()
    sqlite3.connect(":memory:")
    assert seen[1][0] == ":memory:" and len(seen) == 2, "installed once"
