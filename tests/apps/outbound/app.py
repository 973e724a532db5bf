"""A test app that calls other services: stdlib, requests and redis-py
clients, asyncio streams, and what the sandbox refuses."""

import asyncio
import socket
import time
import urllib.error
import urllib.request

import redis
import requests

from terrarium import App

app = App()


@app.get("/ok")
def ok(req, res):
    res.send_text("ok")


@app.get("/urllib")
def with_urllib(req, res):
    with urllib.request.urlopen(req.query["url"], timeout=10) as reply:
        res.send_text(reply.read().decode())


@app.get("/requests")
def with_requests(req, res):
    reply = requests.get(req.query["url"], timeout=10)
    res.send_text(f"{reply.status_code} {reply.text}")


@app.get("/redis")
def with_redis(req, res):
    client = redis.Redis(host="localhost", port=int(req.query["port"]), socket_timeout=5)
    client.set("greeting", req.query["value"])
    res.send_text(client.get("greeting").decode())


@app.get("/connect")
def connect(req, res):
    """Connects to host:port and says what happened, as the app sees it."""
    host, port = req.query["host"], int(req.query["port"])
    try:
        with socket.create_connection((host, port), timeout=5):
            res.send_text("connected")
    except OSError as error:
        res.send_text(f"{type(error).__name__}: {error.strerror or error}")


@app.get("/connect-blocking")
def connect_blocking(req, res):
    """Connects a blocking socket with no timeout of its own."""
    sock = socket.socket()
    try:
        sock.connect((req.query["host"], int(req.query["port"])))
        res.send_text("connected")
    except OSError as error:
        res.send_text(f"{type(error).__name__}: {error.strerror or error}")
    finally:
        sock.close()


@app.get("/listen")
def listen(req, res):
    try:
        socket.create_server(("127.0.0.1", 0))
        res.send_text("listening")
    except OSError as error:
        res.send_text(f"{type(error).__name__}: {error.strerror or error}")


@app.get("/udp")
def udp(req, res):
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        res.send_text("made")
    except OSError as error:
        res.send_text(f"{type(error).__name__}: {error.strerror or error}")


held = []


@app.get("/hold")
def hold(req, res):
    """Opens connections to host:port and keeps them, until one fails."""
    host, port = req.query["host"], int(req.query["port"])
    try:
        for _ in range(int(req.query["count"])):
            held.append(socket.create_connection((host, port), timeout=5))
        res.send_text(f"holding {len(held)}")
    except OSError as error:
        res.send_text(f"{len(held)} then {type(error).__name__}: {error.strerror or error}")


@app.get("/release")
def release(req, res):
    while held:
        held.pop().close()
    res.send_text("released")


@app.get("/asyncio")
def with_asyncio(req, res):
    """A request over asyncio streams, beside three sleeps that overlap."""
    host, port = req.query["host"], int(req.query["port"])

    async def fetch():
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET /async HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        reply = await reader.read()
        writer.close()
        return reply.decode().split("\r\n\r\n", 1)[1]

    async def main():
        started = time.monotonic()
        results = await asyncio.gather(fetch(), *(asyncio.sleep(0.3) for _ in range(3)))
        return results[0], time.monotonic() - started

    body, took = asyncio.run(main())
    res.send_json({"body": body, "seconds": took})


@app.get("/try")
def try_urllib(req, res):
    """Fetches url with urllib; answers the body, or the error as the app sees it."""
    try:
        with urllib.request.urlopen(req.query["url"], timeout=10) as reply:
            res.send_text("ok " + reply.read().decode())
    except urllib.error.URLError as error:
        reason = error.reason
        res.send_text(f"{type(reason).__name__}: {reason}")


@app.get("/try-requests")
def try_requests(req, res):
    try:
        reply = requests.get(req.query["url"], timeout=10)
        res.send_text(f"ok {reply.text}")
    except requests.exceptions.SSLError as error:
        res.send_text(f"SSLError: {error}")


@app.get("/tls-details")
def tls_details(req, res):
    """What the handshake agreed on and what the server's certificate says."""
    import ssl

    host, port = req.query["host"], int(req.query["port"])
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    with socket.create_connection((host, port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            certificate = tls.getpeercert()
            res.send_json({
                "version": tls.version(),
                "cipher": tls.cipher()[0],
                "alpn": tls.selected_alpn_protocol(),
                "subject": certificate["subject"],
                "san": certificate["subjectAltName"],
                "der": len(tls.getpeercert(binary_form=True)),
            })


@app.get("/httpx")
def with_httpx(req, res):
    """An HTTPS request through httpx.AsyncClient (anyio, asyncio streams, TLS over memory BIOs)."""
    import httpx

    async def main():
        async with httpx.AsyncClient(timeout=10) as client:
            reply = await client.get(req.query["url"])
            return f"{reply.status_code} {reply.http_version} {reply.text}"

    res.send_text(asyncio.run(main()))
