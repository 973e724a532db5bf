"""Whether the app is being built (imported, warmed up, then snapshotted)
or is serving.

While it is built the shims must not call the host for anything with an
answer that carries a payload (componentize-py's runtime sets up its
type tables only once the snapshot is taken) nor make host resources (a
WASI handle made then would be dead in every instance made from the
snapshot). They ask here first, and say what cannot be done yet.
"""

building = False


def begin_build():
    """The app is about to be imported: the host is not to be asked."""
    global building
    building = True


def built():
    """The app is built: from now on the shims may call the host."""
    global building
    building = False
