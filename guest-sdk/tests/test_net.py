"""The sandbox's name lookups and refusal messages, with a stand-in for the
host's `net` import, over real sockets on loopback."""

import asyncio
import errno
import socket
import types

import pytest
from conftest import keep_socket_api

from terrarium import _net, _phase


class Err(Exception):
    def __init__(self, value):
        self.value = value


class Refused:
    def __init__(self, value):
        self.value = value


class Failed:
    def __init__(self, value):
        self.value = value


@pytest.fixture
def host(monkeypatch):
    """A host that allows `allowed` (name -> addresses) and refuses the
    rest; `refusals` is what it says when the guest asks why."""
    keep_socket_api(monkeypatch)
    host = types.SimpleNamespace(allowed={"db.internal": ["127.0.0.1", "::1"]}, refusals=[], asked=[])

    def resolve(name, port):
        host.asked.append((name, port))
        if name == "gone.internal":
            raise Err(Failed(f"cannot resolve {name!r}"))
        if name not in host.allowed:
            raise Err(Refused(f"outbound: {name}:{port} is not in this app's `outbound` list"))
        return host.allowed[name]

    def take_refusal():
        return host.refusals.pop() if host.refusals else None

    net = types.SimpleNamespace(
        resolve=resolve, take_refusal=take_refusal, connect_timeout=lambda: 250, LookupError_Refused=Refused
    )
    monkeypatch.setattr(_phase, "building", False)
    _phase.begin_build()
    _net.install(net, Err)
    with pytest.raises(PermissionError, match="no connections while the app is built"):
        socket.getaddrinfo("db.internal", 5432)
    assert host.asked == [], "the host is not asked while the app is built"
    with pytest.raises(PermissionError, match="no connections while the app is built"):
        socket.socket()
    _phase.built()
    return host


def test_names_are_resolved_by_the_host_and_literals_here(host):
    entries = socket.getaddrinfo("db.internal", 5432)
    assert [(e[0], e[1], e[4]) for e in entries] == [
        (socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 5432)),
        (socket.AF_INET6, socket.SOCK_STREAM, ("::1", 5432, 0, 0)),
    ]
    assert host.asked == [("db.internal", 5432)]
    assert socket.getaddrinfo("10.1.2.3", "80", socket.AF_INET)[0][4] == ("10.1.2.3", 80)
    assert socket.getaddrinfo("::1", None)[0][4] == ("::1", 0, 0, 0)
    assert socket.gethostbyname("db.internal") == "127.0.0.1"
    assert socket.gethostbyname_ex("db.internal") == ("db.internal", [], ["127.0.0.1"])
    assert host.asked[-1] == ("db.internal", None)
    assert socket.getaddrinfo("db.internal", "https")[0][4][1] == 443


def test_a_name_not_allowed_is_a_permission_error_naming_it(host):
    with pytest.raises(PermissionError) as raised:
        socket.getaddrinfo("example.com", 443)
    assert raised.value.errno == errno.EACCES
    assert "example.com:443 is not in this app's `outbound` list" in str(raised.value)
    with pytest.raises(socket.gaierror, match="cannot resolve 'gone.internal'"):
        socket.getaddrinfo("gone.internal", 80)
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("db.internal", 80, flags=socket.AI_NUMERICHOST)
    with pytest.raises(socket.gaierror, match="has no address of the family"):
        socket.getaddrinfo("db.internal", 80, socket.AF_INET6 + 100)


def test_connect_resolves_names_through_the_host(host):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("db.internal", port), timeout=5) as client:
            assert client.getpeername() == ("127.0.0.1", port)
        with socket.socket() as client:
            client.connect(("db.internal", port))
            assert client.getpeername()[1] == port


def test_refusals_from_the_host_are_explained(host):
    host.refusals.append("outbound: 127.0.0.1:9 is not in this app's `outbound` list")
    error = _net.explained(PermissionError(errno.EACCES, "Permission denied"), lambda: host.refusals.pop())
    assert isinstance(error, PermissionError)
    assert "127.0.0.1:9 is not in this app's `outbound` list" in str(error)
    limit = _net.explained(OSError(errno.EMFILE, "Too many open files"), lambda: "outbound: 32 open")
    assert limit.errno == errno.EMFILE and "32 open" in str(limit)
    other = OSError(errno.ECONNREFUSED, "Connection refused")
    assert _net.explained(other, lambda: pytest.fail("not asked")) is other
    plain = PermissionError(errno.EACCES, "Permission denied")
    assert _net.explained(plain, lambda: None) is plain


def test_asyncio_lookups_run_in_the_loop(host):
    async def main():
        loop = asyncio.get_running_loop()
        entries = await loop.getaddrinfo("db.internal", 6379, type=socket.SOCK_STREAM)
        return entries[0][4]

    assert asyncio.run(main()) == ("127.0.0.1", 6379)


def test_a_blocking_connect_waits_at_most_the_mounts_timeout(host):
    """A listener whose queue is full drops further SYNs: the connect waits."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        queued = []
        try:
            for _ in range(8):
                extra = socket.socket()
                extra.setblocking(False)
                extra.connect_ex(("127.0.0.1", port))
                queued.append(extra)
            with socket.socket() as client:
                with pytest.raises(TimeoutError) as raised:
                    client.connect(("127.0.0.1", port))
                assert client.gettimeout() is None, "its own timeout is put back"
            assert str(raised.value).endswith(
                f"outbound: connecting to 127.0.0.1:{port} timed out after 0.25 s (the mount's outbound_connect_timeout)"
            )
        finally:
            for extra in queued:
                extra.close()
