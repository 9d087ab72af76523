"""The mapping file: which rows of a source are list entries, and which column is what.

A mapping is TOML (version 1)::

    name = "core-fraud"            # the source's name in the staging store
    version = 1

    [source]
    table = "risk.blacklist"       # or: query = "SELECT ... FROM ..." (SQL sources)
    key = "id"                     # optional primary-key column: tracks edited rows
    watermark = "updated_at"       # optional: incremental syncs read rows >= the last seen
    delisted = "is_removed"        # optional flag column (true/1/yes means delisted), or
                                   # { column = "status", values = ["closed", "removed"] }
    timezone = "Asia/Shanghai"     # for timestamps without an offset; default UTC
    encoding = "utf-8"             # CSV / JSON-lines files; e.g. "gb18030"

    [columns]                      # a string names a column; { const = ... } is fixed;
    list_type = { const = "transaction_fraud" }   # { column = "c", map = {...} } recodes
    id_type = { column = "id_kind", map = { "01" = "cn_id", "02" = "phone" } }
    value = "id_no"
    reason_code = "reason"         # optional
    listed_at = "created_at"       # optional; default: when the row was first seen
    expires_at = "expire_at"       # optional; default: listed_at + the list's retention
    evidence_ref = "case_no"       # optional

    [sync]
    max_reject_share = 0.05        # more invalid rows than this stops the sync

Parsing is pure (text in, :class:`SourceMapping` out) and strict: unknown keys, missing
fields and wrong types raise :class:`MappingError` naming the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters._errors import MappingError

__all__ = [
    "FIELDS",
    "REQUIRED_FIELDS",
    "Field",
    "SourceMapping",
    "load_mapping",
    "parse_mapping",
]

REQUIRED_FIELDS = ("list_type", "id_type", "value")
FIELDS = (*REQUIRED_FIELDS, "reason_code", "listed_at", "expires_at", "evidence_ref")
_CONST_ALLOWED = frozenset({"list_type", "id_type", "reason_code"})
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")
DEFAULT_MAX_REJECT_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Field:
    """Where one field comes from: a column (optionally recoded) or a constant."""

    column: str | None = None
    const: str | int | None = None
    recode: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class SourceMapping:
    name: str
    fields: Mapping[str, Field]
    table: str | None = None
    query: str | None = None
    key: str | None = None
    watermark: str | None = None
    delisted: str | None = None
    delisted_values: frozenset[str] | None = None
    timezone: str = "UTC"
    encoding: str = "utf-8"
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE

    def columns(self) -> tuple[str, ...]:
        """Every source column the mapping reads, in a fixed order, without repeats."""
        wanted: list[str] = []
        for name in (self.key, self.watermark, self.delisted):
            if name is not None:
                wanted.append(name)
        for f in FIELDS:
            field = self.fields.get(f)
            if field is not None and field.column is not None:
                wanted.append(field.column)
        return tuple(dict.fromkeys(wanted))


def _str(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"{where}.{key} must be a non-empty string")
    return value.strip()


def _only(doc: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise MappingError(f"unknown key(s) in {where}: {', '.join(unknown)}")


def _field(name: str, spec: object) -> Field:
    if isinstance(spec, str) and spec.strip():
        return Field(column=spec.strip())
    if not isinstance(spec, dict):
        raise MappingError(f"columns.{name} must be a column name or a table")
    _only(spec, {"column", "const", "map"}, f"columns.{name}")
    column = _str(spec, "column", f"columns.{name}")
    const = spec.get("const")
    if (column is None) == (const is None):
        raise MappingError(f"columns.{name} needs exactly one of column or const")
    if const is not None:
        if name not in _CONST_ALLOWED:
            raise MappingError(f"columns.{name} cannot be a constant")
        numeric = name == "reason_code" and isinstance(const, int) and not isinstance(const, bool)
        if not numeric and (not isinstance(const, str) or not const):
            raise MappingError(f"columns.{name}.const must be a non-empty string")
        if "map" in spec:
            raise MappingError(f"columns.{name}: map applies to a column, not a constant")
        return Field(const=const)
    recode = spec.get("map")
    if recode is not None:
        if not isinstance(recode, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in recode.items()
        ):
            raise MappingError(f"columns.{name}.map must map strings to strings")
        recode = MappingProxyType({k.strip(): v for k, v in recode.items()})
    return Field(column=column, recode=recode)


def parse_mapping(text: str) -> SourceMapping:
    """Parse and check a mapping document; raises :class:`MappingError`."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping is not valid TOML: {exc}") from None
    _only(doc, {"name", "version", "source", "columns", "sync"}, "the mapping")
    if doc.get("version", 1) != 1:
        raise MappingError("mapping version must be 1")
    name = _str(doc, "name", "mapping")
    if name is None or not set(name) <= _NAME_CHARS or len(name) > 64:
        raise MappingError("name must be 1-64 of a-z, 0-9, '-', '_', '.'")
    source = doc.get("source", {})
    columns = doc.get("columns")
    sync = doc.get("sync", {})
    if not isinstance(source, dict) or not isinstance(columns, dict) or not isinstance(sync, dict):
        raise MappingError("[source], [columns] and [sync] must be tables; [columns] is required")
    _only(
        source,
        {"table", "query", "key", "watermark", "delisted", "timezone", "encoding"},
        "[source]",
    )
    _only(columns, set(FIELDS), "[columns]")
    _only(sync, {"max_reject_share"}, "[sync]")
    fields = {f: _field(f, spec) for f, spec in columns.items()}
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        raise MappingError(f"[columns] lacks required field(s): {', '.join(missing)}")
    if fields["value"].column is None:
        raise MappingError("columns.value must name a column")
    table, query = _str(source, "table", "[source]"), _str(source, "query", "[source]")
    if table is not None and query is not None:
        raise MappingError("[source] takes table or query, not both")
    delisted_spec = source.get("delisted")
    delisted, delisted_values = None, None
    if isinstance(delisted_spec, dict):
        _only(delisted_spec, {"column", "values"}, "[source].delisted")
        delisted = _str(delisted_spec, "column", "[source].delisted")
        values = delisted_spec.get("values")
        if delisted is None or not isinstance(values, list) or not values:
            raise MappingError("[source].delisted needs a column and a non-empty values list")
        delisted_values = frozenset(str(v).strip() for v in values)
    elif delisted_spec is not None:
        delisted = _str(source, "delisted", "[source]")
    timezone = _str(source, "timezone", "[source]") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"[source].timezone {timezone!r} is not a known time zone") from None
    encoding = _str(source, "encoding", "[source]") or "utf-8"
    try:
        "".encode(encoding)
    except LookupError:
        raise MappingError(f"[source].encoding {encoding!r} is not a known codec") from None
    share = sync.get("max_reject_share", DEFAULT_MAX_REJECT_SHARE)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise MappingError("[sync].max_reject_share must be a number from 0 to 1")
    return SourceMapping(
        name=name,
        fields=MappingProxyType(fields),
        table=table,
        query=query,
        key=_str(source, "key", "[source]"),
        watermark=_str(source, "watermark", "[source]"),
        delisted=delisted,
        delisted_values=delisted_values,
        timezone=timezone,
        encoding=encoding,
        max_reject_share=float(share),
    )


def load_mapping(path: str | Path) -> SourceMapping:
    """Read and parse a mapping file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"cannot read mapping {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        # TOML is UTF-8 by definition; say where the file stops being it.
        raise MappingError(f"mapping {path} is not UTF-8 text (byte {exc.start})") from None
    return parse_mapping(text)
