"""Credits across a network of gateways: an orderer and three members over real mTLS.

A random workload of broadcast queries runs through the members' gateways; each
querier reports its hits (``hit_report``) through its own gateway, members propose the
settlements (``settlement_proposal``). Then every replica holds identical balances,
each member's statement adds up to its balance, and replaying the chain reproduces it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway import load_config, load_member_credentials
from gateway._localnet import create_local_consortium, load_list
from gateway._node import Node
from gateway._worker import PublicPort, start_public_port
from ledger import verify_chain
from token_incentive import (
    balance_of,
    hit_report,
    last_settled_epoch,
    settlement_proposal,
    statement,
    supply,
)

LT = "transaction_fraud"
LISTS = {
    "bank-a": ["13800138000", "13900139000", "13700137001"],
    "bank-b": ["13800138000", "13700137000", "13600136002"],
    "bank-c": ["13600136000", "13900139000", "13800138000"],
}
CLEAN = ["13500135000", "13400134000", "13300133000", "15000150000"]
PARAMS = {
    "credits.epoch_ms": 5000,
    "credits.feedback_window_ms": 5000,
    "credits.dispute_open_ms": 0,
}


def _wait(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    root: Path = tmp_path_factory.mktemp("credits-net")
    consortium = create_local_consortium(root, list(LISTS), params=PARAMS)
    started: dict[str, Node] = {}
    ports: list[PublicPort] = []
    try:
        for member_id in ["orderer", *LISTS]:
            config = load_config(consortium.member(member_id).config_path)
            credentials = load_member_credentials(config.member.dir)
            started[member_id] = Node(config, credentials)
            started[member_id].start(admin=False)
            if member_id != "orderer":
                ports.append(start_public_port(config, credentials, reuse_port=False))
        for member_id, phones in LISTS.items():
            load_list(consortium.members[member_id], [(LT, "phone", p, 1) for p in phones])
            assert started[member_id].recorder.publish() == [LT]
        yield started
    finally:
        for port in ports:
            port.stop(0)
        for node in started.values():
            node.stop(0)


def _receipt(node: Node, rid: str) -> Any:
    return node.store.state().get("credits.receipts", rid)


def _recorded(node: Node, rid: str) -> Callable[[], bool]:
    return lambda: _receipt(node, rid) is not None


def test_random_workload_leaves_every_replica_with_the_same_balances(
    nodes: dict[str, Node],
) -> None:
    rng = random.Random(5)
    members = list(LISTS)
    universe = sorted({p for phones in LISTS.values() for p in phones} | set(CLEAN))
    last_epoch = 0
    reported = 0
    for _ in range(6):
        querier = rng.choice(members)
        values = rng.sample(universe, rng.randint(1, 5))
        result = nodes[querier].querier.query(LT, "phone", values)
        answers = [(a.receipt_id, a.hits) for a in result.answers if a.ok]
        assert {a.member_id for a in result.answers} == set(members) - {querier}
        for answer in result.answers:
            if answer.ok:  # a loaded machine may time an answer out; it is not charged
                assert answer.hits == tuple(v in LISTS[answer.member_id] for v in values)
        # The responders record their receipts; then the querier reports what hit.
        node = nodes[querier]
        for rid, _ in answers:
            _wait(_recorded(node, rid))
            last_epoch = max(last_epoch, _receipt(node, rid)["epoch"])
        body = hit_report(answers)
        if body is not None:
            outcome = nodes[querier].submitter.submit("credits.hits", body)
            assert outcome.ok, outcome.reason
            reported += 1
    assert reported
    # Members propose settlements as they fall due, until the workload's epochs are done.
    proposer = nodes["bank-b"]

    def settled() -> bool:
        state = proposer.store.state()
        if last_settled_epoch(state) >= last_epoch:
            return True
        body = settlement_proposal(state, time.time_ns() // 1_000_000)
        if body is not None:
            proposer.submitter.submit("credits.settle", body)
        return False

    _wait(settled, timeout=60.0)
    head = nodes["orderer"].store.height
    _wait(lambda: all(n.store.height >= head for n in nodes.values()))
    views = {
        name: {m: balance_of(n.store.state(), m) for m in members} for name, n in nodes.items()
    }
    reference = views["orderer"]
    assert all(view == reference for view in views.values())
    assert any(v.balance != 0 for v in reference.values())
    state = nodes["bank-a"].store.state()
    assert sum(v.balance for v in reference.values()) == supply(state)["supply"]
    for m in members:
        st = statement(state, m)
        assert st.consistent and st.closing == reference[m].balance
        assert any(line.kind == "settle" for line in st.lines)
    report = verify_chain(nodes["bank-c"].store, nodes["bank-c"].registry)
    assert report.height >= head
