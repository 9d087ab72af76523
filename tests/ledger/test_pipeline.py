"""The embedded orderer commits a block while it fills the next; replicas keep reading.

Each test holds a block's commit open inside its SQLite transaction (every row written,
``COMMIT`` not yet sent) and checks what the orderer and readers do meanwhile.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ledger import (
    EmbeddedOrderer,
    Replica,
    Store,
    StoreError,
    add_oprf_key_body,
    verify_chain,
)

from .helpers import T0, Net, key_for, make_net, point

_OPRF_KEYS = "pub.oprf_keys"


def _key_tx(net: Net, member: str, key_id: str) -> bytes:
    return net.tx(member, "pub.add_oprf_key", add_oprf_key_body(key_id, point(member, key_id))).raw


@contextmanager
def _held_commit(store: Store) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Hold the next commit of ``store`` after its rows are written: (inside, release)."""
    inside, release = threading.Event(), threading.Event()
    insert = store._insert

    def insert_then_wait(*args: Any) -> None:
        insert(*args)
        inside.set()
        assert release.wait(30), "the test never released the commit"

    store._insert = insert_then_wait  # type: ignore[method-assign,assignment]
    try:
        yield inside, release
    finally:
        release.set()
        store._insert = insert  # type: ignore[method-assign]


def _orderer(net: Net, store: Store, **options: Any) -> EmbeddedOrderer:
    return EmbeddedOrderer(
        store, net.registry, member="m1", key=key_for("m1"), clock=lambda: T0, **options
    )


def test_the_next_block_fills_on_the_state_of_the_one_being_committed(tmp_path: Path) -> None:
    net = make_net()
    store = net.store(tmp_path / "l.sqlite")
    o = _orderer(net, store, max_block_txs=2)
    with _held_commit(store) as (inside, release):
        first = o.submit_many([_key_tx(net, "m2", "a"), _key_tx(net, "m2", "b")])
        # The third transaction does not fit: block 1 goes to the commit thread.
        third = o.submit(_key_tx(net, "m3", "c"))
        assert inside.wait(10), "block 1 was not handed to the commit thread"
        # Block 1 is not stored, yet block 2 takes transactions, validated against the
        # state block 1 leaves: "a" is taken there, so m2 cannot add it again.
        assert store.height == 0
        again = o.submit(_key_tx(net, "m2", "a"))
        fourth = o.submit(_key_tx(net, "m2", "d"))
        assert all(a.accepted for a in [*first, third, fourth])
        assert not again.accepted and "already used" in again.reason
        release.set()
        assert o.flush() == 2
    assert [o.wait(a.tx_id, 5).height for a in [*first, third, fourth]] == [1, 1, 2, 2]
    assert store.state().get(_OPRF_KEYS, "m2/d") is not None
    verify_chain(store, net.registry)
    replica = Store(tmp_path / "replica.sqlite")
    Replica(replica, net.registry).sync(store.blocks_from(0))
    assert replica.head() == store.head()


def test_a_failed_commit_is_raised_and_its_transactions_admitted_again(tmp_path: Path) -> None:
    net = make_net()
    store = net.store(tmp_path / "l.sqlite")
    o = _orderer(net, store, max_block_txs=2)
    insert = store._insert
    failures: list[int] = []

    def full_once(*args: Any) -> None:
        if not failures:
            failures.append(1)
            raise sqlite3.OperationalError("database or disk is full")
        insert(*args)

    store._insert = full_once  # type: ignore[method-assign,assignment]
    txs = [_key_tx(net, member, f"k{i}") for i, member in enumerate(["m2", "m3", "m2", "m3"])]
    # Block 1 (two transactions) goes to the commit thread when the third arrives, and
    # fails; whichever call finds that out raises it, as a synchronous commit would have.
    try:
        o.submit_many(txs[:3])
    except StoreError as exc:
        assert "not stored" in str(exc)
    else:
        with pytest.raises(StoreError, match="not stored"):
            o.flush()
    assert failures == [1]
    # Nothing is lost or doubled: whatever the failure interrupted is pending again (or
    # is taken now), and every transaction lands exactly once.
    answers = o.submit_many(txs)
    assert all(a.accepted for a in answers), [a.reason for a in answers]
    o.flush()
    stored = [r.tx_id for r in store.txs(ok=True, from_height=1)]
    assert sorted(stored) == sorted(a.tx_id for a in answers)
    for a in answers:
        assert o.wait(a.tx_id, 5).ok
    verify_chain(store, net.registry)


def test_reads_go_on_while_a_block_is_committed_and_never_cache_the_old_value(
    tmp_path: Path,
) -> None:
    net = make_net()
    store = net.store(tmp_path / "l.sqlite")
    o = _orderer(net, store)
    state = store.state()
    assert state.get(_OPRF_KEYS, "m2/x") is None  # cached as absent
    assert state.get(_OPRF_KEYS, "m2/y") is None
    with _held_commit(store) as (inside, release):
        assert o.submit(_key_tx(net, "m2", "x")).accepted
        assert o.submit(_key_tx(net, "m2", "y")).accepted
        cutter = threading.Thread(target=o.cut)
        cutter.start()
        assert inside.wait(10)
        # The committing thread holds the store; a read that misses the cache is served
        # from the last committed state through the read connection, without waiting.
        store._cache.pop((_OPRF_KEYS, "m2/y"))
        seen: list[Any] = []
        reader = threading.Thread(target=lambda: seen.append(state.get(_OPRF_KEYS, "m2/y")))
        reader.start()
        reader.join(10)
        assert not reader.is_alive() and seen == [None]
        release.set()
        cutter.join(10)
    assert store.height == 1
    # The read during the commit was not cached: both keys read as written.
    assert state.get(_OPRF_KEYS, "m2/x") is not None
    assert state.get(_OPRF_KEYS, "m2/y") is not None
