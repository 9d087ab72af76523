"""Snapshot canonical order and deltas when entries share their first 8 tag bytes.

With real OPRF outputs two entries share 8 tag bytes with probability about n²/2^65,
so these records are made by hand: the code paths must still be right when it happens.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psi import Commitment, ProtocolError, Snapshot
from psi._formats import Delta
from psi._index import commit_stream
from psi._labels import LABEL_BYTES

LT = "transaction_fraud"
KID = bytes(range(32))


def _commit(records: list[tuple[bytes, bytes]], epoch: int) -> tuple[Commitment, bytes]:
    rows = sorted(records)  # the store streams in 16-byte tag order
    c, data = commit_stream(LT, KID, epoch, LABEL_BYTES, [rows], "v1", want_bytes=True)
    assert data is not None
    return c, data


_prefix = st.sampled_from([bytes(8), b"\x01" * 8, b"\xff" * 8])
_record = st.tuples(_prefix, st.binary(min_size=8, max_size=8), st.binary(min_size=27, max_size=27))


@settings(max_examples=60, deadline=None)
@given(
    before=st.lists(_record, max_size=8, unique_by=lambda r: r[0] + r[1]),
    after=st.lists(_record, max_size=8, unique_by=lambda r: r[0] + r[1]),
)
def test_shared_prefixes_snapshot_and_delta(
    before: list[tuple[bytes, bytes, bytes]], after: list[tuple[bytes, bytes, bytes]]
) -> None:
    assert LABEL_BYTES == 27
    old = [(p + rest, lab) for p, rest, lab in before]
    new = [(p + rest, lab) for p, rest, lab in after]
    c1, s1 = _commit(old, 1)
    c2, s2 = _commit(new, 2)
    snap = Snapshot.load(s1, c1)
    # Canonical order is (8-byte tag, label), so labels are re-sorted inside a run.
    assert snap.to_bytes() == s1
    gone = [r for r in old if r not in new]
    came = [r for r in new if r not in old]
    delta = Delta(
        LT,
        KID,
        1,
        2,
        LABEL_BYTES,
        tuple((t[:8], lab) for t, lab in gone),
        tuple((t[:8], lab) for t, lab in came),
    )
    assert snap.apply_delta(delta.to_bytes(), c2).to_bytes() == s2


def test_removing_a_record_twice_is_refused() -> None:
    rec = (bytes(8) + b"a" * 8, b"L" * 27)
    c1, s1 = _commit([rec, (bytes(8) + b"b" * 8, b"M" * 27)], 1)
    c2, _ = _commit([], 2)
    snap = Snapshot.load(s1, c1)
    twice = Delta(LT, KID, 1, 2, LABEL_BYTES, ((bytes(8), b"L" * 27),) * 2, ())
    with pytest.raises(ProtocolError, match="does not hold"):
        snap.apply_delta(twice.to_bytes(), c2)
