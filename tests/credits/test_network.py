"""Credits across a network of gateways: an orderer and three members over real mTLS.

A random workload of broadcast queries runs through the members' gateways. Nothing is
submitted by the test: each querier's gateway reports its hits by itself
(``hit_report`` over the receipts the responders recorded, ``gateway._hits``), and the
gateways propose each epoch's settlement when it falls due, in a deterministic turn
(``settlement_proposal``, ``gateway._settle``). Then every replica holds identical
balances made of grants, served rewards and hit rewards, each member's statement adds
up to its balance, and replaying the chain reproduces it.
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
from gateway._settle import proposer_rank
from gateway._worker import PublicPort, start_public_port
from ledger import Member, MemoryState, verify_chain
from token_incentive import (
    balance_of,
    default_params,
    last_settled_epoch,
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
    expected_hits: dict[str, list[int]] = {}
    for _ in range(6):
        querier = rng.choice(members)
        values = rng.sample(universe, rng.randint(1, 5))
        result = nodes[querier].querier.query(LT, "phone", values)
        answers = [(a.receipt_id, a.hits) for a in result.answers if a.ok]
        assert {a.member_id for a in result.answers} == set(members) - {querier}
        for answer in result.answers:
            if answer.ok:  # a loaded machine may time an answer out; it is not charged
                assert answer.hits == tuple(v in LISTS[answer.member_id] for v in values)
        # The responders record their receipts; the querier's gateway then reports, for
        # each identifier that hit, the receipts of every responder that said yes (k).
        node = nodes[querier]
        for rid, _ in answers:
            _wait(_recorded(node, rid))
            last_epoch = max(last_epoch, _receipt(node, rid)["epoch"])
        for position in range(len(values)):
            yes = [rid for rid, hits in answers if hits[position]]
            for rid in yes:
                expected_hits.setdefault(rid, []).append(len(yes))
    assert expected_hits
    # The queriers' gateways report every hit, with its k, on their own.
    reader = nodes["orderer"]
    _wait(lambda: all(_receipt(reader, rid)["hits"] is not None for rid in expected_hits))
    for rid, ks in expected_hits.items():
        assert _receipt(reader, rid)["hits"] == ks
    # The gateways settle the workload's epochs as they fall due, each epoch once.
    _wait(lambda: last_settled_epoch(reader.store.state()) >= last_epoch, timeout=90.0)
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
    # Grants, served rewards and hit rewards made those balances; every settlement was
    # proposed once, by a member (the orderer may not), and the workload's hits were paid.
    rows: list[Any] = [row for _, row in state.scan("credits.settlements")]
    settlements: dict[int, Any] = {row["epoch"]: row for row in rows}
    assert sorted(settlements) == list(range(len(settlements)))  # epochs count from 0
    assert {row["proposer"] for row in settlements.values()} <= set(members)
    settle_txs = nodes["bank-a"].store.txs(kind="credits.settle", ok=True)
    assert len(settle_txs) == len(settlements)
    totals: dict[str, int] = dict.fromkeys(("grant", "served", "hits"), 0)
    for row in settlements.values():
        for entry in row["entries"]:
            for name in totals:
                totals[name] += entry[name]
    assert all(total > 0 for total in totals.values()), totals
    # Every member published its one list before the workload's last epoch began.
    last = {e["member"]: e for e in settlements[last_epoch]["entries"]}
    assert {m: last[m]["grant"] for m in members} == dict.fromkeys(
        members, default_params()["credits.grant"]
    )
    store = nodes["bank-a"].store
    hit_txs = [tx for m in members for tx in store.txs(member=m, kind="credits.hits")]
    assert hit_txs and all(tx.ok for tx in hit_txs)
    # Two gateways proposing one epoch (a race, or a retry after a lost answer) is
    # harmless: the second proposal is refused as not the next epoch and changes nothing.
    again = settle_txs[-1].decoded().tx.body
    before = {m: balance_of(nodes["bank-c"].store.state(), m) for m in members}
    outcome = nodes["bank-c"].submitter.submit("credits.settle", again)
    assert not outcome.ok and "next epoch to settle" in outcome.reason, outcome
    assert {m: balance_of(nodes["bank-c"].store.state(), m) for m in members} == before


def test_each_epoch_has_one_first_proposer_in_turn() -> None:
    state = MemoryState()
    ids = ["bank-a", "bank-b", "bank-c", "orderer", "reg"]
    roles = {"orderer": "orderer", "reg": "observer"}
    for member_id in ids:
        row = Member(
            id=member_id,
            name=member_id,
            role=roles.get(member_id, "member"),
            status="active",
            signing_key=bytes(32),
            tls_fingerprint=bytes(32),
            address="127.0.0.1:1",
            since=0,
        ).to_row()
        state.put("gov.members", member_id, row)
    proposers = ["bank-a", "bank-b", "bank-c", "reg"]  # the orderer may not settle
    assert proposer_rank(state, "orderer", 0) is None
    for epoch in range(12):
        ranks = {m: proposer_rank(state, m, epoch) for m in proposers}
        assert sorted(r for r in ranks.values() if r is not None) == list(range(len(proposers)))
        assert ranks[proposers[epoch % len(proposers)]] == 0
