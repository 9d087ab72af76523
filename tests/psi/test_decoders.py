"""Every decoder, fed arbitrary or corrupted bytes, succeeds or raises ProtocolError only.

Hostile input never changes state: the store is dumped before and after, and snapshots
are immutable values whose bytes are compared.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psi import (
    Commitment,
    Entry,
    IndexStore,
    Label,
    ProtocolError,
    Snapshot,
    bucket_lookup,
    decode_elements,
    prepare_query,
    verify_evaluation,
)
from psi import _group as g
from psi import _oprf as o
from psi._formats import BucketAnswer, Delta, parse_snapshot
from psi._labels import open_label
from psi.hazmat import finalize_batch
from tests.psi.conftest import det_rng, key, phone

LT = "transaction_fraud"
NOW = 1_750_000_000
fuzz = settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))

P = 2**255 - 19
BAD_ELEMENTS = [
    bytes(32),  # the identity
    P.to_bytes(32, "little"),  # the field prime: non-canonical
    (P + 2).to_bytes(32, "little"),  # non-canonical
    (1).to_bytes(32, "little"),  # "negative" field element (odd): not a ristretto encoding
    b"\xff" * 32,  # top bit set
    g.GENERATOR[:31],  # short
    g.GENERATOR + b"\x00",  # long
    b"",
]
BAD_SCALARS = [
    g.GROUP_ORDER.to_bytes(32, "little"),
    (g.GROUP_ORDER + 1).to_bytes(32, "little"),
    b"\xff" * 32,
    bytes(31),
]


class World:
    """One responder with a small labelled list, and what a querier holds of it."""

    def __init__(self) -> None:
        self.store = IndexStore(":memory:", pool=None)
        self.store.create_list(LT, key(9))
        self.c1 = self.store.apply(
            LT, [Entry("phone", phone(i), reason=i) for i in range(10)], now=NOW
        ).commitment
        self.snap_bytes = self.store.export_snapshot(LT)
        self.snap = Snapshot.load(self.snap_bytes, self.c1)
        self.c2 = self.store.apply(LT, [Entry("phone", phone(50))], now=NOW).commitment
        self.delta = self.store.export_delta(LT, 1)
        rng = det_rng(b"world")
        self.pending = prepare_query(LT, [("phone", phone(1)), ("phone", phone(77))], rng)
        self.evaluated, self.proof = self.store.evaluate(LT, list(self.pending.blinded), rng)
        self.outputs = self.pending.finish(self.evaluated, self.proof, self.store.public_key(LT))

    def state(self) -> tuple[object, ...]:
        s = self.store
        return (s.commitment(LT), s.export_snapshot(LT), s.size(LT), self.snap.to_bytes())


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = World()
    yield w
    w.store.close()


def _only_protocol_error(fn: Callable[[], object]) -> None:
    with contextlib.suppress(ProtocolError):
        fn()


@pytest.mark.parametrize("bad", BAD_ELEMENTS, ids=range(len(BAD_ELEMENTS)))
def test_bad_elements_rejected_everywhere(bad: bytes, world: World) -> None:
    before = world.state()
    with pytest.raises(ProtocolError):
        g.deserialize_element(bad)
    with pytest.raises(ProtocolError):
        decode_elements(g.GENERATOR + bad if bad else bad)
    with pytest.raises(ProtocolError):
        world.store.evaluate(LT, [world.pending.blinded[0], bad], det_rng(b"x"))
    evaluated = [world.evaluated[0], bad]
    with pytest.raises(ProtocolError):
        world.pending.finish(evaluated, world.proof, world.store.public_key(LT))
    with pytest.raises(ProtocolError):
        world.pending.finish(world.evaluated, world.proof, bad)
    assert world.state() == before


@pytest.mark.parametrize("bad", BAD_SCALARS, ids=range(len(BAD_SCALARS)))
def test_non_canonical_scalars_rejected(bad: bytes, world: World) -> None:
    with pytest.raises(ProtocolError):
        g.deserialize_scalar(bad)
    for proof in (bad + world.proof[32:], world.proof[:32] + bad):
        with pytest.raises(ProtocolError):
            world.pending.finish(world.evaluated, proof, world.store.public_key(LT))


def test_tampered_proofs_rejected(world: World) -> None:
    pk = world.store.public_key(LT)
    c, s = world.proof[:32], world.proof[32:]
    tampered = [s + c, bytes(64), world.proof[:-1], world.proof + b"\x00"]
    for i in (0, 5, 31, 32, 40, 63):
        flipped = bytearray(world.proof)
        flipped[i] ^= 0x04
        tampered.append(bytes(flipped))
    for proof in tampered:
        with pytest.raises(ProtocolError):
            world.pending.finish(world.evaluated, proof, pk)
    # A valid proof for another key, or for swapped answers, does not pass either.
    with pytest.raises(ProtocolError):
        world.pending.finish(world.evaluated, world.proof, key(3).public)
    with pytest.raises(ProtocolError):
        world.pending.finish(world.evaluated[::-1], world.proof, pk)
    # An honest answer from a different key, with its own valid proof, is refused
    # because it is checked against the key the querier expects.
    other_ev, other_proof = o.blind_evaluate(key(3).secret, world.pending.blinded), None
    other_proof = o.generate_proof(
        key(3).secret,
        g.GENERATOR,
        key(3).public,
        world.pending.blinded,
        other_ev,
        g.random_scalar(det_rng(b"r")),
    )
    with pytest.raises(ProtocolError):
        world.pending.finish(other_ev, other_proof, pk)


def test_snapshot_not_matching_commitment(world: World) -> None:
    with pytest.raises(ProtocolError, match="does not match its commitment"):
        Snapshot.load(world.snap_bytes, world.c2)
    flipped = bytearray(world.snap_bytes)
    flipped[-1] ^= 1
    with pytest.raises(ProtocolError):
        Snapshot.load(bytes(flipped), world.c1)
    with pytest.raises(ProtocolError):
        world.snap.apply_delta(world.delta, world.c1)
    before = world.snap.to_bytes()
    d = Delta.from_bytes(world.delta)
    dropped = Delta(d.list_type, d.key_id, d.from_epoch, d.to_epoch, d.label_bytes, d.removed, ())
    with pytest.raises(ProtocolError, match=r"size|match"):
        world.snap.apply_delta(dropped.to_bytes(), world.c2)
    assert world.snap.to_bytes() == before
    assert world.snap.apply_delta(world.delta, world.c2).to_bytes() == (
        world.store.export_snapshot(LT)
    )


_decoders: list[Callable[[World, bytes], object]] = [
    lambda w, b: g.deserialize_element(b),
    lambda w, b: g.deserialize_scalar(b),
    lambda w, b: o.decode_proof(b),
    lambda w, b: decode_elements(b),
    lambda w, b: Commitment.from_bytes(b),
    lambda w, b: parse_snapshot(b),
    lambda w, b: Snapshot.load(b, w.c1),
    lambda w, b: Delta.from_bytes(b),
    lambda w, b: w.snap.apply_delta(b, w.c2),
    lambda w, b: BucketAnswer.from_bytes(b),
    lambda w, b: bucket_lookup(b, w.outputs[0], w.c2),
    lambda w, b: Label.from_bytes(b),
    lambda w, b: open_label(w.outputs[0].output, LT, w.c1.key_id, b),
    lambda w, b: w.store.evaluate(
        LT, [b[i : i + 32] for i in range(0, len(b), 32)] or [b], (det_rng(b"e"))
    ),
    lambda w, b: w.pending.finish([b[:32], b[32:64]], b[64:128], w.store.public_key(LT)),
    lambda w, b: finalize_batch(
        w.pending.inputs,
        w.pending.blinds,
        w.pending.blinded,
        w.evaluated,
        b,
        w.store.public_key(LT),
        pool=None,
    ),
]


@fuzz
@given(data=st.binary(max_size=300), which=st.integers(0, len(_decoders) - 1))
def test_arbitrary_bytes(world: World, data: bytes, which: int) -> None:
    before = world.state()
    _only_protocol_error(lambda: _decoders[which](world, data))
    assert world.state() == before


def _valid_encodings(w: World) -> list[bytes]:
    bucket = BucketAnswer(
        LT,
        w.c2.key_id,
        w.c2.epoch,
        3,
        5,
        w.c2.label_bytes,
        ((w.outputs[0].tag, bytes(w.c2.label_bytes)), (bytes(16), bytes(w.c2.label_bytes))),
    )
    return [w.c1.to_bytes(), w.snap_bytes, w.delta, bucket.to_bytes()]


@fuzz
@given(
    which=st.integers(0, 3),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.integers(-3, 3),
)
def test_corrupted_encodings(
    world: World, which: int, edits: list[tuple[int, int]], cut: int
) -> None:
    # Start from a valid commitment, snapshot or delta and corrupt a few bytes or the
    # length, which reaches deeper than random bytes do.
    data = bytearray(_valid_encodings(world)[which])
    for pos, val in edits:
        data[pos % len(data)] = val
    if cut < 0:
        data = data[:cut]
    else:
        data += bytes(cut)
    before = world.state()
    decoders = [Commitment.from_bytes, parse_snapshot, Delta.from_bytes, BucketAnswer.from_bytes]
    _only_protocol_error(lambda: decoders[which](bytes(data)))
    _only_protocol_error(lambda: Snapshot.load(bytes(data), world.c1))
    _only_protocol_error(lambda: world.snap.apply_delta(bytes(data), world.c2))
    _only_protocol_error(lambda: bucket_lookup(bytes(data), world.outputs[0], world.c2))
    assert world.state() == before


def test_batch_shape_errors(world: World) -> None:
    pk = world.store.public_key(LT)
    with pytest.raises(ProtocolError):
        world.pending.finish(world.evaluated[:1], world.proof, pk)
    with pytest.raises(ProtocolError):
        world.store.evaluate(LT, [], det_rng(b"e"))
    with pytest.raises(ProtocolError):
        world.store.evaluate(LT, [world.pending.blinded[0]] * (o.MAX_BATCH + 1), det_rng(b"e"))


def test_third_party_verification(world: World) -> None:
    # What a ledger rule checks: the answer against the committed key, without blinds.
    pk = world.store.public_key(LT)
    blinded = list(world.pending.blinded)
    verify_evaluation(pk, blinded, world.evaluated, world.proof)
    for bad in (
        (key(3).public, blinded, world.evaluated, world.proof),
        (pk, blinded, world.evaluated[::-1], world.proof),
        (pk, blinded[:1], world.evaluated[:1], world.proof),
        (pk, blinded, [world.evaluated[0], bytes(32)], world.proof),
        (pk, [], [], world.proof),
        (pk, blinded, world.evaluated, world.proof[:63] + b"\x00"),
    ):
        with pytest.raises(ProtocolError):
            verify_evaluation(*bad)
