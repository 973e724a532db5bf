"""SDK tests run in plain CPython: no wasm. `terrarium` is imported from ../."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))


def keep_socket_api(monkeypatch):
    """Puts back, after the test, what `terrarium._net.install` replaces."""
    import asyncio.base_events
    import socket

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        monkeypatch.setattr(socket, name, getattr(socket, name))
    for name in ("connect", "connect_ex", "bind", "__init__"):
        monkeypatch.setattr(socket.socket, name, getattr(socket.socket, name), raising=False)
    for name in ("getaddrinfo", "getnameinfo"):
        monkeypatch.setattr(asyncio.base_events.BaseEventLoop, name, getattr(asyncio.base_events.BaseEventLoop, name))
    monkeypatch.setattr(socket, "_terrarium_lookups", None, raising=False)


def from_host_text(text):
    """The bytes a host receives for latin-1 `text` (terrarium.wit,
    `interface bytes`), refusing what the host refuses: anything but a
    str, and a char above U+00FF."""
    assert isinstance(text, str), f"bytes cross to the host as latin-1 text, not {type(text).__name__}"
    return text.encode("latin-1")
