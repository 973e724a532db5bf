"""The standard library's `logging`, into the host's log a record at a time.

A `logging` handler that writes to the process's stdout or stderr (the
last-resort handler, `logging.basicConfig()`'s, Flask's and Django's
consoles) would reach the host's log line by line, each line at the
stream's level: a record with a traceback would be a dozen unrelated
records. Once the host's log is attached (see `log`), such a handler sends
each record whole instead, at its own level, its traceback tidied as
`_tracebacks` says. Handlers that write elsewhere (files, sockets) and
handlers with an `emit` of their own are left alone.
"""

import logging
import sys

from . import _tracebacks, log

_stream_emit = logging.StreamHandler.emit


def _is_stdio(stream):
    """Whether `stream` is the process's stdout or stderr (or a proxy of
    them, like Flask's `wsgi_errors_stream`)."""
    for stdio in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stdio is not None and (stream is stdio or stream == stdio):
                return True
        except Exception:
            pass
    return False


def level_name(levelno):
    """The host's level for a `logging` level number."""
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


def _emit(self, record):
    if not log.attached() or not _is_stdio(self.stream):
        return _stream_emit(self, record)
    try:
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = _tracebacks.format_exception(record.exc_info[1])
        log.write(level_name(record.levelno), self.format(record))
    except RecursionError:
        raise
    except Exception:
        self.handleError(record)


def install():
    """Sends stdio handlers' records to the host's log (see the module)."""
    logging.StreamHandler.emit = _emit
