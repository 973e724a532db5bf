import sys

import pytest

from terrarium import _preload

# A package tree: module name (under the package) -> source.
TREE = {
    "__init__.py": "",
    "views.py": "",
    "orm/__init__.py": "",
    "orm/fields.py": "import warnings\nwarnings.warn('deprecated', DeprecationWarning)\n",
    "needs_settings.py": "from . import helper\nraise RuntimeError('settings are not configured')\n",
    "helper.py": "",
    "later_helper.py": "",
    "needs_settings_too.py": "from . import zz_helper\nraise RuntimeError('settings are not configured')\n",
    "zz_helper.py": "",
    "exits.py": "import sys\nsys.exit(2)\n",
    "__main__.py": "raise AssertionError('__main__ runs a program: never preloaded')\n",
    "tests/__init__.py": "raise AssertionError('test suites are never preloaded')\n",
    "orm/testing.py": "raise AssertionError('test helpers are never preloaded')\n",
    "broken/__init__.py": "import not_installed_anywhere\n",
    "broken/inner.py": "raise AssertionError('nothing under a package that failed is tried')\n",
}


@pytest.fixture
def package(tmp_path, monkeypatch):
    for relative, source in TREE.items():
        path = tmp_path / "fw" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "fw"
    for name in [name for name in sys.modules if name == "fw" or name.startswith("fw.")]:
        del sys.modules[name]


def test_a_package_and_every_submodule_that_imports_are_preloaded(package):
    forgotten = []

    def forget(names):
        forgotten.extend(names)
        for name in names:
            del sys.modules[name]

    _preload.preload([package, "no_such_package"], forget)
    loaded = sorted(name for name in sys.modules if name == "fw" or name.startswith("fw."))
    # `helper` was preloaded (in name order) before `needs_settings`
    # imported it and failed: only what a failed import added is forgotten.
    # A failed module leaves `sys.modules` by itself; `zz_helper` comes
    # after `needs_settings_too`, which imported it before failing: it is
    # forgotten with it, then preloaded on its own.
    assert loaded == ["fw", "fw.helper", "fw.later_helper", "fw.orm", "fw.orm.fields", "fw.views", "fw.zz_helper"]
    assert forgotten == ["fw.zz_helper"]


def test_preloading_keeps_import_warnings_to_itself(package, recwarn):
    _preload.preload([package], lambda names: [sys.modules.pop(name) for name in names])
    assert "fw.orm.fields" in sys.modules
    assert not recwarn.list
