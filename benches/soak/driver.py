"""The hostile half of benches/soak.sh: guest faults, toggles, reloads,
slow and idle clients against one site, for a bounded time, while wrk
drives normal traffic at the untouched mounts. Standard library only.

    python3 driver.py SECONDS SITE_URL ADMIN_URL

Prints one JSON object: what each part did, and every failure an
untouched mount gave (which must be none).
"""

import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse

seconds, site_url, admin_url = float(sys.argv[1]), sys.argv[2], sys.argv[3]
site = urllib.parse.urlsplit(site_url)
admin = urllib.parse.urlsplit(admin_url)
deadline = time.monotonic() + seconds
lock = threading.Lock()
report = {
    "faults": {},
    "toggles": 0,
    "reloads": {"ok": 0, "failed": 0},
    "stalled_bodies": 0,
    "idle_sockets": 0,
    "untouched_checks": 0,
    "untouched_failures": [],
}


def count(key, sub=None):
    with lock:
        if sub is None:
            report[key] += 1
        else:
            report[key][sub] = report[key].get(sub, 0) + 1


def request(where, method, path, timeout=30):
    """Status of one request on a fresh connection, or the error's name."""
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=timeout)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        response.read()
        return response.status
    except Exception as error:  # noqa: BLE001: every failure is a finding here
        return type(error).__name__
    finally:
        connection.close()


def until_deadline(step, pause):
    def run():
        while time.monotonic() < deadline:
            step()
            time.sleep(pause)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def faults():
    for path in ("/faults/raise", "/faults/alloc", "/faults/recurse", "/faults/loop", "/faults/exit"):
        count("faults", f"{path} {request(site, 'GET', path)}")


def toggle():
    for action in ("disable", "enable"):
        request(admin, "POST", f"/mounts/toggled/{action}")
        time.sleep(0.25)
    count("toggles")


def reload():
    status = request(admin, "POST", "/mounts/faults/reload", timeout=120)
    with lock:
        report["reloads"]["ok" if status == 200 else "failed"] += 1


def stalled_body():
    """A body that stops after its first bytes; the server cuts it."""
    try:
        with socket.create_connection((site.hostname, site.port), timeout=60) as stream:
            stream.sendall(b"POST /faults/echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 1000000\r\n\r\nxx")
            count("stalled_bodies")
            stream.recv(4096)
    except OSError:
        pass


def idle_sockets():
    """100 sockets that never send a head, held for 10 s, then replaced."""
    held = []
    for _ in range(100):
        try:
            held.append(socket.create_connection((site.hostname, site.port), timeout=5))
        except OSError:
            break
    count("idle_sockets")
    time.sleep(10)
    for stream in held:
        stream.close()


def untouched():
    """The static mount, beside wrk's app mount: every answer must be 200."""
    status = request(site, "GET", "/static/robots.txt", timeout=10)
    with lock:
        report["untouched_checks"] += 1
        if status != 200 and len(report["untouched_failures"]) < 20:
            report["untouched_failures"].append(f"/static/robots.txt: {status}")


threads = [
    until_deadline(faults, 0.05),
    until_deadline(toggle, 0.5),
    until_deadline(reload, 15),
    until_deadline(idle_sockets, 0),
    until_deadline(untouched, 0.02),
] + [until_deadline(stalled_body, 0) for _ in range(8)]
for thread in threads:
    thread.join(timeout=max(0, deadline - time.monotonic()) + 130)
print(json.dumps(report))
