"""The gateway's own bookkeeping: ``<data-dir>/gateway.sqlite`` (WAL, shared by workers).

Tables:

- ``answered`` — every query this member answered, keyed by the ledger receipt id
  (querier + request id). A worker *reserves* the row before it evaluates anything
  (state ``reserved``, with the charge the answer will cost): in one write transaction
  it sums what this gateway answered the querier that its replica does not show charged
  yet, judges admission against it, and inserts the row, so concurrent requests from
  one querier, in any worker process, are admitted one at a time against one balance
  (:meth:`LocalState.reserve`). The primary key is the cross-process replay guard (a
  second insert for one request fails, and that request is refused as a replay). After
  evaluating and signing, the worker fills the row in (state ``pending``); a refusal
  after reserving deletes it, and a reservation a crashed worker left behind is
  released after a minute (nothing was answered under it). The supervisor drains rows
  in state ``pending`` into ``credits.receipt`` transactions. The stored response lets a
  querier whose answer was lost fetch it again instead of paying twice.
- ``hit_reports`` — the querier's side: for each query that hit, which receipts said
  yes to which identifier (receipt ids only), waiting until those receipts are on the
  ledger to be reported as ``credits.hits`` (``gateway._hits``).
- ``meta`` — counters: the last transaction sequence number this member used, the
  last query-request sequence number.

The schema (these tables and ``gateway._rotation``'s ``oprf_retained``) is versioned by
``PRAGMA user_version``: a file from before versioning (0) has the same tables and is
stamped; version 2 added ``answered.charge`` (an older file gains the column, 0 for
rows already there); a file a newer riskshare wrote is refused rather than misread.

No identifier is ever stored here: requests hold blinded elements' digests, responses
hold evaluated elements (uniformly random-looking group elements).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from gateway._errors import GatewayError, ReplayError
from psi import StoreError, open_private_file
from token_incentive import Exposure

_T = TypeVar("_T")

__all__ = ["SCHEMA_VERSION", "Answered", "HitReport", "LocalState", "connect_state"]

SCHEMA_VERSION = 2
# A reservation older than this was left by a worker that died before answering.
RESERVATION_MS = 60_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS answered (
    receipt_id TEXT PRIMARY KEY,
    querier TEXT NOT NULL,
    list_type TEXT NOT NULL,
    items INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    request BLOB NOT NULL,
    request_sig BLOB NOT NULL,
    receipt BLOB NOT NULL,
    receipt_sig BLOB NOT NULL,
    response BLOB NOT NULL,
    key_id TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    tx_id BLOB,
    height INTEGER,
    reason TEXT,
    charge INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS answered_state ON answered(state, received_ms);
CREATE INDEX IF NOT EXISTS answered_querier ON answered(querier, state);
CREATE TABLE IF NOT EXISTS refunds (
    receipt_id TEXT PRIMARY KEY,
    blinded BLOB NOT NULL,
    evaluated BLOB NOT NULL,
    proof BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'waiting',
    reason TEXT
);
CREATE TABLE IF NOT EXISTS hit_reports (
    id INTEGER PRIMARY KEY,
    items TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'waiting',
    tx_id BLOB,
    submitted_ms INTEGER,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS hit_reports_state ON hit_reports(state);
"""


@dataclass(frozen=True, slots=True)
class Answered:
    receipt_id: str
    querier: str
    list_type: str
    items: int
    received_ms: int
    request: bytes
    request_sig: bytes
    receipt: bytes
    receipt_sig: bytes
    response: bytes
    key_id: str
    state: str = "pending"


@dataclass(frozen=True, slots=True)
class HitReport:
    """One query's hits: per identifier that hit, the receipt ids of the yes-sayers."""

    id: int
    items: tuple[tuple[str, ...], ...]
    created_ms: int
    state: str
    tx_id: bytes | None
    submitted_ms: int | None


def connect_state(path: Path) -> sqlite3.Connection:
    """A WAL connection to ``gateway.sqlite``, the file created 0600 and refused if looser.

    The file holds old OPRF private keys during a rotation (``gateway._rotation``), so
    it gets the index's rule: SQLite gives ``-wal`` and ``-shm`` the main file's mode, and
    the main file exists 0600 before SQLite opens it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        open_private_file(path)
    except StoreError as exc:
        raise GatewayError(str(exc)) from None
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        db.close()
        raise GatewayError(
            f"{path} has schema version {version}; this riskshare knows up to "
            f"{SCHEMA_VERSION} (a newer release wrote it): upgrade riskshare"
        )
    db.execute("PRAGMA journal_mode=WAL")
    if version < SCHEMA_VERSION:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return db


class LocalState:
    """One connection per process; safe across the threads of that process."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = connect_state(path)
        # A crash may lose the last rows' durability but never their integrity; the
        # ledger, not this file, is the record of what was charged.
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(answered)")}
            if "charge" not in columns:  # a version-1 file
                self._db.execute(
                    "ALTER TABLE answered ADD COLUMN charge INTEGER NOT NULL DEFAULT 0"
                )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- answered requests (responder side) ----------------------------------------------

    def seen(self, receipt_id: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM answered WHERE receipt_id = ?", (receipt_id,)
            ).fetchone()
        return row is not None

    def reserve(
        self,
        receipt_id: str,
        querier: str,
        list_type: str,
        items: int,
        *,
        now_ms: int,
        height: int,
        admit: Callable[[Exposure], _T],
        charge_of: Callable[[_T], int],
    ) -> _T:
        """Admit one request of ``querier``'s against what it was answered and not charged.

        ``admit`` is called, inside one write transaction, with the querier's exposure:
        the items and charges of its answers in this file that the replica at
        ``height`` does not show charged (reserved, pending and submitted answers, and
        those committed above ``height``). If it returns, the request is reserved with
        ``charge_of`` its result; if it raises, nothing is written. Raises
        :class:`ReplayError` if this request was reserved or answered before.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if self._db.execute(
                    "SELECT 1 FROM answered WHERE receipt_id = ?", (receipt_id,)
                ).fetchone():
                    raise ReplayError("this request was answered before")
                pending_items, pending_charge = self._db.execute(
                    "SELECT COALESCE(SUM(items), 0), COALESCE(SUM(charge), 0) FROM answered"
                    " WHERE querier = ? AND (state IN ('reserved', 'pending', 'submitted')"
                    " OR (state = 'committed' AND height > ?))",
                    (querier, height),
                ).fetchone()
                decided = admit(Exposure(int(pending_items), int(pending_charge)))
                self._db.execute(
                    "INSERT INTO answered (receipt_id, querier, list_type, items, received_ms,"
                    " request, request_sig, receipt, receipt_sig, response, key_id, state,"
                    " charge) VALUES (?, ?, ?, ?, ?, x'', x'', x'', x'', x'', '', 'reserved', ?)",
                    (receipt_id, querier, list_type, items, now_ms, charge_of(decided)),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return decided

    def release(self, receipt_id: str) -> None:
        """Drop a reservation whose request was refused after all (nothing answered)."""
        with self._lock:
            self._db.execute(
                "DELETE FROM answered WHERE receipt_id = ? AND state = 'reserved'", (receipt_id,)
            )

    def release_stale(self, now_ms: int) -> int:
        """Drop reservations a worker left behind when it died before answering."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM answered WHERE state = 'reserved' AND received_ms < ?",
                (now_ms - RESERVATION_MS,),
            )
        return cur.rowcount

    def record_answer(self, answer: Answered) -> None:
        """Fill in the answer to a reserved request (inserting it if it was not reserved);
        :class:`ReplayError` if this request was answered before."""
        values = (
            answer.received_ms,
            answer.request,
            answer.request_sig,
            answer.receipt,
            answer.receipt_sig,
            answer.response,
            answer.key_id,
            answer.receipt_id,
        )
        try:
            with self._lock:
                cur = self._db.execute(
                    "UPDATE answered SET received_ms = ?, request = ?, request_sig = ?,"
                    " receipt = ?, receipt_sig = ?, response = ?, key_id = ?, state = 'pending'"
                    " WHERE receipt_id = ? AND state = 'reserved'",
                    values,
                )
                if cur.rowcount == 0:
                    self._db.execute(
                        "INSERT INTO answered (received_ms, request, request_sig, receipt,"
                        " receipt_sig, response, key_id, receipt_id, querier, list_type, items)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (*values, answer.querier, answer.list_type, answer.items),
                    )
        except sqlite3.IntegrityError:
            raise ReplayError("this request was answered before") from None

    def unrecorded(self, key_id: str) -> int:
        """Answers made under OPRF key ``key_id`` whose receipts are not on the ledger yet."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM answered"
                " WHERE state IN ('pending', 'submitted') AND key_id = ?",
                (key_id,),
            ).fetchone()
        return int(row[0])

    def answer(self, receipt_id: str, querier: str) -> Answered | None:
        """The stored answer to one of ``querier``'s requests (never another member's)."""
        with self._lock:
            row = self._db.execute(
                "SELECT receipt_id, querier, list_type, items, received_ms, request,"
                " request_sig, receipt, receipt_sig, response, key_id, state FROM answered"
                " WHERE receipt_id = ? AND querier = ? AND state != 'reserved'",
                (receipt_id, querier),
            ).fetchone()
        return None if row is None else Answered(*row)

    def to_submit(self, limit: int) -> list[Answered]:
        with self._lock:
            rows = self._db.execute(
                "SELECT receipt_id, querier, list_type, items, received_ms, request,"
                " request_sig, receipt, receipt_sig, response, key_id, state FROM answered"
                " WHERE state = 'pending' ORDER BY received_ms LIMIT ?",
                (limit,),
            ).fetchall()
        return [Answered(*row) for row in rows]

    def mark(
        self,
        receipt_id: str,
        state: str,
        *,
        tx_id: bytes | None = None,
        height: int | None = None,
        reason: str | None = None,
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE answered SET state = ?, tx_id = COALESCE(?, tx_id),"
                " height = COALESCE(?, height), reason = ? WHERE receipt_id = ?",
                (state, tx_id, height, reason, receipt_id),
            )

    def in_state(self, state: str) -> Iterator[tuple[str, bytes | None]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT receipt_id, tx_id FROM answered WHERE state = ?", (state,)
            ).fetchall()
        yield from ((str(r[0]), None if r[1] is None else bytes(r[1])) for r in rows)

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM answered GROUP BY state")
            return {str(state): int(n) for state, n in rows.fetchall()}

    # -- refund claims (querier side) ---------------------------------------------------

    def claim_refund(
        self, receipt_id: str, blinded: bytes, evaluated: bytes, proof: bytes, now_ms: int
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO refunds (receipt_id, blinded, evaluated, proof, created_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (receipt_id, blinded, evaluated, proof, now_ms),
            )

    def refunds(self, state: str) -> list[tuple[str, bytes, bytes, bytes, int]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT receipt_id, blinded, evaluated, proof, created_ms FROM refunds"
                " WHERE state = ?",
                (state,),
            ).fetchall()
        return [(str(r[0]), bytes(r[1]), bytes(r[2]), bytes(r[3]), int(r[4])) for r in rows]

    def mark_refund(self, receipt_id: str, state: str, reason: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE refunds SET state = ?, reason = ? WHERE receipt_id = ?",
                (state, reason, receipt_id),
            )

    # -- hit reports (querier side) -------------------------------------------------------

    def queue_hit_report(self, items: list[list[str]], now_ms: int) -> int:
        """Keep one query's hits until its receipts are recorded; the report's row id."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO hit_reports (items, created_ms) VALUES (?, ?)",
                (json.dumps(items), now_ms),
            )
        return int(cur.lastrowid or 0)

    def hit_reports(self, state: str) -> list[HitReport]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, items, created_ms, state, tx_id, submitted_ms FROM hit_reports"
                " WHERE state = ? ORDER BY id",
                (state,),
            ).fetchall()
        return [
            HitReport(
                int(r[0]),
                tuple(tuple(str(rid) for rid in item) for item in json.loads(r[1])),
                int(r[2]),
                str(r[3]),
                None if r[4] is None else bytes(r[4]),
                None if r[5] is None else int(r[5]),
            )
            for r in rows
        ]

    def mark_hit_report(
        self,
        report_id: int,
        state: str,
        *,
        items: list[list[str]] | None = None,
        tx_id: bytes | None = None,
        now_ms: int | None = None,
        reason: str | None = None,
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE hit_reports SET state = ?, items = COALESCE(?, items), tx_id = ?,"
                " submitted_ms = ?, reason = ? WHERE id = ?",
                (
                    state,
                    None if items is None else json.dumps(items),
                    tx_id,
                    now_ms,
                    reason,
                    report_id,
                ),
            )

    def hit_report_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM hit_reports GROUP BY state")
            return {str(state): int(n) for state, n in rows.fetchall()}

    def oldest_unrecorded_ms(self) -> int | None:
        """When the oldest answer not yet on the ledger was given (None: none is waiting)."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(received_ms) FROM answered WHERE state IN ('pending', 'submitted')"
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    # -- counters ---------------------------------------------------------------------

    def next_counter(self, name: str, at_least: int) -> int:
        """Atomically advance a counter to ``max(last + 1, at_least)`` and return it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT v FROM meta WHERE k = ?", (name,)).fetchone()
                value = max(at_least, (int(row[0]) + 1) if row else 0)
                self._db.execute(
                    "INSERT INTO meta (k, v) VALUES (?, ?)"
                    " ON CONFLICT(k) DO UPDATE SET v = excluded.v",
                    (name, value),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return value
