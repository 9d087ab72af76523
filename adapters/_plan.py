"""The change set of one sync, computed purely from staged state and newly read rows.

Two steps, both pure (no clock, no I/O; ``now`` is an argument):

1. :func:`plan_rows` compares the rows a read returned with the rows staged for that
   source. A row is *upserted* when it is new or any attribute changed, and *deleted*
   when a full read no longer returns its key ("row gone"). An incremental read only
   sees rows at or after the watermark, so it never deletes; hard deletes are found by
   the next full comparison. Keys the read returned but rejected are left as staged:
   one bad edit does not delist an entry, it is reported and waits for a fix.
2. :func:`resolve_entries` decides, for every entry key a row change touched or that
   has expired, what the index should hold. An entry is listed while at least one of
   its rows (from any source) is not delisted and not expired; its attributes come from
   the row that keeps it listed longest (no expiry first, then the latest expiry, then
   the earliest listing, then source and key order, so the choice is deterministic).
   Compared with the entry currently listed this gives adds, removes (with the cause:
   ``delisted``, ``gone`` or ``expired``) and updates.

Within one read, several records may share a source key (the same identifier twice in
a file, say). :func:`dedupe` keeps the first active one and reports the others as
``duplicate``; they are not counted as errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from adapters._model import EntryKey, ListEntry, ListTypePolicy, Reject, SourceRow

__all__ = [
    "EntryChanges",
    "RowChanges",
    "StagedRow",
    "dedupe",
    "effective_row",
    "plan_rows",
    "resolve_entries",
]

_DAY = 86_400


class StagedRow(NamedTuple):
    """A row as the staging store keeps it: times resolved, source named.

    A named tuple for the same reason as ``SourceRow``: one per row, on the hot path.
    """

    source: str
    source_key: str
    key: EntryKey
    reason_code: int | None
    listed_at: int
    expires_at: int | None
    evidence_ref: str | None
    delisted: bool

    def live(self, now: int) -> bool:
        return not self.delisted and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True)
class RowChanges:
    upserts: tuple[StagedRow, ...]
    deletes: tuple[StagedRow, ...]
    #: The staged versions the upserts replace (a row may move to another entry key).
    replaced: tuple[StagedRow, ...] = ()

    def touched(self) -> set[EntryKey]:
        """Every entry key whose rows changed: old and new keys alike."""
        return {r.key for r in (*self.upserts, *self.deletes, *self.replaced)}


@dataclass(slots=True)
class EntryChanges:
    """What the index must do. ``updates`` pair the listed entry with its replacement."""

    adds: list[ListEntry] = field(default_factory=list)
    removes: list[tuple[ListEntry, str]] = field(default_factory=list)
    updates: list[tuple[ListEntry, ListEntry]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.adds or self.removes or self.updates)

    def list_types(self) -> set[str]:
        return (
            {e.key.list_type for e in self.adds}
            | {e.key.list_type for e, _ in self.removes}
            | {new.key.list_type for _, new in self.updates}
        )


def dedupe(rows: Iterable[SourceRow]) -> tuple[list[SourceRow], list[Reject]]:
    """One row per source key: the first active one wins, the rest are reported."""
    winners: dict[str, SourceRow] = {}
    losers: list[SourceRow] = []
    for row in rows:
        held = winners.get(row.source_key)
        if held is None:
            winners[row.source_key] = row
        elif held.delisted and not row.delisted:
            winners[row.source_key] = row
            losers.append(held)
        else:
            losers.append(row)
    reports = [
        Reject(
            row=r.row,
            line=r.line,
            column="-",
            masked_value="",
            reason="duplicate",
            detail=f"same entry as row {winners[r.source_key].row}",
            source_key=r.source_key,
            counts=False,
        )
        for r in losers
    ]
    return list(winners.values()), reports


def effective_row(
    source: str,
    row: SourceRow,
    previous: StagedRow | None,
    policy: ListTypePolicy,
    now: int,
) -> StagedRow:
    """Resolve a read row's times: first-seen listing time, default retention."""
    if row.listed_at is not None:
        listed_at = row.listed_at
    elif previous is not None and previous.key == row.key:
        listed_at = previous.listed_at
    else:
        listed_at = now
    expires_at = row.expires_at
    if expires_at is None and policy.retention_days is not None:
        expires_at = listed_at + policy.retention_days * _DAY
    return StagedRow(
        source=source,
        source_key=row.source_key,
        key=row.key,
        reason_code=row.reason_code,
        listed_at=listed_at,
        expires_at=expires_at,
        evidence_ref=row.evidence_ref,
        delisted=row.delisted,
    )


def plan_rows(
    source: str,
    read: Sequence[SourceRow],
    previous: Mapping[str, StagedRow],
    policies: Mapping[str, ListTypePolicy],
    *,
    full: bool,
    rejected_keys: Iterable[str] = (),
    now: int,
) -> RowChanges:
    """Row upserts and deletes for one source; ``previous`` holds its staged rows.

    ``previous`` must hold every staged row of the source for a full read, and at least
    the rows whose keys the read returned for an incremental one.
    """
    upserts: list[StagedRow] = []
    replaced: list[StagedRow] = []
    seen: set[str] = set(rejected_keys)
    for row in read:
        seen.add(row.source_key)
        before = previous.get(row.source_key)
        after = effective_row(source, row, before, policies[row.key.list_type], now)
        if after != before:
            upserts.append(after)
            if before is not None:
                replaced.append(before)
    deletes: tuple[StagedRow, ...] = ()
    if full:
        deletes = tuple(r for k, r in previous.items() if k not in seen)
    return RowChanges(tuple(upserts), deletes, tuple(replaced))


def _rank(row: StagedRow) -> tuple[int, int, int, str, str]:
    expiry = row.expires_at
    return (0 if expiry is None else 1, -(expiry or 0), row.listed_at, row.source, row.source_key)


def _as_entry(row: StagedRow) -> ListEntry:
    return ListEntry(row.key, row.reason_code, row.listed_at, row.expires_at, row.evidence_ref)


def resolve_entries(
    keys: Iterable[EntryKey],
    rows_by_key: Mapping[EntryKey, Sequence[StagedRow]],
    listed: Mapping[EntryKey, ListEntry],
    now: int,
) -> EntryChanges:
    """Index changes for ``keys``, given their rows after the sync and what is listed now."""
    changes = EntryChanges()
    for key in set(keys):
        rows = rows_by_key.get(key, ())
        if len(rows) == 1:
            # The common case, one row per entry, without the ranking machinery.
            only = rows[0]
            wanted = _as_entry(only) if only.live(now) else None
        else:
            live = [r for r in rows if r.live(now)]
            wanted = _as_entry(min(live, key=_rank)) if live else None
        current = listed.get(key)
        if wanted is None:
            if current is not None:
                if not rows:
                    cause = "gone"
                elif any(not r.delisted for r in rows):
                    cause = "expired"
                else:
                    cause = "delisted"
                changes.removes.append((current, cause))
        elif current is None:
            changes.adds.append(wanted)
        elif wanted != current:
            changes.updates.append((current, wanted))
    return changes
