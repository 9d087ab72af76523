"""A consortium in one process (orderer and member nodes, each member's public port) for
the gateway-level tests of what the campaign found: the same ``Node`` and worker port
code as ``riskshare gateway serve``, real mutual TLS on loopback, no subprocesses."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway import load_config, load_member_credentials
from gateway._errors import GatewayError
from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._node import Node
from gateway._worker import PublicPort, start_public_port
from tests.reliability._cluster import PARAMS

__all__ = ["Net", "in_process_net", "wait"]

LIST = "transaction_fraud"
LISTS: dict[str, list[tuple[str, str, str, int]]] = {
    "bank-a": [(LIST, "phone", "13800138000", 1), (LIST, "phone", "13900139000", 2)],
    "bank-b": [(LIST, "phone", "13800138000", 3), (LIST, "phone", "13700137000", 1)],
    "bank-c": [(LIST, "phone", "13600136000", 1)],
}


def wait(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met in {timeout} s")
        time.sleep(0.05)


@dataclass
class Net:
    consortium: LocalConsortium
    nodes: dict[str, Node]
    ports: dict[str, PublicPort]

    def receipts(self, party: str) -> dict[str, Any]:
        return dict(self.nodes[party].store.state().scan("credits.receipts"))

    def quiet(self) -> None:
        """Every answer recorded, every replica on the orderer's head."""

        def done() -> bool:
            busy = any(
                n.local.counts().get(state, 0)
                for n in self.nodes.values()
                for state in ("pending", "submitted")
            )
            return not busy and len({n.store.height for n in self.nodes.values()}) == 1

        wait(done, what="quiet network")

    def answered(self, member_id: str) -> list[tuple[str, str]]:
        """(receipt id, state) of every answer the member stored."""
        path = self.consortium.members[member_id].data_dir / "gateway.sqlite"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT receipt_id, state FROM answered").fetchall()
        finally:
            conn.close()
        return [(str(r), str(s)) for r, s in rows]


@contextmanager
def in_process_net(
    root: Path,
    lists: Mapping[str, Sequence[tuple[str, str, str, int]]] = LISTS,
    *,
    ledger: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = PARAMS,
) -> Iterator[Net]:
    consortium = create_local_consortium(
        root,
        list(lists),
        params=params,
        overrides={"ledger": dict(ledger or {}), "dashboard": {"enabled": False}},
    )
    nodes: dict[str, Node] = {}
    ports: dict[str, PublicPort] = {}
    try:
        for member_id in ["orderer", *lists]:
            config = load_config(consortium.member(member_id).config_path)
            credentials = load_member_credentials(config.member.dir)
            nodes[member_id] = Node(config, credentials)
            nodes[member_id].start(admin=False)
            if member_id != "orderer":
                ports[member_id] = start_public_port(config, credentials, reuse_port=False)
        for member_id, rows in lists.items():
            load_list(consortium.members[member_id], list(rows))
            # The node's own loop publishes every 2 s too; whichever is first, the
            # other finds the epoch on the ledger (or its key taken) and that is fine.
            with contextlib.suppress(GatewayError):
                nodes[member_id].recorder.publish()

        def published() -> bool:
            state = nodes["orderer"].store.state()
            return all(state.get("pub.index", f"{m}/{LIST}") is not None for m in lists)

        wait(published, what="every list published")
        head = nodes["orderer"].store.height
        wait(lambda: all(n.store.height >= head for n in nodes.values()), what="replicas")
        yield Net(consortium, nodes, ports)
    finally:
        for port in ports.values():
            port.stop(0)
        for node in nodes.values():
            node.stop(0)
