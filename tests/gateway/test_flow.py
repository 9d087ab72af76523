"""The query flow in one process: orderer, three members, real mTLS on loopback.

Lists go in through the adapters' import, commitments onto the ledger through the
recorder, queries through the querier; answers are checked against the lists, receipts
against every replica. The same flow across separate processes is tests/e2e.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway import load_config, load_member_credentials
from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._node import Node
from gateway._worker import PublicPort, start_public_port

LISTS = {
    "bank-a": [
        ("transaction_fraud", "phone", "13800138000", 1),
        ("transaction_fraud", "phone", "13900139000", 2),
    ],
    "bank-b": [
        ("transaction_fraud", "phone", "13800138000", 3),
        ("transaction_fraud", "phone", "13700137000", 1),
        ("transaction_fraud", "cn_id", "11010519491231002X", 4),
    ],
    "bank-c": [("transaction_fraud", "phone", "13600136000", 1)],
}


@dataclass
class Net:
    consortium: LocalConsortium
    nodes: dict[str, Node]
    ports: dict[str, PublicPort]


def _wait(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    root: Path = tmp_path_factory.mktemp("flow")
    consortium = create_local_consortium(root, list(LISTS))
    nodes: dict[str, Node] = {}
    ports: dict[str, PublicPort] = {}
    try:
        for member_id in ["orderer", *LISTS]:
            config = load_config(consortium.member(member_id).config_path)
            credentials = load_member_credentials(config.member.dir)
            nodes[member_id] = Node(config, credentials)
            nodes[member_id].start(admin=False)
            if member_id != "orderer":
                ports[member_id] = start_public_port(config, credentials, reuse_port=False)
        for member_id, rows in LISTS.items():
            load_list(consortium.members[member_id], rows)
            assert nodes[member_id].recorder.publish() == ["transaction_fraud"]
        heights = {m: n.store.height for m, n in nodes.items()}
        _wait(lambda: all(n.store.height == heights["orderer"] for n in nodes.values()))
        yield Net(consortium, nodes, ports)
    finally:
        for port in ports.values():
            port.stop(0)
        for node in nodes.values():
            node.stop(0)


def test_answers_match_the_lists_and_receipts_reach_every_replica(net: Net) -> None:
    querier = net.nodes["bank-c"].querier
    values = ["138 0013 8000", "+86 137-0013-7000", "13500135000", "not a phone"]
    result = querier.query("transaction_fraud", "phone", values)
    assert result.accepted == (0, 1, 2)
    assert result.rejected == ((3, "phone_format"),)
    by_member = {a.member_id: a for a in result.answers}
    assert set(by_member) == {"bank-a", "bank-b"}  # bank-c does not ask itself
    assert by_member["bank-a"].hits == (True, False, False)
    assert by_member["bank-b"].hits == (True, True, False)
    assert by_member["bank-b"].labels[0] is not None and by_member["bank-b"].labels[0].reason == 3
    receipts = {a.receipt_id for a in result.answers}
    # The responders record the receipts; every replica ends with the same chain.
    for responder in ("bank-a", "bank-b"):
        _wait(lambda r=responder: net.nodes[r].local.counts().get("committed", 0) >= 1)
    head = net.nodes["orderer"].store.height
    _wait(lambda: all(n.store.height >= head for n in net.nodes.values()))
    hashes = {n.store.block_info(head).hash for n in net.nodes.values()}  # type: ignore[union-attr]
    assert len(hashes) == 1
    for node in net.nodes.values():
        for receipt_id in receipts:
            row = node.store.state().get("credits.receipts", receipt_id)
            assert isinstance(row, dict) and row["querier"] == "bank-c"


def test_one_member_only_and_other_id_types(net: Net) -> None:
    querier = net.nodes["bank-a"].querier
    result = querier.query(
        "transaction_fraud",
        "cn_id",
        ["110105194912310021", "11010519491231002x"],
        members=["bank-b"],
    )
    assert [a.member_id for a in result.answers] == ["bank-b"]
    # The first has a wrong check digit and is rejected; the second is listed.
    assert result.rejected == ((0, "cn_id_check"),)
    assert result.answers[0].hits == (True,)
