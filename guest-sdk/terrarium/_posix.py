"""The user and group ids the sandbox's CPython lacks (WASI has no users).

`os.getuid`, `os.geteuid`, `os.getgid` and `os.getegid` are missing from
CPython on WASI, and code that only asks (platformdirs, which setuptools'
`pkg_resources` and so Pyramid import, builds paths from the uid) fails at
import. The sandbox has one user: all four answer `SANDBOX_ID`.
"""

import os

SANDBOX_ID = 1000
_NAMES = ("getuid", "geteuid", "getgid", "getegid")


def install():
    """Adds the ones `os` lacks."""
    for name in _NAMES:
        if not hasattr(os, name):
            setattr(os, name, _sandbox_id)


def _sandbox_id():
    """The sandbox's one user (and group) id."""
    return SANDBOX_ID
