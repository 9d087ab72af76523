"""The responder's published index, kept in SQLite (WAL), one OPRF key per list type.

Rules this module keeps:

- Each list type has a key pair, a current epoch and a commitment per epoch. An epoch
  advances only when an ``apply`` (adds, removes, expiry) or ``rotate_key`` changes
  the set; the new commitment is computed in the same transaction, so the store never
  holds rows without the commitment that covers them.
- Adds and removes are incremental: only new or changed entries are evaluated (with
  every core, through the worker pool); nothing is re-evaluated on ``apply``. The
  commitment is recomputed by streaming the sorted tags once (O(n) hashing, no OPRF).
- Input is checked completely before the transaction starts: an unnormalised value or
  an unknown type raises and leaves the store untouched.
- Removed records are kept as tombstones (tag, label, epochs) so deltas can be served;
  ``rotate_key`` re-evaluates every entry under the new key, starts a new epoch, and
  drops the tombstones, since no delta can bridge two keys.
- The store keeps the normalised entries themselves (it lives behind the member's own
  gateway, and a key rotation must rebuild from them); nothing it exports carries them:
  commitments, snapshots, deltas and bucket answers hold only tags and sealed labels.
"""

from __future__ import annotations

import sqlite3
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from psi import _group as g
from psi import _oprf as o
from psi import _parallel as par
from psi._errors import BucketTooSmall, DeltaUnavailable, PsiError, StoreError
from psi._formats import BucketAnswer, Commitment, Delta
from psi._index import commit_stream
from psi._labels import LABEL_BYTES
from psi._registry import DEFAULT_REGISTRY, Registry
from psi._work import IndexItem

__all__ = ["MIN_BUCKET", "ApplyReport", "Entry", "IndexStore", "Progress"]

#: Bucket mode refuses to reveal a bucket holding fewer entries than this (DESIGN §4).
MIN_BUCKET = 4096
#: ``progress(done, total)`` is called as entries are evaluated.
Progress = Callable[[int, int], None]
_SCHEMA_VERSION = "2"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lists (
    id INTEGER PRIMARY KEY,
    list_type TEXT NOT NULL UNIQUE,
    secret BLOB NOT NULL,
    labels INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    key_epoch INTEGER NOT NULL
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


@dataclass(frozen=True, slots=True)
class Entry:
    """One normalised identifier to list, with what its label says.

    ``listed_at`` and ``expires_at`` are Unix seconds; an entry whose ``expires_at`` is
    at or before ``now`` is removed by the next ``apply``.
    """

    id_type: str
    value: str = field(repr=False)
    reason: int = 0
    listed_at: int | None = None
    expires_at: int | None = None


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What one ``apply`` did; ``commitment`` is the (possibly unchanged) current epoch."""

    commitment: Commitment
    added: int
    updated: int
    unchanged: int
    removed: int
    expired: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.expired)


_ROW_COLUMNS = "id, tag, label, added_epoch, reason, listed_at, expires_at"


@dataclass(frozen=True, slots=True)
class _Row:
    # An entry as stored, for tombstoning and for telling updates from repeats.
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


class _NoChange(Exception):
    # Raised inside an apply transaction that changed nothing, to roll it back.
    def __init__(self, unchanged: int) -> None:
        self.unchanged = unchanged


class IndexStore:
    """A responder's index of every list type it publishes, in one SQLite file."""

    def __init__(
        self,
        path: str | Path,
        *,
        registry: Registry = DEFAULT_REGISTRY,
        pool: par.WorkerPool | par._Default | None = par.DEFAULT,
    ) -> None:
        self.registry = registry
        self._pool = pool
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT v FROM meta WHERE k='schema'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (_SCHEMA_VERSION,))
        elif row[0] != _SCHEMA_VERSION:
            raise StoreError(f"index store schema {row[0]} is not {_SCHEMA_VERSION}")
        self._keys: dict[str, o.KeyPair] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> IndexStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lists and keys -------------------------------------------------------------

    def _list(self, list_type: str) -> tuple[int, int, bool, int]:
        self.registry.check_list_type(list_type)
        row = self._db.execute(
            "SELECT id, epoch, labels, key_epoch FROM lists WHERE list_type=?", (list_type,)
        ).fetchone()
        if row is None:
            raise StoreError(f"this store publishes no {list_type} list; create_list it first")
        return int(row[0]), int(row[1]), bool(row[2]), int(row[3])

    def list_types(self) -> list[str]:
        """The list types this store publishes."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT list_type FROM lists ORDER BY 1")]

    def key(self, list_type: str) -> o.KeyPair:
        """The current OPRF key pair of ``list_type`` (its secret stays in this process)."""
        with self._lock:
            if list_type not in self._keys:
                self._list(list_type)
                (secret,) = self._db.execute(
                    "SELECT secret FROM lists WHERE list_type=?", (list_type,)
                ).fetchone()
                self._keys[list_type] = o.KeyPair.from_secret(bytes(secret))
            return self._keys[list_type]

    def public_key(self, list_type: str) -> bytes:
        """The OPRF public key queriers verify ``list_type``'s evaluations against."""
        return self.key(list_type).public

    def create_list(self, list_type: str, key: o.KeyPair, *, labels: bool = True) -> Commitment:
        """Start publishing ``list_type`` under ``key``; returns the empty epoch-0 commitment."""
        self.registry.check_list_type(list_type)
        with self._lock, self._tx():
            if self._db.execute("SELECT 1 FROM lists WHERE list_type=?", (list_type,)).fetchone():
                raise StoreError(f"{list_type} is already published by this store")
            cur = self._db.execute(
                "INSERT INTO lists (list_type, secret, labels, epoch, key_epoch) "
                "VALUES (?, ?, ?, 0, 0)",
                (list_type, key.secret, int(labels)),
            )
            assert cur.lastrowid is not None
            self._keys[list_type] = key
            return self._commit(list_type, cur.lastrowid, 0, labels, key)

    # -- reading --------------------------------------------------------------------

    def commitment(self, list_type: str, epoch: int | None = None) -> Commitment:
        """The commitment of ``epoch`` (default: the current one)."""
        with self._lock:
            lid, current, _, _ = self._list(list_type)
            row = self._db.execute(
                "SELECT body FROM commitments WHERE list_id=? AND epoch=?",
                (lid, current if epoch is None else epoch),
            ).fetchone()
            if row is None:
                raise StoreError(f"{list_type} has no epoch {epoch}")
            return Commitment.from_bytes(bytes(row[0]))

    def size(self, list_type: str) -> int:
        with self._lock:
            lid = self._list(list_type)[0]
            return int(
                self._db.execute("SELECT count(*) FROM entries WHERE list_id=?", (lid,)).fetchone()[
                    0
                ]
            )

    def export_snapshot(self, list_type: str) -> bytes:
        """The current epoch's canonical snapshot (sorted 8-byte tags, sealed labels)."""
        with self._lock:
            lid, epoch, labels, _ = self._list(list_type)
            key = self.key(list_type)
            _, data = commit_stream(
                list_type,
                key.key_id,
                epoch,
                LABEL_BYTES if labels else 0,
                self._sorted_rows(lid),
                self.registry.normaliser_version,
                want_bytes=True,
            )
            assert data is not None
            return data

    def export_delta(self, list_type: str, since_epoch: int) -> bytes:
        """The change from ``since_epoch`` to the current epoch, for a querier's snapshot."""
        with self._lock:
            lid, epoch, labels, key_epoch = self._list(list_type)
            if not key_epoch <= since_epoch < epoch:
                raise DeltaUnavailable(
                    f"no delta from epoch {since_epoch} to {epoch} of {list_type} "
                    f"(deltas start at the last key change, epoch {key_epoch}); "
                    "fetch a snapshot instead"
                )
            removed = self._db.execute(
                "SELECT tag, label FROM tombstones WHERE list_id=? AND removed_epoch>? "
                "AND added_epoch<=?",
                (lid, since_epoch, since_epoch),
            ).fetchall()
            added = self._db.execute(
                "SELECT tag, label FROM entries WHERE list_id=? AND added_epoch>?",
                (lid, since_epoch),
            ).fetchall()
            return Delta(
                list_type=list_type,
                key_id=self.key(list_type).key_id,
                from_epoch=since_epoch,
                to_epoch=epoch,
                label_bytes=LABEL_BYTES if labels else 0,
                removed=tuple((bytes(t[:8]), bytes(lab)) for t, lab in removed),
                added=tuple((bytes(t[:8]), bytes(lab)) for t, lab in added),
            ).to_bytes()

    def bucket(self, list_type: str, prefix: int, bits: int) -> bytes:
        """Bucket mode: the full tags of one bucket; refuses buckets under ``MIN_BUCKET``.

        The querier reveals ``bits`` bits of ``SHA-256(domain | identifier)``; see
        ``bucket_bits_for`` for how many a list of a given size tolerates.
        """
        if not 0 <= bits <= 32 or not 0 <= prefix < (1 << bits):
            raise PsiError("bucket prefix out of range")
        with self._lock:
            lid, epoch, labels, _ = self._list(list_type)
            lo = prefix << (32 - bits)
            hi = lo + (1 << (32 - bits)) - 1
            rows = self._db.execute(
                "SELECT tag, label FROM entries WHERE list_id=? AND bucket BETWEEN ? AND ?",
                (lid, lo, hi),
            ).fetchall()
            if len(rows) < MIN_BUCKET:
                raise BucketTooSmall(
                    f"bucket holds fewer than {MIN_BUCKET} entries; use fewer prefix bits "
                    "or a snapshot"
                )
            return BucketAnswer(
                list_type,
                self.key(list_type).key_id,
                epoch,
                bits,
                prefix,
                LABEL_BYTES if labels else 0,
                tuple((bytes(t), bytes(lab)) for t, lab in rows),
            ).to_bytes()

    # -- serving --------------------------------------------------------------------

    def evaluate(
        self, list_type: str, blinded: Sequence[bytes], rng: g.Rng
    ) -> tuple[list[bytes], bytes]:
        """Evaluate a querier's blinded batch under ``list_type``'s key, with a DLEQ proof."""
        return par.evaluate_batch(self.key(list_type), blinded, rng, pool=self._pool)

    # -- changing -------------------------------------------------------------------

    def apply(
        self,
        list_type: str,
        adds: Iterable[Entry] = (),
        removes: Iterable[tuple[str, str]] = (),
        *,
        now: int,
        progress: Progress | None = None,
    ) -> ApplyReport:
        """Add or update entries, remove ``(id_type, value)`` pairs, expire what is due.

        Everything is checked before anything changes. An identifier both added and
        removed in one call is refused (the caller must decide which it means).
        """
        check = self.registry.checker(list_type)
        add_map: dict[tuple[str, str], Entry] = {}
        for e in adds:
            check(e.id_type, e.value)
            _check_fields(e)
            add_map[(e.id_type, e.value)] = e
        remove_set: set[tuple[str, str]] = set()
        for id_type, value in removes:
            check(id_type, value)
            remove_set.add((id_type, value))
        if remove_set & add_map.keys():
            raise StoreError("an identifier is both added and removed in one apply")
        # An entry that arrives already expired is a delisting: it removes any older
        # listing of the same identifier and is not listed itself.
        due = [k for k, e in add_map.items() if e.expires_at is not None and e.expires_at <= now]
        live = [e for e in add_map.values() if e.expires_at is None or e.expires_at > now]
        with self._lock:
            lid, epoch, labels, _ = self._list(list_type)
            key = self.key(list_type)
            new_epoch = epoch + 1
            try:
                with self._tx(), self._big_cache(len(live)):
                    expired = self._expire(lid, now, new_epoch)
                    expired += self._remove(lid, key, list_type, due, new_epoch)
                    removed = self._remove(lid, key, list_type, sorted(remove_set), new_epoch)
                    added, updated, unchanged = self._add(
                        lid, key, list_type, labels, live, new_epoch, progress
                    )
                    if not (expired or removed or added or updated):
                        raise _NoChange(unchanged)
                    self._db.execute("UPDATE lists SET epoch=? WHERE id=?", (new_epoch, lid))
                    c = self._commit(list_type, lid, new_epoch, labels, key)
            except _NoChange as nc:
                return ApplyReport(self.commitment(list_type), 0, 0, nc.unchanged, 0, 0)
            return ApplyReport(c, added, updated, unchanged, removed, expired)

    def rotate_key(
        self, list_type: str, key: o.KeyPair, *, progress: Progress | None = None
    ) -> Commitment:
        """Re-evaluate every entry under ``key``; a new epoch whose commitment names it."""
        with self._lock:
            lid, epoch, labels, _ = self._list(list_type)
            new_epoch = epoch + 1
            rows = self._db.execute(
                "SELECT id_type, value, reason, listed_at, expires_at FROM entries WHERE list_id=?",
                (lid,),
            ).fetchall()
            entries = [Entry(*row) for row in rows]
            with self._tx(), self._big_cache(len(entries)):
                self._db.execute("DELETE FROM entries WHERE list_id=?", (lid,))
                self._db.execute("DELETE FROM tombstones WHERE list_id=?", (lid,))
                self._db.execute(
                    "UPDATE lists SET secret=?, epoch=?, key_epoch=? WHERE id=?",
                    (key.secret, new_epoch, new_epoch, lid),
                )
                self._keys[list_type] = key
                self._add(lid, key, list_type, labels, entries, new_epoch, progress)
                return self._commit(list_type, lid, new_epoch, labels, key)

    # -- internals ------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            # A rolled-back rotation must not leave its new key cached.
            self._keys.clear()
            raise
        self._db.execute("COMMIT")

    def _sorted_rows(self, lid: int) -> Iterator[list[tuple[bytes, bytes]]]:
        # (tag, label) in tag order, a few thousand rows at a time.
        cur = self._db.execute(
            "SELECT tag, label FROM entries WHERE list_id=? ORDER BY tag", (lid,)
        )
        while rows := cur.fetchmany(8192):
            yield rows

    def _commit(
        self, list_type: str, lid: int, epoch: int, labels: bool, key: o.KeyPair
    ) -> Commitment:
        c, _ = commit_stream(
            list_type,
            key.key_id,
            epoch,
            LABEL_BYTES if labels else 0,
            self._sorted_rows(lid),
            self.registry.normaliser_version,
            want_bytes=False,
        )
        self._db.execute(
            "INSERT INTO commitments (list_id, epoch, body) VALUES (?, ?, ?)",
            (lid, epoch, c.to_bytes()),
        )
        return c

    @contextmanager
    def _big_cache(self, rows: int) -> Iterator[None]:
        # Bulk inserts into the random-order tag and bucket indexes thrash a small page
        # cache; give a big apply up to 256 MiB while it runs, then hand it back.
        if rows < 50_000:
            yield
            return
        self._db.execute("PRAGMA cache_size=-262144")
        try:
            yield
        finally:
            self._db.execute("PRAGMA cache_size=-16384")
            self._db.execute("PRAGMA shrink_memory")

    def _tombstone(self, lid: int, rows: Sequence[_Row], epoch: int) -> None:
        self._db.executemany(
            "INSERT INTO tombstones VALUES (?, ?, ?, ?, ?)",
            [(lid, r.tag, r.label, r.added_epoch, epoch) for r in rows],
        )
        self._db.executemany("DELETE FROM entries WHERE id=?", [(r.rowid,) for r in rows])

    def _expire(self, lid: int, now: int, epoch: int) -> int:
        rows = [
            _Row(*r)
            for r in self._db.execute(
                f"SELECT {_ROW_COLUMNS} FROM entries WHERE list_id=? "
                "AND expires_at IS NOT NULL AND expires_at<=?",
                (lid, now),
            )
        ]
        self._tombstone(lid, rows, epoch)
        return len(rows)

    def _tags(self, key: o.KeyPair, list_type: str, ids: Sequence[tuple[str, str]]) -> list[bytes]:
        items: list[IndexItem] = [(t, v, 0, None, None) for t, v in ids]
        version = self.registry.normaliser_version
        stream = par.index_stream(key, list_type, version, False, items, pool=self._pool)
        return [tags[i : i + 16] for tags, _, _ in stream for i in range(0, len(tags), 16)]

    def _remove(
        self,
        lid: int,
        key: o.KeyPair,
        list_type: str,
        ids: Sequence[tuple[str, str]],
        epoch: int,
    ) -> int:
        if not ids:
            return 0
        rows = self._existing(lid, self._tags(key, list_type, ids))
        self._tombstone(lid, list(rows.values()), epoch)
        return len(rows)

    def _existing(self, lid: int, tags: Sequence[bytes]) -> dict[bytes, _Row]:
        found: dict[bytes, _Row] = {}
        for i in range(0, len(tags), 500):
            part = tags[i : i + 500]
            q = ",".join("?" * len(part))
            for row in self._db.execute(
                f"SELECT {_ROW_COLUMNS} FROM entries WHERE list_id=? AND tag IN ({q})",
                (lid, *part),
            ):
                r = _Row(*row)
                found[r.tag] = r
        return found

    def _add(
        self,
        lid: int,
        key: o.KeyPair,
        list_type: str,
        labels: bool,
        entries: Sequence[Entry],
        epoch: int,
        progress: Progress | None,
    ) -> tuple[int, int, int]:
        added = updated = unchanged = 0
        total = len(entries)
        done = 0
        # An empty list cannot hold any of these yet: skip the per-chunk lookups.
        fresh = (
            self._db.execute("SELECT 1 FROM entries WHERE list_id=? LIMIT 1", (lid,)).fetchone()
            is None
        )
        items: list[IndexItem] = [
            (e.id_type, e.value, e.reason, e.listed_at, e.expires_at) for e in entries
        ]
        lb = LABEL_BYTES if labels else 0
        version = self.registry.normaliser_version
        # Columns of the rows to insert, zipped per chunk (in C, not row by row).
        cols = list(zip(*items, strict=True)) if items else [()] * 5
        for tags, sealed, bucket_bytes in par.index_stream(
            key, list_type, version, labels, items, pool=self._pool
        ):
            buckets = array("I")
            buckets.frombytes(bucket_bytes)
            n = len(buckets)
            chunk_tags = [tags[i : i + 16] for i in range(0, 16 * n, 16)]
            chunk_labels = [sealed[i : i + lb] for i in range(0, lb * n, lb)] if lb else [b""] * n
            rows = list(
                zip(
                    repeat(lid, n),
                    chunk_tags,
                    chunk_labels,
                    buckets,
                    *(c[done : done + n] for c in cols),
                    repeat(epoch, n),
                    strict=True,
                )
            )
            stale: list[_Row] = []
            if not fresh:
                rows, stale, same = _changes(self._existing(lid, chunk_tags), rows)
                unchanged += same
                self._tombstone(lid, stale, epoch)
            updated += len(stale)
            added += len(rows) - len(stale)
            self._db.executemany(
                "INSERT INTO entries (list_id, tag, label, bucket, id_type, value, reason, "
                "listed_at, expires_at, added_epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            done += n
            if progress is not None:
                progress(done, total)
        return added, updated, unchanged


def _changes(
    old: dict[bytes, _Row], rows: list[tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], list[_Row], int]:
    # Split new rows against what is stored: rows to insert, stored rows they replace,
    # and how many are exact repeats (same label and fields) to leave alone.
    keep: list[tuple[Any, ...]] = []
    stale: list[_Row] = []
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


def _check_fields(e: Entry) -> None:
    if type(e.reason) is not int or not 0 <= e.reason <= 0xFFFF:
        raise PsiError("an entry's reason code must be an int 0-65535")
    for t in (e.listed_at, e.expires_at):
        if t is not None and (type(t) is not int or not 0 <= t < 1 << 40):
            raise PsiError("listed_at and expires_at are whole Unix seconds")
