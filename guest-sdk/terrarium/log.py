"""Logging into the host's log.

`terrarium.log.info("message")` writes one line to the host's log, tagged with
the app and the current request id. While the component is being built (no
host yet) the message goes to stderr instead, so it shows in the build output.
Plain `print()` works too: the host captures stdout and stderr line by line,
and the standard library's `logging` to stdout or stderr arrives a record at a
time (see `_logging`).
"""

import sys

_host_write = None
_levels = None


def _attach(write, levels):
    """Called by the bridge once the host's `log` import may be used."""
    global _host_write, _levels
    _host_write = write
    _levels = levels


def attached():
    """Whether messages go to the host (else to stderr)."""
    return _host_write is not None


def write(level, message):
    """Writes `message` (one record, however many lines) at `level`:
    "debug", "info", "warning" or "error"."""
    _emit(level, message)


def _emit(level, message):
    if _host_write is None:
        print(f"[{level}] {message}", file=sys.stderr)
    else:
        _host_write(getattr(_levels, level.upper()), str(message))


def debug(message):
    _emit("debug", message)


def info(message):
    _emit("info", message)


def warning(message):
    _emit("warning", message)


def error(message):
    _emit("error", message)
