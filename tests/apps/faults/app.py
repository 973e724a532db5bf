"""A test app with a route for every way a handler can go wrong."""

import hashlib
import sys
import time

from terrarium import App, log

app = App()

# Proves the lazy-import test is honest: decimal was not loaded at build time.
DECIMAL_PRELOADED = "decimal" in sys.modules

counter = 0


@app.get("/ok")
def ok(req, res):
    res.send_text("ok")


@app.get("/counter")
def count(req, res):
    global counter
    counter += 1
    res.send_text(str(counter))


@app.get("/raise")
def fail(req, res):
    raise RuntimeError("secret detail that must stay in the log")


@app.get("/loop")
def spin(req, res):
    while True:
        pass


@app.get("/alloc")
def hog(req, res):
    hoard = []
    while True:
        hoard.append(bytearray(1 << 20))


@app.get("/recurse")
def recurse(req, res):
    def down(n):
        return down(n + 1) + 1

    down(0)


@app.get("/deep-stack")
def deep_stack(req, res):
    sys.setrecursionlimit(10**7)

    def down(n):
        return down(n + 1) + 1

    down(0)


@app.get("/exit")
def leave(req, res):
    sys.exit(3)


@app.get("/decimal")
def lazy_import(req, res):
    import decimal

    total = decimal.Decimal("1.1") + decimal.Decimal("2.2")
    res.send_json({"sum": str(total), "preloaded": DECIMAL_PRELOADED})


@app.get("/sleep/:ms")
def nap(req, res):
    time.sleep(int(req.params["ms"]) / 1000)
    res.send_text("slept")


@app.get("/log")
def talk(req, res):
    print("printed to stdout")
    print("printed to stderr", file=sys.stderr)
    log.info("through the log import")
    res.send_text("logged")


@app.post("/echo")
def echo(req, res):
    res.send_json(
        {
            "method": req.method,
            "path": req.path,
            "script_name": req.script_name,
            "query": req.query.getall("q"),
            "header": req.headers.get("x-test"),
            "length": len(req.body),
            "remote": req.remote_addr.split(":")[0],
            "host": req.host,
        }
    )


@app.get("/pbkdf2/:iterations")
def pbkdf2(req, res):
    started = time.perf_counter()
    key = hashlib.pbkdf2_hmac("sha256", b"password", b"salt", int(req.params["iterations"]))
    res.send_json({"key": key.hex(), "seconds": time.perf_counter() - started})


@app.get("/scrypt/:log_n")
def scrypt(req, res):
    try:
        key = hashlib.scrypt(b"password", salt=b"NaCl", n=2 ** int(req.params["log_n"]), r=8, p=16, maxmem=2**31 - 1)
    except ValueError as error:
        return res.send_json({"error": str(error)})
    res.send_json({"key": key.hex()})


@app.get("/tz/*")
def time_zone(req, res):
    import datetime
    import zoneinfo

    noon_utc = datetime.datetime(2026, 7, 1, 12, tzinfo=datetime.timezone.utc)
    zone = zoneinfo.ZoneInfo(req.params["*"])
    res.send_json({"local": noon_utc.astimezone(zone).isoformat(), "zones": len(zoneinfo.available_timezones())})


@app.get("/asyncio")
def run_asyncio(req, res):
    """Three sleeps at once, a timer, a queue, `to_thread`: asyncio.run in the sandbox."""
    import asyncio

    async def main():
        loop = asyncio.get_running_loop()
        started = loop.time()
        results = await asyncio.gather(*(asyncio.sleep(0.1, result=i) for i in range(3)))
        queue = asyncio.Queue()
        loop.call_later(0.01, queue.put_nowait, "timer")
        results.append(await queue.get())
        # Blocking work handed to a thread runs inline: the sandbox has none.
        results.append(await asyncio.to_thread(str.upper, "inline"))
        return results, loop.time() - started

    results, took = asyncio.run(main())
    res.send_json({"results": results, "seconds": took})


kept = []


@app.get("/grow")
def grow(req, res):
    """Keeps 4 MiB more at every call, as a leaking app does."""
    kept.append(bytearray(4 << 20))
    res.send_text(str(len(kept)))


@app.get("/bad-status")
def bad_status(req, res):
    res.status = 999
    res.send_text("nope")
