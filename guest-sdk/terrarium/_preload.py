"""What a shared interpreter imports before its snapshot: the packages of
the requirements it was built with, and every submodule under them that
imports cleanly.

An app on a shared interpreter imports its own modules in every new
instance; whatever of its requirements is already imported in the layer
costs it nothing. Importing only a package's top level leaves most of a
framework to each instance (the Django example's import took 609 ms in
every instance; with Django's settings-free modules, the ORM, forms,
templates and views, already imported, 106 ms), so the whole tree is
walked. A submodule that fails to import (it needs settings,
an optional dependency or a native library) is forgotten, and the app that
imports it sees why. Test suites and `__main__` modules (which run a
program when imported) are skipped.
"""

import importlib
import pkgutil
import sys
import warnings

# Last parts of a submodule's name that keep it (and what is under it) out.
_SKIPPED = frozenset({"__main__", "tests", "test", "testing", "conftest"})


def preload(names, forget):
    """Imports each package of `names` and the submodules under it (sorted,
    so every build of a layer imports the same); `forget(names)` takes the
    modules a failed import left behind out of `sys.modules`."""
    with warnings.catch_warnings():
        # Deprecated modules warn when imported: not the build's business.
        warnings.simplefilter("ignore")
        for name in names:
            _import_tree(name, forget)


def _import_tree(name, forget):
    module = _try_import(name, forget)
    path = getattr(module, "__path__", None)
    if path is None:
        return
    for info in sorted(pkgutil.iter_modules(path, name + "."), key=lambda info: info.name):
        if info.name.rpartition(".")[2] in _SKIPPED:
            continue
        if info.ispkg:
            _import_tree(info.name, forget)
        else:
            _try_import(info.name, forget)


def _try_import(name, forget):
    """The module `name`, imported; None (and nothing of it kept) when its
    import fails."""
    before = set(sys.modules)
    try:
        return importlib.import_module(name)
    except (Exception, SystemExit):
        forget(set(sys.modules) - before)
        return None
