"""Import folders listed once, at build time, and never again.

CPython's `FileFinder` keeps a listing of its folder and lists it again
whenever the folder's modification time differs from the one it saw. The
folders on `sys.path` are listed while the app is built; at run time the
host shows copies of them (the standard library copied out of the build,
the app's folder from the build cache), whose times differ. So the first
import in every instance would list each folder again (the standard
library's holds hundreds of names) and decode every name: milliseconds of
work and memory written in each fresh instance, for the same answer.

The folders are read-only for the app and hold at run time what they held
at build time (their copies differ only by `__pycache__`), so their
finders keep the listing taken when the snapshot is made.
"""

import sys
from importlib.machinery import FileFinder


class FixedFolderFinder(FileFinder):
    """A `FileFinder` for a folder whose contents no longer change: its
    listing is the one taken by `fix_listings`."""

    _listed = False

    def _fill_cache(self):
        if not self._listed:
            super()._fill_cache()

    def invalidate_caches(self):
        # Nothing to forget: the folder holds what it held.
        pass


def fix_listings(prefixes, unless_under=()):
    """Lists the folders under `prefixes` (but not `unless_under`) whose
    finders `sys.path_importer_cache` holds, one last time, and keeps those
    listings."""
    for path, finder in list(sys.path_importer_cache.items()):
        if type(finder) is not FileFinder or not _under(path, prefixes) or _under(path, unless_under):
            continue
        finder._fill_cache()
        finder.__class__ = FixedFolderFinder
        finder._listed = True


def _under(path, folders):
    return any(path == folder or path.startswith(folder.rstrip("/") + "/") for folder in folders)
