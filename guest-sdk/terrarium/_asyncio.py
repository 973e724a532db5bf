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
loop waits meanwhile, as the function blocks it.
"""

import _thread
import asyncio.base_events
import asyncio.selector_events
import socket


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
            future.set_result(func(*args))
        except Exception as error:
            future.set_exception(error)
        return future

    loop_class.run_in_executor = run_in_executor
    loop_class._terrarium_inline_executor = True


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
