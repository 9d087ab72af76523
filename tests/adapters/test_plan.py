"""The pure change-set planner, checked against ground truth over random histories."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import (
    LAUNCH_LIST_TYPES,
    EntryKey,
    ListEntry,
    SourceRow,
    StagedRow,
    dedupe,
    plan_rows,
    resolve_entries,
)

_KEYS = [EntryKey("transaction_fraud", "phone", f"1380000000{i}") for i in range(6)] + [
    EntryKey("high_risk_account", "account", "ICBC|12345678")
]
_DAY = 86_400


def _row(i: int, key: EntryKey, expires: int | None, delisted: bool, reason: int) -> SourceRow:
    return SourceRow(
        source_key=f"k:{i}",
        row=i,
        key=key,
        reason_code=reason,
        listed_at=1_000,
        expires_at=expires,
        evidence_ref=f"case-{i}-{reason}",
        delisted=delisted,
    )


_rows = st.builds(
    _row,
    st.integers(0, 9),
    st.sampled_from(_KEYS),
    st.one_of(st.none(), st.integers(2, 12).map(lambda d: d * _DAY)),
    st.booleans(),
    st.integers(0, 2),
)
_reads = st.lists(_rows, max_size=10)


def _truth(staged: dict[tuple[str, str], StagedRow], now: int) -> dict[EntryKey, ListEntry]:
    best: dict[EntryKey, StagedRow] = {}
    for r in staged.values():
        if r.delisted or (r.expires_at is not None and r.expires_at <= now):
            continue
        held = best.get(r.key)
        rank = (r.expires_at is None, r.expires_at or 0, -r.listed_at)
        if held is None:
            best[r.key] = r
            continue
        held_rank = (held.expires_at is None, held.expires_at or 0, -held.listed_at)
        if rank > held_rank or (
            rank == held_rank and (r.source, r.source_key) < (held.source, held.source_key)
        ):
            best[r.key] = r
    return {
        k: ListEntry(k, r.reason_code, r.listed_at, r.expires_at, r.evidence_ref)
        for k, r in best.items()
    }


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), _reads, st.booleans()), max_size=8))
def test_index_matches_ground_truth_after_every_sync(history) -> None:
    staged: dict[tuple[str, str], StagedRow] = {}
    listed: dict[EntryKey, ListEntry] = {}
    now = 0
    for source, read, full in history:
        now += _DAY
        rows, _ = dedupe(read)
        previous = {k: r for (s, k), r in staged.items() if s == source}
        changes = plan_rows(source, rows, previous, LAUNCH_LIST_TYPES, full=full, now=now)
        for r in changes.deletes:
            del staged[(r.source, r.source_key)]
        for r in changes.upserts:
            staged[(r.source, r.source_key)] = r
        expired = {k for k, e in listed.items() if e.expired(now)}
        affected = changes.touched() | expired
        by_key: dict[EntryKey, list[StagedRow]] = {}
        for r in staged.values():
            by_key.setdefault(r.key, []).append(r)
        entry_changes = resolve_entries(affected, by_key, listed, now)
        for e, cause in entry_changes.removes:
            assert cause in {"gone", "delisted", "expired"}
            del listed[e.key]
        for old, new in entry_changes.updates:
            assert listed[old.key] == old
            listed[new.key] = new
        for e in entry_changes.adds:
            assert e.key not in listed
            listed[e.key] = e
        assert listed == _truth(staged, now)


def test_reread_with_no_change_plans_nothing() -> None:
    read = [_row(1, _KEYS[0], None, False, 1), _row(2, _KEYS[1], 5 * _DAY, False, 0)]
    first = plan_rows("a", read, {}, LAUNCH_LIST_TYPES, full=True, now=10)
    staged = {r.source_key: r for r in first.upserts}
    again = plan_rows("a", read, staged, LAUNCH_LIST_TYPES, full=True, now=20)
    assert again.upserts == () and again.deletes == ()


def test_missing_listed_at_keeps_first_seen_and_default_retention() -> None:
    row = SourceRow("k:1", 1, _KEYS[0], None, None, None, None, False)
    first = plan_rows("a", [row], {}, LAUNCH_LIST_TYPES, full=True, now=5_000).upserts[0]
    assert first.listed_at == 5_000
    assert first.expires_at == 5_000 + LAUNCH_LIST_TYPES["transaction_fraud"].retention_days * _DAY  # type: ignore[operator]
    later = plan_rows("a", [row], {"k:1": first}, LAUNCH_LIST_TYPES, full=True, now=9_000)
    assert later.upserts == ()


def test_incremental_read_never_deletes_and_rejected_keys_stay() -> None:
    a, b = _row(1, _KEYS[0], None, False, 1), _row(2, _KEYS[1], None, False, 1)
    staged = {
        r.source_key: r
        for r in plan_rows("a", [a, b], {}, LAUNCH_LIST_TYPES, full=True, now=1).upserts
    }
    assert plan_rows("a", [], staged, LAUNCH_LIST_TYPES, full=False, now=2).deletes == ()
    kept = plan_rows("a", [a], staged, LAUNCH_LIST_TYPES, full=True, rejected_keys=["k:2"], now=2)
    assert kept.deletes == ()
    gone = plan_rows("a", [a], staged, LAUNCH_LIST_TYPES, full=True, now=2)
    assert [r.source_key for r in gone.deletes] == ["k:2"]


def test_dedupe_prefers_the_first_active_row_and_reports_the_rest() -> None:
    old = _row(1, _KEYS[0], None, True, 1)
    new = _row(1, _KEYS[0], None, False, 2)
    again = _row(1, _KEYS[0], None, False, 0)
    kept, reports = dedupe([old, new, again])
    assert kept == [new]
    assert sorted((r.row, r.reason, r.counts) for r in reports) == [
        (1, "duplicate", False),
        (1, "duplicate", False),
    ]
