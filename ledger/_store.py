"""The SQLite store: blocks, transactions, their results, and the state they produce.

Rules the store keeps:

- One SQLite file per replica (``<data-dir>/ledger.sqlite``), WAL journal, one writer.
  ``synchronous=FULL`` by default, so a committed block survives power loss, not just a
  crashed process.
- A block, its transactions' results and the state it produces commit in **one**
  SQLite transaction: a crash at any instant leaves the previous block or the next one,
  never a state between.
- The store keeps bytes exactly as signed: each block's header bytes and proposer
  signature, each transaction's stored bytes. A block's encoding is rebuilt from those
  parts (its canonical CBOR container has one form), so nothing is stored twice.
- Reads (state lookups, blocks, transactions) use a second, read-only connection, so
  they never wait for a block being committed: they see the last committed state.
- The store does not judge: callers (:class:`ledger.Replica`, the orderers) validate a
  block before they commit it, and ``verify`` re-checks everything stored.

Schema version 1 (``PRAGMA user_version``): ``meta``, ``blocks``, ``txs`` (indexed by
id, by member, by kind, by height), ``tx_parties``, ``state`` (the tables contracts
read), ``checkpoints`` and ``equivocations``. docs/LEDGER_FORMAT.md lists the columns.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cbor2

from ledger._block import Block, encode_block
from ledger._contract import Value
from ledger._errors import LedgerError
from ledger._execute import TxResult, Write
from ledger._schema import (
    BLOCK_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    TX_COLUMNS,
    BlockInfo,
    TxRecord,
    tx_record,
)
from ledger._state import next_serial

__all__ = ["SCHEMA_VERSION", "BlockInfo", "Store", "StoreError", "StoreState", "TxRecord"]

_CACHE_LIMIT = 1 << 17
_PAGE_CACHE_KIB = 32 * 1024
_PRELOAD_BATCH = 500  # keys per query (SQLite allows 32,766 parameters)
_SCAN_CACHE_ROWS = 1024
_SCAN_CACHE_ENTRIES = 256


class StoreError(LedgerError):
    """The store cannot do what was asked (wrong height, wrong schema, missing file)."""


class StoreState:
    """The committed state as a read-only :class:`ledger.State` (writes go to overlays).

    Reads see every block this process committed; blocks committed by another process
    on the same file are seen by the next :meth:`Store.state` call (which drops the
    read caches when the file changed), so take a fresh one per request or block.
    """

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, table: str, key: str) -> Value | None:
        try:
            encoded = self._store._cache[(table, key)]
        except KeyError:
            encoded = self._store._get_encoded(table, key)
        return None if encoded is None else cbor2.loads(encoded)

    def put(self, table: str, key: str, value: Value) -> None:
        raise StoreError("committed state changes only by committing a block")

    def delete(self, table: str, key: str) -> None:
        raise StoreError("committed state changes only by committing a block")

    def scan(self, table: str, prefix: str = "") -> Iterator[tuple[str, Value]]:
        for key, encoded in self._store._scan_encoded(table, prefix):
            yield key, cbor2.loads(encoded)

    def table_token(self, table: str) -> Hashable:
        """Changes whenever the read caches could (see :func:`ledger.table_token`)."""
        return self._store._token


class Store:
    """A replica's SQLite file. Thread-safe; one writing process per file."""

    def __init__(self, path: str | Path, *, create: bool = True, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"no ledger at {self.path}")
        if synchronous not in ("FULL", "NORMAL"):
            raise StoreError("synchronous must be FULL or NORMAL")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.execute("PRAGMA foreign_keys=ON")
        # Every block inserts ~1,700 receipts and journal rows at random keys of the state
        # B-tree; with SQLite's default 2 MiB page cache most of those pages are read back
        # from the OS for each block (measured: 44 -> 38 µs CPU per receipt with 32 MiB).
        # Reads only: durability is the journal's business, not the cache's.
        self._conn.execute(f"PRAGMA cache_size=-{_PAGE_CACHE_KIB}")
        self._cache: dict[tuple[str, str], bytes | None] = {}
        self._scans: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
        self._data_version = -1
        # (serial, generation): the generation moves on every commit or rollback here and
        # whenever another process's commit is noticed, i.e. whenever the caches move.
        self._serial = next_serial()
        self._token: tuple[int, int] = (self._serial, 0)
        self._migrate()
        # Reads go through a second connection, so a block being committed (which holds
        # ``_lock`` through its SQLite transaction and fsync) does not stall them: WAL
        # lets them read the last committed state meanwhile. The caches stay exact
        # because a reader reads and fills them inside one ``_read_lock`` section, and a
        # commit updates them, after COMMIT, inside another: a value read before the
        # commit is overwritten by the commit's own update, one read after it is new.
        # Invalidations (another process's commit noticed) move ``_write_gen``, and a
        # read that straddles one fills nothing.
        if str(self.path) == ":memory:":
            # A private in-memory database has no second connection: read through the first.
            self._read_lock: threading.RLock = self._lock
            self._reader = self._conn
        else:
            self._read_lock = threading.RLock()
            self._reader = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._reader.execute("PRAGMA query_only=ON")
            self._reader.execute(f"PRAGMA cache_size=-{_PAGE_CACHE_KIB}")
        self._write_gen = 0

    def _migrate(self) -> None:
        with self._lock:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return
            if version != 0:
                raise StoreError(
                    f"{self.path} has ledger schema {version}; this software knows {SCHEMA_VERSION}"
                )
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if self._conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read inside sees one committed state of the file.

        A walk over the whole file (``verify_chain``) reads blocks, transactions,
        checkpoints and row counts one query at a time; a replica committing meanwhile
        (another process on the file, or this one) would make them disagree. One SQLite
        read transaction on the reader pins the WAL snapshot for the duration. Holds the
        read lock: other readers through this object wait, a writer does not. Inside,
        use the block and row readers only, not :meth:`state` (it takes the write lock,
        which a committing thread holds while it waits for the read lock).
        """
        with self._read_lock:
            if self._reader is self._conn or self._reader.in_transaction:
                # In memory the read lock is the write lock; nested: already pinned.
                yield
                return
            self._reader.execute("BEGIN")
            try:
                yield
            finally:
                self._reader.execute("COMMIT")

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._conn.close()
            if self._reader is not self._conn:
                self._reader.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state -------------------------------------------------------------------------

    def state(self) -> StoreState:
        """The committed state; reads see every block committed so far."""
        self._check_outside_writes()
        return StoreState(self)

    def _check_outside_writes(self) -> None:
        # Another connection's commit (a second process on the file) makes the cache stale.
        with self._lock:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:
                with self._read_lock:
                    self._write_gen += 1
                    self._cache.clear()
                    self._scans.clear()
                    self._data_version = version
                    self._bump()

    def _bump(self) -> None:
        self._token = (self._serial, self._token[1] + 1)

    def _get_encoded(self, table: str, key: str) -> bytes | None:
        cache_key = (table, key)
        try:
            return self._cache[cache_key]
        except KeyError:
            pass
        with self._read_lock:
            gen = self._write_gen
            row = self._reader.execute(
                "SELECT value FROM state WHERE tbl = ? AND key = ?", cache_key
            ).fetchone()
            value = None if row is None else bytes(row[0])
            if gen == self._write_gen:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[cache_key] = value
            return value

    def _scan_encoded(self, table: str, prefix: str) -> list[tuple[str, bytes]]:
        # Contracts scan small tables (gov.params, gov.members) on every transaction;
        # a scan of a table no block has written since is answered from memory.
        cached = self._scans.get((table, prefix))
        if cached is not None:
            return cached
        with self._read_lock:
            gen = self._write_gen
            rows = self._reader.execute(
                "SELECT key, value FROM state WHERE tbl = ? AND key >= ? ORDER BY key",
                (table, prefix),
            )
            out = []
            for key, value in rows:
                if not key.startswith(prefix):
                    break
                out.append((key, bytes(value)))
            rows.close()
            if len(out) <= _SCAN_CACHE_ROWS and gen == self._write_gen:
                if len(self._scans) >= _SCAN_CACHE_ENTRIES:
                    self._scans.clear()
                self._scans[(table, prefix)] = out
            return out

    def preload(self, keys: Iterable[tuple[str, str]]) -> None:
        """Read state rows into the cache in a few queries (absent ones as absent).

        Contracts hint at what they will read (:attr:`ledger.Contract.reads`); loading it
        here, ahead of time and off the applying thread, spares that thread one SQLite
        round trip per transaction (a receipt's replay check misses the cache by design).
        """
        wanted: dict[str, list[str]] = {}
        for table, key in keys:
            if (table, key) not in self._cache:
                wanted.setdefault(table, []).append(key)
        for table, names in wanted.items():
            for i in range(0, len(names), _PRELOAD_BATCH):
                batch = names[i : i + _PRELOAD_BATCH]
                marks = ", ".join("?" * len(batch))
                with self._read_lock:
                    gen = self._write_gen
                    found = dict(
                        self._reader.execute(
                            f"SELECT key, value FROM state WHERE tbl = ? AND key IN ({marks})",
                            (table, *batch),
                        ).fetchall()
                    )
                    if gen != self._write_gen:
                        continue
                    if len(self._cache) + len(batch) >= _CACHE_LIMIT:
                        self._cache.clear()
                    for key in batch:
                        value = found.get(key)
                        self._cache[(table, key)] = None if value is None else bytes(value)

    def state_rows(self) -> Iterator[tuple[str, str, bytes]]:
        """Every ``(table, key, value CBOR)`` in order, for verification and export."""
        with self._read_lock:
            rows = self._reader.execute("SELECT tbl, key, value FROM state ORDER BY tbl, key")
            yield from ((t, k, bytes(v)) for t, k, v in rows.fetchall())

    # -- blocks ------------------------------------------------------------------------

    @property
    def height(self) -> int:
        """The head height, ``-1`` when the store is empty."""
        with self._read_lock:
            row = self._reader.execute("SELECT MAX(height) FROM blocks").fetchone()
            return -1 if row[0] is None else int(row[0])

    def head(self) -> BlockInfo | None:
        with self._read_lock:
            row = self._reader.execute(
                f"SELECT {BLOCK_COLUMNS} FROM blocks ORDER BY height DESC LIMIT 1"
            ).fetchone()
            return None if row is None else BlockInfo(*row)

    def block_info(self, height: int) -> BlockInfo | None:
        with self._read_lock:
            row = self._reader.execute(
                f"SELECT {BLOCK_COLUMNS} FROM blocks WHERE height = ?", (height,)
            ).fetchone()
            return None if row is None else BlockInfo(*row)

    def blocks_info(self, from_height: int = 0, limit: int | None = None) -> list[BlockInfo]:
        with self._read_lock:
            rows = self._reader.execute(
                f"SELECT {BLOCK_COLUMNS} FROM blocks WHERE height >= ? ORDER BY height LIMIT ?",
                (from_height, -1 if limit is None else limit),
            ).fetchall()
            return [BlockInfo(*row) for row in rows]

    @property
    def chain_id(self) -> bytes | None:
        with self._read_lock:
            row = self._reader.execute("SELECT value FROM meta WHERE key = 'chain_id'").fetchone()
            return None if row is None else bytes(row[0])

    def meta_rows(self) -> list[tuple[str, bytes]]:
        """Every ``(key, value)`` of the ``meta`` table, for verification."""
        with self._read_lock:
            rows = self._reader.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
            return [(k, bytes(v)) for k, v in rows]

    def row_counts(self) -> dict[str, int]:
        """Rows per table of the chain (``blocks``, ``txs``, ``tx_parties``,
        ``checkpoints``): ``verify`` checks nothing is stored beside what it walked."""
        with self._read_lock:
            return {
                table: int(self._reader.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for table in ("blocks", "txs", "tx_parties", "checkpoints")
            }

    def block_txs(self, height: int) -> list[bytes]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT raw FROM txs WHERE height = ? ORDER BY idx", (height,)
            ).fetchall()
            return [bytes(r[0]) for r in rows]

    def block(self, height: int) -> bytes | None:
        """The block's encoding, exactly as it was proposed."""
        with self._read_lock:
            info = self.block_info(height)
            if info is None:
                return None
            return encode_block(info.header, info.signature, self.block_txs(height))

    def blocks_from(self, height: int) -> Iterator[bytes]:
        """Blocks from ``height`` to the head as it is while iterating."""
        while True:
            block = self.block(height)
            if block is None:
                return
            yield block
            height += 1

    def wait_for_height(self, height: int, timeout: float) -> bool:
        """Wait until a block at ``height`` is committed by this process (or exists)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.height >= height, timeout=timeout)

    def commit(self, block: Block, results: Sequence[TxResult], writes: Sequence[Write]) -> None:
        """Store a validated block, its results and its writes, all or nothing."""
        if len(results) != len(block.txs):
            raise StoreError("one result per transaction is required")
        with self._lock:
            try:
                self._write(block, results, writes)
            except BaseException:
                with self._read_lock:
                    self._write_gen += 1
                    self._cache.clear()
                    self._scans.clear()
                    self._bump()
                raise
            # After COMMIT, in one section readers cannot interleave (see __init__).
            with self._read_lock:
                written = set()
                for table, key, value in writes:
                    self._cache[(table, key)] = value
                    written.add(table)
                for scanned in [k for k in self._scans if k[0] in written]:
                    del self._scans[scanned]
                # After the caches: a reader holding the new token reads the new values.
                self._bump()
            self._data_version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            self._changed.notify_all()

    def _write(self, block: Block, results: Sequence[TxResult], writes: Sequence[Write]) -> None:
        """The SQLite transaction of :meth:`commit` (lock held)."""
        header = block.header
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            head = self._conn.execute("SELECT MAX(height) FROM blocks").fetchone()[0]
            expected = 0 if head is None else head + 1
            if header.height != expected:
                raise StoreError(f"block {header.height} does not follow head {expected - 1}")
            try:
                self._insert(block, results, writes)
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                # A full disk, an I/O error: the block is not stored and the head is
                # unchanged, so the caller may offer the same block again later.
                raise StoreError(f"block {header.height} not stored: {exc}") from exc
        except BaseException:
            # SQLite rolls back by itself after some errors (SQLITE_FULL, some I/O
            # errors); a second ROLLBACK would raise and hide the first error.
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def _insert(self, block: Block, results: Sequence[TxResult], writes: Sequence[Write]) -> None:
        header = block.header
        c = self._conn
        c.execute(
            f"INSERT INTO blocks ({BLOCK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                header.height,
                header.hash,
                header.raw,
                block.signature,
                header.time,
                header.proposer,
                header.tx_count,
                header.state_digest,
            ),
        )
        c.executemany(
            "INSERT INTO txs (height, idx, tx_id, raw, member, kind, seq, time, ok, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    header.height,
                    r.index,
                    r.tx_id,
                    raw,
                    r.member,
                    r.kind,
                    r.seq,
                    r.time,
                    int(r.ok),
                    r.reason,
                )
                for r, raw in zip(results, block.txs, strict=True)
            ],
        )
        c.executemany(
            "INSERT INTO tx_parties (party, height, idx) VALUES (?, ?, ?)",
            [(p, header.height, r.index) for r in results for p in r.parties],
        )
        c.executemany(
            "INSERT OR REPLACE INTO state (tbl, key, value) VALUES (?, ?, ?)",
            [(t, k, v) for t, k, v in writes if v is not None],
        )
        c.executemany(
            "DELETE FROM state WHERE tbl = ? AND key = ?",
            [(t, k) for t, k, v in writes if v is None],
        )
        if header.height == 0:
            c.execute("INSERT INTO meta (key, value) VALUES ('chain_id', ?)", (header.chain,))

    # -- transactions ------------------------------------------------------------------

    def tx(self, tx_id: bytes) -> TxRecord | None:
        """The transaction with this id; its valid occurrence if it also appears refused."""
        # Through the read connection: the orderer asks while a block may be committing.
        with self._read_lock:
            row = self._reader.execute(
                f"SELECT {TX_COLUMNS} FROM txs WHERE tx_id = ? ORDER BY ok DESC, height LIMIT 1",
                (tx_id,),
            ).fetchone()
            return None if row is None else tx_record(row)

    def tx_at(self, height: int, index: int) -> TxRecord | None:
        with self._read_lock:
            row = self._reader.execute(
                f"SELECT {TX_COLUMNS} FROM txs WHERE height = ? AND idx = ?", (height, index)
            ).fetchone()
            return None if row is None else tx_record(row)

    def txs(
        self,
        *,
        member: str | None = None,
        kind: str | None = None,
        party: str | None = None,
        ok: bool | None = None,
        from_height: int = 0,
        to_height: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[TxRecord]:
        """Transactions filtered by submitter, kind, involved party, validity and height.

        ``member`` is who submitted and signed; ``party`` another member the contract
        names as involved (``Contract.parties``): for query receipts, the responder
        submits and the querier is a party, so "queries I served" is
        ``txs(member=me, kind=...)`` and "queries I made" ``txs(party=me, kind=...)``.
        """
        where = ["t.height >= ?"]
        args: list[Any] = [from_height]
        source = "txs t"
        if party is not None:
            source = "tx_parties p JOIN txs t ON t.height = p.height AND t.idx = p.idx"
            where.append("p.party = ?")
            args.append(party)
        for column, value in (("member", member), ("kind", kind)):
            if value is not None:
                where.append(f"t.{column} = ?")
                args.append(value)
        if ok is not None:
            where.append("t.ok = ?")
            args.append(int(ok))
        if to_height is not None:
            where.append("t.height <= ?")
            args.append(to_height)
        order = "DESC" if newest_first else "ASC"
        columns = ", ".join(f"t.{c.strip()}" for c in TX_COLUMNS.split(","))
        sql = (
            f"SELECT {columns} FROM {source} WHERE {' AND '.join(where)}"
            f" ORDER BY t.height {order}, t.idx {order} LIMIT ?"
        )
        args.append(-1 if limit is None else limit)
        with self._read_lock:
            return [tx_record(row) for row in self._reader.execute(sql, args).fetchall()]

    def tx_parties(self, height: int, index: int) -> tuple[str, ...]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT party FROM tx_parties WHERE height = ? AND idx = ? ORDER BY party",
                (height, index),
            ).fetchall()
            return tuple(r[0] for r in rows)

    def odd_ok_flags(self) -> list[tuple[int, int]]:
        """``(height, idx)`` of transactions whose ``ok`` is neither 0 nor 1: records
        read it as a bool, but listings filter on ``ok = 1`` / ``ok = 0`` and would
        silently drop such a row, so ``verify`` looks at the stored integer."""
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT height, idx FROM txs WHERE ok IS NOT 0 AND ok IS NOT 1 ORDER BY height, idx"
            ).fetchall()
            return [(h, i) for h, i in rows]

    def tx_count(self) -> int:
        with self._read_lock:
            return int(self._reader.execute("SELECT COUNT(*) FROM txs").fetchone()[0])

    # -- checkpoints and equivocations -------------------------------------------------

    def add_checkpoint(self, height: int, member: str, header_hash: bytes, sig: bytes) -> bool:
        """Record a verified checkpoint signature; ``False`` if it was already known."""
        with self._lock:
            try:
                cursor = self._conn.execute(
                    "INSERT OR IGNORE INTO checkpoints (height, member, header_hash, signature)"
                    " VALUES (?, ?, ?, ?)",
                    (height, member, header_hash, sig),
                )
            except sqlite3.Error as exc:
                raise StoreError(f"checkpoint for height {height} not stored: {exc}") from exc
            return cursor.rowcount > 0

    def checkpoints(self, height: int) -> list[tuple[str, bytes, bytes]]:
        """``(member, header_hash, signature)`` recorded for ``height``."""
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT member, header_hash, signature FROM checkpoints WHERE height = ?"
                " ORDER BY member",
                (height,),
            ).fetchall()
            return [(m, bytes(h), bytes(s)) for m, h, s in rows]

    def checkpoints_on_blocks(
        self, from_height: int = 0
    ) -> list[tuple[int, str, bytes, bytes, bytes, bytes]]:
        """Every checkpoint from ``from_height`` on that names the held block's hash, as
        ``(height, member, header_hash, signature, header, proposer_signature)``.

        One query for what a checkpoint stream sends, instead of two per height: the
        stream runs it after every new block and checkpoint.
        """
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT c.height, c.member, c.header_hash, c.signature, b.header, b.signature"
                " FROM checkpoints c JOIN blocks b"
                " ON b.height = c.height AND b.hash = c.header_hash"
                " WHERE c.height >= ? ORDER BY c.height, c.member",
                (from_height,),
            ).fetchall()
            return [
                (h, m, bytes(hh), bytes(sig), bytes(hd), bytes(ps))
                for h, m, hh, sig, hd, ps in rows
            ]

    def checkpointed_heights(self, from_height: int = 0) -> list[int]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT DISTINCT height FROM checkpoints WHERE height >= ? ORDER BY height",
                (from_height,),
            ).fetchall()
            return [r[0] for r in rows]

    def record_equivocation(self, height: int, detail: str, evidence: bytes) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO equivocations (height, detail, evidence) VALUES (?, ?, ?)",
                (height, detail, evidence),
            )

    def equivocation_records(self) -> list[tuple[int, int, str, bytes]]:
        """``(id, height, detail, evidence)`` of every recorded equivocation."""
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT id, height, detail, evidence FROM equivocations ORDER BY id"
            ).fetchall()
            return [(i, h, d, bytes(e)) for i, h, d, e in rows]

    def equivocations(self) -> list[tuple[int, str, bytes]]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT height, detail, evidence FROM equivocations ORDER BY id"
            ).fetchall()
            return [(h, d, bytes(e)) for h, d, e in rows]
