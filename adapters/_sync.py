"""One sync of one source: read, clean, count, plan, stage, then publish to the index.

Order of work, and why:

1. Publish any epoch an earlier sync staged but could not publish (``_publish``), then
   check that the index is where the last published epoch left it (per list type: its
   epoch, tags root and size). A mismatch (someone else changed the index, or an
   index restored from another backup than staging) stops the sync with
   :class:`IndexBindingError` instead of compounding it.
2. Read every record the source returns (all of it for a full comparison, rows at or
   after the watermark for an incremental sync) and convert each to a row or a reject.
3. Write the error report and count. If the share of counted rejects exceeds the
   limit, stop here: the index and staging are untouched (:class:`RejectShareExceeded`);
   only the failed sync is recorded.
4. In one staging transaction: write the row changes, resolve entry changes (including
   entries whose expiry has passed), have the index check every list type's change,
   and stage one epoch per changed list type (entry versions with fresh salts and
   evidence commitments, evidence root). Any failure rolls it all back.
5. Publish the staged epochs to the index and record its commitments. If that fails,
   the epochs stay pending, the sync reports it, and the next sync publishes them first.
"""

from __future__ import annotations

import csv
import gc
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from adapters._errors import IndexBindingError, RejectShareExceeded, SourceError
from adapters._index import IndexSink
from adapters._mapping import SourceMapping
from adapters._model import (
    LAUNCH_LIST_TYPES,
    EntryKey,
    ListTypePolicy,
    Reject,
    SourceRow,
)
from adapters._plan import RowChanges, StagedRow, dedupe, plan_rows, resolve_entries
from adapters._publish import publish, resume_pending, stage_epochs
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
    #: Wall seconds per phase: resume (pending epochs, in-step check), read (read +
    #: normalise), plan, rows (rows staged), entries (entry versions, evidence
    #: commitments and root), commit, index (the sink's apply), publish (the rest of
    #: publishing); and ``cpu_<phase>``, this process's CPU seconds in each (the index's
    #: worker processes excluded).
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
                try:
                    if wm is not None and (high is None or wm > high):  # type: ignore[operator]
                        high = wm
                except TypeError:
                    # SQLite columns can mix types; no order means no safe watermark.
                    raise SourceError(
                        f"watermark column {mapping.watermark!r} mixes types"
                        f" ({type(wm).__name__} and {type(high).__name__})"
                    ) from None
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


def _check_in_step(staging: Staging, sink: IndexSink, *, sync_id: int, now: int) -> None:
    """The index is where the last sync left it: same epoch, root and size per list type.

    One change is expected: a key rotation (DESIGN §4) re-evaluates the same entries
    under a new key, so the index moves to a later epoch with a new key id and tags root
    but the same size. That is recorded as a new epoch with the same entries and
    evidence root, so the gateway can publish the pair.
    """
    counts = staging.counts()
    for list_type in staging.list_types():
        count = counts.get(list_type, 0)
        held = sink.size(list_type)
        record = staging.epoch(list_type)
        current = sink.commitment(list_type)
        moved = record is not None and (
            current is None
            or current.epoch != record.index_epoch
            or current.root != record.index_root
        )
        rotated = (
            moved
            and record is not None
            and current is not None
            and record.index_epoch is not None
            and current.epoch > record.index_epoch
            and current.key_id.hex() != record.key_id
            and held == count == record.size
        )
        if rotated and record is not None and current is not None:
            staging.put_epoch(
                EpochRecord(
                    list_type,
                    staging.next_epoch(list_type),
                    now,
                    record.size,
                    record.evidence_root,
                    current.epoch,
                    current.root,
                    current.key_id.hex(),
                ),
                sync_id,
            )
        elif held != count or moved:
            raise IndexBindingError(
                f"the {list_type} index is not where the last sync left it (it holds {held}"
                f" entries, staging lists {count}); index.sqlite and lists.sqlite must come"
                " from the same backup (docs/ADAPTERS.md, Recovery)"
            )


@contextmanager
def _without_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for the duration of a sync.

    A sync builds a few small tuples per row and keeps them until it ends; with the
    collector on, each generation-2 pass rescans all of them, which made the per-row
    cost grow with the table (measured: 10.9 µs per row with it, 8.2 without, at
    300,000 rows). Nothing a sync builds forms reference cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@_without_gc()
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
    register: tuple[str, str] | None = None,
) -> SyncSummary:
    """Sync one source into staging and the index; see the module rules.

    ``register`` ``(location, mapping_text)`` (re)registers the source in the same
    transaction, so a failed import leaves any earlier registration as it was.
    """
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
        resume_pending(staging, sink)
        _check_in_step(staging, sink, sync_id=sync_id, now=now)
        phase("resume")
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
            staged = stage_epochs(staging, sink, changes, sync_id=sync_id, now=now, rng=rng)
            phase("entries")
            if register is not None:
                staging.put_source(name, register[0], register[1], now)
            if high is not None:
                staging.set_watermark(name, high)
            causes: dict[str, int] = {}
            for _, cause in changes.removes:
                causes[cause] = causes.get(cause, 0) + 1
            staging.finish_sync(
                sync_id,
                "staged",
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
    # Staged and committed: from here a failure leaves the epochs pending, and the next
    # sync publishes them before it reads anything.
    try:
        epochs = publish(staging, sink, staged, progress=progress, timings=timings)
    except Exception as exc:
        staging.finish_sync(sync_id, "index_pending", now, message=str(exc)[:500])
        raise IndexBindingError(
            f"the change is staged but the index did not take it ({exc});"
            " the next sync publishes it"
        ) from exc
    staging.finish_sync(sync_id, "ok", now)
    phase("publish")
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
    # The index update happens inside the publish phase; report the two apart.
    out = dict(timings)
    out["publish"] = out.get("publish", 0.0) - out.get("index", 0.0)
    out["cpu_publish"] = out.get("cpu_publish", 0.0) - out.get("cpu_index", 0.0)
    return {k: round(v, 6) for k, v in out.items()}
