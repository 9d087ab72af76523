"""The gateway's own bookkeeping: ``<data-dir>/gateway.sqlite`` (WAL, shared by workers).

Tables:

- ``answered`` — every query this member answered, keyed by the ledger receipt id
  (querier + request id). A worker inserts the row *after* evaluating and signing the
  receipt; the primary key is the cross-process replay guard (a second insert for one
  request fails, and that request is refused as a replay). The supervisor drains rows
  in state ``pending`` into ``credits.receipt`` transactions. The stored response lets a
  querier whose answer was lost fetch it again instead of paying twice.
- ``meta`` — counters: the last transaction sequence number this member used, the
  last query-request sequence number.

No identifier is ever stored here: requests hold blinded elements' digests, responses
hold evaluated elements (uniformly random-looking group elements).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway._errors import ReplayError

__all__ = ["Answered", "LocalState"]

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
    reason TEXT
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


class LocalState:
    """One connection per process; safe across the threads of that process."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        # A crash may lose the last rows' durability but never their integrity; the
        # ledger, not this file, is the record of what was charged.
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._db.executescript(_SCHEMA)
        path.chmod(0o600)

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

    def record_answer(self, answer: Answered) -> None:
        """Insert a new answer; :class:`ReplayError` if this request was answered before."""
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO answered (receipt_id, querier, list_type, items, received_ms,"
                    " request, request_sig, receipt, receipt_sig, response, key_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        answer.receipt_id,
                        answer.querier,
                        answer.list_type,
                        answer.items,
                        answer.received_ms,
                        answer.request,
                        answer.request_sig,
                        answer.receipt,
                        answer.receipt_sig,
                        answer.response,
                        answer.key_id,
                    ),
                )
        except sqlite3.IntegrityError:
            raise ReplayError("this request was answered before") from None

    def pending_items(self, querier: str, list_type: str) -> int:
        """Items answered for ``querier`` on ``list_type`` not yet charged on the ledger."""
        with self._lock:
            row = self._db.execute(
                "SELECT COALESCE(SUM(items), 0) FROM answered"
                " WHERE querier = ? AND list_type = ? AND state IN ('pending', 'submitted')",
                (querier, list_type),
            ).fetchone()
        return int(row[0])

    def answer(self, receipt_id: str, querier: str) -> Answered | None:
        """The stored answer to one of ``querier``'s requests (never another member's)."""
        with self._lock:
            row = self._db.execute(
                "SELECT receipt_id, querier, list_type, items, received_ms, request,"
                " request_sig, receipt, receipt_sig, response, key_id, state FROM answered"
                " WHERE receipt_id = ? AND querier = ?",
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
