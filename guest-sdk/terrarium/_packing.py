"""The contract's packed byte strings (see terrarium.wit, `interface http`),
and how bytes cross to the host (`interface bytes`).

A request's head arrives as one byte string: ten ASCII text fields, each
followed by LF, then the headers, each as `name NUL value LF`. A response's
headers leave the same way. One value crossing the boundary instead of
dozens saves the guest a round of interpreter-lock bookkeeping per value.
Header values are latin-1 text on this side, as in WSGI.

Bytes the guest sends (a response's headers and body, what it gives the
host's TLS and password hashing) cross as latin-1 text, one char per byte:
componentize-py never frees a Python `bytes` it lowers into a `list<u8>`,
while a string is freed once the call is over.
"""

HEAD_FIELDS = (
    "request_id", "method", "scheme", "authority", "path", "query",
    "remote_addr", "script_name", "path_info", "http_version",
)


def unpack_head(head):
    """Splits a packed request head into its ten text fields (a list) and
    its header lines ("name\\0value" strings, split later by `header_pairs`)."""
    lines = head.decode("latin-1").split("\n")
    if len(lines) <= len(HEAD_FIELDS) or lines[-1]:
        raise ValueError("the request head is not ten fields and LF-ended headers")
    del lines[-1]
    return lines[:len(HEAD_FIELDS)], lines[len(HEAD_FIELDS):]


def pack_head(fields, headers):
    """Packs the ten text `fields` (in `HEAD_FIELDS` order) and (name, value)
    headers into a request head, the way the host does; for requests the
    guest makes up itself (warm-up at build time) and for tests."""
    if len(fields) != len(HEAD_FIELDS):
        raise ValueError(f"a request head has {len(HEAD_FIELDS)} fields, not {len(fields)}")
    if any("\n" in field or "\0" in field for field in fields):
        raise ValueError("a request head field contains a line feed or NUL")
    return ("".join([field + "\n" for field in fields]) + pack_headers(headers)).encode("latin-1")


def header_pairs(lines):
    """(name, value) pairs from header lines as `unpack_head` returns them."""
    return [tuple(line.split("\0", 1)) for line in lines]


def pack_headers(pairs):
    """Packs (name, value) str pairs as `name NUL value LF` each, as latin-1
    text (how the contract carries them to the host, see `for_host`).

    Raises ValueError when a name or value holds a line feed or NUL (which
    would smuggle in a header of its own) or is not latin-1.
    """
    packed = "".join([f"{name}\0{value}\n" for name, value in pairs])
    if packed.count("\n") != len(pairs) or packed.count("\0") != len(pairs):
        bad = next(pair for pair in pairs if any(c in f"{pair[0]}{pair[1]}" for c in "\n\0"))
        raise ValueError(f"header {bad[0]!r} contains a line feed or NUL")
    if not packed.isascii():
        packed.encode("latin-1")  # raises UnicodeEncodeError for a char above U+00FF
    return packed


def for_host(data):
    """Bytes-like `data` as the contract carries it to the host: latin-1
    text, one char per byte (terrarium.wit, `interface bytes`)."""
    return str(data, "latin-1")
