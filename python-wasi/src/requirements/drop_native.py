"""Removes the native extension modules pip installed (none can load in
wasm) and finds the packages that cannot work without theirs.

A native module is not missed when a Python module of the same name is
there too (Cython's and mypyc's compiled copies), or when every import of
it is guarded (`try: from ._speedups import f` / `except ImportError:` a
Python version, or inside an `if`), or happens only in modules that are
themselves imported guarded (PyYAML's `yaml.cyaml`). Imports inside
functions are not looked at: they run only when called. A package whose
native module is missed has no pure-Python fallback. Prints one JSON object
(names normalized as pip does):

    {"dropped": {"markupsafe": ["markupsafe._speedups"]},
     "without_fallback": {"pydantic-core": "pydantic_core imports pydantic_core._pydantic_core"}}

    python drop_native.py TARGET_FOLDER
"""

import ast
import json
import os
import re
import sys
from collections import defaultdict

NATIVE_SUFFIXES = (".so", ".pyd")
GUARDS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def normalized(name):
    """A distribution's name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def module_name(target, path):
    """`pkg.sub.mod` for `target/pkg/sub/mod.py` (or `mod.cpython-314-x86_64-linux-gnu.so`)."""
    relative = os.path.relpath(path, target)
    parts = relative.split(os.sep)
    parts[-1] = parts[-1].split(".")[0]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_wasm(path):
    with open(path, "rb") as file:
        return file.read(4) == b"\0asm"


def owners(target):
    """Which distribution installed each file (from the RECORD files)."""
    owner = {}
    for entry in os.listdir(target):
        if not entry.endswith(".dist-info"):
            continue
        name = entry[: -len(".dist-info")].rsplit("-", 1)[0]
        metadata = os.path.join(target, entry, "METADATA")
        if os.path.exists(metadata):
            with open(metadata, encoding="utf-8", errors="replace") as file:
                for line in file:
                    if line.startswith("Name:"):
                        name = line.split(":", 1)[1].strip()
                        break
        record = os.path.join(target, entry, "RECORD")
        if os.path.exists(record):
            with open(record, encoding="utf-8") as file:
                for line in file:
                    path = line.rsplit(",", 2)[0]
                    owner[os.path.normpath(os.path.join(target, path))] = normalized(name)
    return owner


def guarded(handlers):
    for handler in handlers:
        if handler.type is None:
            return True
        names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(n, ast.Name) and n.id in GUARDS for n in names):
            return True
    return False


def imports_of(module, source, is_package):
    """(imported module, guarded) for each import that runs at import time."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    package = module if is_package else module.rpartition(".")[0]

    def absolute(level, name):
        if not level:
            return name
        base = package.split(".")
        if level > 1:
            base = base[: len(base) - (level - 1)]
        return ".".join([*base, name] if name else base)

    def visit(statements, is_guarded):
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(node, ast.Import):
                found.extend((alias.name, is_guarded) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = absolute(node.level, node.module or "")
                found.append((base, is_guarded))
                found.extend((f"{base}.{alias.name}", is_guarded) for alias in node.names)
            elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
                visit(node.body, is_guarded or guarded(node.handlers))
                for handler in node.handlers:
                    visit(handler.body, is_guarded)
                visit(node.orelse, is_guarded)
                visit(node.finalbody, is_guarded)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, is_guarded)
            elif isinstance(node, ast.If):
                visit(node.body, True)
                visit(node.orelse, True)
            else:
                for field in ("body", "orelse"):
                    block = getattr(node, field, None)
                    if isinstance(block, list):
                        visit(block, is_guarded)

    visit(tree.body, False)
    return found


def main():
    target = sys.argv[1]
    owner = owners(target)
    native = {}
    python = {}
    for folder, _, files in os.walk(target):
        if folder.endswith(".dist-info"):
            continue
        for file in files:
            path = os.path.normpath(os.path.join(folder, file))
            if file.endswith(NATIVE_SUFFIXES) and not is_wasm(path):
                native[module_name(target, path)] = path
            elif file.endswith(".py"):
                python[module_name(target, path)] = path

    imports = {}
    for module, path in python.items():
        with open(path, "rb") as file:
            imports[module] = imports_of(module, file.read(), path.endswith("__init__.py"))

    importers = defaultdict(list)
    for module, found in imports.items():
        for name, is_guarded in found:
            importers[name].append((module, is_guarded))

    # The native modules nothing replaces, and the modules that fail to
    # import without them: those that import one (or such a module) unguarded.
    missing = {name for name in native if name not in python}
    broken = {}
    changed = True
    while changed:
        changed = False
        for module, found in imports.items():
            if module in broken:
                continue
            for name, is_guarded in found:
                if is_guarded:
                    continue
                if name in missing:
                    broken[module] = (name, f"{module} imports {name}")
                elif name in broken:
                    broken[module] = (broken[name][0], f"{module} imports {name}")
                else:
                    continue
                changed = True
                break

    # Blamed on the package whose native module is missed, unless the
    # broken module is only ever imported guarded.
    without_fallback = {}
    # The package's own modules first: their import is the plainest reason.
    in_order = sorted(broken.items(), key=lambda item: (item[0].split(".")[0] != item[1][0].split(".")[0], item[0]))
    for module, (native_module, reason) in in_order:
        users = importers.get(module, [])
        if users and all(is_guarded for _, is_guarded in users):
            continue
        dist = owner.get(native[native_module], normalized(native_module.split(".")[0]))
        without_fallback.setdefault(dist, reason)

    dropped = defaultdict(list)
    for module, path in sorted(native.items()):
        dropped[owner.get(path, normalized(module.split(".")[0]))].append(module)
        os.remove(path)
    print(json.dumps({"dropped": dropped, "without_fallback": without_fallback}))


if __name__ == "__main__":
    main()
