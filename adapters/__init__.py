"""Blacklists read from core systems, normalised to the shared standard, synced to the index.

Public API
----------
Normaliser v1 (pure; DESIGN §7)::

    normalise(id_type, value) -> str            # raises Rejected(reason) with a stable code
    NORMALISER_VERSION ("v1"), ID_TYPES, fold(text)
    mask(value), scrub(text), RedactingFilter   # nothing identifying in reports or logs

Sources and mappings::

    load_mapping(path) / parse_mapping(text) -> SourceMapping
    open_source("file.csv" | "file.jsonl" | "file.sqlite" | URL | "env:NAME")
    SqlSource.from_url(url).connect()           # a verified read-only connection

Sync (library behind ``riskshare lists``)::

    import_source(data_dir, location, mapping_path, now=...) -> SyncSummary
    sync_sources(data_dir, now=..., names=(), full=False) -> [SyncSummary]
    lists_status(data_dir) -> ListsStatus
    sync_source(staging, name, source, mapping, sink, now=...)   # one source, any IndexSink
    IndexSink (Protocol), PsiIndexSink(IndexStore)
    resume_pending(staging, sink)               # publish epochs a failed sync staged

Evidence (disputes)::

    open_entry_evidence(data_dir, list_type, id_type, value, epoch=None) -> (opening, root)
    verify_opening(opening, root)               # raises EvidenceError
    EvidenceOpening.to_json() / from_json()

Data directory: ``lists.sqlite`` (staging, 0600), ``index.sqlite`` (psi's index),
``reports/`` (error reports, values masked).
"""

from adapters._errors import (
    AdapterError,
    EvidenceError,
    IndexBindingError,
    MappingError,
    Rejected,
    RejectShareExceeded,
    SourceError,
    StagingError,
)
from adapters._evidence import (
    EVIDENCE_DOMAIN,
    EvidenceOpening,
    evidence_commitment,
    evidence_root,
    open_evidence,
    verify_opening,
)
from adapters._index import IndexCommitment, IndexSink
from adapters._lists import (
    INDEX_FILE,
    REPORTS_DIR,
    STAGING_FILE,
    ListsStatus,
    ListStatus,
    import_source,
    lists_status,
    open_entry_evidence,
    open_lists,
    sync_sources,
)
from adapters._mapping import Field, SourceMapping, load_mapping, parse_mapping
from adapters._mask import RedactingFilter, mask, scrub
from adapters._model import (
    LAUNCH_LIST_TYPES,
    EntryKey,
    ListEntry,
    ListTypePolicy,
    Reject,
    SourceRow,
)
from adapters._normalise import (
    ID_TYPES,
    NORMALISER_VERSION,
    cn_id_check_char,
    fold,
    luhn_valid,
    normalise,
)
from adapters._plan import EntryChanges, RowChanges, StagedRow, dedupe, plan_rows, resolve_entries
from adapters._psi_sink import PsiIndexSink
from adapters._publish import StagedEpoch, pending_epochs, publish, resume_pending, stage_epochs
from adapters._rows import RowConverter
from adapters._sources import CsvSource, JsonLinesSource, Source, SqlSource, open_source
from adapters._staging import EpochRecord, Staging, SyncRecord
from adapters._sync import Progress, SyncSummary, sync_source, write_report

__all__ = [
    "EVIDENCE_DOMAIN",
    "ID_TYPES",
    "INDEX_FILE",
    "LAUNCH_LIST_TYPES",
    "NORMALISER_VERSION",
    "REPORTS_DIR",
    "STAGING_FILE",
    "AdapterError",
    "CsvSource",
    "EntryChanges",
    "EntryKey",
    "EpochRecord",
    "EvidenceError",
    "EvidenceOpening",
    "Field",
    "IndexBindingError",
    "IndexCommitment",
    "IndexSink",
    "JsonLinesSource",
    "ListEntry",
    "ListStatus",
    "ListTypePolicy",
    "ListsStatus",
    "MappingError",
    "Progress",
    "PsiIndexSink",
    "RedactingFilter",
    "Reject",
    "RejectShareExceeded",
    "Rejected",
    "RowChanges",
    "RowConverter",
    "Source",
    "SourceError",
    "SourceMapping",
    "SourceRow",
    "SqlSource",
    "StagedEpoch",
    "StagedRow",
    "Staging",
    "StagingError",
    "SyncRecord",
    "SyncSummary",
    "cn_id_check_char",
    "dedupe",
    "evidence_commitment",
    "evidence_root",
    "fold",
    "import_source",
    "lists_status",
    "load_mapping",
    "luhn_valid",
    "mask",
    "normalise",
    "open_entry_evidence",
    "open_evidence",
    "open_lists",
    "open_source",
    "parse_mapping",
    "pending_epochs",
    "plan_rows",
    "publish",
    "resolve_entries",
    "resume_pending",
    "scrub",
    "stage_epochs",
    "sync_source",
    "sync_sources",
    "verify_opening",
    "write_report",
]
