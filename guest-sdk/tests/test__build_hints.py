import errno
import os
import socket
import sqlite3
import wsgiref.simple_server

import pytest

from terrarium import _build_hints, _net


def raised(function):
    try:
        function()
    except BaseException as error:
        return error
    raise AssertionError("nothing raised")


def test_a_server_started_at_import_is_told_to_go_under_main(monkeypatch):
    def no_socket(*args, **kwargs):
        raise PermissionError(errno.EACCES, _net._WHILE_BUILDING)

    monkeypatch.setattr(socket.socket, "__init__", no_socket)
    error = raised(lambda: wsgiref.simple_server.make_server("127.0.0.1", 0, None))
    assert _build_hints.hint_for(error, "/app") == _build_hints.LISTENING


def test_a_connection_at_import_gets_no_listening_hint():
    def connect():
        raise PermissionError(errno.EACCES, _net._WHILE_BUILDING)

    assert _build_hints.hint_for(raised(connect), "/app") is None


def test_a_database_opened_at_import_is_told_to_wait_for_a_request(tmp_path):
    missing = tmp_path / "nowhere" / "app.db"
    error = raised(lambda: sqlite3.connect(missing))
    assert _build_hints.hint_for(error, "/app") == _build_hints.DATABASE

    class OperationalError(Exception):
        """As SQLAlchemy names its wrapper."""

    def through_an_orm():
        try:
            sqlite3.connect(missing)
        except sqlite3.OperationalError as cause:
            raise OperationalError("(sqlite3.OperationalError) unable to open database file") from cause

    assert _build_hints.hint_for(raised(through_an_orm), "/app") == _build_hints.DATABASE
    no_data = FileNotFoundError(errno.ENOENT, "No such file or directory", "/data/settings.json")
    assert _build_hints.hint_for(no_data, "/app") == _build_hints.DATABASE


@pytest.mark.parametrize(
    ("filename", "hinted"),
    [("static", True), ("{app}/static/x.css", True), ("/tmp/x", False), ("{app}lication", False)],
)
def test_a_write_into_the_app_folder_is_told_where_to_write(monkeypatch, tmp_path, filename, hinted):
    monkeypatch.chdir(tmp_path)  # the app's folder is the working folder
    error = PermissionError(errno.EPERM, "Operation not permitted", filename.format(app=tmp_path))
    assert (_build_hints.hint_for(error, str(tmp_path)) == _build_hints.APP_FOLDER) is hinted


def test_the_apps_own_errors_get_no_hint():
    assert _build_hints.hint_for(ZeroDivisionError("division by zero"), "/app") is None
    assert _build_hints.hint_for(sqlite3.OperationalError("no such table: post"), "/app") is None
