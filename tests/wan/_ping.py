"""One bare round trip through the relays: the reference a query's latency is held to.

``python -m tests.wan._ping HOST:PORT --count N`` (run in one party's namespace, aimed
at another party's relayed echo port) opens one TCP connection, then sends 64 bytes
and waits for them to come back, ``N`` times in a row, and prints the round trips in
milliseconds as one JSON list. It measures what the network plus the relays cost on
this machine under whatever load it carries at the time, in the same run as the
queries it is compared with.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ping", description=__doc__.split("\n")[0])
    parser.add_argument("target", help="host:port of a relayed echo service")
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    payload = b"x" * 64
    rtts = []
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(args.count):
            started = time.perf_counter()
            sock.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = sock.recv(len(payload) - len(got))
                if not chunk:
                    raise ConnectionError("echo closed")
                got += chunk
            rtts.append(round((time.perf_counter() - started) * 1000, 3))
    print(json.dumps(rtts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
