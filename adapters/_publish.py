"""Epochs: staged first, then published to the index, resumable after any failure.

Staging is the source of truth; the index follows it. The rules:

- A sync writes each changed list type's new epoch into staging — the entry versions it
  closes and opens, with salts and evidence commitments, and an epoch record with the
  evidence root — and commits. The epoch is then *pending*: its record has no index
  commitment yet.
- Publishing applies a pending epoch to the index (one atomic ``IndexSink.apply`` per
  list type, with the epoch's own time as ``now`` so the index expires exactly what
  staging expired) and records the commitment the index returns. The change to apply is
  read back from the entry history: versions opened in the epoch are upserts; keys
  whose version closed in it and did not reopen are removals. Applying it twice is
  harmless: the index treats unchanged upserts and absent removals as no-ops.
- Every sync first publishes whatever is still pending (a crash, a locked index file),
  oldest first, and refuses to go on while anything is; only then does it compare the
  index with the last published epoch.
- Before anything is staged, the index is asked to ``check`` every list type's change,
  so a change the index would refuse is never staged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from adapters._errors import IndexBindingError
from adapters._evidence import SALT_BYTES, evidence_commitments, evidence_root
from adapters._index import IndexSink
from adapters._model import EntryKey, ListEntry
from adapters._plan import EntryChanges
from adapters._staging import EpochRecord, Staging

__all__ = ["StagedEpoch", "pending_epochs", "publish", "resume_pending", "stage_epochs"]


@dataclass(frozen=True, slots=True)
class StagedEpoch:
    """A staged epoch and the change that brings the index to it."""

    record: EpochRecord
    upserts: Sequence[ListEntry]
    removes: Sequence[EntryKey]


def _split(
    changes: EntryChanges, list_type: str
) -> tuple[list[ListEntry], list[EntryKey], list[EntryKey]]:
    """One list type's upserts, removals, and entry versions to close (both of those)."""
    adds = [e for e in changes.adds if e.key.list_type == list_type]
    adds += [new for _, new in changes.updates if new.key.list_type == list_type]
    removes = [e.key for e, _ in changes.removes if e.key.list_type == list_type]
    closed = removes + [old.key for old, _ in changes.updates if old.key.list_type == list_type]
    return adds, removes, closed


def stage_epochs(
    staging: Staging,
    sink: IndexSink,
    changes: EntryChanges,
    *,
    sync_id: int,
    now: int,
    rng: Callable[[int], bytes],
) -> list[StagedEpoch]:
    """Write one pending epoch per changed list type; the caller's transaction commits."""
    for list_type in sorted(changes.list_types()):
        upserts, removes, _ = _split(changes, list_type)
        sink.check(list_type, upserts, removes)
    staged = []
    for list_type in sorted(changes.list_types()):
        adds, removes, closed = _split(changes, list_type)
        epoch = staging.next_epoch(list_type)
        # A list type's first import needs no read-back: its leaves are just the new ones.
        fresh = not closed and staging.counts_of(list_type) == 0
        staging.close_entries(closed, epoch)
        # One call for every salt: the system RNG costs a syscall per call.
        pool = rng(SALT_BYTES * len(adds))
        salts = [pool[i : i + SALT_BYTES] for i in range(0, len(pool), SALT_BYTES)]
        commitments = evidence_commitments(((e.key, e.evidence_ref) for e in adds), salts)
        staging.add_entries(list(zip(adds, salts, commitments, strict=True)), epoch)
        leaves = sorted(commitments) if fresh else staging.current_commitments(list_type)
        root, size = evidence_root(leaves)
        record = EpochRecord(list_type, epoch, now, size, root, None, None, None)
        staging.put_epoch(record, sync_id)
        staged.append(StagedEpoch(record, adds, removes))
    return staged


def publish(
    staging: Staging,
    sink: IndexSink,
    staged: Sequence[StagedEpoch],
    *,
    progress: Callable[[str, int], None] | None = None,
    timings: dict[str, float] | None = None,
) -> list[EpochRecord]:
    """Apply staged epochs to the index in order and record its commitments."""
    done = 0
    published = []
    for item in staged:
        record = item.record
        started, cpu_started = time.perf_counter(), time.process_time()
        before = done

        def evaluated(count: int, _total: int, before: int = before) -> None:
            if progress is not None:
                progress("index", before + count)

        commitment = sink.apply(
            record.list_type,
            item.upserts,
            item.removes,
            now=record.created_at,
            progress=evaluated,
        )
        if timings is not None:
            timings["index"] = timings.get("index", 0.0) + time.perf_counter() - started
            timings["cpu_index"] = timings.get("cpu_index", 0.0) + time.process_time() - cpu_started
        if commitment.size != record.size:
            raise IndexBindingError(
                f"the {record.list_type} index reports {commitment.size} entries where"
                f" epoch {record.epoch} has {record.size}"
            )
        staging.db.execute(
            "UPDATE epochs SET index_epoch = ?, index_root = ?, key_id = ?"
            " WHERE list_type = ? AND epoch = ?",
            (
                commitment.epoch,
                commitment.root,
                commitment.key_id.hex(),
                record.list_type,
                record.epoch,
            ),
        )
        published.append(
            EpochRecord(
                record.list_type,
                record.epoch,
                record.created_at,
                record.size,
                record.evidence_root,
                commitment.epoch,
                commitment.root,
                commitment.key_id.hex(),
            )
        )
        done += len(item.upserts) + len(item.removes)
        if progress is not None:
            progress("index", done)
    return published


def pending_epochs(staging: Staging) -> list[StagedEpoch]:
    """Every staged epoch not yet in the index, oldest first, with its change."""
    rows = staging.db.execute(
        "SELECT list_type, epoch FROM epochs WHERE index_epoch IS NULL ORDER BY epoch, list_type"
    ).fetchall()
    out = []
    for list_type, epoch in rows:
        record = staging.epoch(list_type, epoch)
        assert record is not None
        upserts = [
            ListEntry(EntryKey(list_type, it, v), rc, la, ea, ev)
            for it, v, rc, la, ea, ev in staging.db.execute(
                "SELECT id_type, value, reason_code, listed_at, expires_at, evidence_ref"
                " FROM entries WHERE list_type = ? AND added_epoch = ?",
                (list_type, epoch),
            )
        ]
        reopened = {e.key for e in upserts}
        removes = [
            key
            for key in (
                EntryKey(list_type, it, v)
                for it, v in staging.db.execute(
                    "SELECT id_type, value FROM entries WHERE list_type = ? AND removed_epoch = ?",
                    (list_type, epoch),
                )
            )
            if key not in reopened
        ]
        out.append(StagedEpoch(record, upserts, removes))
    return out


def resume_pending(staging: Staging, sink: IndexSink) -> list[EpochRecord]:
    """Publish whatever an earlier sync staged but could not publish."""
    pending = pending_epochs(staging)
    if not pending:
        return []
    try:
        return publish(staging, sink, pending)
    except IndexBindingError as exc:
        raise IndexBindingError(
            f"{len(pending)} staged epoch(s) could not be published to the index: {exc}"
        ) from exc
