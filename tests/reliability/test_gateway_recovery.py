"""What the campaign found, each pinned down in one process with real components.

- A member's replica whose storage fills up stops applying blocks with a ledger error
  (the head unchanged), and catches up by itself once space is freed; before, SQLite's
  own rollback made the store's ROLLBACK raise, the follower threads died, and the
  replica stayed behind until a restart.
- A responder's recorder that lost track of a receipt it had already recorded (killed
  between submitting and noting it) marks it committed from the ledger instead of
  resubmitting it and booking the duplicate's refusal as a refusal.
- A defect on the querier's path to one responder fails that responder's answer only,
  not the broadcast: the others' answers, which they charge for, reach the caller.
- A querier whose answer was lost to a crashing responder fetches that answer on its
  next attempt instead of paying for a second request — or at once, in the same
  attempt, when the responder is already back.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway._querier import Querier
from ledger import Replica, Store, StoreError
from tests.reliability._inprocess import LIST, Net, in_process_net, wait


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    with in_process_net(tmp_path_factory.mktemp("recovery")) as running:
        yield running


def _query(net: Net, querier: str, responder: str, value: str = "13800138000") -> Any:
    result = net.nodes[querier].querier.query(LIST, "phone", [value], members=[responder])
    (answer,) = result.answers
    assert answer.ok, answer.error
    return answer


def test_a_full_store_refuses_the_block_and_takes_it_once_space_is_freed(
    net: Net, tmp_path: Path
) -> None:
    for _ in range(4):
        _query(net, "bank-a", "bank-b")
    net.quiet()
    orderer = net.nodes["orderer"].store
    store = Store(tmp_path / "ledger.sqlite")
    replica = Replica(store, net.nodes["orderer"].registry)
    # The disk is full: not one more page.
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")
    refused = None
    for height in range(orderer.height + 1):
        block = orderer.block(height)
        assert block is not None
        try:
            replica.apply(block)
        except StoreError as exc:
            assert "not stored" in str(exc)
            refused = height
            break
    assert refused is not None, "the store never filled up"
    assert store.height == refused - 1
    store._conn.execute("PRAGMA max_page_count = 1073741823")
    for height in range(refused, orderer.height + 1):
        block = orderer.block(height)
        assert block is not None
        assert replica.apply(block).height == height
    assert store.head() == orderer.block_info(orderer.height)
    store.close()


def test_a_follower_whose_storage_filled_up_catches_up_when_it_is_freed(net: Net) -> None:
    follower = net.nodes["bank-c"]
    conn = follower.store._conn
    with follower.store._lock:
        limit = conn.execute("PRAGMA max_page_count").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
    try:
        stalled = follower.store.height
        orderer = net.nodes["orderer"].store
        for _ in range(6):
            _query(net, "bank-a", "bank-b")
            wait(lambda: not net.nodes["bank-b"].local.counts().get("pending"), what="drained")
        wait(lambda: orderer.height >= stalled + 3, what="new blocks")
        head = orderer.height
        wait(lambda: net.nodes["bank-a"].store.height >= head, what="bank-a at the head")
        # bank-c may fit a block or so in the free space of its pages; then it stalls.
        held = follower.store.height
        time.sleep(1.0)
        assert follower.store.height == held < head
    finally:
        with follower.store._lock:
            conn.execute(f"PRAGMA max_page_count = {limit}")
    wait(lambda: follower.store.height >= head, what="bank-c caught up")
    assert follower.follower is not None and follower.follower.halted is None
    # Each refused block ended its stream: none was left open, holding an orderer thread.
    open_streams = [c for c in follower.follower._calls if c.is_active()]
    assert len(open_streams) <= 2, len(open_streams)
    assert follower.store.block_info(head) == net.nodes["orderer"].store.block_info(head)


def test_a_receipt_already_on_the_ledger_is_marked_committed_not_resubmitted(net: Net) -> None:
    answer = _query(net, "bank-c", "bank-a")
    net.quiet()
    node = net.nodes["bank-a"]
    txs = len(node.store.txs(kind="credits.receipt"))
    # The gateway was killed after submitting but before noting it: the row is pending.
    node.local.mark(answer.receipt_id, "pending")
    node.recorder.drain()
    assert dict(net.answered("bank-a"))[answer.receipt_id] == "committed"
    # Or it noted a submission whose transaction is not the one that landed.
    node.local.mark(answer.receipt_id, "submitted", tx_id=bytes(32))
    node.recorder.confirm()
    assert dict(net.answered("bank-a"))[answer.receipt_id] == "committed"
    net.quiet()
    assert len(node.store.txs(kind="credits.receipt")) == txs
    assert node.store.txs(kind="credits.receipt", ok=False) == []


class _Unavailable(grpc.RpcError):  # type: ignore[misc]
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "connection reset (fault injected)"


class _LoseFirstAnswer(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """The first evaluation reaches the responder and is answered (and stored), but the
    answer never arrives; the first ``failed_fetches`` fetches find the responder down."""

    def __init__(self, failed_fetches: int = 1) -> None:
        self.evaluations = 0
        self.fetches = 0
        self._failed_fetches = failed_fetches

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        if details.method.endswith("/EvaluateBatch"):
            self.evaluations += 1
            outcome = continuation(details, request)
            if self.evaluations == 1:
                outcome.result()
                raise _Unavailable()
            return outcome
        if details.method.endswith("/FetchResponse"):
            self.fetches += 1
            if self.fetches <= self._failed_fetches:
                raise _Unavailable()
        return continuation(details, request)


class _Faulty:
    def __init__(self, peers: Any, interceptor: _LoseFirstAnswer) -> None:
        self._peers = peers
        self._interceptor = interceptor

    def channel(self, member_id: str, *, wait: float | None = None) -> Any:
        return grpc.intercept_channel(self._peers.channel(member_id, wait=wait), self._interceptor)

    def forget(self, member_id: str, channel: Any) -> None:
        self._peers.forget(member_id, channel)


class _BrokenPath(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """A defect on the querier's side of one responder's evaluation."""

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        if details.method.endswith("/EvaluateBatch"):
            raise RuntimeError("defect injected on this responder's path")
        return continuation(details, request)


class _FaultyFor:
    """Peers whose channel to one member goes through ``interceptor``."""

    def __init__(self, peers: Any, member_id: str, interceptor: Any) -> None:
        self._peers = peers
        self._member_id = member_id
        self._interceptor = interceptor

    def channel(self, member_id: str, *, wait: float | None = None) -> Any:
        channel = self._peers.channel(member_id, wait=wait)
        if member_id != self._member_id:
            return channel
        return grpc.intercept_channel(channel, self._interceptor)

    def forget(self, member_id: str, channel: Any) -> None:
        self._peers.forget(member_id, channel)


def test_a_defect_on_one_responders_path_leaves_the_others_answers_to_the_caller(
    net: Net,
) -> None:
    node = net.nodes["bank-a"]
    querier = Querier(
        member_id="bank-a",
        signing_key=node.credentials.signing_key,
        store=node.reader,
        local=node.local,
        peers=_FaultyFor(node.peers, "bank-b", _BrokenPath()),  # type: ignore[arg-type]
        snapshots=node.snapshots,
        rng=os.urandom,
        retries=2,
    )
    try:
        result = querier.query(LIST, "phone", ["13600136000"], members=["bank-b", "bank-c"])
    finally:
        querier.close()
    answers = {a.member_id: a for a in result.answers}
    assert answers["bank-b"].error_code == "INTERNAL" and answers["bank-b"].attempts == 1
    # bank-c answered (and will charge for it): its answer reaches the caller.
    assert answers["bank-c"].ok and answers["bank-c"].hits == (True,)
    net.quiet()
    assert answers["bank-c"].receipt_id in net.receipts("orderer")


def _faulty_querier(net: Net, faults: _LoseFirstAnswer) -> Querier:
    node = net.nodes["bank-b"]
    return Querier(
        member_id="bank-b",
        signing_key=node.credentials.signing_key,
        store=node.reader,
        local=node.local,
        peers=_Faulty(node.peers, faults),  # type: ignore[arg-type]
        snapshots=node.snapshots,
        rng=os.urandom,
        retries=2,
    )


def _ask_through_faults(net: Net, faults: _LoseFirstAnswer, value: str) -> Any:
    querier = _faulty_querier(net, faults)
    before = set(dict(net.answered("bank-a")))
    try:
        result = querier.query(LIST, "phone", [value], members=["bank-a"])
    finally:
        querier.close()
    (answer,) = result.answers
    assert answer.ok, answer.error
    assert answer.hits == (True,)
    # One request, answered once, charged once: the one the querier finally read.
    new = set(dict(net.answered("bank-a"))) - before
    assert new == {answer.receipt_id}
    net.quiet()
    assert answer.receipt_id in net.receipts("orderer")
    return answer


@pytest.mark.parametrize(
    ("failed_fetches", "attempts"),
    [
        # The responder is still down at the first fetch: the next attempt reads it.
        (1, 2),
        # The responder is back by the time the querier asks: the same attempt reads it
        # (the campaign found this path raising UnboundLocalError, which failed the
        # member's whole broadcast, answers from the others included).
        (0, 1),
    ],
    ids=["next-attempt", "same-attempt"],
)
def test_an_answer_lost_to_a_crash_is_fetched_not_paid_twice(
    net: Net, failed_fetches: int, attempts: int
) -> None:
    faults = _LoseFirstAnswer(failed_fetches)
    answer = _ask_through_faults(net, faults, "13900139000")
    assert answer.attempts == attempts
    assert faults.evaluations == 1 and faults.fetches == failed_fetches + 1
