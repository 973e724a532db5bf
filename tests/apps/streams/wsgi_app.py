"""A raw WSGI app whose bodies stream both ways (tests/streaming.rs).

- `/chunks?count=5&gap=0.3`: `count` lines, `gap` seconds apart, each
  saying when (time.monotonic()) it was made;
- `/sse`: Server-Sent Events, one every 0.1 s, without end;
- `/bytes?mib=N`: N MiB of every byte value in turn (0 to 255), in 1 MiB parts;
- `/upload`: the request body, read in 1 MiB parts and written to
  /data/upload (when the mount has a data folder), as "SIZE SHA256";
- `/status?code=N`: status N, with a body of two parts all the same;
- `/length?declared=N&sent=M&gap=S`: says `Content-Length: N`, sends M
  bytes in two parts, S seconds apart;
- `/closed`: how many event streams (`/sse`) this instance has closed;
- `/hello`: a whole answer.
"""

import contextlib
import hashlib
import os
import time
from urllib.parse import parse_qs

MIB = 1 << 20


def _query(environ):
    return {key: values[0] for key, values in parse_qs(environ["QUERY_STRING"]).items()}


def _chunks(count, gap):
    for number in range(count):
        if number:
            time.sleep(gap)
        yield f"chunk {number} at {time.monotonic():.3f}\n".encode()


def _chunks_of(parts, gap):
    for number, part in enumerate(parts):
        if number:
            time.sleep(gap)
        yield part


# How many event streams were closed (their generator's close() ran).
_closed = [0]


def _ticks():
    number = 0
    try:
        while True:
            yield f"data: tick {number}\n\n".encode()
            number += 1
            time.sleep(0.1)
    finally:
        _closed[0] += 1


def _bytes(mib):
    part = bytes(range(256)) * (MIB // 256)
    for _ in range(mib):
        yield part


def _data_file(name):
    """`name` in the data folder, opened for writing; a sink without one."""
    if os.path.isdir("/data"):
        return open(os.path.join("/data", name), "wb")
    return contextlib.nullcontext(_Sink())


class _Sink:
    def write(self, data):
        return len(data)


def app(environ, start_response):
    path, query = environ["PATH_INFO"], _query(environ)
    if path == "/chunks":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _chunks(int(query.get("count", 5)), float(query.get("gap", 0.3)))
    if path == "/sse":
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        return _ticks()
    if path == "/bytes":
        mib = int(query["mib"])
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(mib * MIB))])
        return _bytes(mib)
    if path == "/upload":
        body, digest, size = environ["wsgi.input"], hashlib.sha256(), 0
        with _data_file("upload") as file:
            while part := body.read(MIB):
                digest.update(part)
                size += len(part)
                file.write(part)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{size} {digest.hexdigest()}".encode()]
    if path == "/closed":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(_closed[0]).encode()]
    if path == "/status":
        start_response(f"{query['code']} Whatever", [("Content-Type", "text/plain")])
        return (part for part in [b"a body ", b"it may not have"])
    if path == "/length":
        declared, sent, gap = int(query["declared"]), int(query["sent"]), float(query.get("gap", 0))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(declared))])
        return _chunks_of([b"x" * (sent // 2), b"y" * (sent - sent // 2)], gap)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from wsgi"]
