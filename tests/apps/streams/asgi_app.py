"""A raw ASGI app whose bodies stream both ways (tests/streaming.rs).

- `/chunks?count=5&gap=0.3`: as the WSGI app's, with asyncio.sleep;
- `/sse`: Server-Sent Events, one every 0.1 s, without end;
- `/bytes?mib=N`: N MiB of every byte value in turn (0 to 255), in 1 MiB parts;
- `/upload`: the request body as "SIZE SHA256", read with receive() and
  written to /data/upload (when the mount has a data folder);
- `/loop-bound`: waits on an `asyncio.Event` made by the lifespan startup
  (it binds to the loop it is first awaited on: a request on another loop
  would fail);
- `/hello`: a whole answer, with what the lifespan startup set (`started`,
  and `stamp`: when it ran).
"""

import asyncio
import hashlib
import json
import os
import time
from urllib.parse import parse_qs

MIB = 1 << 20


# What the lifespan startup made that is bound to the event loop.
_made_at_startup = {}


async def _lifespan(scope, receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            scope["state"]["started"] = "at build"
            scope["state"]["stamp"] = time.time()
            _made_at_startup["event"] = asyncio.Event()
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _start(send, content_type, length=None):
    headers = [(b"content-type", content_type.encode())]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})


async def _part(send, body, more=True):
    await send({"type": "http.response.body", "body": body, "more_body": more})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await _lifespan(scope, receive, send)
    path = scope["path"][len(scope["root_path"]):]
    query = {key: values[0] for key, values in parse_qs(scope["query_string"].decode()).items()}
    if path == "/chunks":
        await _start(send, "text/plain")
        for number in range(int(query.get("count", 5))):
            if number:
                await asyncio.sleep(float(query.get("gap", 0.3)))
            await _part(send, f"chunk {number} at {time.monotonic():.3f}\n".encode())
        return await _part(send, b"", more=False)
    if path == "/sse":
        await _start(send, "text/event-stream")
        number = 0
        while True:
            await _part(send, f"data: tick {number}\n\n".encode())
            number += 1
            await asyncio.sleep(0.1)
    if path == "/bytes":
        mib = int(query["mib"])
        await _start(send, "application/octet-stream", mib * MIB)
        part = bytes(range(256)) * (MIB // 256)
        for number in range(mib):
            await _part(send, part, more=number + 1 < mib)
        return
    if path == "/upload":
        digest, size, more = hashlib.sha256(), 0, True
        file = open("/data/upload", "wb") if os.path.isdir("/data") else None
        while more:
            message = await receive()
            digest.update(message["body"])
            size += len(message["body"])
            if file is not None:
                file.write(message["body"])
            more = message.get("more_body", False)
        if file is not None:
            file.close()
        await _start(send, "text/plain")
        return await _part(send, f"{size} {digest.hexdigest()}".encode(), more=False)
    if path == "/loop-bound":
        event = _made_at_startup["event"]
        event.clear()
        asyncio.get_running_loop().call_later(0.01, event.set)
        await event.wait()
        await _start(send, "text/plain")
        return await _part(send, b"the startup's event fired", more=False)
    await _start(send, "application/json")
    await _part(send, json.dumps({"hello": "from asgi", "state": scope["state"]}).encode(), more=False)
