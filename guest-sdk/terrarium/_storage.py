"""`ENOSPC` for writes past a writable folder's quota (`data_quota`, `tmp`).

The host refuses such a write, but the sandbox's libc reports every failed
stream write as EIO. `install` makes `open()` (and `io.open`, so also
`os.fdopen`, `tempfile`, `pathlib` and `shutil`) return files whose failed
writes ask the host why, and raise `OSError(ENOSPC)` when a quota was the
cause, naming the folder. Files opened only for reading are the built-in
ones, untouched; so is everything else about the files made here (their
types are `io`'s own, their raw file a subclass of `io.FileIO`).
"""

import builtins
import errno
import io
import os

_WRITING = frozenset("wax+")


def install(take_quota_refusal):
    """Puts the quota-aware `open` in `builtins` and `io`.

    `take_quota_refusal` is the contract's import: the folder whose quota
    refused a write since it was last called, or None.
    """
    original_open = io.open
    if getattr(original_open, "_terrarium_quota_aware", False):
        return

    class FileIO(io.FileIO):
        """A raw file whose writes past a quota raise ENOSPC."""

        def write(self, data):
            try:
                return super().write(data)
            except OSError as error:
                raise explained(error, take_quota_refusal, self.name) from None

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


def explained(error, take_quota_refusal, name):
    """`error` from a write, or ENOSPC naming the folder when it is an EIO
    the host says a quota caused."""
    if error.errno != errno.EIO:
        return error
    folder = take_quota_refusal()
    if folder is None:
        return error
    return OSError(
        errno.ENOSPC,
        f"{os.strerror(errno.ENOSPC)} (the quota of {folder} is full)",
        name if isinstance(name, (str, bytes)) else None,
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
