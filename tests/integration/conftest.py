"""One consortium for the integration tests, in this process, driven through the CLI.

An orderer, three members (``bank-a``, ``bank-b``, ``bank-c``) and an observer
(``regulator``) run as gateway nodes with their admin sockets and, for members, their
consortium ports (real mutual TLS on loopback). Lists go in through the adapters'
import; every step the tests take goes through ``riskshare`` commands (typer's runner,
in process), exactly as an operator types them, and the gateways do the rest on their
own: commit index epochs with evidence roots, record receipts, report hits, settle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli import app
from gateway import load_config, load_member_credentials
from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._node import Node
from gateway._worker import PublicPort, start_public_port

LT = "transaction_fraud"
MEMBERS = ["bank-a", "bank-b", "bank-c"]
OBSERVER = "regulator"
# bank-b also lists a canary the regulator planted: an indiscriminate lister.
CANARY = "16612345678"
LISTS = {
    "bank-a": [(LT, "phone", "13800138000", 1), (LT, "phone", "13900139000", 2)],
    "bank-b": [(LT, "phone", "13800138000", 3), (LT, "phone", CANARY, 9)],
    "bank-c": [(LT, "phone", "13600136000", 1)],
}
PARAMS = {
    # Long enough for the CLI steps of a dispute inside one feedback window.
    "credits.feedback_window_ms": 120_000,
    "credits.epoch_ms": 600_000,
}


def wait(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@dataclass
class Net:
    consortium: LocalConsortium
    nodes: dict[str, Node]

    def config(self, member_id: str) -> str:
        return str(self.consortium.member(member_id).config_path)

    def data_dir(self, member_id: str) -> Path:
        return self.consortium.member(member_id).data_dir

    def cli(self, *args: str, input: str | None = None) -> Result:
        """Run ``riskshare ARGS`` as the operator would; the result (never raises)."""
        return CliRunner().invoke(app, list(args), input=input)

    def ok(self, *args: str, input: str | None = None) -> str:
        result = self.cli(*args, input=input)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    def synced(self) -> None:
        """Every replica holds the orderer's head."""
        head = self.nodes["orderer"].store.height
        wait(lambda: all(n.store.height >= head for n in self.nodes.values()))

    def row(self, member_id: str, table: str, key: str) -> Any:
        return self.nodes[member_id].store.state().get(table, key)


@pytest.fixture(scope="package")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    root: Path = tmp_path_factory.mktemp("integration")
    consortium = create_local_consortium(
        root, [*MEMBERS, OBSERVER], params=PARAMS, roles={OBSERVER: "observer"}
    )
    nodes: dict[str, Node] = {}
    ports: list[PublicPort] = []
    try:
        for member_id in ["orderer", *MEMBERS, OBSERVER]:
            config = load_config(consortium.member(member_id).config_path)
            credentials = load_member_credentials(config.member.dir)
            nodes[member_id] = Node(config, credentials)
            nodes[member_id].start()
            if member_id in MEMBERS:
                ports.append(start_public_port(config, credentials, reuse_port=False))
        for member_id, rows in LISTS.items():
            load_list(consortium.members[member_id], rows)
            assert nodes[member_id].recorder.publish() == [LT]
        net = Net(consortium, nodes)
        net.synced()
        yield net
    finally:
        for port in ports:
            port.stop(0)
        for node in nodes.values():
            node.stop(0)
