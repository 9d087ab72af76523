"""A delaying TCP relay: the wide-area link between network namespaces.

The kernel on these machines has no ``netem`` qdisc, so latency is added in user space.
One relay runs inside each party's network namespace, in front of every service that
party offers to the others: it listens on the namespace's own address (the address
other parties dial, the one in the certificates and on the ledger) and forwards each
connection to the real service on the namespace's loopback, holding every chunk of
bytes for ``delay`` seconds in each direction. A request and its answer therefore
cross one round trip of ``2 × delay`` between any two parties, as on a WAN link, and
the bytes themselves cross a real veth and bridge, so setting a link down is a real
partition.

Rules the relay keeps:

- Order and content are untouched: each direction is a FIFO of (due time, bytes); a
  chunk leaves no earlier than ``delay`` after it arrived and never before the chunks
  ahead of it. End-of-stream travels the same way (a half-close is forwarded, delayed).
- Bandwidth is not limited, but at most ``BUFFER_BYTES`` wait per direction: beyond
  that the relay stops reading, so TCP flow control pushes back on the sender.
- TCP_NODELAY on both legs: Nagle's algorithm would add its own delay to small writes.
- One connection's failure (reset, unreachable service) closes that connection only.
- What it does not model: the TCP handshake itself is local to the relay, so a fresh
  connection costs one round trip less than on a real link (gRPC keeps its
  connections, so queries do not see the difference); no loss, no jitter beyond the
  scheduler's.

Run inside a namespace: ``python -m tests.wan._relay --delay-ms 15 --map
10.200.0.11:7400=127.0.0.1:17400 [--map ...] [--echo-port 17499]``. It prints
``ready`` once every listener is bound and runs until killed. ``--echo-port`` adds an
echo service on the loopback (map it like any other): ``tests.wan._ping`` measures one
bare round trip through the relay with it, the reference for a query's latency. With
``--delay-file``, the number of milliseconds written to that file replaces the delay
within 0.1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BUFFER_BYTES", "Delay", "Mapping", "main", "parse_mapping", "serve"]

BUFFER_BYTES = 4 * 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Mapping:
    listen_host: str
    listen_port: int
    target_host: str
    target_port: int


def parse_mapping(text: str) -> Mapping:
    """``host:port=host:port`` (listen = target)."""
    listen, sep, target = text.partition("=")
    if not sep:
        raise ValueError(f"{text!r}: expected LISTEN=TARGET")
    lh, _, lp = listen.rpartition(":")
    th, _, tp = target.rpartition(":")
    return Mapping(lh, int(lp), th, int(tp))


class Delay:
    """The one-way delay in seconds, changed at run time through a file if one is given.

    The campaign sets every link to no delay for a moment, in the same run and on the
    same processes, to measure what a query costs apart from the network.
    """

    def __init__(self, seconds: float, control: Path | None = None) -> None:
        self.seconds = seconds
        self._base = seconds
        self._control = control

    async def follow(self) -> None:
        if self._control is None:
            return
        while True:
            with contextlib.suppress(OSError, ValueError):
                text = self._control.read_text().strip()
                # An empty file: back to the delay the relay was started with.
                self.seconds = float(text) / 1000 if text else self._base
            await asyncio.sleep(0.1)


class _Direction:
    """One direction of one connection: read, hold ``delay``, write, in order."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: Delay
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._delay = delay
        self._queue: deque[tuple[float, bytes]] = deque()
        self._queued = 0
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    async def run(self) -> None:
        await asyncio.gather(self._feed(), self._drain())

    async def _feed(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._room.wait()
            try:
                data = await self._reader.read(_CHUNK)
            except (ConnectionError, OSError):
                data = b""
            self._queue.append((loop.time() + self._delay.seconds, data))
            self._queued += len(data)
            if self._queued >= BUFFER_BYTES:
                self._room.clear()
            self._arrived.set()
            if not data:
                return

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
            due, data = self._queue.popleft()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                with contextlib.suppress(OSError, RuntimeError):
                    if self._writer.can_write_eof():
                        self._writer.write_eof()
                return
            self._writer.write(data)
            await self._writer.drain()
            self._queued -= len(data)
            if self._queued < BUFFER_BYTES:
                self._room.set()


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _connection(
    mapping: Mapping,
    delay: Delay,
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
) -> None:
    _nodelay(client_writer)
    try:
        server_reader, server_writer = await asyncio.open_connection(
            mapping.target_host, mapping.target_port
        )
    except OSError:
        client_writer.close()
        return
    _nodelay(server_writer)
    try:
        await asyncio.gather(
            _Direction(client_reader, server_writer, delay).run(),
            _Direction(server_reader, client_writer, delay).run(),
        )
    except (ConnectionError, OSError):
        pass
    finally:
        for writer in (client_writer, server_writer):
            with contextlib.suppress(OSError, RuntimeError):
                writer.close()


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    _nodelay(writer)
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    writer.close()


async def serve(mappings: list[Mapping], delay: Delay, echo_port: int = 0) -> None:
    """Listen on every mapping; forward each connection with ``delay`` each way.

    With ``echo_port``, also an echo service on 127.0.0.1 at that port: mapped behind
    the relay, it is the reference a query's latency is compared with (one bare round
    trip through the same relay, under the same load).
    """
    servers = []
    if echo_port:
        servers.append(await asyncio.start_server(_echo, "127.0.0.1", echo_port))
    for mapping in mappings:

        async def handle(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, m: Mapping = mapping
        ) -> None:
            await _connection(m, delay, reader, writer)

        servers.append(
            await asyncio.start_server(
                handle, mapping.listen_host, mapping.listen_port, reuse_address=True
            )
        )
    print("ready", flush=True)
    await asyncio.gather(delay.follow(), *(server.serve_forever() for server in servers))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relay", description=__doc__.split("\n")[0])
    parser.add_argument("--delay-ms", type=float, required=True, help="one-way delay")
    parser.add_argument("--map", action="append", required=True, help="LISTEN=TARGET")
    parser.add_argument("--echo-port", type=int, default=0, help="an echo service here")
    parser.add_argument("--delay-file", type=Path, help="a file whose number (ms) replaces it")
    args = parser.parse_args(argv)
    mappings = [parse_mapping(text) for text in args.map]
    delay = Delay(args.delay_ms / 1000, args.delay_file)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(mappings, delay, args.echo_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
