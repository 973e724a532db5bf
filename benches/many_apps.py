"""GET `/a{i}/` of every app of a many-apps site once, on one keep-alive
connection, and print the p50 and p99 of those first requests in ms.

    python3 benches/many_apps.py PORT COUNT
"""

import http.client
import sys
import time


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    connection = http.client.HTTPConnection("127.0.0.1", port)
    took = []
    for index in range(count):
        started = time.perf_counter()
        connection.request("GET", f"/a{index}/")
        response = connection.getresponse()
        response.read()
        took.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            sys.exit(f"/a{index}/ answered {response.status}")
    took.sort()
    p50 = took[len(took) // 2]
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
    print(f"{p50:.2f} {p99:.2f}")


main()
