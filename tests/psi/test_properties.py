"""Property tests: membership, unlinkable blinding, and delta + snapshot == rebuild."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psi import Entry, IndexStore, Snapshot, prepare_query
from psi import _group as g
from psi import _oprf as o
from psi._registry import prf_input
from tests.psi.conftest import det_rng, key, phone

LT = "transaction_fraud"
NOW = 1_750_000_000
_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(
    listed=st.sets(st.integers(0, 60), max_size=30),
    asked=st.lists(st.integers(0, 60), min_size=1, max_size=12),
    labels=st.booleans(),
    seed=st.binary(min_size=1, max_size=4),
)
def test_membership_iff_tag_lookup(
    listed: set[int], asked: list[int], labels: bool, seed: bytes
) -> None:
    rng = det_rng(seed)
    with IndexStore(":memory:", pool=None) as store:
        store.create_list(LT, key(5), labels=labels)
        c = store.apply(
            LT, [Entry("phone", phone(i), reason=i) for i in listed], now=NOW
        ).commitment
        snap = Snapshot.load(store.export_snapshot(LT), c)
        pending = prepare_query(LT, [("phone", phone(i)) for i in asked], rng)
        ev, proof = store.evaluate(LT, list(pending.blinded), rng)
        outputs = pending.finish(ev, proof, store.public_key(LT))
    for i, out in zip(asked, outputs, strict=True):
        hit = snap.lookup(out)
        assert (hit is not None) == (i in listed)
        assert snap.contains(out.tag) == (i in listed)
        if hit is not None and labels:
            assert hit.label is not None and hit.label.reason == i


@settings(max_examples=40, deadline=None)
@given(value=st.integers(0, 10**8 - 1), seed1=st.binary(max_size=8), seed2=st.binary(max_size=8))
def test_two_blindings_of_one_input_are_unlinkable(value: int, seed1: bytes, seed2: bytes) -> None:
    x = prf_input(LT, "phone", phone(value))
    b1, (e1,) = o.blind([x], det_rng(b"1" + seed1), o.Mode.VOPRF)
    b2, (e2,) = o.blind([x], det_rng(b"2" + seed2), o.Mode.VOPRF)
    # The responder sees two unrelated elements (equal only if the blinds are equal) ...
    assert (e1 == e2) == (b1 == b2)
    assert e1 != g.hash_to_group(x, o.suite(o.Mode.VOPRF).hash_to_group_dst)
    # ... yet both finalize to the same PRF output.
    k = key(6)
    outs = [
        o.finalize([x], b, o.blind_evaluate(k.secret, [e]), [e], o.Mode.OPRF)[0]
        for b, e in ((b1, e1), (b2, e2))
    ]
    assert outs[0] == outs[1] == o.evaluate(k.secret, x, o.Mode.VOPRF)


@settings(max_examples=40, deadline=None)
@given(
    r=st.integers(1, g.GROUP_ORDER - 1),
    a=st.integers(1, g.GROUP_ORDER - 1),
    value=st.integers(0, 10**8 - 1),
)
def test_a_blinded_element_fits_every_input(r: int, a: int, value: int) -> None:
    # Perfect hiding: for inputs P and Q = a·P, the element r·P is also the blinding of Q
    # with r·a^-1. In a prime-order group every pair of elements is so related, so the
    # blinded element says nothing about which input it hides.
    p = g.hash_to_group(phone(value).encode(), b"test")
    rs, as_ = r.to_bytes(32, "little"), a.to_bytes(32, "little")
    q = g.scalar_mult(as_, p)
    r_for_q = g.scalar_mul(rs, g.scalar_inverse(as_))
    assert g.scalar_mult(rs, p) == g.scalar_mult(r_for_q, q)


_ops = st.lists(
    st.tuples(
        st.lists(st.tuples(st.integers(0, 30), st.integers(0, 3), st.integers(0, 4)), max_size=8),
        st.lists(st.integers(0, 30), max_size=5),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=6,
)


@_settings
@given(ops=_ops, labels=st.booleans())
def test_delta_plus_snapshot_equals_full_rebuild(
    ops: list[tuple[list[tuple[int, int, int]], list[int], int]], labels: bool
) -> None:
    with IndexStore(":memory:", pool=None) as store:
        c = store.create_list(LT, key(7), labels=labels)
        first = snap = Snapshot.load(store.export_snapshot(LT), c)
        now = NOW
        live: dict[int, Entry] = {}
        for adds, removes, dt in ops:
            now += dt
            entries = {
                i: Entry("phone", phone(i), reason, NOW, None if ttl == 0 else NOW + ttl)
                for i, reason, ttl in adds
            }
            rem = [i for i in removes if i not in entries]
            report = store.apply(LT, entries.values(), [("phone", phone(i)) for i in rem], now=now)
            for i in rem:
                live.pop(i, None)
            live.update(entries)
            live = {i: e for i, e in live.items() if e.expires_at is None or e.expires_at > now}
            c = report.commitment
            if report.changed:
                snap = snap.apply_delta(store.export_delta(LT, snap.epoch), c)
            assert snap.to_bytes() == store.export_snapshot(LT)
            assert len(snap) == c.size == len(live)
        # One delta from the very first epoch lands on the same snapshot too.
        if c.epoch > first.epoch:
            jumped = first.apply_delta(store.export_delta(LT, first.epoch), c)
            assert jumped.to_bytes() == snap.to_bytes()
    # A store built from scratch with the final set has the same tags, labels and root.
    with IndexStore(":memory:", pool=None) as fresh:
        fresh.create_list(LT, key(7), labels=labels)
        rebuilt = fresh.apply(LT, live.values(), now=now).commitment
        head = len(fresh.export_snapshot(LT)) - c.size * (8 + c.label_bytes)
        assert rebuilt.tags_root == c.tags_root and rebuilt.size == c.size
        assert fresh.export_snapshot(LT)[head:] == snap.to_bytes()[head:]
