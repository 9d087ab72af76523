"""Blacklists read from core systems, normalised to the shared standard, synced to the index."""

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
from adapters._normalise import ID_TYPES, NORMALISER_VERSION, fold, normalise
from adapters._plan import EntryChanges, RowChanges, StagedRow, dedupe, plan_rows, resolve_entries
from adapters._rows import RowConverter
from adapters._sources import CsvSource, JsonLinesSource, Source, SqlSource, open_source

__all__ = [
    "ID_TYPES",
    "LAUNCH_LIST_TYPES",
    "NORMALISER_VERSION",
    "AdapterError",
    "CsvSource",
    "EntryChanges",
    "EntryKey",
    "EvidenceError",
    "Field",
    "IndexBindingError",
    "JsonLinesSource",
    "ListEntry",
    "ListTypePolicy",
    "MappingError",
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
    "StagedRow",
    "StagingError",
    "dedupe",
    "fold",
    "load_mapping",
    "mask",
    "normalise",
    "open_source",
    "parse_mapping",
    "plan_rows",
    "resolve_entries",
    "scrub",
]
