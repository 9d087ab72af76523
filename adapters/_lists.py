"""The member's lists as the CLI and the gateway see them: import, sync, status, evidence.

Data-directory layout (shared with the gateway, which reads the same files):

- ``<data-dir>/lists.sqlite`` — the staging store (``_staging``), mode 0600;
- ``<data-dir>/index.sqlite`` — psi's published index (``IndexStore``);
- ``<data-dir>/reports/<source>-<sync>.rejects.csv`` — error reports, values masked.

Each function here is what one CLI command runs; the command only parses arguments
and prints. A source is registered by its first import (its location and mapping text
are kept in staging), and ``sync_sources`` re-reads every registered source.
Database URLs carrying a password are refused for registration: pass ``env:NAME`` and
keep the URL in that environment variable, so no secret lands in the staging store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from adapters._errors import EvidenceError, SourceError
from adapters._evidence import EvidenceOpening, open_evidence, verify_opening
from adapters._index import IndexSink
from adapters._mapping import load_mapping, parse_mapping
from adapters._model import LAUNCH_LIST_TYPES, EntryKey, ListTypePolicy
from adapters._normalise import normalise
from adapters._psi_sink import PsiIndexSink
from adapters._sources import open_source
from adapters._staging import EpochRecord, Staging, SyncRecord
from adapters._sync import Progress, SyncSummary, sync_source
from psi import IndexStore

__all__ = [
    "INDEX_FILE",
    "REPORTS_DIR",
    "STAGING_FILE",
    "ListStatus",
    "ListsStatus",
    "import_source",
    "lists_status",
    "open_entry_evidence",
    "open_lists",
    "sync_sources",
]

STAGING_FILE = "lists.sqlite"
INDEX_FILE = "index.sqlite"
REPORTS_DIR = "reports"


@contextmanager
def open_lists(
    data_dir: str | Path, sink: IndexSink | None = None
) -> Iterator[tuple[Staging, IndexSink]]:
    """The staging store and the index sink of a data directory, closed afterwards."""
    root = Path(data_dir)
    if not root.exists():
        # Identifiers in clear and evidence salts live here: owner only.
        root.mkdir(parents=True, mode=0o700)
    staging = Staging(root / STAGING_FILE)
    store = None
    try:
        if sink is None:
            store = IndexStore(root / INDEX_FILE)
            sink = PsiIndexSink(store)
        yield staging, sink
    finally:
        staging.close()
        if store is not None:
            store.close()


def _location(location: str) -> str:
    """What staging records for a source: absolute file paths; URLs without secrets."""
    if location.startswith("env:"):
        return location
    if "://" in location:
        try:
            url = sa.make_url(location)
        except sa.exc.ArgumentError:
            raise SourceError("not a database URL") from None
        if url.password:
            raise SourceError(
                "refusing to store a database password: put the URL in an environment"
                " variable and pass env:NAME instead"
            )
        return location
    return str(Path(location).resolve())


def import_source(
    data_dir: str | Path,
    location: str,
    mapping_path: str | Path,
    *,
    now: int,
    sink: IndexSink | None = None,
    policies: Mapping[str, ListTypePolicy] = LAUNCH_LIST_TYPES,
    max_reject_share: float | None = None,
    progress: Progress | None = None,
    rng: Callable[[int], bytes] | None = None,
) -> SyncSummary:
    """Register ``location`` with its mapping, then run a full sync of it."""
    mapping = load_mapping(mapping_path)
    text = Path(mapping_path).read_text(encoding="utf-8")
    stored = _location(location)
    source = open_source(location)
    with open_lists(data_dir, sink) as (staging, index):
        extra = {} if rng is None else {"rng": rng}
        return sync_source(
            staging,
            mapping.name,
            source,
            mapping,
            index,
            now=now,
            full=True,
            policies=policies,
            max_reject_share=max_reject_share,
            report_dir=Path(data_dir) / REPORTS_DIR,
            progress=progress,
            register=(stored, text),
            **extra,
        )


def sync_sources(
    data_dir: str | Path,
    *,
    now: int,
    names: Sequence[str] = (),
    full: bool = False,
    sink: IndexSink | None = None,
    policies: Mapping[str, ListTypePolicy] = LAUNCH_LIST_TYPES,
    max_reject_share: float | None = None,
    progress: Callable[[str], Progress] | None = None,
) -> list[SyncSummary]:
    """Sync every registered source (or those ``names``), incrementally where possible.

    ``progress(source_name)`` returns the progress callback for that source's sync.
    Sources are synced one after another; the first failure stops the run.
    """
    summaries = []
    with open_lists(data_dir, sink) as (staging, index):
        registered = staging.sources()
        known = {name for name, _, _ in registered}
        unknown = sorted(set(names) - known)
        if unknown:
            raise SourceError(f"no registered source named {', '.join(unknown)}")
        if not registered:
            raise SourceError("no sources registered yet: run `riskshare lists import` first")
        for name, location, mapping_text in registered:
            if names and name not in names:
                continue
            summaries.append(
                sync_source(
                    staging,
                    name,
                    open_source(location),
                    parse_mapping(mapping_text),
                    index,
                    now=now,
                    full=full,
                    policies=policies,
                    max_reject_share=max_reject_share,
                    report_dir=Path(data_dir) / REPORTS_DIR,
                    progress=None if progress is None else progress(name),
                )
            )
    return summaries


@dataclass(frozen=True, slots=True)
class ListStatus:
    list_type: str
    entries: int
    index_entries: int
    epoch: EpochRecord | None
    last_sync: SyncRecord | None
    rejects: int


@dataclass(frozen=True, slots=True)
class ListsStatus:
    lists: tuple[ListStatus, ...]
    sources: tuple[tuple[str, str, SyncRecord | None], ...]


def lists_status(data_dir: str | Path, *, sink: IndexSink | None = None) -> ListsStatus:
    """Per list type: entries, index size, epoch, last sync and its rejects; per source."""
    with open_lists(data_dir, sink) as (staging, index):
        counts = staging.counts()
        feeds = staging.source_list_types()
        latest = {
            name: next(iter(staging.syncs(name, limit=1)), None) for name, _, _ in staging.sources()
        }
        lists = []
        for list_type in staging.list_types():
            feeding = [latest[s] for s, lts in feeds.items() if list_type in lts and s in latest]
            syncs = [s for s in feeding if s is not None]
            last = max(syncs, key=lambda s: s.id, default=None)
            lists.append(
                ListStatus(
                    list_type=list_type,
                    entries=counts.get(list_type, 0),
                    index_entries=index.size(list_type),
                    epoch=staging.epoch(list_type),
                    last_sync=last,
                    rejects=sum(s.rejected for s in syncs),
                )
            )
        sources = tuple((name, location, latest[name]) for name, location, _ in staging.sources())
        return ListsStatus(tuple(lists), sources)


def open_entry_evidence(
    data_dir: str | Path,
    list_type: str,
    id_type: str,
    value: str,
    *,
    epoch: int | None = None,
) -> tuple[EvidenceOpening, EpochRecord]:
    """The opening of one entry at ``epoch`` (default: the latest), and that epoch.

    ``value`` is normalised first, so an arbitrator's copy of the identifier in any
    common spelling finds the entry. The opening is checked before it is returned.
    """
    key = EntryKey(list_type, id_type, normalise(id_type, value))
    path = Path(data_dir) / STAGING_FILE
    if not path.is_file():
        raise EvidenceError(f"no staging store at {path}")
    with Staging(path) as staging:
        record = staging.epoch(list_type, epoch)
        if record is None:
            raise EvidenceError(f"no {list_type} epoch {epoch if epoch is not None else ''}")
        version = staging.entry_version_at(key, record.epoch)
        if version is None:
            raise EvidenceError(f"that entry is not listed in {list_type} epoch {record.epoch}")
        evidence_ref, salt = version
        commitments = list(staging.commitments_at(list_type, record.epoch))
        opening = open_evidence(key, evidence_ref, salt, record.epoch, commitments)
        verify_opening(opening, record.evidence_root, record.size)
        return opening, record
