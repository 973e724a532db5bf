"""Runs pip as if it ran in the sandbox: environment markers are evaluated
for the sandbox's CPython on WASI, not for the interpreter running pip.

pip evaluates markers (`legacy-cgi; python_version >= "3.13"`) against the
interpreter it runs on, even with `--python-version`; this sets its marker
environment to the sandbox's before pip starts. (`--python-version` still
decides `Requires-Python` and wheel tags.)

    python pip_in_sandbox.py ENVIRONMENT_JSON PIP_ARGUMENTS...
"""

import json
import runpy
import sys


def main():
    environment = json.loads(sys.argv[1])
    from pip._vendor.packaging import markers

    markers.default_environment = lambda: dict(environment)
    sys.argv = ["pip", *sys.argv[2:]]
    runpy.run_module("pip", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
