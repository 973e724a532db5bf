"""`req.session`: the session the host keeps for this mount, as a dict.

The host loads it before the request (from memory, files or Redis) and
stores it after, only when it changed. Values must be JSON-serializable.

    req.session["user"] = "ada"      # stored when the response is sent
    req.session.regenerate()         # new id, same data: call on login
    req.session.clear()              # empty it, keep the id
    req.session.destroy()            # logout: delete it and its cookie

WSGI apps find it as `environ["terrarium.session"]`.
"""

import json

UNCHANGED, SAVE, REGENERATE, DESTROY = "unchanged", "save", "regenerate", "destroy"


def _dump(data):
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Session(dict):
    """A dict that remembers what it held when the request began."""

    def __init__(self, data=None):
        super().__init__(data or {})
        self._original = _dump(self)
        self._regenerate = False
        self._destroyed = False

    @classmethod
    def from_json(cls, text):
        data = json.loads(text) if text else {}
        if not isinstance(data, dict):
            data = {}
        return cls(data)

    def regenerate(self):
        """Moves the data to a fresh session id (prevents session fixation on login)."""
        self._regenerate = True
        self._destroyed = False

    def destroy(self):
        """Ends the session: the host deletes it and tells the browser to drop the cookie."""
        super().clear()
        self._destroyed = True

    @property
    def modified(self):
        return _dump(self) != self._original

    def change(self):
        """What the host must do: (kind, JSON text or None)."""
        if self._destroyed:
            return DESTROY, None
        current = _dump(self)
        if self._regenerate:
            return REGENERATE, current
        if current != self._original:
            return SAVE, current
        return UNCHANGED, None

    def __repr__(self):
        return f"Session({dict.__repr__(self)})"
