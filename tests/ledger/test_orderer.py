"""Ordering: the embedded orderer and proposers contending on a shared ordering log."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from ledger import (
    EmbeddedOrderer,
    LedgerError,
    LogOrderer,
    MemoryOrderingLog,
    OrderingLogError,
    Replica,
    Store,
    Submission,
    add_oprf_key_body,
    decode_block,
    verify_chain,
)

from .helpers import T0, Net, key_for, log_orderer, make_net, point


def _key_tx(net: Net, member: str, n: int) -> bytes:
    return net.tx(member, "pub.add_oprf_key", add_oprf_key_body(f"k{n}", point(member, n))).raw


def test_embedded_cuts_by_size_and_count(tmp_path: Path) -> None:
    net = make_net()
    store = net.store(tmp_path / "l.sqlite")
    o = EmbeddedOrderer(
        store,
        net.registry,
        member="m1",
        key=key_for("m1"),
        clock=lambda: T0,
        max_block_txs=4,
        max_block_bytes=2048,
    )
    answers = o.submit_many([_key_tx(net, "m2", n) for n in range(10)])
    assert all(a.accepted for a in answers)
    o.flush()
    sizes = [store.block_info(h).tx_count for h in range(1, store.height + 1)]  # type: ignore[union-attr]
    assert sum(sizes) == 10 and max(sizes) <= 4
    assert all(len(store.block(h) or b"") <= 2048 for h in range(1, store.height + 1))
    for a in answers:
        commit = o.wait(a.tx_id, 1)
        assert commit.ok and commit.height is not None
        assert store.tx(a.tx_id).height == commit.height  # type: ignore[union-attr]
    verify_chain(store, net.registry)


def test_embedded_ticker_cuts_by_time(tmp_path: Path) -> None:
    net = make_net()
    store = net.store(tmp_path / "l.sqlite")
    o = EmbeddedOrderer(
        store, net.registry, member="m1", key=key_for("m1"), clock=lambda: T0, block_interval=0.05
    )
    o.start()
    try:
        answer = o.submit(_key_tx(net, "m2", 1))
        commit = o.wait(answer.tx_id, timeout=10)
        assert commit.ok and commit.height == 1
    finally:
        o.stop()
    assert store.height == 1


def test_proposers_contend_on_one_log_and_agree(tmp_path: Path) -> None:
    """Three proposers append concurrently; losers apply the winner and retry."""
    net = make_net()
    log = MemoryOrderingLog()
    log.append(0, net.genesis.raw)
    orderers = []
    for member in ("m1", "m2", "m3"):
        store = Store(tmp_path / f"{member}.sqlite")
        orderers.append(
            LogOrderer(
                store,
                net.registry,
                log,
                member=member,
                key=key_for(member),
                clock=lambda: T0,
                block_interval=0.02,
            )
        )
    for o in orderers:
        o.start()
    txs = {m: [_key_tx(net, m, n) for n in range(30)] for m in ("m1", "m2", "m3")}
    answers: dict[str, list[Submission]] = {}

    def load(o, member: str) -> None:
        answers[member] = []
        for i in range(0, 30, 5):
            answers[member] += o.submit_many(txs[member][i : i + 5])

    threads = [threading.Thread(target=load, args=(o, o.member)) for o in orderers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for o in orderers:
        for a in answers[o.member]:
            assert a.accepted, a.reason
            assert o.wait(a.tx_id, timeout=20).ok
    for o in orderers:
        o.stop()
    # A replica that only watches the log, from genesis.
    watcher = Replica(Store(tmp_path / "watcher.sqlite"), net.registry)
    watcher.sync(log.get(h) or b"" for h in range(log.last_height() + 1))
    heads = {o.store.head().hash for o in orderers} | {watcher.store.head().hash}  # type: ignore[union-attr]
    digests = {o.store.head().state_digest for o in orderers}  # type: ignore[union-attr]
    assert len(heads) == 1 and len(digests) == 1
    assert watcher.store.tx_count() == 1 + 90
    assert {o.store.height for o in orderers} == {log.last_height()}
    proposers = {
        decode_block(log.get(h) or b"").header.proposer for h in range(1, log.last_height() + 1)
    }
    assert proposers == {"m1", "m2", "m3"}
    verify_chain(watcher.store, net.registry)


def test_a_lost_race_revalidates_pending_transactions(tmp_path: Path) -> None:
    """The same transaction sent to two proposers is committed once, at one height."""
    net = make_net()
    log = MemoryOrderingLog()
    log.append(0, net.genesis.raw)
    a = log_orderer(tmp_path / "a.sqlite", net, log, "m1")
    b = log_orderer(tmp_path / "b.sqlite", net, log, "m2")
    shared = _key_tx(net, "m3", 1)
    only_b = _key_tx(net, "m2", 2)
    assert a.submit(shared).accepted
    assert b.submit(shared).accepted and b.submit(only_b).accepted
    assert a.cut() == 1
    assert b.cut() is None  # lost height 1: applied a's block, re-validated its own
    assert b.pending == 1  # the shared tx is known committed; only its own remains
    assert b.wait(hashlib.sha256(shared).digest(), 1).height == 1
    assert b.cut() == 2
    a.cut()  # nothing pending; a learns height 2 from the log when it next follows
    Replica(a.store, net.registry).sync([log.get(2) or b""])
    assert a.store.head().hash == b.store.head().hash  # type: ignore[union-attr]
    assert a.store.tx_count() == b.store.tx_count() == 3


class _FlakyLog(MemoryOrderingLog):
    """Appends land but the answer is lost once: the ambiguous outcome etcd can give."""

    def __init__(self) -> None:
        super().__init__()
        self.lose_next = False

    def append(self, height: int, block: bytes) -> bool:
        won = super().append(height, block)
        if self.lose_next:
            self.lose_next = False
            raise OrderingLogError("answer lost")
        return won


def test_an_ambiguous_append_is_resolved_without_loss_or_duplicate(tmp_path: Path) -> None:
    net = make_net()
    log = _FlakyLog()
    log.append(0, net.genesis.raw)
    o = log_orderer(tmp_path / "a.sqlite", net, log, "m1")
    tx = _key_tx(net, "m2", 1)
    assert o.submit(tx).accepted
    log.lose_next = True
    with pytest.raises(OrderingLogError, match="answer lost"):
        o.cut()
    assert o.store.height == 0 and log.last_height() == 1
    # Retrying finds the height taken by our own block and applies it from the log.
    assert o.cut() is None
    assert o.store.height == 1 and o.pending == 0
    assert o.wait(hashlib.sha256(tx).digest(), 1).height == 1
    assert o.store.tx_count() == 2


def test_only_a_registered_member_or_orderer_may_propose(tmp_path: Path) -> None:
    net = make_net(("m1", "obs"), roles={"obs": "observer"})
    store = net.store(tmp_path / "l.sqlite")
    with pytest.raises(LedgerError, match="cannot propose"):
        EmbeddedOrderer(store, net.registry, member="obs", key=key_for("obs"))
    with pytest.raises(LedgerError, match="not 'm1'"):
        EmbeddedOrderer(store, net.registry, member="m1", key=key_for("obs"))


class _DownLog(MemoryOrderingLog):
    """A log that refuses every append while ``down`` (etcd without a quorum)."""

    down = False

    def append(self, height: int, block: bytes) -> bool:
        if self.down:
            raise OrderingLogError("no quorum")
        return super().append(height, block)


def test_submissions_are_deferred_in_order_while_the_log_is_down(tmp_path: Path) -> None:
    net = make_net()
    log = _DownLog()
    log.append(0, net.genesis.raw)
    o = log_orderer(tmp_path / "a.sqlite", net, log, "m1", max_block_txs=2)
    txs = [_key_tx(net, "m2", n) for n in range(5)]
    assert all(a.accepted for a in o.submit_many(txs[:2]))
    log.down = True
    answers = o.submit_many(txs[2:])  # the third needs block 1 landed first
    assert [a.accepted for a in answers] == [False, False, False]
    assert all("submit again: no quorum" in a.reason for a in answers)
    assert o.store.height == 0
    log.down = False
    assert all(a.accepted for a in o.submit_many(txs[2:]))
    o.flush()
    mine = o.store.txs(member="m2")
    assert [r.tx_id for r in mine] == [hashlib.sha256(t).digest() for t in txs]
    assert log.last_height() == o.store.height == 3
