"""One sync of one source: read, clean, count, plan, then change index and staging together.

Order of work, and why:

1. Read every record the source returns (all of it for a full comparison, rows at or
   after the watermark for an incremental sync) and convert each to a row or a reject.
2. Write the error report and count. If the share of counted rejects exceeds the
   limit, stop here: the index and the staged rows are untouched
   (:class:`RejectShareExceeded`); only the failed sync is recorded.
3. Before changing anything, check that the index holds exactly what staging says is
   listed; a mismatch (say, a crash between the two commits) stops the sync with
   :class:`IndexBindingError` instead of compounding it.
4. In one staging transaction: write the row changes, resolve entry changes (including
   entries whose expiry has passed), give every new entry version a fresh salt and
   evidence commitment, then per changed list type apply the change to the index and
   record the epoch with its evidence root. The staging transaction commits only after
   the index accepted every list type's change; any failure rolls staging back.
"""

from __future__ import annotations

import csv
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from adapters._errors import IndexBindingError, RejectShareExceeded
from adapters._evidence import SALT_BYTES, evidence_commitments, evidence_root
from adapters._index import IndexSink
from adapters._mapping import SourceMapping
from adapters._model import (
    LAUNCH_LIST_TYPES,
    EntryKey,
    ListTypePolicy,
    Reject,
    SourceRow,
)
from adapters._plan import EntryChanges, RowChanges, StagedRow, dedupe, plan_rows, resolve_entries
from adapters._rows import RowConverter
from adapters._sources import Source
from adapters._staging import EpochRecord, Staging

__all__ = ["Progress", "SyncSummary", "sync_source", "write_report"]

#: ``progress(phase, count)``: phase is "read" (rows so far) or "index" (entries changed).
Progress = Callable[[str, int], None]
_PROGRESS_EVERY = 10_000
_REPORT_HEADER = ("row", "line", "key", "column", "masked_value", "reason", "detail")


@dataclass(frozen=True, slots=True)
class SyncSummary:
    sync_id: int
    source: str
    mode: str
    rows_read: int
    accepted: int
    rejected: int
    blank: int
    duplicates: int
    reject_share: float
    added: int
    updated: int
    removed: int
    removed_by_cause: Mapping[str, int] = field(default_factory=dict)
    rejects_by_reason: Mapping[str, int] = field(default_factory=dict)
    epochs: tuple[EpochRecord, ...] = ()
    report: Path | None = None
    #: Wall seconds per phase: read (read + normalise), plan, rows (rows staged),
    #: entries (entry versions, evidence commitments and root), index (the sink), commit;
    #: and ``cpu_<phase>``, this process's CPU seconds in each (index workers excluded).
    timings: Mapping[str, float] = field(default_factory=dict)


def write_report(path: Path, rejects: Iterable[Reject]) -> int:
    """Write rejects as CSV (values already masked); returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(_REPORT_HEADER)
        for r in sorted(rejects, key=lambda r: r.row):
            # Only a mapped key column is safe to show; a derived key holds the identifier.
            key = r.source_key[2:] if r.source_key and r.source_key.startswith("k:") else ""
            out.writerow((r.row, r.line or "", key, r.column, r.masked_value, r.reason, r.detail))
            n += 1
    return n


def _read(
    source: Source,
    mapping: SourceMapping,
    converter: RowConverter,
    since: object,
    progress: Progress | None,
) -> tuple[list[SourceRow], list[Reject], int, object]:
    rows: list[SourceRow] = []
    rejects: list[Reject] = []
    wm_at = None if mapping.watermark is None else mapping.columns().index(mapping.watermark)
    high: object = None
    n = 0
    convert = converter.convert
    for record in source.records(mapping, since):
        n += 1
        if isinstance(record, Reject):
            rejects.append(record)
        else:
            row, line, values = record
            out = convert(row, line, values)
            (rejects if isinstance(out, Reject) else rows).append(out)  # type: ignore[arg-type]
            if wm_at is not None and values is not None:
                wm = values[wm_at]
                if wm is not None and (high is None or wm > high):  # type: ignore[operator]
                    high = wm
        if progress is not None and n % _PROGRESS_EVERY == 0:
            progress("read", n)
    if progress is not None:
        progress("read", n)
    return rows, rejects, n, high


def _rows_in_memory(
    previous: Mapping[str, StagedRow], changes: RowChanges, affected: set[EntryKey]
) -> dict[EntryKey, list[StagedRow]]:
    after = dict(previous)
    for r in changes.deletes:
        after.pop(r.source_key, None)
    for r in changes.upserts:
        after[r.source_key] = r
    by_key: dict[EntryKey, list[StagedRow]] = {}
    for r in after.values():
        if r.key in affected:
            by_key.setdefault(r.key, []).append(r)
    return by_key


def _check_in_step(staging: Staging, sink: IndexSink) -> None:
    for list_type, count in staging.counts().items():
        held = sink.size(list_type)
        if held != count:
            raise IndexBindingError(
                f"index holds {held} {list_type} entries but staging lists {count};"
                " rebuild the index from staging before syncing"
            )


def _apply(
    staging: Staging,
    sink: IndexSink,
    changes: EntryChanges,
    *,
    sync_id: int,
    now: int,
    rng: Callable[[int], bytes],
    progress: Progress | None,
    timings: dict[str, float],
) -> list[EpochRecord]:
    epochs: list[EpochRecord] = []
    done = 0
    for list_type in sorted(changes.list_types()):
        adds = [e for e in changes.adds if e.key.list_type == list_type]
        adds += [new for _, new in changes.updates if new.key.list_type == list_type]
        removes = [e.key for e, _ in changes.removes if e.key.list_type == list_type]
        closed = removes + [old.key for old, _ in changes.updates if old.key.list_type == list_type]
        epoch = staging.next_epoch(list_type)
        # A list type's first import needs no read-back: its leaves are just the new ones.
        fresh = not closed and staging.counts_of(list_type) == 0
        staging.close_entries(closed, epoch)
        # One call for every salt: the system RNG costs a syscall per call.
        pool = rng(SALT_BYTES * len(adds))
        salts = [pool[i : i + SALT_BYTES] for i in range(0, len(pool), SALT_BYTES)]
        commitments = evidence_commitments(((e.key, e.evidence_ref) for e in adds), salts)
        versions = list(zip(adds, salts, commitments, strict=True))
        staging.add_entries(versions, epoch)
        leaves = sorted(commitments) if fresh else staging.current_commitments(list_type)
        root, size = evidence_root(leaves)
        started, cpu_started = time.perf_counter(), time.process_time()
        commitment = sink.apply(list_type, adds, removes, now=now)
        timings["index"] = timings.get("index", 0.0) + time.perf_counter() - started
        timings["cpu_index"] = timings.get("cpu_index", 0.0) + time.process_time() - cpu_started
        if commitment.size != size:
            raise IndexBindingError(
                f"index reports {commitment.size} {list_type} entries, staging {size}"
            )
        record = EpochRecord(
            list_type=list_type,
            epoch=epoch,
            created_at=now,
            size=size,
            evidence_root=root,
            index_epoch=commitment.epoch,
            index_root=commitment.root,
            key_id=commitment.key_id.hex(),
        )
        staging.put_epoch(record, sync_id)
        epochs.append(record)
        done += len(adds) + len(removes)
        if progress is not None:
            progress("index", done)
    return epochs


def sync_source(
    staging: Staging,
    name: str,
    source: Source,
    mapping: SourceMapping,
    sink: IndexSink,
    *,
    now: int,
    full: bool = False,
    policies: Mapping[str, ListTypePolicy] = LAUNCH_LIST_TYPES,
    max_reject_share: float | None = None,
    report_dir: Path | None = None,
    rng: Callable[[int], bytes] = secrets.token_bytes,
    progress: Progress | None = None,
) -> SyncSummary:
    """Sync one registered source into staging and the index; see the module rules."""
    incremental = not full and source.incremental and mapping.watermark is not None
    since = staging.watermark(name) if incremental else None
    mode = "incremental" if incremental and since is not None else "full"
    sync_id = staging.start_sync(name, mode, now)
    counts: dict[str, object] = {}
    timings: dict[str, float] = {}
    lap, cpu_lap = time.perf_counter(), time.process_time()

    def phase(label: str) -> None:
        # Wall and this process's CPU seconds per phase; on a shared machine the CPU
        # figure says what the phase costs, the wall figure what it took.
        nonlocal lap, cpu_lap
        mark, cpu_mark = time.perf_counter(), time.process_time()
        timings[label] = timings.get(label, 0.0) + mark - lap
        timings["cpu_" + label] = timings.get("cpu_" + label, 0.0) + cpu_mark - cpu_lap
        lap, cpu_lap = mark, cpu_mark

    try:
        converter = RowConverter(mapping, policies)
        read, rejects, n, high = _read(source, mapping, converter, since, progress)
        phase("read")
        rows, dupes = dedupe(read)
        rejects.extend(dupes)
        counted = [r for r in rejects if r.counts]
        blank = sum(1 for r in rejects if r.reason == "blank_row")
        share = len(counted) / max(1, n - blank)
        by_reason: dict[str, int] = {}
        for r in rejects:
            by_reason[r.reason] = by_reason.get(r.reason, 0) + 1
        report = None
        if rejects:
            report = (
                report_dir or staging.path.parent / "reports"
            ) / f"{name}-{sync_id}.rejects.csv"
            write_report(report, rejects)
        counts = {
            "rows_read": n,
            "accepted": len(rows),
            "rejected": len(counted),
            "blank": blank,
            "duplicates": len(dupes),
            "report": None if report is None else str(report),
        }
        limit = mapping.max_reject_share if max_reject_share is None else max_reject_share
        if share > limit:
            raise RejectShareExceeded(
                f"{len(counted)} of {n - blank} rows rejected ({share:.2%} > {limit:.2%});"
                f" nothing changed; see {report}"
            )
        _check_in_step(staging, sink)
        keys_seen = [r.source_key for r in rejects if r.source_key and r.counts]
        if mode == "full":
            previous = staging.source_rows(name)
        else:
            previous = staging.source_rows_for(name, (r.source_key for r in rows))
        row_changes = plan_rows(
            name, rows, previous, policies, full=mode == "full", rejected_keys=keys_seen, now=now
        )
        phase("plan")
        staging.begin()
        try:
            staging.write_rows(row_changes.upserts, row_changes.deletes)
            phase("rows")
            affected = row_changes.touched() | set(staging.expired_keys(now))
            if mode == "full" and not staging.other_sources(name):
                # One source holds every row, and a full read gave us all of them.
                by_key = _rows_in_memory(previous, row_changes, affected)
            else:
                by_key = staging.rows_by_entry(affected)
            changes = resolve_entries(affected, by_key, staging.listed(affected), now)
            epochs = _apply(
                staging,
                sink,
                changes,
                sync_id=sync_id,
                now=now,
                rng=rng,
                progress=progress,
                timings=timings,
            )
            phase("entries")
            if high is not None:
                staging.set_watermark(name, high)
            causes: dict[str, int] = {}
            for _, cause in changes.removes:
                causes[cause] = causes.get(cause, 0) + 1
            staging.finish_sync(
                sync_id,
                "ok",
                now,
                added=len(changes.adds),
                updated=len(changes.updates),
                removed=len(changes.removes),
                list_types=changes.list_types(),
                **counts,
            )
            staging.commit()
            phase("commit")
        except BaseException:
            staging.rollback()
            raise
    except Exception as exc:
        staging.finish_sync(sync_id, "failed", now, message=str(exc)[:500], **counts)
        raise
    return SyncSummary(
        sync_id=sync_id,
        source=name,
        mode=mode,
        rows_read=n,
        accepted=len(rows),
        rejected=len(counted),
        blank=blank,
        duplicates=len(dupes),
        reject_share=share,
        added=len(changes.adds),
        updated=len(changes.updates),
        removed=len(changes.removes),
        removed_by_cause=causes,
        rejects_by_reason=by_reason,
        epochs=tuple(epochs),
        report=report,
        timings=_net_of_index(timings),
    )


def _net_of_index(timings: dict[str, float]) -> dict[str, float]:
    # The index update happens inside the entries phase; report the two apart.
    out = dict(timings)
    out["entries"] = out.get("entries", 0.0) - out.get("index", 0.0)
    out["cpu_entries"] = out.get("cpu_entries", 0.0) - out.get("cpu_index", 0.0)
    return {k: round(v, 6) for k, v in out.items()}
