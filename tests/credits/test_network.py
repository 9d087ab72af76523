"""Credits across a network of gateways: an orderer, three members and an observer over
real mTLS, each member's statement held to an oracle that reads only the ledger.

A random workload — seeded; the seed is printed and attached to any failure, and
``CREDITS_NET_SEED=<seed>`` replays it — runs through the gateways as users would:

- broadcast and directed queries (``Querier.query``), over at least two epochs;
- one answer whose proof does not verify (a cheating responder, played with the
  responder's own keys and index): the querier's gateway claims the refund by itself;
- feedback with ``riskshare feedback confirm|dispute`` (all hits, one hit, or one hit
  confirmed and the rest disputed) or silence, right after each query's hit report;
- disputes answered with ``riskshare dispute evidence`` and rejected, or upheld
  without evidence, or left pending, with ``riskshare dispute resolve`` by the observer.

The test submits nothing itself: hit reports, refunds and settlements are the gateways'
own. Once every epoch the workload touched has settled, at one height on every replica:

- every replica reports the same balance for every member;
- each member's ``riskshare credits statement --verify --json`` on its own data
  directory equals, line by line (transaction, kind, reference, amount) and in its
  closing balance, the statement an independent oracle (``tests/credits/_oracle.py``)
  recomputes from that replica's blocks alone, walked with the ledger's public API;
  every settlement on the ledger equals the one the oracle computes;
- Σ balances = minted − burned − penalties as the oracle counts them from the
  transactions, and as the contract's own counters say.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import app
from gateway import load_config, load_member_credentials
from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._node import Node
from gateway._pb.riskshare.psi.v1 import psi_pb2
from gateway._querier import _reply
from gateway._settle import proposer_rank
from gateway._worker import PublicPort, start_public_port
from ledger import Member, MemoryState, consortium_info, verify_chain
from psi import IndexStore, encode_elements, prepare_query
from token_incentive import (
    QueryReceipt,
    balance_of,
    last_settled_epoch,
    response_digest,
    sign_receipt,
    supply,
)

from ._oracle import Oracle, replay_store

LT = "transaction_fraud"
LISTS = {
    "bank-a": ["13800138000", "13900139000", "13700137001"],
    "bank-b": ["13800138000", "13700137000", "13600136002"],
    "bank-c": ["13600136000", "13900139000", "13800138000"],
}
MEMBERS = list(LISTS)
OBSERVER = "regulator"
SHARED = "13800138000"  # on every list: a broadcast hit for any querier has k = 2
CLEAN = ["13500135000", "13400134000", "13300133000", "15000150000"]
UNIVERSE = sorted({p for phones in LISTS.values() for p in phones} | set(CLEAN))
EPOCH_MS = 4000
PARAMS = {
    "credits.epoch_ms": EPOCH_MS,
    "credits.feedback_window_ms": 30_000,
    "credits.dispute_open_ms": 0,  # the observer may uphold without waiting for evidence
}


def _wait(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in time: {what}")
        time.sleep(0.05)


@dataclass
class Network:
    consortium: LocalConsortium
    nodes: dict[str, Node]

    def config(self, member_id: str) -> str:
        return str(self.consortium.member(member_id).config_path)

    def data_dir(self, member_id: str) -> str:
        return str(self.consortium.member(member_id).data_dir)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    root: Path = tmp_path_factory.mktemp("credits-net")
    consortium = create_local_consortium(
        root, [*MEMBERS, OBSERVER], params=PARAMS, roles={OBSERVER: "observer"}
    )
    started: dict[str, Node] = {}
    ports: list[PublicPort] = []
    try:
        for member_id in ["orderer", *MEMBERS, OBSERVER]:
            config = load_config(consortium.member(member_id).config_path)
            credentials = load_member_credentials(config.member.dir)
            started[member_id] = Node(config, credentials)
            # The admin socket is what `riskshare feedback|dispute --config` talks to.
            started[member_id].start(admin=member_id != "orderer")
            if member_id in LISTS:
                ports.append(start_public_port(config, credentials, reuse_port=False))
        for member_id, phones in LISTS.items():
            load_list(consortium.members[member_id], [(LT, "phone", p, 1) for p in phones])
            assert started[member_id].recorder.publish() == [LT]

        def published() -> bool:
            return all(
                n.store.state().get("pub.index", f"{m}/{LT}") is not None
                for n in started.values()
                for m in LISTS
            )

        _wait(published, 90.0, "every list on every replica")
        yield Network(consortium, started)
    finally:
        for port in ports:
            port.stop(0)
        for node in started.values():
            node.stop(0)


def _cli(*args: str, stdin: str | None = None) -> str:
    """Run a ``riskshare`` command as a user would (the same Typer app, in process)."""
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


def _receipt(node: Node, rid: str) -> Any:
    return node.store.state().get("credits.receipts", rid)


def _dispute(node: Node, rid: str) -> Any:
    return node.store.state().get("credits.disputes", rid)


def _epoch_now(node: Node) -> int:
    info = consortium_info(node.store.state())
    assert info is not None
    return (time.time_ns() // 1_000_000 - int(info["genesis_time"])) // EPOCH_MS


@dataclass
class Receipt:
    querier: str
    responder: str
    rid: str
    hit_values: list[str]  # the identifiers it said yes to, in hit-index order


class Workload:
    """Runs the random workload; remembers what it did, for the coverage checks."""

    def __init__(self, net: Network, rng: random.Random) -> None:
        self.net = net
        self.rng = rng
        self.receipts: list[Receipt] = []
        self.expected_ks: dict[str, list[int]] = {}
        self.disputes: list[tuple[Receipt, list[str]]] = []  # (receipt, disputed values)
        self.directed = self.broadcast = 0
        self.actions: dict[str, int] = {}

    def everywhere(self, predicate: Callable[[Node], bool], what: str) -> None:
        _wait(lambda: all(predicate(n) for n in self.net.nodes.values()), 90.0, what)

    def query(self, querier: str, values: list[str], responder: str | None) -> list[Receipt]:
        node = self.net.nodes[querier]
        targets = [responder] if responder else []
        result = node.querier.query(LT, "phone", values, members=targets)
        expected = set(targets or MEMBERS) - {querier}
        assert {a.member_id for a in result.answers} == expected
        made = []
        for answer in result.answers:
            if not answer.ok:  # a loaded machine may time an answer out; it is not charged
                continue
            assert answer.hits == tuple(v in LISTS[answer.member_id] for v in values)
            yes = [v for v, hit in zip(values, answer.hits, strict=True) if hit]
            made.append(Receipt(querier, answer.member_id, answer.receipt_id, yes))
        if responder:
            self.directed += len(made)
        else:
            self.broadcast += len(made)
        for value in values:
            yes = [r.rid for r in made if value in r.hit_values]
            for rid in yes:
                self.expected_ks.setdefault(rid, []).append(len(yes))
        rids = [r.rid for r in made]
        self.everywhere(lambda n: all(_receipt(n, rid) is not None for rid in rids), "receipts")
        # The querier's gateway reports each identifier's yes-sayers (k) by itself.
        hit = [r for r in made if r.hit_values]
        self.everywhere(
            lambda n: all(_receipt(n, r.rid)["hits"] is not None for r in hit), "hit reports"
        )
        self.receipts += made
        return made

    def feedback(self, receipt: Receipt, action: str) -> None:
        """Confirm, dispute or stay silent on a receipt's hits, with ``riskshare feedback``."""
        config = self.net.config(receipt.querier)
        n = len(receipt.hit_values)
        one = ["--hit", str(self.rng.randrange(n))]
        self.actions[action] = self.actions.get(action, 0) + 1
        if action == "silence":
            return
        if action == "confirm":
            _cli(
                "feedback", "confirm", receipt.rid, "--config", config, *self.rng.choice([[], one])
            )
            return
        disputed = list(range(n))
        if action == "partial" and n > 1:  # one hit confirmed, the others disputed
            keep = self.rng.randrange(n)
            _cli("feedback", "confirm", receipt.rid, "--hit", str(keep), "--config", config)
            disputed.remove(keep)
        elif self.rng.random() < 0.5:
            disputed = [self.rng.randrange(n)]
        hits = [arg for i in disputed for arg in ("--hit", str(i))]
        _cli("feedback", "dispute", receipt.rid, *hits, "--config", config)
        self.disputes.append((receipt, [receipt.hit_values[i] for i in disputed]))

    def resolve(self, receipt: Receipt, values: list[str], verdict: str) -> None:
        self.everywhere(lambda n: _dispute(n, receipt.rid) is not None, "the dispute")
        self.actions[verdict] = self.actions.get(verdict, 0) + 1
        if verdict == "pending":
            return
        if verdict == "rejected":
            # The holder opens the evidence it committed for each disputed entry (the
            # querier named the identifiers off the ledger); only then may it be rejected.
            config = self.net.config(receipt.responder)
            _cli("dispute", "evidence", receipt.rid, "--config", config, stdin="\n".join(values))
            self.everywhere(
                lambda n: _dispute(n, receipt.rid)["status"] == "opened", "the evidence"
            )
        _cli(
            "dispute",
            "resolve",
            receipt.rid,
            "--verdict",
            verdict,
            "--config",
            self.net.config(OBSERVER),
        )

    def cheat(self, querier: str, responder: str) -> str:
        """A responder signs a receipt over an answer whose DLEQ proof is false; the
        querier's gateway keeps the evidence and claims the charge back on its own."""
        q_node, r_node = self.net.nodes[querier], self.net.nodes[responder]
        querier_ = q_node.querier
        context = querier_._context(responder, LT, False)
        pending = prepare_query(LT, [("phone", self.rng.choice(UNIVERSE))], os.urandom)
        signed = querier_._request(
            pending, responder, LT, "phone", "screening", context.normaliser, context.key_id
        )
        index = IndexStore(
            self.net.consortium.members[responder].data_dir / "index.sqlite", pool=None
        )
        try:
            evaluated, _ = index.evaluate(LT, list(pending.blinded), os.urandom)
        finally:
            index.close()
        wrong = (1).to_bytes(32, "little") + (2).to_bytes(32, "little")  # canonical, false
        receipt = sign_receipt(
            QueryReceipt(signed.digest, response_digest(evaluated, wrong), int(time.time() * 1000)),
            r_node.credentials.signing_key,
        )
        response = psi_pb2.EvaluateResponse(
            evaluated=encode_elements(evaluated),
            proof=wrong,
            key_id=context.key_id,
            signed_receipt=receipt.to_bytes(),
        )
        answer = querier_._answer(responder, LT, context, pending, signed, _reply(response), 0)
        assert answer.error_code == "DATA_LOSS" and answer.refund_pending
        body = {
            "request": signed.data,
            "request_sig": signed.signature,
            "receipt": receipt.data,
            "receipt_sig": receipt.signature,
        }
        assert r_node.submitter.submit("credits.receipt", body).ok
        rid = str(signed.receipt_id)
        self.everywhere(
            lambda n: (_receipt(n, rid) or {}).get("status") == "refunded", "the refund"
        )
        return rid

    def run(self) -> str:
        rng, nodes = self.rng, self.net.nodes
        count = rng.randint(6, 8)
        cheat_at = rng.randrange(1, count)
        refund = ""
        first_epoch = None
        for i in range(count):
            querier = rng.choice(MEMBERS)
            others = [m for m in MEMBERS if m != querier]
            if i == 0:  # a broadcast with a shared hit: two receipts, k = 2
                values, responder = [SHARED, *rng.sample(CLEAN, rng.randint(0, 2))], None
            elif i == 1:  # a directed query with a hit on the responder's list
                responder = rng.choice(others)
                values = [rng.choice(LISTS[responder]), *rng.sample(UNIVERSE, rng.randint(0, 2))]
                values = list(dict.fromkeys(values))
            else:
                responder = rng.choice(others) if rng.random() < 0.4 else None
                values = rng.sample(UNIVERSE, rng.randint(1, 4))
            made = self.query(querier, values, responder)
            if first_epoch is None and made:
                first_epoch = _receipt(nodes[querier], made[0].rid)["epoch"]
            for receipt in (r for r in made if r.hit_values):
                if i == 0:  # at least one confirmation and two disputes, then at random
                    action = "confirm" if receipt is made[0] else "dispute"
                elif i == 1:
                    action = "dispute"
                else:
                    action = rng.choice(["confirm", "dispute", "partial", "silence"])
                self.feedback(receipt, action)
            if i == cheat_at:
                refund = self.cheat(querier, rng.choice(others))
            if i == count // 2 and first_epoch is not None:
                # The rest of the workload lands in a later epoch than its start.
                deadline = time.monotonic() + 30.0
                while _epoch_now(nodes["orderer"]) <= first_epoch:
                    assert time.monotonic() < deadline, "no new epoch"
                    time.sleep(0.05)
        # Verdicts: the first dispute rejected on evidence, the second upheld, the rest
        # at random (left pending too).
        for n, (receipt, values) in enumerate(self.disputes):
            verdict = (
                ["rejected", "upheld"][n]
                if n < 2
                else rng.choice(["rejected", "upheld", "pending"])
            )
            self.resolve(receipt, values, verdict)
        return refund


def _steady_views(nodes: dict[str, Node]) -> tuple[int, dict[str, dict[str, int]]]:
    """Every replica's balances at one height (the gateways keep settling epochs)."""
    for _ in range(50):
        head = nodes["orderer"].store.height

        def caught_up(head: int = head) -> bool:
            return all(n.store.height >= head for n in nodes.values())

        _wait(caught_up, 60.0, "replicas")
        views = {
            name: {m: balance_of(n.store.state(), m).balance for m in MEMBERS}
            for name, n in nodes.items()
        }
        if all(n.store.height == head for n in nodes.values()):
            return head, views
    raise AssertionError("the replicas never stood at one height")


def _cli_statement(net: Network, member: str) -> tuple[int, dict[str, Any]]:
    """``riskshare credits statement`` on the member's own replica, and its height."""
    store = net.nodes[member].store
    for _ in range(20):
        height = store.height
        out = _cli(
            "credits", "statement", member, "--data-dir", net.data_dir(member), "--verify", "--json"
        )
        if store.height == height:
            return height, json.loads(out)
    raise AssertionError("the replica never stood still for a statement")


def _check_against_oracle(net: Network, member: str) -> Oracle:
    height, st = _cli_statement(net, member)
    oracle = replay_store(net.nodes[member].store, height)
    expected = [(line.tx.hex(), line.kind, line.ref, line.amount) for line in oracle.lines[member]]
    got = [(line["tx"], line["kind"], line["ref"], line["amount"]) for line in st["lines"]]
    assert got == expected, (member, got, expected)
    assert st["opening"] == 0 and st["closing"] == oracle.balance(member)
    return oracle


def test_random_workload_leaves_every_replica_with_the_same_balances(network: Network) -> None:
    seed = int(os.environ.get("CREDITS_NET_SEED") or random.SystemRandom().randrange(2**32))
    print(f"credits network workload seed {seed} (CREDITS_NET_SEED={seed} replays it)")
    try:
        _run_and_check(network, seed)
    except BaseException as exc:
        exc.add_note(f"credits network workload seed {seed}: CREDITS_NET_SEED={seed} replays it")
        raise


def _run_and_check(net: Network, seed: int) -> None:
    nodes = net.nodes
    workload = Workload(net, random.Random(seed))
    refund = workload.run()
    reader = nodes["orderer"]
    for rid, ks in workload.expected_ks.items():
        assert _receipt(reader, rid)["hits"] == ks
    # The gateways settle every epoch the workload touched (verdicts included), each once.
    last = _epoch_now(reader)
    _wait(lambda: last_settled_epoch(reader.store.state()) >= last, 120.0, "the settlements")
    head, views = _steady_views(nodes)
    reference = views["orderer"]
    assert all(view == reference for view in views.values()), views

    # Each member's statement, from the CLI on its own replica, against the oracle.
    oracles = {m: _check_against_oracle(net, m) for m in MEMBERS}
    oracle = replay_store(reader.store, head)
    assert {m: oracle.balance(m) for m in MEMBERS} == reference
    for m in MEMBERS:
        assert oracles[m].balance(m) == oracle.balance(m)
    # Conservation from the transactions alone, and by the contract's counters.
    assert sum(reference.values()) == oracle.supply
    counters = supply(reader.store.state())
    assert counters["supply"] == oracle.supply
    assert (counters["minted"], counters["burned"], counters["penalties"]) == (
        oracle.minted,
        oracle.burned,
        oracle.penalties,
    )
    # Every settlement on the ledger is the one the oracle computes, proposed once.
    store = reader.store
    settles = store.txs(kind="credits.settle", ok=True, to_height=head)
    epochs = [s.decoded().tx.body["epoch"] for s in settles]
    assert epochs == list(range(len(epochs))) and epochs[-1] >= last
    for tx in settles:
        body = tx.decoded().tx.body
        got = {e["member"]: {k: v for k, v in e.items() if k != "member"} for e in body["entries"]}
        assert got == oracle.settlements[body["epoch"]], body["epoch"]
    rows: list[Any] = [row for _, row in store.state().scan("credits.settlements")]
    assert {row["proposer"] for row in rows} <= {*MEMBERS, OBSERVER}  # never the orderer
    assert verify_chain(nodes["bank-c"].store, nodes["bank-c"].registry).height >= head

    # What the workload covered: it must have exercised every path it claims to.
    assert workload.directed and workload.broadcast
    kinds = {line.kind for lines in oracle.lines.values() for line in lines}
    assert {"charge", "refund", "settle"} <= kinds
    assert oracle.receipts[refund].refunded
    assert len({r.epoch for r in oracle.receipts.values()}) >= 2
    states = {s for r in oracle.receipts.values() for s in r.states}
    assert {"c", "u", "v"} <= states, states
    accounted = {d.status for d in oracle.disputes.values() if d.accounted}
    assert {"upheld", "rejected"} <= accounted
    totals = {
        name: sum(e[name] for entries in oracle.settlements.values() for e in entries.values())
        for name in ("grant", "served", "hits", "penalty")
    }
    assert all(total > 0 for total in totals.values()), totals

    # Two gateways proposing one epoch (a race, or a retry after a lost answer) is
    # harmless: the second proposal is refused as not the next epoch and changes nothing.
    again = settles[-1].decoded().tx.body
    before = {m: balance_of(nodes["bank-c"].store.state(), m) for m in MEMBERS}
    outcome = nodes["bank-c"].submitter.submit("credits.settle", again)
    assert not outcome.ok and "next epoch to settle" in outcome.reason, outcome
    assert {m: balance_of(nodes["bank-c"].store.state(), m) for m in MEMBERS} == before


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
