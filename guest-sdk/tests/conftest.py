"""SDK tests run in plain CPython: no wasm, no sockets. `terrarium` is imported from ../."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
