#!/usr/bin/env python3
"""Time from starting a server to its first successful response.

    first_response.py URL -- COMMAND [ARGS...]

Starts COMMAND, polls URL every millisecond until it answers 200, prints the
elapsed seconds, then stops the server (SIGTERM). Only the standard library.
"""

import http.client
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit


def main():
    url, separator, *command = sys.argv[1:]
    if separator != "--" or not command:
        sys.exit(__doc__)
    target = urlsplit(url)
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if server.poll() is not None:
                sys.exit(f"the server exited with {server.returncode} before answering")
            try:
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
                connection.request("GET", target.path or "/")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.001)
            finally:
                connection.close()
        print(f"{time.perf_counter() - started:.4f}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
