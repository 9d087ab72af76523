"""Running a local consortium's gateways as separate processes (demo, e2e tests, bench).

Each gateway is ``riskshare gateway serve --config <id>.toml`` in its own process (with
its own worker processes), exactly as an operator starts it. The orderer starts first;
the members start together. Start-up is complete when each prints its ``serving``
line; stopping sends SIGTERM and waits for the graceful shutdown.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gateway._errors import GatewayError
from gateway._localnet import LocalConsortium

__all__ = ["GatewayProcess", "start_gateway", "start_gateways", "stop_gateways"]

_ENTRY = "import sys; from cli import main; sys.argv[0] = 'riskshare'; main()"


@dataclass
class GatewayProcess:
    member_id: str
    config_path: Path
    process: subprocess.Popen[str]
    info: dict[str, Any] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)

    def wait_serving(self, timeout: float) -> dict[str, Any]:
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    continue
                line = stdout.readline()
                if not line:
                    break
                self.output.append(line)
                if line.startswith("serving "):
                    self.info = json.loads(line[len("serving ") :])
                    threading.Thread(target=self._drain, daemon=True).start()
                    return self.info
        finally:
            selector.close()
        self.process.kill()
        raise GatewayError(
            f"gateway {self.member_id} did not start (exit {self.process.poll()}): "
            + "".join(self.output[-5:])
        )

    def _drain(self) -> None:
        stdout = self.process.stdout
        if stdout is not None:
            for line in stdout:
                self.output.append(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)


def start_gateway(
    member_id: str, config_path: Path, env: Mapping[str, str] | None = None
) -> GatewayProcess:
    environment = dict(os.environ)
    environment.setdefault("GRPC_VERBOSITY", "ERROR")
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-c", _ENTRY, "gateway", "serve", "--config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    return GatewayProcess(member_id, config_path, process)


def start_gateways(
    net: LocalConsortium,
    member_ids: Iterable[str] | None = None,
    *,
    timeout: float = 300.0,
    env: Mapping[str, str] | None = None,
) -> dict[str, GatewayProcess]:
    """Start the orderer, then every member (all at once); wait until all serve.

    ``timeout`` is a bound for a machine under load (a suite beside CPU hogs starts
    gateways slowly), not an expectation of how long a start takes.
    """
    running: dict[str, GatewayProcess] = {}
    try:
        orderer = start_gateway(net.orderer.member_id, net.orderer.config_path, env)
        running[orderer.member_id] = orderer
        orderer.wait_serving(timeout)
        ids = list(net.members) if member_ids is None else list(member_ids)
        for member_id in ids:
            running[member_id] = start_gateway(member_id, net.members[member_id].config_path, env)
        for member_id in ids:
            running[member_id].wait_serving(timeout)
    except BaseException:
        stop_gateways(running)
        raise
    return running


def stop_gateways(running: Mapping[str, GatewayProcess], timeout: float = 30.0) -> dict[str, int]:
    """SIGTERM every gateway (members first, the orderer last); their exit codes."""
    order = [m for m in running if m != "orderer"] + [m for m in running if m == "orderer"]
    for member_id in order[:-1] if "orderer" in running else order:
        running[member_id].stop()
    codes: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    for member_id in order:
        gateway = running[member_id]
        if member_id == "orderer":
            gateway.stop()
        try:
            codes[member_id] = gateway.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            gateway.process.kill()
            codes[member_id] = gateway.process.wait()
    return codes
