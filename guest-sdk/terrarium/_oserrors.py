"""The SDK's own `OSError`s, shown with their errno's name, not its number.

The sandbox's errno numbers are WASI's, not Linux's: EACCES is 2, which a
Linux user reads as "No such file or directory", EPERM is 63, ENOSPC 51.
The errors the SDK raises (a refused connection, a full quota, a link out
of its folder) keep WASI's number in `errno`, so `error.errno ==
errno.EACCES` holds as everywhere in the sandbox, but read
"[Errno EACCES] outbound: ..." when printed. Their classes are subclasses
of the built-in ones, named like them: `except PermissionError` catches
them, and a traceback says `PermissionError`.
"""

import errno as _errno

_NAMED = {}


def error(code, strerror, filename=None, filename2=None):
    """The `OSError` (its subclass for `code`, as `OSError(code, ...)`
    picks) with `strerror` and the paths given, shown with `code`'s name."""
    base = type(OSError(code, strerror))
    return _named(base)(code, strerror, filename, None, filename2)


def _named(base):
    """The subclass of `base` shown with errno names, made once."""
    named = _NAMED.get(base)
    if named is None:

        def __reduce__(self):
            # Pickled as the built-in kind (its name is taken by `base`).
            return (base, *base.__reduce__(self)[1:])

        members = {"__str__": _str, "__reduce__": __reduce__, "__module__": "builtins"}
        named = _NAMED[base] = type(base.__name__, (base,), members)
    return named


def _str(self):
    """As `OSError.__str__`, with the errno's name for its number."""
    shown = f"[Errno {_errno.errorcode.get(self.errno, self.errno)}] {self.strerror}"
    if self.filename is not None:
        shown += f": {self.filename!r}"
        if self.filename2 is not None:
            shown += f" -> {self.filename2!r}"
    return shown
