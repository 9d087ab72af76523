"""psi's published formats on raw bytes: commitments, snapshots (alone and checked
against a commitment), deltas (alone and applied to a verified snapshot), bucket
answers (alone and looked up), element batches and label plaintexts.

Contract: :class:`psi.ProtocolError` — the one error for bytes from elsewhere — or
success. On success a value re-encodes to the bytes decoded, and a snapshot that
loaded or a delta that applied is exactly the committed one.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from psi import (
    Commitment,
    Entry,
    IndexStore,
    Label,
    ProtocolError,
    QueryOutput,
    Snapshot,
    bucket_lookup,
    decode_elements,
    derive_key_pair,
    encode_elements,
    prepare_query,
)
from psi._formats import BucketAnswer, Delta, parse_snapshot
from tests.fuzz._harness import OneInput, Target

LT = "transaction_fraud"
NOW = 1_750_000_000


@dataclass(frozen=True)
class Index:
    """A labelled index at epochs 1 and 2, and one verified query output against it."""

    c1: Commitment
    c2: Commitment
    snapshot: bytes
    delta: bytes
    bucket: bytes
    snap: Snapshot
    output: QueryOutput
    blinded: bytes


@functools.cache
def _index() -> Index:
    store = IndexStore(":memory:", pool=None)
    try:
        store.create_list(LT, derive_key_pair(bytes(32), b"fuzz"))
        entries = [Entry("phone", f"138{i:08d}", reason=i) for i in range(12)]
        c1 = store.apply(LT, entries, now=NOW).commitment
        snapshot = store.export_snapshot(LT)
        c2 = store.apply(LT, [Entry("phone", "13900000001")], now=NOW).commitment
        delta = store.export_delta(LT, 1)
        pending = prepare_query(LT, [("phone", "13800000003")], os.urandom, pool=None)
        evaluated, proof = store.evaluate(LT, list(pending.blinded), os.urandom)
        (output,) = pending.finish(evaluated, proof, store.public_key(LT), pool=None)
        answer = BucketAnswer(LT, c2.key_id, c2.epoch, 1, 0, c2.label_bytes, ()).to_bytes()
    finally:
        store.close()
    snap = Snapshot.load(snapshot, c1)
    return Index(c1, c2, snapshot, delta, answer, snap, output, pending.request())


def _commitment(data: bytes) -> None:
    try:
        commitment = Commitment.from_bytes(data)
    except ProtocolError:
        return
    assert commitment.to_bytes() == data


def _snapshot(data: bytes) -> None:
    index = _index()
    try:
        header, columns = parse_snapshot(data)
    except ProtocolError:
        pass
    else:
        assert len(columns) == header.count
    # Checked against a commitment naming these very bytes, so the digest passes and
    # the header and body checks run.
    forged = Commitment(
        index.c1.list_type,
        index.c1.epoch,
        index.c1.size,
        index.c1.tags_root,
        hashlib.sha256(data).digest(),
        index.c1.key_id,
        index.c1.normaliser_version,
        index.c1.label_bytes,
    )
    try:
        snap = Snapshot.load(data, forged)
    except ProtocolError:
        return
    assert snap.to_bytes() == data
    snap.lookup(index.output)


def _delta(data: bytes) -> None:
    index = _index()
    try:
        delta = Delta.from_bytes(data)
    except ProtocolError:
        pass
    else:
        assert delta.to_epoch > delta.from_epoch
    try:
        after = index.snap.apply_delta(data, index.c2)
    except ProtocolError:
        return
    # The only delta that may apply is one giving exactly the committed epoch 2.
    assert hashlib.sha256(after.to_bytes()).digest() == index.c2.snapshot_digest


def _bucket(data: bytes) -> None:
    index = _index()
    try:
        answer = BucketAnswer.from_bytes(data)
    except ProtocolError:
        pass
    else:
        assert answer.to_bytes() == data or sorted(answer.records) != list(answer.records)
    try:
        bucket_lookup(data, index.output, index.c2)
    except ProtocolError:
        return


def _elements(data: bytes) -> None:
    try:
        elements = decode_elements(data, max_count=64)
    except ProtocolError:
        return
    assert encode_elements(elements) == data


def _label(data: bytes) -> None:
    try:
        label = Label.from_bytes(data)
    except ProtocolError:
        return
    assert label.to_bytes() == data


def _seeds(name: str, scratch: Path) -> Iterable[bytes]:
    index = _index()
    return {
        "commitment": [index.c1.to_bytes(), index.c2.to_bytes()],
        "snapshot": [index.snapshot],
        "delta": [index.delta],
        "bucket": [index.bucket],
        "elements": [index.blinded, index.blinded * 3, bytes(64)],
        "label": [Label(3, 202401, 20000).to_bytes()],
    }[name]


def _target(name: str, function: OneInput) -> Target:
    def setup(scratch: Path) -> OneInput:
        _index()
        return function

    return Target(name, setup, functools.partial(_seeds, name))


TARGETS = [
    _target("commitment", _commitment),
    _target("snapshot", _snapshot),
    _target("delta", _delta),
    _target("bucket", _bucket),
    _target("elements", _elements),
    _target("label", _label),
]
