"""The SQL of the index store: schema and row access, nothing about OPRFs or epochs' rules.

Tables:

- ``lists``: one row per published list type: its key, whether it has labels, the
  current epoch and the delta floor, the oldest epoch a delta can start from (the
  epoch the current key started, since deltas cannot cross a key, or later once old
  tombstones are pruned).
- ``entries``: one row per listed identifier: the 16-byte tag, the sealed label, the
  32-bit bucket key, the normalised entry itself (for rebuilds under a new key) and the
  epoch it was added in. Rows are appended (rowid order) and found through narrow
  indexes on (list, tag), (list, bucket), (list, added epoch) and (list, expiry), which
  keeps bulk loads cheap.
- ``tombstones``: removed records (tag, label, epochs), from which deltas are served.
- ``commitments``: the encoded commitment of every epoch.

The file holds each list's OPRF private key, so it is a secret file: a new index is
created 0600 before SQLite opens it (SQLite gives its ``-wal`` and ``-shm`` files the
database file's mode), and an index, ``-wal`` or ``-shm`` file that the group or others
could read, or that another user owns, is refused (the rule the gateway keeps for its
key files). Epochs are SQLite integers: one outside ``0 .. 2**63 - 1`` names no epoch.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from psi._errors import StoreError

__all__ = [
    "MAX_EPOCH",
    "SCHEMA_VERSION",
    "ListRow",
    "Row",
    "Tables",
    "is_memory",
    "open_private_file",
    "split_changes",
]

SCHEMA_VERSION = "3"
#: The largest epoch an index can hold (SQLite's integers are signed 64-bit).
MAX_EPOCH = 2**63 - 1
# The files of one SQLite database in WAL mode; all hold (or held) its pages.
_SIDE_FILES = ("", "-wal", "-shm")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lists (
    id INTEGER PRIMARY KEY,
    list_type TEXT NOT NULL UNIQUE,
    secret BLOB NOT NULL,
    labels INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    delta_floor INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    list_id INTEGER NOT NULL,
    tag BLOB NOT NULL,
    label BLOB NOT NULL,
    bucket INTEGER NOT NULL,
    id_type TEXT NOT NULL,
    value TEXT NOT NULL,
    reason INTEGER NOT NULL,
    listed_at INTEGER,
    expires_at INTEGER,
    added_epoch INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS entries_tag ON entries (list_id, tag);
CREATE INDEX IF NOT EXISTS entries_bucket ON entries (list_id, bucket);
CREATE INDEX IF NOT EXISTS entries_added ON entries (list_id, added_epoch);
CREATE INDEX IF NOT EXISTS entries_expiry ON entries (list_id, expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS tombstones (
    list_id INTEGER NOT NULL,
    tag BLOB NOT NULL,
    label BLOB NOT NULL,
    added_epoch INTEGER NOT NULL,
    removed_epoch INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tombstones_epoch ON tombstones (list_id, removed_epoch);
CREATE TABLE IF NOT EXISTS commitments (
    list_id INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (list_id, epoch)
);
"""

_ROW_COLUMNS = "id, tag, label, added_epoch, reason, listed_at, expires_at"
_INSERT = (
    "INSERT INTO entries (list_id, tag, label, bucket, id_type, value, reason, "
    "listed_at, expires_at, added_epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class Row:
    """An entry as stored, for tombstoning and for telling updates from repeats."""

    rowid: int
    tag: bytes
    label: bytes
    added_epoch: int
    reason: int
    listed_at: int | None
    expires_at: int | None

    @property
    def meta(self) -> tuple[int, int | None, int | None]:
        return self.reason, self.listed_at, self.expires_at


@dataclass(frozen=True, slots=True)
class ListRow:
    """A published list: its row id, current epoch, labels flag and delta floor."""

    lid: int
    epoch: int
    labels: bool
    delta_floor: int


def is_memory(path: str | Path) -> bool:
    """Whether ``path`` names an in-memory database rather than a file."""
    return str(path) in ("", ":memory:") or str(path).startswith("file::memory:")


def open_private_file(path: str | Path) -> None:
    """Create an SQLite file holding secrets 0600 if it does not exist; refuse a loose one.

    For the index (its OPRF keys) and for ``gateway.sqlite`` (the old OPRF keys kept
    during a rotation). SQLite creates ``-wal`` and ``-shm`` with the main file's mode,
    so creating the main file 0600 before SQLite opens it keeps all three private.

    Raises :class:`StoreError` if the file, or its ``-wal`` or ``-shm`` file, is not a
    regular file, is readable or writable by the group or others, or is owned by
    another user; also for a ``file:`` URI, whose file this cannot check.
    """
    if str(path).startswith("file:"):
        raise StoreError(f"{path}: the index store takes a file path, not a URI")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the file ({exc.strerror})") from None
    else:
        # The mode argument is filtered by the umask and may be ignored by a filesystem
        # without POSIX modes; set it explicitly before SQLite writes a byte.
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    for suffix in _SIDE_FILES:
        name = f"{path}{suffix}"
        try:
            info = os.stat(name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StoreError(f"{name}: cannot check the file ({exc.strerror})") from None
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"{name}: not a regular file")
        if info.st_mode & 0o077:
            raise StoreError(
                f"{name}: permissions {stat.S_IMODE(info.st_mode):04o} are too open; the file"
                " holds OPRF private keys and must be 0600 (chmod 600)"
            )
        if info.st_uid != os.geteuid():
            raise StoreError(f"{name}: owned by uid {info.st_uid}, not by us")


class Tables:
    """Row access for one SQLite file; callers serialise use (``IndexStore`` holds a lock)."""

    def __init__(self, path: str | Path, *, reader: bool = False) -> None:
        if not is_memory(path):
            open_private_file(path)
        # A reader connection never writes (query_only); with WAL it reads the last
        # committed state while the writer's transaction is still open.
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        if reader:
            self.db.execute("PRAGMA query_only=1")
            return
        # 8 KiB pages make the tag and bucket indexes shallower (measured ~7 % cheaper
        # inserts at 10^6 rows); the size only takes effect for a new file, before WAL.
        self.db.execute("PRAGMA page_size=8192")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        row = self.db.execute("SELECT v FROM meta WHERE k='schema'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            raise StoreError(f"index store schema {row[0]} is not {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def big_cache(self, rows: int) -> Iterator[None]:
        """Up to 256 MiB of page cache for a bulk load, given back afterwards.

        Inserts into the random-order tag and bucket indexes thrash a small cache.
        """
        if rows < 50_000:
            yield
            return
        self.db.execute("PRAGMA cache_size=-262144")
        try:
            yield
        finally:
            self.db.execute("PRAGMA cache_size=-16384")
            self.db.execute("PRAGMA shrink_memory")

    # -- lists ---------------------------------------------------------------------

    def list_row(self, list_type: str) -> ListRow | None:
        row = self.db.execute(
            "SELECT id, epoch, labels, delta_floor FROM lists WHERE list_type=?", (list_type,)
        ).fetchone()
        return None if row is None else ListRow(int(row[0]), int(row[1]), bool(row[2]), int(row[3]))

    def list_types(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT list_type FROM lists ORDER BY 1")]

    def secret(self, lid: int) -> bytes:
        return bytes(self.db.execute("SELECT secret FROM lists WHERE id=?", (lid,)).fetchone()[0])

    def add_list(self, list_type: str, secret: bytes, labels: bool) -> int:
        cur = self.db.execute(
            "INSERT INTO lists (list_type, secret, labels, epoch, delta_floor) "
            "VALUES (?, ?, ?, 0, 0)",
            (list_type, secret, int(labels)),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def set_epoch(self, lid: int, epoch: int) -> None:
        self.db.execute("UPDATE lists SET epoch=? WHERE id=?", (epoch, lid))

    def set_key(self, lid: int, secret: bytes, epoch: int) -> None:
        # A new key starts a new index: old rows and tombstones go.
        self.db.execute("DELETE FROM entries WHERE list_id=?", (lid,))
        self.db.execute("DELETE FROM tombstones WHERE list_id=?", (lid,))
        self.db.execute(
            "UPDATE lists SET secret=?, epoch=?, delta_floor=? WHERE id=?",
            (secret, epoch, epoch, lid),
        )

    # -- commitments -----------------------------------------------------------------

    def put_commitment(self, lid: int, epoch: int, body: bytes) -> None:
        self.db.execute("INSERT INTO commitments VALUES (?, ?, ?)", (lid, epoch, body))

    def commitment(self, lid: int, epoch: int) -> bytes | None:
        if type(epoch) is not int or not 0 <= epoch <= MAX_EPOCH:
            return None  # not an epoch SQLite could have stored
        row = self.db.execute(
            "SELECT body FROM commitments WHERE list_id=? AND epoch=?", (lid, epoch)
        ).fetchone()
        return None if row is None else bytes(row[0])

    # -- entries ---------------------------------------------------------------------

    def count(self, lid: int) -> int:
        return int(
            self.db.execute("SELECT count(*) FROM entries WHERE list_id=?", (lid,)).fetchone()[0]
        )

    def is_empty(self, lid: int) -> bool:
        return (
            self.db.execute("SELECT 1 FROM entries WHERE list_id=? LIMIT 1", (lid,)).fetchone()
            is None
        )

    def sources(self, lid: int) -> list[tuple[str, str, int, int | None, int | None]]:
        """The normalised entries themselves, for a rebuild under a new key."""
        return self.db.execute(
            "SELECT id_type, value, reason, listed_at, expires_at FROM entries WHERE list_id=?",
            (lid,),
        ).fetchall()

    def sorted_records(self, lid: int) -> Iterator[list[tuple[bytes, bytes]]]:
        """(tag, label) in tag order, a few thousand rows at a time."""
        cur = self.db.execute("SELECT tag, label FROM entries WHERE list_id=? ORDER BY tag", (lid,))
        while rows := cur.fetchmany(8192):
            yield rows

    def rows_by_tag(self, lid: int, tags: Sequence[bytes]) -> dict[bytes, Row]:
        found: dict[bytes, Row] = {}
        for i in range(0, len(tags), 500):
            part = tags[i : i + 500]
            marks = ",".join("?" * len(part))
            for r in self.db.execute(
                f"SELECT {_ROW_COLUMNS} FROM entries WHERE list_id=? AND tag IN ({marks})",
                (lid, *part),
            ):
                row = Row(*r)
                found[row.tag] = row
        return found

    def rows_due(self, lid: int, now: int) -> list[Row]:
        """Entries whose expiry is at or before ``now``."""
        return [
            Row(*r)
            for r in self.db.execute(
                f"SELECT {_ROW_COLUMNS} FROM entries WHERE list_id=? "
                "AND expires_at IS NOT NULL AND expires_at<=?",
                (lid, now),
            )
        ]

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        """Rows as ``(list_id, tag, label, bucket, id_type, value, reason, listed_at,
        expires_at, added_epoch)``; sorted here by tag, which keeps consecutive inserts
        into the tag index close together."""
        rows.sort(key=itemgetter(1))
        self.db.executemany(_INSERT, rows)

    def tombstone(self, lid: int, rows: Sequence[Row], epoch: int) -> None:
        """Move ``rows`` from the entries to the tombstones, as removed in ``epoch``."""
        self.db.executemany(
            "INSERT INTO tombstones VALUES (?, ?, ?, ?, ?)",
            [(lid, r.tag, r.label, r.added_epoch, epoch) for r in rows],
        )
        self.db.executemany("DELETE FROM entries WHERE id=?", [(r.rowid,) for r in rows])

    def prune(self, lid: int, floor: int) -> int:
        """Forget tombstones no delta from ``floor`` on needs; raise the delta floor."""
        cur = self.db.execute(
            "DELETE FROM tombstones WHERE list_id=? AND removed_epoch<=?", (lid, floor)
        )
        self.db.execute("UPDATE lists SET delta_floor=max(delta_floor, ?) WHERE id=?", (floor, lid))
        return int(cur.rowcount)

    def delta(
        self, lid: int, since: int
    ) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
        """(removed, added) records between epoch ``since`` and now."""
        removed = self.db.execute(
            "SELECT tag, label FROM tombstones WHERE list_id=? AND removed_epoch>? "
            "AND added_epoch<=?",
            (lid, since, since),
        ).fetchall()
        added = self.db.execute(
            "SELECT tag, label FROM entries WHERE list_id=? AND added_epoch>?", (lid, since)
        ).fetchall()
        return removed, added

    def bucket(self, lid: int, lo: int, hi: int) -> list[tuple[bytes, bytes]]:
        return self.db.execute(
            "SELECT tag, label FROM entries WHERE list_id=? AND bucket BETWEEN ? AND ?",
            (lid, lo, hi),
        ).fetchall()


def split_changes(
    old: dict[bytes, Row], rows: list[tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], list[Row], int]:
    """Split new rows against what is stored.

    Returns the rows to insert, the stored rows they replace, and how many new rows are
    exact repeats (same label and fields) to leave alone.
    """
    keep: list[tuple[Any, ...]] = []
    stale: list[Row] = []
    same = 0
    for row in rows:
        prev = old.get(row[1])
        if prev is not None:
            if prev.label == row[2] and prev.meta == row[6:9]:
                same += 1
                continue
            stale.append(prev)
        keep.append(row)
    return keep, stale, same
