#!/usr/bin/env python3
"""Time to the first body byte of a streamed response, against a running server.

    first_byte.py URL [COUNT]

GETs URL COUNT times (default 50) over one keep-alive connection, each time
timing from sending the request to receiving the first byte of the body,
then reads the rest. Prints "p50_ms p99_ms". Only the standard library.
"""

import http.client
import sys
import time
from urllib.parse import urlsplit


def main():
    url = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    target = urlsplit(url)
    path = target.path + (f"?{target.query}" if target.query else "")
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        if response.status != 200:
            sys.exit(f"{url} answered {response.status}")
        if not response.read1(1):
            sys.exit(f"{url} answered with an empty body")
        times.append((time.perf_counter() - started) * 1000)
        response.read()
    times.sort()
    p99 = times[min(len(times) - 1, round(len(times) * 0.99))]
    print(f"{times[len(times) // 2]:.2f} {p99:.2f}")


if __name__ == "__main__":
    main()
