"""Errors that say which rule of a writable folder (`data`, `tmp`) a call
broke: its quota (`ENOSPC`), or links kept inside it (`EPERM`).

The host refuses such a call with an errno only, and the sandbox's libc
reports every failed stream write as EIO. `install` makes the calls that
can take space or make links ask the host why they failed, and raise an
error that says it ("No space left on device (the quota of /data is
full)"):

- `open()` (and `io.open`, so also `os.fdopen`, `tempfile`, `pathlib` and
  `shutil`) returns files whose creation and writes do. Files opened only
  for reading are the built-in ones, untouched; so is everything else about
  the files made here (their types are `io`'s own, their raw file a
  subclass of `io.FileIO`).
- `os.open`, `write`, `pwrite`, `truncate`, `ftruncate`, `mkdir` (so
  `makedirs` and `Path.mkdir`), `link`, `symlink`, `rename` and `replace`
  do.
"""

import builtins
import errno
import functools
import io
import os

from . import _oserrors

_WRITING = frozenset("wax+")
# The `os` functions that can take space or make a link, and how many of
# their first arguments are the paths an error names.
_OS_CALLS = {
    "open": 1,
    "write": 0,
    "pwrite": 0,
    "writev": 0,
    "pwritev": 0,
    "truncate": 1,
    "ftruncate": 0,
    "mkdir": 1,
    "link": 2,
    "symlink": 2,
    "rename": 2,
    "replace": 2,
}


def install(take_refusal):
    """Puts the explaining `open` in `builtins` and `io`, and the explaining
    `os` calls in `os`.

    `take_refusal` is the contract's import: why the host refused the
    instance's last refused call, or None.
    """
    original_open = io.open
    if getattr(original_open, "_terrarium_quota_aware", False):
        return

    class FileIO(io.FileIO):
        """A raw file whose refused creation or writes say why."""

        def __init__(self, file, mode="r", closefd=True, opener=None):
            try:
                super().__init__(file, mode, closefd, opener)
            except OSError as error:
                raise explained(error, take_refusal, file) from None

        def write(self, data):
            try:
                return super().write(data)
            except OSError as error:
                raise explained(error, take_refusal, self.name) from None

    def open(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None, closefd=True, opener=None):
        if not isinstance(mode, str) or not _WRITING.intersection(mode) or not _plain_mode(mode):
            return original_open(file, mode, buffering, encoding, errors, newline, closefd, opener)
        binary = "b" in mode
        if binary and (encoding is not None or errors is not None or newline is not None):
            return original_open(file, mode, buffering, encoding, errors, newline, closefd, opener)
        raw = FileIO(file, mode.replace("b", "").replace("t", ""), closefd, opener=opener)
        try:
            return _buffered(raw, mode, binary, buffering, encoding, errors, newline)
        except BaseException:
            raw.close()
            raise

    open.__doc__ = original_open.__doc__
    open._terrarium_quota_aware = True
    builtins.open = io.open = open
    for name, paths in _OS_CALLS.items():
        function = getattr(os, name, None)
        if function is not None:
            setattr(os, name, _explaining(function, paths, take_refusal))


def _explaining(function, paths, take_refusal):
    """`function`, raising errors that say why the host refused it; the
    first `paths` arguments are named in them."""

    @functools.wraps(function)
    def explaining(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except OSError as error:
            names = [os.fspath(arg) if isinstance(arg, os.PathLike) else arg for arg in args[:paths]]
            raise explained(error, take_refusal, *names) from None

    return explaining


# The errnos a refusal reaches the guest as (EIO: any failed stream write),
# and the errno each is raised with.
_REFUSED_AS = {errno.EIO: errno.ENOSPC, errno.ENOSPC: errno.ENOSPC, errno.EPERM: errno.EPERM}


def explained(error, take_refusal, name=None, name2=None):
    """`error`, or one that says why the host refused the call (ENOSPC for
    a quota, EPERM for a link), naming the paths given."""
    code = _REFUSED_AS.get(error.errno)
    if code is None:
        return error
    reason = take_refusal()
    if reason is None:
        return error
    return _oserrors.error(
        code,
        f"{os.strerror(code)} ({reason})",
        name if isinstance(name, (str, bytes)) else None,
        name2 if isinstance(name2, (str, bytes)) else None,
    )


def _plain_mode(mode):
    """Whether `mode` is one `open` accepts: exactly one of r/w/a/x, at most
    one '+', not both 'b' and 't', no letter twice."""
    return (
        len(set(mode)) == len(mode)
        and set(mode) <= set("rwaxbt+")
        and sum(c in mode for c in "rwax") == 1
        and not ("b" in mode and "t" in mode)
    )


def _buffered(raw, mode, binary, buffering, encoding, errors, newline):
    """Wraps `raw` as `io.open` does: a buffer, then text unless binary."""
    line_buffering = False
    if buffering == 1 or (buffering < 0 and raw.isatty()):
        buffering = -1
        line_buffering = True
    if buffering < 0:
        buffering = max(min(getattr(raw, "_blksize", 0), 8192 * 1024), io.DEFAULT_BUFFER_SIZE)
    if buffering == 0:
        if binary:
            return raw
        raise ValueError("can't have unbuffered text I/O")
    buffer = (io.BufferedRandom if "+" in mode else io.BufferedWriter)(raw, buffering)
    if binary:
        return buffer
    text = io.TextIOWrapper(buffer, io.text_encoding(encoding), errors, newline, line_buffering)
    text.mode = mode
    return text
