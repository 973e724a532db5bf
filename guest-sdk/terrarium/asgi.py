"""The server side of ASGI 3 (HTTP, spec version 2.4), so Starlette,
FastAPI, Quart, Django's ASGI handler and the like run unmodified.

`Adapter(app, ...)` is made while the app is built: it makes the event
loop every request of the instance runs on and runs the app's `lifespan`
startup there, so what the startup loads is in the snapshot every instance
starts from (a failed startup fails the build). `Adapter.serve` runs one
request on that loop: a response whose first `http.response.body` ends it
goes back whole; one sent in parts (`more_body`) streams: `serve` returns
its head and first part, and the app's `send()` of each next part waits
until the host pulls the one before (so a slow client slows the app).
`send()` raises `ClientDisconnected` (an `OSError`, as spec 2.4 asks) once
the client has gone away; `receive()`, once the body is read, waits for
`http.disconnect`. `shut_down()` runs the
lifespan's `shutdown` when the host retires the instance.
"""

import asyncio
import inspect
import sys
import threading
from urllib.parse import unquote

from . import _tracebacks, log
from ._packing import pack_headers
from .session import Session
from .streams import READ_SIZE, ClientDisconnected
from .wsgi import RawRequest, _server_name_and_port

_ASGI = {"version": "3.0", "spec_version": "2.4"}
_DISCONNECT = {"type": "http.disconnect"}

# The lifespans started in this instance, shut down with it.
_lifespans = []

# How long `shut_down` waits for a lifespan's shutdown, in seconds (the
# host's own deadline is a little longer).
SHUTDOWN_WAIT = 4.0


def is_asgi_app(target):
    """Whether `target` is an ASGI 3 application: a coroutine function, or
    an object whose `__call__` is one."""
    if inspect.iscoroutinefunction(target):
        return True
    if inspect.isclass(target):
        return False
    return inspect.iscoroutinefunction(getattr(type(target), "__call__", None))


def is_asgi2_app(target):
    """Whether `target` is an ASGI 2 ("double callable") application: a
    class made with the scope whose instances are awaited with `(receive,
    send)`."""
    if not inspect.isclass(target):
        return False
    call = getattr(target, "__call__", None)
    if not inspect.iscoroutinefunction(call):
        return False
    return len(inspect.signature(call).parameters) == 3  # self, receive, send


class LifespanFailed(RuntimeError):
    """The app's lifespan startup failed: the build fails with its message."""


class Adapter:
    """Serves one ASGI application (see the module's doc). `read_part`
    reads the rest of a streaming request body; `session_change` turns the
    host session into the contract's session change."""

    def __init__(self, app, read_part, client_gone, session_change, response_type):
        self.app = app
        self.state = {}
        self._read_part = read_part
        self._session_change = session_change
        self._Response = response_type
        self.loop = asyncio.new_event_loop()
        self.selector = _WatchingSelector(self.loop._selector, client_gone)
        self.loop._selector = self.selector
        asyncio.set_event_loop(self.loop)
        lifespan = _Lifespan(app, self.loop, self.state)
        if lifespan.start():
            _lifespans.append(lifespan)

    def serve(self, wit_request):
        """Runs one request: the response record, and the rest of its body
        (an object with `next()` and `close()`) when it streams, else None."""
        session = None if wit_request.session is None else Session.from_json(wit_request.session)
        raw = RawRequest.from_packed(wit_request.head, wit_request.body, wit_request.more_body, self._read_part)
        exchange = _Exchange(self, raw, session)
        exchange.begin(self.app(self._scope(raw, session), exchange.receive, exchange.send))
        return exchange.head(), (exchange if exchange.streaming else None)

    def _scope(self, raw, session):
        server_name, server_port = _server_name_and_port(raw.authority, raw.scheme)
        client_host, _, client_port = raw.remote_addr.rpartition(":")
        scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": raw.http_version,
            "method": raw.method,
            "scheme": raw.scheme,
            "path": unquote(raw.path) if "%" in raw.path else raw.path,
            "raw_path": raw.path.encode("ascii"),
            "query_string": raw.query.encode("ascii"),
            "root_path": unquote(raw.script_name) if "%" in raw.script_name else raw.script_name,
            "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in raw.headers],
            "client": (client_host.strip("[]"), int(client_port or 0)),
            "server": (server_name.strip("[]"), int(server_port)),
            "state": self.state.copy(),
            "extensions": {},
        }
        if session is not None:
            scope["terrarium.session"] = session
        return scope


class _Exchange:
    """One request's `receive` and `send`, and the parts of its response
    as the host pulls them."""

    def __init__(self, adapter, raw, session):
        self._adapter = adapter
        self._loop = adapter.loop
        self._raw = raw
        self._session = session
        self._first = True
        self._more_body = raw.more_body
        self._status = None
        self._headers = None
        self._part = None
        self._last = False
        self._complete = False
        self._gone = False
        self.streaming = False
        self._ready = self._loop.create_future()
        self._taken = None
        self._task = None

    def begin(self, app_call):
        """Runs the app until its response is whole, or its first part is there."""
        self._task = _eager_task(self._loop, app_call)
        if not self._ready.done() and not self._task.done():
            self._run_until(self._ready)

    def head(self):
        """The response record: whole, or the head and first part of a streaming one."""
        task = self._task
        if not self._ready.done():
            if task.exception() is not None:
                raise task.exception()
            if self._status is None:
                raise RuntimeError("the ASGI app returned without sending http.response.start")
            raise RuntimeError("the ASGI app returned before its response was complete")
        if not self.streaming:
            self._finish_task()
        adapter = self._adapter
        return adapter._Response(status=self._status, headers=pack_headers(self._headers),
                                 body=self._take_part(), more_body=self.streaming,
                                 session=adapter._session_change(self._session))

    def next(self):
        """The next part (bytes), None once the response is complete."""
        while not self._last:
            self._ready = self._loop.create_future()
            if self._taken is not None:
                _settle(self._taken, None)
            self._run_until(self._ready)
            if not self._ready.done():
                error = self._task.exception()
                raise error or RuntimeError("the ASGI app returned before its response was complete")
            part = self._take_part()
            if part:
                return part
        self._finish_task()
        return None

    def close(self):
        """The client went away: `send()` raises, `receive()` says so."""
        self._gone = True
        if self._taken is not None and not self._taken.done():
            self._taken.set_exception(ClientDisconnected("the client went away"))
        self._adapter.selector.release()
        self._finish_task(cancel_after=1.0)

    def _take_part(self):
        part, self._part = self._part or b"", None
        return part

    def _run_until(self, future):
        self._loop.run_until_complete(
            asyncio.wait({future, self._task}, return_when=asyncio.FIRST_COMPLETED))

    def _finish_task(self, cancel_after=None):
        """Lets the app's call run to its end (a background task after the
        response); with `cancel_after`, cancels it after that many seconds."""
        task = self._task
        if not task.done():
            self._loop.run_until_complete(asyncio.wait({task}, timeout=cancel_after))
        if not task.done():
            task.cancel()
            self._loop.run_until_complete(asyncio.wait({task}, timeout=cancel_after))
        if task.done() and not task.cancelled() and task.exception() is not None:
            error = task.exception()
            if not isinstance(error, ClientDisconnected):
                log.error(f"the app failed after answering {self._raw.method} {self._raw.path}: "
                          f"{_tracebacks.format_exception(error)}")

    async def receive(self):
        if self._first:
            self._first = False
            return {"type": "http.request", "body": self._raw.body, "more_body": self._more_body}
        if self._more_body:
            part = self._adapter._read_part(READ_SIZE)
            if part is None:
                self._more_body = False
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": part, "more_body": True}
        if not self._complete and not self._gone and not self._adapter.selector.client_gone():
            await self._adapter.selector.wait()
        return _DISCONNECT

    async def send(self, message):
        if self._gone:
            raise ClientDisconnected("the client went away")
        kind = message["type"]
        if kind == "http.response.start":
            if self._status is not None:
                raise RuntimeError("ASGI: http.response.start sent twice")
            self._status = int(message["status"])
            self._headers = [(name.decode("latin-1"), value.decode("latin-1"))
                             for name, value in message.get("headers", ())]
            return
        if kind != "http.response.body":
            raise RuntimeError(f"ASGI: unexpected message type {kind!r} in an HTTP exchange")
        if self._status is None:
            raise RuntimeError("ASGI: http.response.body sent before http.response.start")
        if self._complete:
            raise RuntimeError("ASGI: http.response.body sent after the response was complete")
        more = message.get("more_body", False)
        self._part = bytes(message.get("body", b""))
        if more:
            self.streaming = True
        else:
            self._last = self._complete = True
            self._adapter.selector.release()
        _settle(self._ready, None)
        if more:
            # Waits until the host pulls the next part: the client took this one.
            self._taken = self._loop.create_future()
            await self._taken


class _WatchingSelector:
    """The loop's selector, which also watches for the client going away
    while a `receive()` waits for it (the host tells only when asked, so
    the loop asks every `POLL` seconds then)."""

    POLL = 0.05

    def __init__(self, inner, client_gone):
        self._inner = inner
        self._waiters = []
        self.client_gone = client_gone

    def wait(self):
        """A future resolved once the client has gone (or the response is complete)."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        return future

    def release(self):
        """Resolves every waiting future."""
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def select(self, timeout=None):
        if not self._waiters:
            return self._inner.select(timeout)
        events = self._inner.select(self.POLL if timeout is None or timeout > self.POLL else timeout)
        if self.client_gone():
            self.release()
        return events

    def __getattr__(self, name):
        return getattr(self._inner, name)


class _Lifespan:
    """The app's `lifespan` scope, running on the instance's loop."""

    def __init__(self, app, loop, state):
        self._app = app
        self._loop = loop
        self._state = state
        self._inbox = asyncio.Queue()
        self._taken = False
        self._startup = loop.create_future()
        self._shutdown = loop.create_future()
        self._task = None

    def start(self):
        """Runs the startup; whether the app supports lifespan. Raises
        LifespanFailed when its startup failed."""
        self._inbox.put_nowait({"type": "lifespan.startup"})
        self._task = self._loop.create_task(self._main())
        self._loop.run_until_complete(
            asyncio.wait({self._startup, self._task}, return_when=asyncio.FIRST_COMPLETED))
        if self._startup.done():
            failure = self._startup.result()
            if failure is None:
                return True
            self._task.cancel()
            raise LifespanFailed(f"the app's lifespan startup failed: {failure}")
        error = self._task.exception()
        if error is not None and self._taken:
            raise LifespanFailed(f"the app's lifespan startup failed: {type(error).__name__}: {error}") from error
        # It raised before taking the startup message, or returned: the app
        # does not do lifespan (Django's handler refuses the scope, for one).
        return False

    def shut_down(self):
        """Runs the shutdown, waiting at most SHUTDOWN_WAIT seconds."""
        if self._task.done():
            return
        self._inbox.put_nowait({"type": "lifespan.shutdown"})
        self._loop.run_until_complete(asyncio.wait(
            {self._shutdown, self._task}, timeout=SHUTDOWN_WAIT, return_when=asyncio.FIRST_COMPLETED))
        if self._shutdown.done() and self._shutdown.result() is not None:
            log.error(f"the app's lifespan shutdown failed: {self._shutdown.result()}")

    async def _main(self):
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self._state}
        await self._app(scope, self._receive, self._send)

    async def _receive(self):
        self._taken = True
        return await self._inbox.get()

    async def _send(self, message):
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            _settle(self._startup, None)
        elif kind == "lifespan.startup.failed":
            _settle(self._startup, message.get("message") or "(no message)")
        elif kind == "lifespan.shutdown.complete":
            _settle(self._shutdown, None)
        elif kind == "lifespan.shutdown.failed":
            _settle(self._shutdown, message.get("message") or "(no message)")
        else:
            raise RuntimeError(f"ASGI: unexpected message type {kind!r} in the lifespan scope")


def _eager_task(loop, coroutine):
    """A task of `coroutine` on `loop` that has already run up to its first
    wait, like an eager task of a running loop (Python 3.12+): most apps
    answer without ever waiting, and then the loop never has to run (no
    poll of the host, no callbacks), which makes ASGI as cheap as WSGI.
    Where eager tasks are not there, a plain task the loop will start."""
    if not _EAGER_TASKS:
        return loop.create_task(coroutine)
    # The loop counts as running for the task's first steps, as it would in
    # an eager task factory: `get_running_loop()` and `current_task()` are
    # what the app's code expects.
    loop._thread_id = threading.get_ident()
    asyncio.events._set_running_loop(loop)
    try:
        return asyncio.Task(coroutine, loop=loop, eager_start=True)
    finally:
        asyncio.events._set_running_loop(None)
        loop._thread_id = None


# Eager tasks came with Python 3.12 (the sandbox runs 3.14).
_EAGER_TASKS = sys.version_info >= (3, 12)


def _settle(future, failure):
    if not future.done():
        future.set_result(failure)


def shut_down():
    """Runs every lifespan's shutdown (the instance is being retired)."""
    for lifespan in _lifespans:
        lifespan.shut_down()
