"""The delaying relay on loopback: bytes arrive intact and in order, never early.

Only lower bounds on time are checked (a loaded machine only adds delay): a round trip
through the relay takes at least twice its one-way delay, also after the delay was set
to zero and back through its control file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway._localnet import free_ports

ROOT = Path(__file__).resolve().parents[2]
ONE_WAY_S = 0.25


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    listen, echo = free_ports(2)
    control = tmp_path / "delay"
    control.write_text("")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    argv = [
        sys.executable, "-m", "tests.wan._relay", "--delay-ms", str(ONE_WAY_S * 1000),
        "--map", f"127.0.0.1:{listen}=127.0.0.1:{echo}", "--echo-port", str(echo),
        "--delay-file", str(control),
    ]  # fmt: skip
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield listen, control
    finally:
        process.kill()
        process.wait(30)


def _round_trip(port: int) -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        started = time.perf_counter()
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"
        return time.perf_counter() - started


def test_a_large_stream_comes_back_intact_and_in_order(relay: tuple[int, Path]) -> None:
    port, _ = relay
    # Twice the relay's buffer each way: the relay must stop reading and resume.
    data = os.urandom(8 * 1024 * 1024)
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:

        def send() -> None:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send)
        sender.start()
        while chunk := sock.recv(65536):
            received += chunk
        sender.join(60)
    assert bytes(received) == data


def test_a_round_trip_takes_at_least_twice_the_delay_also_after_a_change(
    relay: tuple[int, Path],
) -> None:
    port, control = relay
    assert _round_trip(port) >= 2 * ONE_WAY_S
    control.write_text("0")
    time.sleep(0.3)  # the relay reads the file every 0.1 s; nothing is asserted on speed
    _round_trip(port)
    control.write_text("")  # back to the delay it was started with
    time.sleep(0.3)
    assert _round_trip(port) >= 2 * ONE_WAY_S
    control.write_text(str(2 * ONE_WAY_S * 1000))
    time.sleep(0.3)
    assert _round_trip(port) >= 4 * ONE_WAY_S
