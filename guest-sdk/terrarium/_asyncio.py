"""An asyncio event loop for the sandbox.

CPython's selector event loop makes a "self-pipe" (`socket.socketpair()`)
when it starts, to be woken from other threads and signal handlers; the
sandbox has neither sockets for it nor threads nor signals, so
`asyncio.run()` failed at once. `install` makes the loop do without: the
self-pipe is not made, and waking the loop is a no-op (nothing outside it
can run while it waits). Timers, tasks, `gather`, queues and locks work;
the loop sleeps in `poll` until its next timer.
"""

import asyncio.selector_events
import socket


def install():
    """Makes selector event loops start without a self-pipe, when this
    interpreter cannot make one."""
    loop_class = asyncio.selector_events.BaseSelectorEventLoop
    if getattr(loop_class, "_terrarium_without_self_pipe", False) or _can_make_socketpair():
        return
    loop_class._make_self_pipe = _no_self_pipe
    loop_class._close_self_pipe = _no_self_pipe
    loop_class._write_to_self = _no_self_pipe
    loop_class._terrarium_without_self_pipe = True


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
