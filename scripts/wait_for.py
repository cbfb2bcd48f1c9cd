"""`python -m scripts.wait_for URL... -- command`: wait until each URL's host:port accepts
connections, then become `command` (so a process starts only once what it needs is up)."""

from __future__ import annotations

import os
import socket
import sys
import time
from urllib.parse import urlsplit

DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "http": 80, "https": 443}


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("usage: python -m scripts.wait_for URL... -- command [args]")
    split = argv.index("--")
    urls, command = argv[:split], argv[split + 1 :]
    deadline = time.monotonic() + 60
    for url in urls:
        while not reachable(url):
            if time.monotonic() > deadline:
                # Host and port only: the URL may hold a password.
                parts = urlsplit(url)
                sys.exit(f"gave up waiting for {parts.hostname}:{parts.port or ''}")
            time.sleep(0.2)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
