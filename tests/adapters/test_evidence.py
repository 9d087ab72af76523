"""Evidence commitments and openings, as properties over random entry sets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import (
    EntryKey,
    EvidenceError,
    EvidenceOpening,
    evidence_commitment,
    evidence_root,
    open_evidence,
    verify_opening,
)
from adapters._evidence import evidence_commitments

_keys = st.builds(
    EntryKey,
    st.sampled_from(["transaction_fraud", "marketing_abuse"]),
    st.sampled_from(["phone", "device"]),
    st.text("0123456789abcdef", min_size=8, max_size=20),
)
_items = st.lists(
    st.tuples(_keys, st.none() | st.text(max_size=30), st.binary(min_size=32, max_size=32)),
    min_size=1,
    max_size=40,
    unique_by=lambda t: t[2],
)


@settings(max_examples=60, deadline=None)
@given(_items, st.data())
def test_every_entry_opens_and_nothing_else_verifies(items, data) -> None:
    batch = evidence_commitments([(k, e) for k, e, _ in items], [s for _, _, s in items])
    assert batch == [evidence_commitment(k, e, s) for k, e, s in items]
    leaves = sorted(batch)
    root, size = evidence_root(leaves)
    assert size == len(items)
    k, e, s = data.draw(st.sampled_from(items))
    opening = open_evidence(k, e, s, 7, leaves)
    verify_opening(opening, root, size)
    assert EvidenceOpening.from_json(opening.to_json()) == opening
    other = data.draw(st.text(max_size=30))
    if other != e:
        forged = EvidenceOpening(
            k.list_type, 7, k.id_type, k.value, other, s, opening.leaf_index, size, opening.proof
        )
        with pytest.raises(EvidenceError):
            verify_opening(forged, root, size)


def test_roots_need_sorted_distinct_leaves_and_salts_of_32_bytes() -> None:
    a, b = bytes(32), bytes([1]) * 32
    with pytest.raises(EvidenceError):
        evidence_root([b, a])
    with pytest.raises(EvidenceError):
        evidence_root([a, a])
    with pytest.raises(EvidenceError):
        evidence_commitment(EntryKey("l", "phone", "1"), None, b"short")
    key = EntryKey("l", "phone", "13800000000")
    assert evidence_commitment(key, None, a) != evidence_commitment(key, "", a)
