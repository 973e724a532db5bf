"""Bodies that stream both ways, for every adapter (native, WSGI, ASGI).

A request body up to the mount's `buffer_body` arrives whole with the
request; a longer one arrives as its first part, and `RequestBody` reads the rest from the host
as the app asks for it (`wsgi.input`, ASGI `receive()`, `req.stream()`).

A response either goes back whole, as the handler's return value, or
streams: the handler returns its head and first part, and a `PartStream`
gives the rest as the host pulls it, one part each time the client has
taken the last (so a slow client slows the app down). When the client goes
away the host ends the stream: a WSGI iterable or a generator is closed,
an ASGI app's `send()` raises `ClientDisconnected`.
"""

import io

# The most one read asks the host for.
READ_SIZE = 1 << 20


class ClientDisconnected(ConnectionError):
    """The client went away (or stopped reading) while the response streamed."""


class RequestBodyError(OSError):
    """The rest of the request body could not be read: too large, too slow
    or unreadable. The host answers the request with the matching error
    (413, 408 or 400), whatever the app answers after this."""


class _HostBody(io.RawIOBase):
    """The rest of a request body, read from the host as asked for."""

    def __init__(self, first, read_part):
        self._pending = memoryview(first)
        self._read_part = read_part
        self._done = False

    def readable(self):
        return True

    def readinto(self, buffer):
        if not self._pending:
            if self._done:
                return 0
            part = self._read_part(max(len(buffer), 1))
            if part is None:
                self._done = True
                return 0
            self._pending = memoryview(part)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def request_body(first, more_body, read_part):
    """The body as a binary file: `io.BytesIO` when it came whole, else a
    buffered reader that reads the rest through `read_part(max)` (bytes,
    or None at the end) as the app asks for it."""
    if not more_body:
        return io.BytesIO(first)
    return io.BufferedReader(_HostBody(first, read_part), buffer_size=64 << 10)


def body_reader(streams, host_error):
    """`read_part(max)` for `request_body`, through the contract's `streams`
    import: bytes, or None at the end; RequestBodyError when the host
    could not read the body."""

    def read_part(size):
        try:
            return streams.read_body(min(size, READ_SIZE))
        except host_error as error:
            detail = error.value.value
            if isinstance(detail, int):
                detail = f"the request body is larger than the mount's max_body ({detail} bytes)"
            raise RequestBodyError(detail) from None

    return read_part


class PartStream:
    """The rest of a streaming response: `next()` gives each next part
    (bytes; None at the end), `close()` ends it early. The host pulls the
    parts once the client has taken the last (see the contract's
    `handler.next-part`)."""

    __slots__ = ("_parts", "_close")

    def __init__(self, parts, close=None):
        self._parts = iter(parts)
        self._close = close

    def next(self):
        for part in self._parts:
            if part:
                return part.encode("utf-8") if isinstance(part, str) else bytes(part)
        self.close()
        return None

    def close(self):
        close, self._close = self._close, None
        if close is not None:
            close()
