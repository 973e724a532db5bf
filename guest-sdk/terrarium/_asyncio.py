"""An asyncio event loop for the sandbox.

CPython's selector event loop makes a "self-pipe" (`socket.socketpair()`)
when it starts, to be woken from other threads and signal handlers; the
sandbox has neither sockets for it nor threads nor signals, so
`asyncio.run()` failed at once. `install` makes the loop do without: the
self-pipe is not made, and waking the loop is a no-op (nothing outside it
can run while it waits). Timers, tasks, `gather`, queues and locks work;
the loop sleeps in `poll` until its next timer.

Where no thread can be started, the loop's default executor runs the
function at once, in the loop's own thread: `loop.run_in_executor(None,
...)` and `asyncio.to_thread` (which code uses for blocking work) give
the result without a thread pool, which the sandbox cannot make. The
loop waits meanwhile, as the function blocks it, and the function sees
no running loop, as in a worker thread.

`run_worker_threads_inline`, called once the app is imported, does the
same for the thread pools frameworks use: `concurrent.futures`'
`ThreadPoolExecutor` (asgiref's `sync_to_async`, Django's ASGI handler)
and anyio's worker threads (Starlette's `run_in_threadpool`, FastAPI's
sync endpoints) run the function at once, in a copy of the caller's
context as a worker thread would; asgiref's ThreadSensitiveContext shuts
its executor down without the thread it would start to join it.
"""

import _thread
import asyncio.base_events
import asyncio.selector_events
import concurrent.futures
import contextvars
import socket
import sys


def install():
    """Makes selector event loops start without a self-pipe, when this
    interpreter cannot make one, and run their default executor's work
    inline, when it cannot start threads."""
    _install_inline_executor()
    loop_class = asyncio.selector_events.BaseSelectorEventLoop
    if getattr(loop_class, "_terrarium_without_self_pipe", False) or _can_make_socketpair():
        return
    loop_class._make_self_pipe = _no_self_pipe
    loop_class._close_self_pipe = _no_self_pipe
    loop_class._write_to_self = _no_self_pipe
    loop_class._terrarium_without_self_pipe = True


def _install_inline_executor():
    loop_class = asyncio.base_events.BaseEventLoop
    if getattr(loop_class, "_terrarium_inline_executor", False) or _can_start_thread():
        return
    pooled = loop_class.run_in_executor

    def run_in_executor(self, executor, func, *args):
        """Runs func(*args) in executor; without one, at once (no thread can be started here)."""
        if executor is not None:
            return pooled(self, executor, func, *args)
        self._check_closed()
        future = self.create_future()
        try:
            future.set_result(_as_in_a_worker_thread(func, *args))
        except Exception as error:
            future.set_exception(error)
        return future

    loop_class.run_in_executor = run_in_executor
    loop_class._terrarium_inline_executor = True


def run_worker_threads_inline():
    """Where no thread can start, makes thread pools (and anyio's worker
    threads, when the app uses anyio) run their work at once."""
    if _can_start_thread():
        return
    pool = concurrent.futures.ThreadPoolExecutor
    if not getattr(pool, "_terrarium_inline", False):
        pool.submit = _submit_inline
        pool._terrarium_inline = True
    if "anyio" in sys.modules:
        _anyio_inline()
    if "asgiref.sync" in sys.modules:
        _asgiref_inline()


def _submit_inline(self, fn, /, *args, **kwargs):
    """ThreadPoolExecutor.submit, run at once: the future it returns is done."""
    with self._shutdown_lock:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
    future = concurrent.futures.Future()
    try:
        result = _as_in_a_worker_thread(fn, *args, **kwargs)
    except Exception as error:
        future.set_exception(error)
    else:
        future.set_result(result)
    return future


def _as_in_a_worker_thread(fn, /, *args, **kwargs):
    """fn(*args, **kwargs) as a worker thread would run it: with no event
    loop running (Django's async-unsafe checks look for one)."""
    running = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    try:
        return fn(*args, **kwargs)
    finally:
        asyncio.events._set_running_loop(running)


def _anyio_inline():
    from anyio._backends import _asyncio as backend

    cls = backend.AsyncIOBackend
    if getattr(cls, "_terrarium_inline", False):
        return

    async def run_sync_in_worker_thread(cls, func, args, abandon_on_cancel=False, limiter=None):
        """anyio's worker thread, inline: func(*args) in a copy of this context."""
        await cls.checkpoint()
        return contextvars.copy_context().run(_as_in_a_worker_thread, func, *args)

    cls.run_sync_in_worker_thread = classmethod(run_sync_in_worker_thread)
    cls._terrarium_inline = True


def _asgiref_inline():
    """asgiref (3.10 on) leaves a ThreadSensitiveContext by joining its
    executor in a new thread; the executor ran its work inline, so it is
    shut down at once and no thread is needed."""
    from asgiref.sync import SyncToAsync, ThreadSensitiveContext

    cls = ThreadSensitiveContext
    executors = getattr(SyncToAsync, "context_to_thread_executor", None)
    if getattr(cls, "_terrarium_inline", False) or executors is None:
        return
    leave = cls.__aexit__

    async def __aexit__(self, *exc_info):
        """Shuts this context's executor down here, then leaves as asgiref does."""
        executor = executors.pop(self, None)
        if executor is not None:
            executor.shutdown()
        return await leave(self, *exc_info)

    cls.__aexit__ = __aexit__
    cls._terrarium_inline = True


def _can_start_thread():
    try:
        _thread.start_new_thread(lambda: None, ())
    except RuntimeError:
        return False
    return True


def _can_make_socketpair():
    try:
        first, second = socket.socketpair()
    except OSError:
        return False
    first.close()
    second.close()
    return True


def _no_self_pipe(loop):
    """Nothing to make, close or write: no other thread can wake the loop."""
