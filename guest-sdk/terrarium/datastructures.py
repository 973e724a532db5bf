"""Small mappings used by requests and responses."""

from urllib.parse import parse_qsl

from ._packing import header_pairs

_MISSING = object()


class Headers:
    """Case-insensitive, multi-valued HTTP headers that keep their order.

    `headers["Content-Type"]` gives the first value (KeyError when absent),
    `headers.get(name, default)` and `headers.getall(name)` never raise.
    """

    __slots__ = ("_items",)

    def __init__(self, items=()):
        self._items = [(str(k), str(v)) for k, v in items] if items else []

    @classmethod
    def _from_wire(cls, lines):
        """Headers from the host's packed header lines (see `_packing`)."""
        headers = cls.__new__(cls)
        headers._items = header_pairs(lines)
        return headers

    def __getitem__(self, name):
        value = self.get(name, _MISSING)
        if value is _MISSING:
            raise KeyError(name)
        return value

    def get(self, name, default=None):
        lowered = name.lower()
        for key, value in self._items:
            if key.lower() == lowered:
                return value
        return default

    def getall(self, name):
        lowered = name.lower()
        return [value for key, value in self._items if key.lower() == lowered]

    def __contains__(self, name):
        return self.get(name, _MISSING) is not _MISSING

    def __setitem__(self, name, value):
        """Replaces every value of `name` with one value."""
        if self._items:
            self.remove(name)
        self._items.append((str(name), str(value)))

    def add(self, name, value):
        """Adds one more value for `name` (e.g. a second Set-Cookie)."""
        self._items.append((str(name), str(value)))

    def remove(self, name):
        lowered = name.lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != lowered]

    __delitem__ = remove

    def items(self):
        return list(self._items)

    def keys(self):
        return [key for key, _ in self._items]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self._items)

    def __repr__(self):
        return f"Headers({self._items!r})"


class MultiDict:
    """Ordered (name, value) pairs: `d["a"]` is the last value of `a`, `d.getall("a")` all of them."""

    __slots__ = ("_items",)

    def __init__(self, items=()):
        self._items = list(items)

    def __getitem__(self, name):
        values = self.getall(name)
        if not values:
            raise KeyError(name)
        return values[-1]

    def get(self, name, default=None):
        values = self.getall(name)
        return values[-1] if values else default

    def getall(self, name):
        return [value for key, value in self._items if key == name]

    def __contains__(self, name):
        return any(key == name for key, _ in self._items)

    def items(self):
        return list(self._items)

    def keys(self):
        return list(dict.fromkeys(key for key, _ in self._items))

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def to_dict(self):
        """A plain dict with the last value of each key."""
        return {key: value for key, value in self._items}

    def __repr__(self):
        return f"{type(self).__name__}({self._items!r})"


class QueryParams(MultiDict):
    """A parsed query string (multi-valued, in order)."""

    __slots__ = ()

    def __init__(self, query_string=""):
        super().__init__(parse_qsl(query_string, keep_blank_values=True))
