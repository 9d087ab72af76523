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

import threading
from array import array
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from itertools import repeat
from pathlib import Path

from psi import _group as g
from psi import _oprf as o
from psi import _parallel as par
from psi._errors import BucketTooSmall, DeltaUnavailable, PsiError, StoreError
from psi._formats import BucketAnswer, Commitment, Delta
from psi._index import commit_stream
from psi._labels import LABEL_BYTES
from psi._registry import DEFAULT_REGISTRY, Registry
from psi._tables import ListRow, Row, Tables, is_memory, split_changes
from psi._work import IndexItem

__all__ = ["MIN_BUCKET", "ApplyReport", "Entry", "IndexStore", "Progress"]

#: Bucket mode refuses to reveal a bucket holding fewer entries than this (DESIGN §4).
MIN_BUCKET = 4096
#: ``progress(done, total)`` is called as entries are evaluated.
Progress = Callable[[int, int], None]


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


class _NoChange(Exception):
    # Raised inside an apply transaction that changed nothing, to roll it back.
    def __init__(self, unchanged: int) -> None:
        self.unchanged = unchanged


class IndexStore:
    """A responder's index of every list type it publishes, in one SQLite file.

    Thread-safe: one lock serialises the connection. Batches are evaluated in the
    worker ``pool`` (default: the process-wide pool; ``None`` evaluates inline).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        registry: Registry = DEFAULT_REGISTRY,
        pool: par.WorkerPool | par._Default | None = par.DEFAULT,
    ) -> None:
        self.registry = registry
        self._pool = pool
        # One connection and lock for changes, another for reads, so queries are served
        # (keys, commitments, snapshots, deltas) while a long apply runs. An in-memory
        # database cannot be shared between connections, so it gets one of each.
        self._lock = threading.RLock()
        self._t = Tables(path)
        if is_memory(path):
            self._rlock, self._r = self._lock, self._t
        else:
            self._rlock, self._r = threading.RLock(), Tables(path, reader=True)
        self._keys: dict[str, o.KeyPair] = {}

    def close(self) -> None:
        with self._lock, self._rlock:
            if self._r is not self._t:
                self._r.close()
            self._t.close()

    def __enter__(self) -> IndexStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lists and keys -------------------------------------------------------------

    def _list(self, list_type: str, t: Tables | None = None) -> ListRow:
        self.registry.check_list_type(list_type)
        row = (t or self._r).list_row(list_type)
        if row is None:
            raise StoreError(f"this store publishes no {list_type} list; create_list it first")
        return row

    def list_types(self) -> list[str]:
        """The list types this store publishes."""
        with self._rlock:
            return self._r.list_types()

    def key(self, list_type: str) -> o.KeyPair:
        """The current OPRF key pair of ``list_type`` (its secret stays in this process).

        Cached per ``IndexStore``: a rotation by this instance switches it when the new
        index commits; a rotation by another process is seen after reopening the store.
        """
        key = self._keys.get(list_type)
        if key is not None:
            return key
        with self._rlock:
            key = o.KeyPair.from_secret(self._r.secret(self._list(list_type).lid))
            self._keys.setdefault(list_type, key)
            return self._keys[list_type]

    def public_key(self, list_type: str) -> bytes:
        """The OPRF public key queriers verify ``list_type``'s evaluations against."""
        return self.key(list_type).public

    def create_list(self, list_type: str, key: o.KeyPair, *, labels: bool = True) -> Commitment:
        """Start publishing ``list_type`` under ``key``; returns the empty epoch-0 commitment."""
        self.registry.check_list_type(list_type)
        with self._lock:
            with self._tx():
                if self._t.list_row(list_type) is not None:
                    raise StoreError(f"{list_type} is already published by this store")
                lid = self._t.add_list(list_type, key.secret, labels)
                c = self._commit(list_type, ListRow(lid, 0, labels, 0), key)
            self._keys[list_type] = key
            return c

    # -- reading --------------------------------------------------------------------

    def commitment(self, list_type: str, epoch: int | None = None) -> Commitment:
        """The commitment of ``epoch`` (default: the current one)."""
        with self._rlock:
            lst = self._list(list_type)
            body = self._r.commitment(lst.lid, lst.epoch if epoch is None else epoch)
            if body is None:
                raise StoreError(f"{list_type} has no epoch {epoch}")
            return Commitment.from_bytes(body)

    def size(self, list_type: str) -> int:
        """How many entries ``list_type`` holds now."""
        with self._rlock:
            return self._r.count(self._list(list_type).lid)

    def export_snapshot(self, list_type: str) -> bytes:
        """The current epoch's canonical snapshot (sorted 8-byte tags, sealed labels)."""
        with self._rlock:
            lst = self._list(list_type)
            _, data = commit_stream(
                list_type,
                self.key(list_type).key_id,
                lst.epoch,
                LABEL_BYTES if lst.labels else 0,
                self._r.sorted_records(lst.lid),
                self.registry.normaliser_version,
                want_bytes=True,
            )
            assert data is not None
            return data

    def export_delta(self, list_type: str, since_epoch: int) -> bytes:
        """The change from ``since_epoch`` to the current epoch, for a querier's snapshot."""
        with self._rlock:
            lst = self._list(list_type)
            if not lst.delta_floor <= since_epoch < lst.epoch:
                raise DeltaUnavailable(
                    f"no delta from epoch {since_epoch} to {lst.epoch} of {list_type} "
                    f"(deltas start at epoch {lst.delta_floor}: the last key change or "
                    "pruning); "
                    "fetch a snapshot instead"
                )
            removed, added = self._r.delta(lst.lid, since_epoch)
            return Delta(
                list_type=list_type,
                key_id=self.key(list_type).key_id,
                from_epoch=since_epoch,
                to_epoch=lst.epoch,
                label_bytes=LABEL_BYTES if lst.labels else 0,
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
        with self._rlock:
            lst = self._list(list_type)
            lo = prefix << (32 - bits)
            rows = self._r.bucket(lst.lid, lo, lo + (1 << (32 - bits)) - 1)
            if len(rows) < MIN_BUCKET:
                raise BucketTooSmall(
                    f"bucket holds fewer than {MIN_BUCKET} entries; use fewer prefix bits "
                    "or a snapshot"
                )
            return BucketAnswer(
                list_type,
                self.key(list_type).key_id,
                lst.epoch,
                bits,
                prefix,
                LABEL_BYTES if lst.labels else 0,
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
            lst = self._list(list_type, self._t)
            key = self.key(list_type)
            epoch = lst.epoch + 1
            try:
                with self._tx(), self._t.big_cache(len(live)):
                    rows = self._t.rows_due(lst.lid, now)
                    self._t.tombstone(lst.lid, rows, epoch)
                    expired = len(rows) + self._remove(lst, key, list_type, due, epoch)
                    removed = self._remove(lst, key, list_type, sorted(remove_set), epoch)
                    added, updated, unchanged = self._add(
                        lst, key, list_type, live, epoch, progress
                    )
                    if not (expired or removed or added or updated):
                        raise _NoChange(unchanged)
                    self._t.set_epoch(lst.lid, epoch)
                    c = self._commit(list_type, replace(lst, epoch=epoch), key)
            except _NoChange as nc:
                return ApplyReport(self.commitment(list_type), 0, 0, nc.unchanged, 0, 0)
            return ApplyReport(c, added, updated, unchanged, removed, expired)

    def rotate_key(
        self, list_type: str, key: o.KeyPair, *, progress: Progress | None = None
    ) -> Commitment:
        """Re-evaluate every entry under ``key``; a new epoch whose commitment names it."""
        with self._lock:
            lst = self._list(list_type, self._t)
            epoch = lst.epoch + 1
            entries = [Entry(*row) for row in self._t.sources(lst.lid)]
            with self._tx(), self._t.big_cache(len(entries)):
                self._t.set_key(lst.lid, key.secret, epoch)
                self._add(lst, key, list_type, entries, epoch, progress)
                c = self._commit(list_type, ListRow(lst.lid, epoch, lst.labels, epoch), key)
            # Only now, with the new index committed, do evaluations switch keys.
            self._keys[list_type] = key
            return c

    def prune_history(self, list_type: str, keep_from_epoch: int) -> int:
        """Drop the tombstones only deltas from before ``keep_from_epoch`` need.

        Deltas from ``keep_from_epoch`` (up to the current epoch) stay available; older
        queriers fetch a snapshot instead. Returns how many tombstones were dropped.
        """
        with self._lock:
            lst = self._list(list_type, self._t)
            if not 0 <= keep_from_epoch <= lst.epoch:
                raise StoreError(f"{list_type} has no epoch {keep_from_epoch}")
            with self._tx():
                return self._t.prune(lst.lid, keep_from_epoch)

    # -- internals ------------------------------------------------------------------

    def _tx(self) -> AbstractContextManager[None]:
        return self._t.transaction()

    def _commit(self, list_type: str, lst: ListRow, key: o.KeyPair) -> Commitment:
        c, _ = commit_stream(
            list_type,
            key.key_id,
            lst.epoch,
            LABEL_BYTES if lst.labels else 0,
            self._t.sorted_records(lst.lid),
            self.registry.normaliser_version,
            want_bytes=False,
        )
        self._t.put_commitment(lst.lid, lst.epoch, c.to_bytes())
        return c

    def _tags(self, key: o.KeyPair, list_type: str, ids: Sequence[tuple[str, str]]) -> list[bytes]:
        items: list[IndexItem] = [(t, v, 0, None, None) for t, v in ids]
        version = self.registry.normaliser_version
        stream = par.index_stream(key, list_type, version, False, items, pool=self._pool)
        return [tags[i : i + 16] for tags, _, _ in stream for i in range(0, len(tags), 16)]

    def _remove(
        self,
        lst: ListRow,
        key: o.KeyPair,
        list_type: str,
        ids: Sequence[tuple[str, str]],
        epoch: int,
    ) -> int:
        if not ids:
            return 0
        rows = self._t.rows_by_tag(lst.lid, self._tags(key, list_type, ids))
        self._t.tombstone(lst.lid, list(rows.values()), epoch)
        return len(rows)

    def _add(
        self,
        lst: ListRow,
        key: o.KeyPair,
        list_type: str,
        entries: Sequence[Entry],
        epoch: int,
        progress: Progress | None,
    ) -> tuple[int, int, int]:
        added = updated = unchanged = 0
        done = 0
        lid = lst.lid
        # An empty list cannot hold any of these yet: skip the per-chunk lookups.
        fresh = self._t.is_empty(lid)
        items: list[IndexItem] = [
            (e.id_type, e.value, e.reason, e.listed_at, e.expires_at) for e in entries
        ]
        lb = LABEL_BYTES if lst.labels else 0
        # Columns of the rows to insert, zipped per chunk (in C, not row by row).
        cols = list(zip(*items, strict=True)) if items else [()] * 5
        stream = par.index_stream(
            key, list_type, self.registry.normaliser_version, lst.labels, items, pool=self._pool
        )
        for tags, sealed, bucket_bytes in stream:
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
            stale: list[Row] = []
            if not fresh:
                rows, stale, same = split_changes(self._t.rows_by_tag(lid, chunk_tags), rows)
                unchanged += same
                self._t.tombstone(lid, stale, epoch)
            updated += len(stale)
            added += len(rows) - len(stale)
            self._t.insert(rows)
            done += n
            if progress is not None:
                progress(done, len(items))
        return added, updated, unchanged


def _check_fields(e: Entry) -> None:
    if type(e.reason) is not int or not 0 <= e.reason <= 0xFFFF:
        raise PsiError("an entry's reason code must be an int 0-65535")
    for t in (e.listed_at, e.expires_at):
        if t is not None and (type(t) is not int or not 0 <= t < 1 << 40):
            raise PsiError("listed_at and expires_at are whole Unix seconds")
