"""An app that fails while it is imported: the build must say so."""

from terrarium import App

app = App()

ratio = 1 / 0  # ZeroDivisionError at import time
