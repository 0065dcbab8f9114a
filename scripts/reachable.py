"""Exit 0 when every URL's host:port accepts a TCP connection (PostgreSQL, Redis…)."""

import socket
import sys
from urllib.parse import urlsplit

DEFAULT_PORTS = {"redis": 6379}


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 5432)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(0 if all(reachable(url) for url in sys.argv[1:]) else 1)
