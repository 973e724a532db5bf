"""Times HTTPS requests to one URL, the same code natively and in the sandbox:
`new` makes a connection (TCP and a TLS handshake) per request, `reused`
sends them all over one kept-alive connection. Milliseconds per request."""

import http.client
import ssl
import time
import urllib.parse
import urllib.request


def measure(url, count, cafile=None):
    context = ssl.create_default_context(cafile=cafile)
    started = time.perf_counter()
    for _ in range(count):
        with urllib.request.urlopen(url, context=context) as reply:
            reply.read()
    new = (time.perf_counter() - started) / count * 1000
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPSConnection(parts.hostname, parts.port, context=context)
    started = time.perf_counter()
    for _ in range(count):
        connection.request("GET", parts.path or "/")
        connection.getresponse().read()
    reused = (time.perf_counter() - started) / count * 1000
    connection.close()
    return {"new_ms": round(new, 3), "reused_ms": round(reused, 3)}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), sys.argv[3])))
