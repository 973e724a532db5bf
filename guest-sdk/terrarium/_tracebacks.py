"""Tracebacks as an app's author reads them, for the host's log.

In the sandbox the app's files live under a folder of the sandbox's own
(`/2/app.py`), the standard library and the app's requirements under
others, and every request passes through frames of this SDK before it
reaches the app. `format_exception` leaves those frames out (the host's
`[server] log_sdk_frames = true` keeps them, through the environment
variable `TERRARIUM_LOG_SDK_FRAMES=1`: for debugging Terrarium itself) and names each file as its author knows it:
`app.py` (relative to the app's folder), `<stdlib>/json/decoder.py`,
`<requirements>/flask/app.py`.
"""

import os
import traceback

# This package, and the contract's generated bindings: Terrarium's frames.
_SDK_FOLDERS = (os.path.dirname(os.path.abspath(__file__)), "/world", "/bundled")
# (`os` may be frozen, with no file of its own: `traceback` never is.)
_STDLIB = os.path.dirname(traceback.__file__)
# The import machinery, between an `import_module` call and the module it
# imports: left out, as CPython leaves it out of an `import` statement's.
_IMPORTLIB = os.path.join(_STDLIB, "importlib", "__init__.py")

# (folder, how it is shown), set by `configure` at build time.
_places = [(_STDLIB, "<stdlib>")]


def configure(app_folder=None, requirements=()):
    """Names the app's folder and its requirements' folders, as the build
    mounted them."""
    global _places
    places = [(folder, "<requirements>") for folder in requirements]
    if app_folder:
        places.append((app_folder, ""))
    _places = places + [(_STDLIB, "<stdlib>")]


def _inside(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _shown(path):
    """`path` as its author knows it."""
    for folder, shown_as in _places:
        if _inside(path, folder):
            rest = os.path.relpath(path, folder)
            return f"{shown_as}/{rest}" if shown_as else rest
    return path


def _is_sdk(path):
    return any(_inside(path, folder) for folder in _SDK_FOLDERS)


def _is_noise(path):
    """Whether a frame in `path` is Terrarium's own or the import machinery's."""
    return _is_sdk(path) or path.startswith("<frozen importlib.") or path == _IMPORTLIB


def _tidy(summary, keep_sdk, seen):
    """Drops SDK frames from `summary` (a TracebackException) and every
    exception chained to it, and renames the files of the rest."""
    if summary is None or id(summary) in seen:
        return
    seen.add(id(summary))
    frames = [frame for frame in summary.stack if keep_sdk or not _is_noise(frame.filename)]
    # An exception raised inside the SDK itself (a bug of ours) keeps its
    # frames: with none left, the traceback would say nothing.
    if frames or not summary.stack:
        summary.stack = traceback.StackSummary.from_list(frames)
    for frame in summary.stack:
        frame.line  # read the source line while the real path finds it
        frame.filename = _shown(frame.filename)
    _tidy(summary.__cause__, keep_sdk, seen)
    _tidy(summary.__context__, keep_sdk, seen)
    for member in summary.exceptions or ():
        _tidy(member, keep_sdk, seen)


def format_exception(error):
    """The traceback of `error` (with its chained exceptions), tidied as
    the module says, without the final newline."""
    summary = traceback.TracebackException.from_exception(error)
    keep_sdk = os.environ.get("TERRARIUM_LOG_SDK_FRAMES", "") not in ("", "0")
    _tidy(summary, keep_sdk, set())
    return "".join(summary.format()).rstrip()


def one_line(error):
    """`Type: message` of `error`, on one line (its message's first)."""
    text = traceback.format_exception_only(error)[-1].strip()
    return text.splitlines()[0] if text else type(error).__name__
