"""The responder's index store: incremental changes, epochs, rotation, buckets, refusals."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from psi import (
    MIN_BUCKET,
    BucketTooSmall,
    DeltaUnavailable,
    Entry,
    IdentifierError,
    IndexStore,
    ProtocolError,
    Snapshot,
    StoreError,
    UnknownTypeError,
    bucket_bits_for,
    bucket_lookup,
    bucket_prefix,
    merkle_root,
    prepare_query,
    prf_input,
)
from tests.psi.conftest import key, phone

LT = "transaction_fraud"
NOW = 1_750_000_000
Rng = Callable[[int], bytes]


def _dump(path: Path) -> list[tuple[object, ...]]:
    # Every row of every table, to show that a refused call changed nothing.
    db = sqlite3.connect(path)
    try:
        out: list[tuple[object, ...]] = []
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            out += [(table, *r) for r in db.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
        return out
    finally:
        db.close()


def _query(store: IndexStore, rng: Rng, values: list[str], lt: str = LT) -> list[bool]:
    snap = Snapshot.load(store.export_snapshot(lt), store.commitment(lt))
    pending = prepare_query(lt, [("phone", v) for v in values], rng)
    evaluated, proof = store.evaluate(lt, list(pending.blinded), rng)
    outputs = pending.finish(evaluated, proof, store.public_key(lt))
    return [snap.lookup(o) is not None for o in outputs]


def test_add_remove_update_and_epochs(store: IndexStore, rng: Rng) -> None:
    c0 = store.create_list(LT, key(1))
    assert (c0.epoch, c0.size) == (0, 0)
    r1 = store.apply(LT, [Entry("phone", phone(i), reason=1) for i in range(20)], now=NOW)
    assert (r1.added, r1.commitment.epoch, r1.commitment.size) == (20, 1, 20)
    # Re-adding identical entries changes nothing and keeps the epoch.
    r2 = store.apply(LT, [Entry("phone", phone(i), reason=1) for i in range(5)], now=NOW)
    assert (r2.unchanged, r2.changed, r2.commitment) == (5, False, r1.commitment)
    # A new reason is an update: a new label, a new epoch.
    r3 = store.apply(
        LT, [Entry("phone", phone(3), reason=2)], removes=[("phone", phone(4))], now=NOW
    )
    assert (r3.updated, r3.removed, r3.commitment.epoch, r3.commitment.size) == (1, 1, 2, 19)
    assert _query(store, rng, [phone(3), phone(4), phone(5), phone(99)]) == [
        True,
        False,
        True,
        False,
    ]
    assert store.commitment(LT, 1) == r1.commitment
    # Removing something not listed is not a change.
    assert not store.apply(LT, removes=[("phone", phone(500))], now=NOW).changed


def test_commitment_root_is_merkle_root_of_sorted_tags(store: IndexStore) -> None:
    store.create_list(LT, key(1), labels=False)
    c = store.apply(LT, [Entry("phone", phone(i)) for i in range(33)], now=NOW).commitment
    k = store.key(LT)
    from psi import evaluate

    tags = sorted(evaluate(k, prf_input(LT, "phone", phone(i)))[:16] for i in range(33))
    assert c.tags_root == merkle_root(tags)
    assert c.key_id == k.key_id and c.label_bytes == 0
    snap = store.export_snapshot(LT)
    # Without labels a snapshot is 8 bytes per entry plus a short header.
    assert len(snap) - 8 * 33 < 100
    assert b"".join(t[:8] for t in tags) in snap


def test_expiry_removes_without_rebuild(store: IndexStore, rng: Rng) -> None:
    store.create_list(LT, key(1))
    store.apply(
        LT,
        [Entry("phone", phone(1), expires_at=NOW + 10), Entry("phone", phone(2))],
        now=NOW,
    )
    # Already expired on arrival: never listed.
    r = store.apply(LT, [Entry("phone", phone(3), expires_at=NOW)], now=NOW)
    assert not r.changed
    r = store.apply(LT, now=NOW + 10)
    assert (r.expired, r.commitment.size) == (1, 1)
    assert _query(store, rng, [phone(1), phone(2)]) == [False, True]


def test_refused_input_changes_nothing(store: IndexStore, tmp_path: Path) -> None:
    store.create_list(LT, key(1))
    store.apply(LT, [Entry("phone", phone(1))], now=NOW)
    before = _dump(tmp_path / "index.db")
    good = [Entry("phone", phone(i)) for i in range(10, 20)]
    with pytest.raises(IdentifierError):
        store.apply(LT, [*good, Entry("phone", "+86 138 0000 0001")], now=NOW)
    with pytest.raises(UnknownTypeError):
        store.apply(LT, [*good, Entry("email", "a@example.com")], now=NOW)
    with pytest.raises(UnknownTypeError):
        store.apply("fraud_list", good, now=NOW)
    with pytest.raises(IdentifierError):
        store.apply(LT, good, removes=[("phone", "138 0000 0001")], now=NOW)
    with pytest.raises(StoreError, match="both added and removed"):
        store.apply(LT, good, removes=[("phone", phone(10))], now=NOW)
    with pytest.raises(StoreError, match="create_list"):
        store.apply("marketing_abuse", [Entry("phone", phone(1))], now=NOW)
    assert _dump(tmp_path / "index.db") == before


def test_persistence_and_reopen(tmp_path: Path, rng: Rng) -> None:
    path = tmp_path / "p.db"
    with IndexStore(path, pool=None) as s:
        s.create_list(LT, key(2))
        c = s.apply(LT, [Entry("phone", phone(i)) for i in range(8)], now=NOW).commitment
    with IndexStore(path, pool=None) as s:
        assert s.commitment(LT) == c
        assert s.key(LT) == key(2)
        assert s.list_types() == [LT]
        assert _query(s, rng, [phone(7), phone(8)]) == [True, False]
        with pytest.raises(StoreError):
            s.create_list(LT, key(3))


def test_key_rotation_new_index_and_commitment(store: IndexStore, rng: Rng) -> None:
    store.create_list(LT, key(1))
    old = store.apply(LT, [Entry("phone", phone(i), reason=4) for i in range(12)], now=NOW)
    old_snap = Snapshot.load(store.export_snapshot(LT), old.commitment)
    new = store.rotate_key(LT, key(2))
    assert new.epoch == old.commitment.epoch + 1 and new.size == 12
    assert new.key_id == key(2).key_id != old.commitment.key_id
    assert new.tags_root != old.commitment.tags_root
    assert _query(store, rng, [phone(0), phone(12)]) == [True, False]
    # A query answered under the new key does not match the old snapshot.
    pending = prepare_query(LT, [("phone", phone(0))], rng)
    ev, proof = store.evaluate(LT, list(pending.blinded), rng)
    (out,) = pending.finish(ev, proof, store.public_key(LT))
    with pytest.raises(ProtocolError, match="another key"):
        old_snap.lookup(out)
    with pytest.raises(DeltaUnavailable):
        store.export_delta(LT, old.commitment.epoch)
    # Labels survive a rotation, re-sealed under the new key.
    snap = Snapshot.load(store.export_snapshot(LT), new)
    hit = snap.lookup(out)
    assert hit is not None and hit.label is not None and hit.label.reason == 4


def test_delta_errors(store: IndexStore) -> None:
    store.create_list(LT, key(1))
    store.apply(LT, [Entry("phone", phone(1))], now=NOW)
    with pytest.raises(DeltaUnavailable):
        store.export_delta(LT, 1)  # already current
    with pytest.raises(DeltaUnavailable):
        store.export_delta(LT, 7)


def test_bucket_mode_refuses_small_buckets(tmp_path: Path, rng: Rng, pool: object) -> None:
    n = 2 * MIN_BUCKET + 300
    assert bucket_bits_for(n) == 0 and bucket_bits_for(4 * MIN_BUCKET) == 1
    with IndexStore(tmp_path / "b.db", pool=pool) as store:  # type: ignore[arg-type]
        store.create_list(LT, key(1))
        c = store.apply(LT, [Entry("phone", phone(i)) for i in range(n)], now=NOW).commitment
        # One bit splits ~8500 entries into two buckets of ~4250: both serveable.
        x = prf_input(LT, "phone", phone(17))
        pre = bucket_prefix(x, 1)
        answer = store.bucket(LT, pre, 1)
        pending = prepare_query(LT, [("phone", phone(17)), ("phone", phone(n + 5))], rng)
        ev, proof = store.evaluate(LT, list(pending.blinded), rng)
        hit, miss = pending.finish(ev, proof, store.public_key(LT))
        found = bucket_lookup(answer, hit, c)
        assert found is not None and found.label is not None
        assert bucket_lookup(answer, miss, c) is None
        # Two bits: buckets of ~2100 are refused, whichever is asked for.
        for p in range(4):
            with pytest.raises(BucketTooSmall):
                store.bucket(LT, p, 2)


def test_reads_see_the_last_epoch_while_an_apply_runs(store: IndexStore, rng: Rng) -> None:
    # The progress callback runs inside the apply's write transaction: a gateway serving
    # queries at that moment must get the committed epoch, not block and not see
    # half-written rows.
    store.create_list(LT, key(1))
    first = store.apply(LT, [Entry("phone", phone(i)) for i in range(5)], now=NOW).commitment
    snap = store.export_snapshot(LT)
    seen: list[tuple[object, ...]] = []

    def during(done: int, total: int) -> None:
        seen.append((store.commitment(LT), store.export_snapshot(LT), store.size(LT)))
        assert _query(store, rng, [phone(1), phone(7)]) == [True, False]

    store.apply(LT, [Entry("phone", phone(i)) for i in range(5, 10)], now=NOW, progress=during)
    assert seen == [(first, snap, 5)]
    assert store.size(LT) == 10 and store.commitment(LT).epoch == first.epoch + 1


def test_prune_history_keeps_recent_deltas(store: IndexStore) -> None:
    store.create_list(LT, key(1))
    c1 = store.apply(LT, [Entry("phone", phone(i)) for i in range(6)], now=NOW).commitment
    snap1 = Snapshot.load(store.export_snapshot(LT), c1)
    c2 = store.apply(LT, removes=[("phone", phone(0))], now=NOW).commitment
    snap2 = snap1.apply_delta(store.export_delta(LT, 1), c2)
    c3 = store.apply(LT, removes=[("phone", phone(1))], now=NOW).commitment
    assert store.prune_history(LT, 2) == 1  # the tombstone of phone(0), removed in epoch 2
    with pytest.raises(DeltaUnavailable, match="pruning"):
        store.export_delta(LT, 1)
    assert snap2.apply_delta(store.export_delta(LT, 2), c3).to_bytes() == store.export_snapshot(LT)
    with pytest.raises(StoreError):
        store.prune_history(LT, 9)
