"""Checks the real psi index against ground truth, the way a querier would see it.

For every expected entry and every identifier that must be absent, run a real VOPRF
query against the store (blind, evaluate with proof, finalize) and look the output up
in a snapshot verified against the store's commitment; a hit must carry the expected
label. The commitment's size must equal the number of expected entries.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from adapters import STAGING_FILE, EntryKey, Staging
from psi import IndexStore, Label, Snapshot, prepare_query

# (id_type, value) -> (reason, listed_at, expires_at)
Expected = Mapping[tuple[str, str], tuple[int, int | None, int | None]]


def assert_index_matches(
    store: IndexStore,
    list_type: str,
    expected: Expected,
    absent: Iterable[tuple[str, str]] = (),
) -> None:
    commitment = store.commitment(list_type)
    assert commitment.size == len(expected) == store.size(list_type)
    snapshot = Snapshot.load(store.export_snapshot(list_type), commitment)
    absent = [a for a in absent if a not in expected]
    items = [*expected, *absent]
    if not items:
        return
    pending = prepare_query(list_type, items, os.urandom)
    evaluated, proof = store.evaluate(list_type, pending.blinded, os.urandom)
    outputs = pending.finish(evaluated, proof, store.public_key(list_type))
    for item, out in zip(items, outputs, strict=True):
        hit = snapshot.lookup(out)
        if item in expected:
            assert hit is not None, f"{item[0]} entry missing from the index"
            reason, listed_at, expires_at = expected[item]
            assert hit.label == Label.from_times(reason, listed_at, expires_at)
        else:
            assert hit is None, f"{item[0]} entry should not be in the index"


def staged_entries(data_dir: os.PathLike[str] | str, list_type: str) -> dict[EntryKey, object]:
    with Staging(os.path.join(data_dir, STAGING_FILE)) as staging:
        return {e.key: e for e in staging.current_entries(list_type)}
