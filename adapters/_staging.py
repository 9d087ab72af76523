"""The member's staging store: ``<data-dir>/lists.sqlite``.

It holds what the adapter knows between syncs, and it is sensitive (identifiers in
clear, evidence salts), so it is created with mode 0600 next to the member's keys:

- ``sources``: each imported source's location (a path, a URL without password, or
  ``env:NAME``), its mapping text, and its watermark;
- ``rows``: every accepted row per source and key, times resolved;
- ``entries``: every *version* of every listed entry with its evidence salt and
  commitment, valid from ``added_epoch`` until ``removed_epoch`` (NULL while listed),
  so the entry set of any past epoch can be rebuilt to open a disputed entry;
- ``epochs``: per list type and epoch, the index commitment the sink returned and the
  evidence root;
- ``syncs``: one row per sync with its counts and outcome.

All writes of one sync happen in one transaction, committed only after the index has
accepted the change (see ``_sync``).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from adapters._errors import StagingError
from adapters._model import EntryKey, ListEntry
from adapters._plan import StagedRow

__all__ = ["EpochRecord", "Staging", "SyncRecord", "decode_watermark", "encode_watermark"]

SCHEMA_VERSION = "1"
_SCAN_ABOVE = 20_000
FILE_NAME = "lists.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    name TEXT PRIMARY KEY, location TEXT NOT NULL, mapping TEXT NOT NULL,
    watermark TEXT, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    source TEXT NOT NULL, source_key TEXT NOT NULL,
    list_type TEXT NOT NULL, id_type TEXT NOT NULL, value TEXT NOT NULL,
    reason_code INTEGER, listed_at INTEGER NOT NULL, expires_at INTEGER,
    evidence_ref TEXT, delisted INTEGER NOT NULL,
    PRIMARY KEY (source, source_key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rows_by_entry ON rows (list_type, id_type, value);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    list_type TEXT NOT NULL, id_type TEXT NOT NULL, value TEXT NOT NULL,
    reason_code INTEGER, listed_at INTEGER NOT NULL, expires_at INTEGER,
    evidence_ref TEXT, salt BLOB NOT NULL, commitment BLOB NOT NULL,
    added_epoch INTEGER NOT NULL, removed_epoch INTEGER);
CREATE UNIQUE INDEX IF NOT EXISTS entries_current
    ON entries (list_type, id_type, value) WHERE removed_epoch IS NULL;
CREATE INDEX IF NOT EXISTS entries_expiry
    ON entries (expires_at) WHERE removed_epoch IS NULL;
CREATE TABLE IF NOT EXISTS epochs (
    list_type TEXT NOT NULL, epoch INTEGER NOT NULL, created_at INTEGER NOT NULL,
    size INTEGER NOT NULL, evidence_root BLOB NOT NULL,
    index_epoch INTEGER, index_root BLOB, key_id TEXT, sync_id INTEGER,
    PRIMARY KEY (list_type, epoch));
CREATE TABLE IF NOT EXISTS syncs (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, mode TEXT NOT NULL,
    started_at INTEGER NOT NULL, finished_at INTEGER, status TEXT NOT NULL,
    rows_read INTEGER NOT NULL DEFAULT 0, accepted INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0, blank INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0, added INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0, removed INTEGER NOT NULL DEFAULT 0,
    list_types TEXT NOT NULL DEFAULT '[]', report TEXT, message TEXT);
"""

_ROW_COLS = (
    "source, source_key, list_type, id_type, value, reason_code, listed_at, expires_at,"
    " evidence_ref, delisted"
)


def encode_watermark(value: object) -> str | None:
    """A watermark as typed JSON, so it binds back with its own SQL type."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return json.dumps({"t": "datetime", "v": value.isoformat()})
    if isinstance(value, date):
        return json.dumps({"t": "date", "v": value.isoformat()})
    if isinstance(value, bool):
        raise StagingError("a boolean cannot be a watermark")
    if isinstance(value, int):
        return json.dumps({"t": "int", "v": value})
    if isinstance(value, Decimal):
        return json.dumps({"t": "decimal", "v": str(value)})
    if isinstance(value, str):
        return json.dumps({"t": "str", "v": value})
    raise StagingError(f"a {type(value).__name__} cannot be a watermark")


def decode_watermark(text: str | None) -> object:
    if text is None:
        return None
    doc = json.loads(text)
    kind, value = doc["t"], doc["v"]
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    return value


@dataclass(frozen=True, slots=True)
class EpochRecord:
    list_type: str
    epoch: int
    created_at: int
    size: int
    evidence_root: bytes
    index_epoch: int | None
    index_root: bytes | None
    key_id: str | None


@dataclass(frozen=True, slots=True)
class SyncRecord:
    id: int
    source: str
    mode: str
    started_at: int
    finished_at: int | None
    status: str
    rows_read: int
    accepted: int
    rejected: int
    blank: int
    duplicates: int
    added: int
    updated: int
    removed: int
    list_types: tuple[str, ...]
    report: str | None
    message: str | None


def _row(r: Sequence[object]) -> StagedRow:
    return StagedRow(
        source=str(r[0]),
        source_key=str(r[1]),
        key=EntryKey(str(r[2]), str(r[3]), str(r[4])),
        reason_code=r[5],  # type: ignore[arg-type]
        listed_at=r[6],  # type: ignore[arg-type]
        expires_at=r[7],  # type: ignore[arg-type]
        evidence_ref=r[8],  # type: ignore[arg-type]
        delisted=bool(r[9]),
    )


class Staging:
    """The staging store of one member's data directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        fresh = not self.path.exists()
        if fresh:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA busy_timeout = 10000")
            # A sync touches every staged row of a source; keep its pages and its temp
            # tables in memory (64 MiB at most).
            self.db.execute("PRAGMA cache_size = -65536")
            self.db.execute("PRAGMA temp_store = MEMORY")
            self.db.executescript(_SCHEMA)
            version = self.db.execute("SELECT v FROM meta WHERE k = 'schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StagingError(f"{self.path} is not a usable staging store: {exc}") from None
        if version is None:
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif version[0] != SCHEMA_VERSION:
            raise StagingError(f"{self.path} has staging schema {version[0]}, not {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------

    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    # -- sources ------------------------------------------------------------------

    def put_source(self, name: str, location: str, mapping_text: str, now: int) -> None:
        self.db.execute(
            "INSERT INTO sources (name, location, mapping, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET location = excluded.location,"
            " mapping = excluded.mapping",
            (name, location, mapping_text, now),
        )

    def sources(self) -> list[tuple[str, str, str]]:
        """``(name, location, mapping_text)`` of every registered source, by name."""
        cur = self.db.execute("SELECT name, location, mapping FROM sources ORDER BY name")
        return [(str(a), str(b), str(c)) for a, b, c in cur]

    def watermark(self, source: str) -> object:
        row = self.db.execute("SELECT watermark FROM sources WHERE name = ?", (source,)).fetchone()
        return None if row is None else decode_watermark(row[0])

    def set_watermark(self, source: str, value: object) -> None:
        self.db.execute(
            "UPDATE sources SET watermark = ? WHERE name = ?", (encode_watermark(value), source)
        )

    # -- rows ---------------------------------------------------------------------

    def source_rows(self, source: str) -> dict[str, StagedRow]:
        cur = self.db.execute(f"SELECT {_ROW_COLS} FROM rows WHERE source = ?", (source,))
        return {r.source_key: r for r in map(_row, cur)}

    def source_rows_for(self, source: str, keys: Iterable[str]) -> dict[str, StagedRow]:
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS want_keys (k TEXT PRIMARY KEY)")
        self.db.execute("DELETE FROM want_keys")
        self.db.executemany("INSERT OR IGNORE INTO want_keys VALUES (?)", ((k,) for k in keys))
        cur = self.db.execute(
            f"SELECT {_ROW_COLS} FROM rows JOIN want_keys ON rows.source_key = want_keys.k"
            " WHERE rows.source = ?",
            (source,),
        )
        return {r.source_key: r for r in map(_row, cur)}

    def write_rows(self, upserts: Sequence[StagedRow], deletes: Sequence[StagedRow]) -> None:
        self.db.executemany(
            "DELETE FROM rows WHERE source = ? AND source_key = ?",
            ((r.source, r.source_key) for r in deletes),
        )
        # A staged row is already a flat tuple but for its entry key; flatten that.
        rows = [
            (source, skey, lt, it, v, reason, listed, expires, evidence, int(delisted))
            for source, skey, (lt, it, v), reason, listed, expires, evidence, delisted in upserts
        ]
        self.db.executemany(
            f"INSERT OR REPLACE INTO rows ({_ROW_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)", rows
        )

    def _want_entries(self, keys: Iterable[EntryKey]) -> None:
        self.db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS want_entries"
            " (list_type TEXT, id_type TEXT, value TEXT, PRIMARY KEY (list_type, id_type, value))"
        )
        self.db.execute("DELETE FROM want_entries")
        self.db.executemany("INSERT OR IGNORE INTO want_entries VALUES (?, ?, ?)", keys)

    def rows_by_entry(self, keys: Iterable[EntryKey]) -> dict[EntryKey, list[StagedRow]]:
        """Every staged row (any source) holding one of ``keys``."""
        self._want_entries(keys)
        cur = self.db.execute(
            f"SELECT {', '.join('r.' + c.strip() for c in _ROW_COLS.split(','))} FROM rows r"
            " JOIN want_entries w ON r.list_type = w.list_type AND r.id_type = w.id_type"
            " AND r.value = w.value"
        )
        out: dict[EntryKey, list[StagedRow]] = {}
        for r in map(_row, cur):
            out.setdefault(r.key, []).append(r)
        return out

    # -- entries ------------------------------------------------------------------

    def other_sources(self, source: str) -> bool:
        """Whether any source but ``source`` has staged rows."""
        row = self.db.execute("SELECT 1 FROM rows WHERE source != ? LIMIT 1", (source,))
        return row.fetchone() is not None

    def listed(self, keys: Collection[EntryKey]) -> dict[EntryKey, ListEntry]:
        """The currently listed entry for each of ``keys`` that has one."""
        if len(keys) > _SCAN_ABOVE:
            # Many keys: one sequential scan beats as many index probes.
            return {e.key: e for e in self.current_entries() if e.key in keys}
        self._want_entries(keys)
        cur = self.db.execute(
            "SELECT e.list_type, e.id_type, e.value, e.reason_code, e.listed_at, e.expires_at,"
            " e.evidence_ref FROM entries e JOIN want_entries w ON e.list_type = w.list_type"
            " AND e.id_type = w.id_type AND e.value = w.value WHERE e.removed_epoch IS NULL"
        )
        return {
            EntryKey(lt, it, v): ListEntry(EntryKey(lt, it, v), rc, la, ea, ev)
            for lt, it, v, rc, la, ea, ev in cur
        }

    def expired_keys(self, now: int) -> list[EntryKey]:
        cur = self.db.execute(
            "SELECT list_type, id_type, value FROM entries"
            " WHERE removed_epoch IS NULL AND expires_at IS NOT NULL AND expires_at <= ?",
            (now,),
        )
        return [EntryKey(*r) for r in cur]

    def current_entries(self, list_type: str | None = None) -> Iterator[ListEntry]:
        sql = (
            "SELECT list_type, id_type, value, reason_code, listed_at, expires_at, evidence_ref"
            " FROM entries WHERE removed_epoch IS NULL"
        )
        args: tuple[str, ...] = ()
        if list_type is not None:
            sql += " AND list_type = ?"
            args = (list_type,)
        for lt, it, v, rc, la, ea, ev in self.db.execute(sql + " ORDER BY id", args):
            yield ListEntry(EntryKey(lt, it, v), rc, la, ea, ev)

    def close_entries(self, keys: Iterable[EntryKey], epoch: int) -> None:
        self.db.executemany(
            "UPDATE entries SET removed_epoch = ? WHERE list_type = ? AND id_type = ?"
            " AND value = ? AND removed_epoch IS NULL",
            ((epoch, *k) for k in keys),
        )

    def add_entries(self, versions: Iterable[tuple[ListEntry, bytes, bytes]], epoch: int) -> None:
        """Insert new entry versions ``(entry, salt, commitment)`` valid from ``epoch``."""
        rows = [
            (*key, reason, listed, expires, evidence, s, c, epoch)
            for (key, reason, listed, expires, evidence), s, c in versions
        ]
        self.db.executemany(
            "INSERT INTO entries (list_type, id_type, value, reason_code, listed_at, expires_at,"
            " evidence_ref, salt, commitment, added_epoch) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )

    def current_commitments(self, list_type: str) -> list[bytes]:
        """Sorted commitments of the entries of ``list_type`` listed now."""
        cur = self.db.execute(
            "SELECT commitment FROM entries WHERE list_type = ? AND removed_epoch IS NULL",
            (list_type,),
        )
        out = [bytes(c) for (c,) in cur]
        out.sort()
        return out

    def commitments_at(self, list_type: str, epoch: int) -> Iterator[bytes]:
        """Sorted commitments of the entries of ``list_type`` listed at ``epoch``."""
        cur = self.db.execute(
            "SELECT commitment FROM entries WHERE list_type = ? AND added_epoch <= ?"
            " AND (removed_epoch IS NULL OR removed_epoch > ?) ORDER BY commitment",
            (list_type, epoch, epoch),
        )
        for (c,) in cur:
            yield bytes(c)

    def entry_version_at(self, key: EntryKey, epoch: int) -> tuple[str | None, bytes] | None:
        """``(evidence_ref, salt)`` of the version of ``key`` listed at ``epoch``."""
        row = self.db.execute(
            "SELECT evidence_ref, salt FROM entries WHERE list_type = ? AND id_type = ?"
            " AND value = ? AND added_epoch <= ? AND (removed_epoch IS NULL OR removed_epoch > ?)",
            (*key, epoch, epoch),
        ).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def counts_of(self, list_type: str) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM entries WHERE list_type = ? AND removed_epoch IS NULL",
            (list_type,),
        ).fetchone()
        return int(row[0])

    def counts(self) -> dict[str, int]:
        cur = self.db.execute(
            "SELECT list_type, count(*) FROM entries WHERE removed_epoch IS NULL GROUP BY list_type"
        )
        return {str(lt): int(n) for lt, n in cur}

    # -- epochs -------------------------------------------------------------------

    def next_epoch(self, list_type: str) -> int:
        row = self.db.execute(
            "SELECT coalesce(max(epoch), 0) FROM epochs WHERE list_type = ?", (list_type,)
        ).fetchone()
        return int(row[0]) + 1

    def put_epoch(self, record: EpochRecord, sync_id: int) -> None:
        self.db.execute(
            "INSERT INTO epochs VALUES (?,?,?,?,?,?,?,?,?)",
            (
                record.list_type,
                record.epoch,
                record.created_at,
                record.size,
                record.evidence_root,
                record.index_epoch,
                record.index_root,
                record.key_id,
                sync_id,
            ),
        )

    def epoch(self, list_type: str, epoch: int | None = None) -> EpochRecord | None:
        """One epoch of ``list_type``, the latest when ``epoch`` is None."""
        sql = (
            "SELECT list_type, epoch, created_at, size, evidence_root, index_epoch, index_root,"
            " key_id FROM epochs WHERE list_type = ?"
        )
        if epoch is None:
            row = self.db.execute(sql + " ORDER BY epoch DESC LIMIT 1", (list_type,)).fetchone()
        else:
            row = self.db.execute(sql + " AND epoch = ?", (list_type, epoch)).fetchone()
        if row is None:
            return None
        lt, ep, at, size, root, iep, iroot, kid = row
        return EpochRecord(
            lt, ep, at, size, bytes(root), iep, None if iroot is None else bytes(iroot), kid
        )

    def list_types(self) -> list[str]:
        cur = self.db.execute(
            "SELECT list_type FROM epochs UNION SELECT list_type FROM rows ORDER BY 1"
        )
        return [str(r[0]) for r in cur]

    # -- syncs --------------------------------------------------------------------

    def start_sync(self, source: str, mode: str, now: int) -> int:
        cur = self.db.execute(
            "INSERT INTO syncs (source, mode, started_at, status) VALUES (?, ?, ?, 'running')",
            (source, mode, now),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def finish_sync(self, sync_id: int, status: str, now: int, **counts: object) -> None:
        allowed = {
            "rows_read",
            "accepted",
            "rejected",
            "blank",
            "duplicates",
            "added",
            "updated",
            "removed",
            "report",
            "message",
        }
        fields = {k: v for k, v in counts.items() if k in allowed}
        if "list_types" in counts:
            fields["list_types"] = json.dumps(sorted(counts["list_types"]))  # type: ignore[call-overload]
        sets = "".join(f", {k} = ?" for k in fields)
        self.db.execute(
            f"UPDATE syncs SET status = ?, finished_at = ?{sets} WHERE id = ?",
            (status, now, *fields.values(), sync_id),
        )

    def syncs(self, source: str | None = None, limit: int = 50) -> list[SyncRecord]:
        sql = (
            "SELECT id, source, mode, started_at, finished_at, status, rows_read, accepted,"
            " rejected, blank, duplicates, added, updated, removed, list_types, report, message"
            " FROM syncs"
        )
        args: tuple[object, ...] = ()
        if source is not None:
            sql += " WHERE source = ?"
            args = (source,)
        cur = self.db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        out = []
        for r in cur:
            fields = list(r)
            fields[14] = tuple(json.loads(fields[14]))
            out.append(SyncRecord(*fields))
        return out

    def source_list_types(self) -> dict[str, set[str]]:
        cur = self.db.execute("SELECT DISTINCT source, list_type FROM rows")
        out: dict[str, set[str]] = {}
        for s, lt in cur:
            out.setdefault(str(s), set()).add(str(lt))
        return out
