"""Outbound connections in the sandbox, with the stdlib's `socket` API.

The sandbox's sockets are WASI's, and the host checks each connection
against the mount's `outbound` list; but the guest cannot look names up
itself (the host does, for the names the list allows: the contract's `net`
import), and its libc reports a refusal only as an errno. `install` makes:

- `socket.getaddrinfo`, `gethostbyname` and `gethostbyname_ex` ask the host
  (IP literals are answered here), raising `PermissionError` naming the
  destination when the list does not allow it and `socket.gaierror` when
  the name does not resolve;
- a socket other than TCP (UDP, raw, Unix) fails with `PermissionError`
  saying that apps may open TCP connections only;
- `socket.socket.connect`, `connect_ex` (and `bind`, always refused) resolve a name that way before
  connecting (C code would try WASI's own lookup, which is off), and turn
  the host's refusals into errors that say why: `PermissionError` for a
  destination not in the list, `OSError(EMFILE)` when the mount's
  `outbound_connections` are all open;
- asyncio's `loop.getaddrinfo` and `getnameinfo` answer in the loop's own
  thread (the default ones hand the call to a thread pool; the sandbox
  has no threads).

While the app is built (see `_phase`) nothing can connect, and the host
is not asked: no socket can be made, and every lookup and refusal says so.
"""

import errno
import socket

import _socket

from . import _oserrors, _phase

# What a port's service name means, for the few clients that pass one.
_SERVICES = {"http": 80, "https": 443}
# The errnos the host's refusals reach the guest as.
_REFUSAL_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EMFILE, errno.ENFILE})
_TCP_ONLY = (
    "socket: apps in the sandbox may open outbound TCP connections only "
    "(UDP, raw and Unix sockets are not available)"
)
_WHILE_BUILDING = (
    "outbound: no connections while the app is built (imported and snapshotted); "
    "connect when a request needs it, or lazily on first use"
)


def install(net, host_error):
    """Puts the host's lookups and refusals behind `socket` and asyncio.

    `net` is the contract's import (its `resolve`, `take_refusal`,
    `connect_timeout` and the `LookupError_Refused` case); `host_error` the exception its calls raise
    when the host answers with an error (componentize-py's `Err`).
    """
    if getattr(socket, "_terrarium_lookups", None) is not None:
        return
    lookups = socket._terrarium_lookups = _Lookups(net, host_error)
    socket.getaddrinfo = lookups.getaddrinfo
    socket.gethostbyname = lookups.gethostbyname
    socket.gethostbyname_ex = lookups.gethostbyname_ex
    _install_connect(lookups, net)
    _install_asyncio_lookups()


class _Lookups:
    """Name lookups made by the host."""

    def __init__(self, net, host_error):
        self._net = net
        self._host_error = host_error

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        """Resolve host and port into list of address info entries, as `socket.getaddrinfo`."""
        port_number = _port(port)
        family = int(family)
        kind = int(type) or socket.SOCK_STREAM
        addresses = self._addresses(host, port_number, family, flags)
        entries = []
        for address in addresses:
            address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
            if family not in (socket.AF_UNSPEC, address_family):
                continue
            sockaddr = (address, port_number or 0)
            if address_family == socket.AF_INET6:
                sockaddr = sockaddr + (0, 0)
            entries.append(
                (
                    socket.AddressFamily(address_family),
                    socket.SocketKind(kind),
                    int(proto) or (socket.IPPROTO_TCP if kind == socket.SOCK_STREAM else 0),
                    "",
                    sockaddr,
                )
            )
        if not entries:
            raise socket.gaierror(socket.EAI_ADDRFAMILY, f"{host!r} has no address of the family asked for")
        return entries

    def gethostbyname(self, hostname):
        """Return the IP address (a string of the form '255.255.255.255') for a host."""
        return self.getaddrinfo(hostname, None, socket.AF_INET)[0][4][0]

    def gethostbyname_ex(self, hostname):
        """Return the true host name, a list of aliases, and a list of IP addresses, for a host."""
        addresses = [entry[4][0] for entry in self.getaddrinfo(hostname, None, socket.AF_INET)]
        return hostname, [], addresses

    def _addresses(self, host, port, family, flags):
        if host is None:
            if flags & socket.AI_PASSIVE:
                return ["0.0.0.0", "::"]
            return ["::1", "127.0.0.1"]
        name = _host_text(host)
        if _is_ip(name):
            return [name]
        if flags & socket.AI_NUMERICHOST:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if _phase.building:
            raise _oserrors.error(errno.EACCES, _WHILE_BUILDING)
        try:
            return list(self._net.resolve(name, port))
        except self._host_error as error:
            reason = error.value
            if isinstance(reason, self._net.LookupError_Refused):
                raise _oserrors.error(errno.EACCES, reason.value) from None
            raise socket.gaierror(socket.EAI_NONAME, reason.value) from None


def _install_connect(lookups, net):
    """Makes `socket.socket.connect` and `connect_ex` resolve names through
    the host, wait at most the mount's connect timeout, and explain the
    host's refusals."""
    take_refusal = net.take_refusal
    base_connect = _socket.socket.connect
    base_connect_ex = _socket.socket.connect_ex
    limit = []  # the mount's connect timeout in seconds, once asked

    def connect_timeout(sock):
        """The timeout to connect `sock` with, or None to leave its own."""
        if sock.gettimeout() is not None:
            return None
        if not limit:
            limit.append(net.connect_timeout() / 1000)
        return limit[0]

    def resolved(sock, address):
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
            return address
        host, port = address[0], address[1]
        if isinstance(host, (str, bytes)) and not _is_ip(_host_text(host)):
            entries = lookups.getaddrinfo(host, port, sock.family, socket.SOCK_STREAM)
            return entries[0][4]
        return address

    def connect(self, address):
        """Connect the socket to a remote address (a name is resolved by the host)."""
        target = resolved(self, address)
        timeout = connect_timeout(self)
        if timeout is not None:
            self.settimeout(timeout)
        try:
            return base_connect(self, target)
        except TimeoutError:
            if timeout is None:
                raise
            raise _oserrors.error(
                errno.ETIMEDOUT,
                f"outbound: connecting to {_shown(target)} timed out after {timeout:g} s "
                "(the mount's outbound_connect_timeout)",
            ) from None
        except OSError as error:
            raise explained(error, take_refusal) from None
        finally:
            if timeout is not None:
                self.settimeout(None)

    def connect_ex(self, address):
        """Like connect(address), but return an error code instead of raising."""
        try:
            target = resolved(self, address)
        except OSError as error:
            return error.errno or errno.EINVAL
        timeout = connect_timeout(self)
        if timeout is not None:
            self.settimeout(timeout)
        try:
            code = base_connect_ex(self, target)
        finally:
            if timeout is not None:
                self.settimeout(None)
        if code in _REFUSAL_ERRNOS and not _phase.building:
            # Keep the reason for a later connect() or for nobody; clear it.
            take_refusal()
        return code

    base_bind = _socket.socket.bind

    def bind(self, address):
        """Bind the socket to a local address (refused in the sandbox, which only connects out)."""
        try:
            return base_bind(self, address)
        except OSError as error:
            raise explained(error, take_refusal) from None

    base_init = socket.socket.__init__

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        if _phase.building and fileno is None:
            # A WASI handle made now would be dead in the snapshot's instances.
            raise _oserrors.error(errno.EACCES, _WHILE_BUILDING)
        try:
            base_init(self, family, type, proto, fileno)
        except OSError as error:
            if fileno is None and not _is_tcp(family, type):
                raise _oserrors.error(errno.EACCES, _TCP_ONLY) from None
            raise explained(error, take_refusal) from None

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.bind = bind
    socket.socket.__init__ = __init__


def _is_tcp(family, type):
    """Whether `socket.socket(family, type)` asks for a TCP socket (-1 is
    the default: AF_INET, SOCK_STREAM)."""
    kind = int(type) & ~(getattr(socket, "SOCK_NONBLOCK", 0) | getattr(socket, "SOCK_CLOEXEC", 0))
    return int(family) in (-1, socket.AF_INET, socket.AF_INET6) and kind in (-1, socket.SOCK_STREAM)


def explained(error, take_refusal):
    """`error`, or one that says why, when the host refused it."""
    if error.errno not in _REFUSAL_ERRNOS:
        return error
    reason = _WHILE_BUILDING if _phase.building else take_refusal()
    if reason is None:
        return error
    if error.errno in (errno.EMFILE, errno.ENFILE):
        return _oserrors.error(errno.EMFILE, reason)
    return _oserrors.error(errno.EACCES, reason)


def _shown(address):
    """An address as people write it: "10.0.0.5:5432", "[::1]:5432"."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address)


def _install_asyncio_lookups():
    import asyncio.base_events

    loop_class = asyncio.base_events.BaseEventLoop

    async def getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):
        return socket.getaddrinfo(host, port, family, type, proto, flags)

    async def getnameinfo(self, sockaddr, flags=0):
        return socket.getnameinfo(sockaddr, flags)

    loop_class.getaddrinfo = getaddrinfo
    loop_class.getnameinfo = getnameinfo


def _port(port):
    """`port` as a number, or None."""
    if port is None:
        return None
    if isinstance(port, bytes):
        port = port.decode("ascii")
    if isinstance(port, str):
        if port.isdigit():
            port = int(port)
        elif port in _SERVICES:
            return _SERVICES[port]
        else:
            raise socket.gaierror(socket.EAI_SERVICE, f"service {port!r} not known in the sandbox; give a port number")
    if isinstance(port, int) and 0 <= port <= 65535:
        return port
    raise OverflowError("getaddrinfo(): port must be 0-65535.")


def _host_text(host):
    """`host` as the text a lookup is made for (non-ASCII names IDNA-encoded)."""
    if isinstance(host, bytes):
        return host.decode("ascii")
    if host.isascii():
        return host
    return host.encode("idna").decode("ascii")


def _is_ip(text):
    """Whether `text` is an IPv4 or IPv6 address literal."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            _socket.inet_pton(family, text)
        except (OSError, ValueError):
            continue
        return True
    return False
