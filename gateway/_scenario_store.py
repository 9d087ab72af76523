"""The private records a member holds, in ``<data_dir>/scenarios.sqlite``.

Two tables, written by the supervisor and by every worker (SQLite in WAL mode):

- ``private_states``: one row per version of a confidential object this member holds as
  a party or observer — the record (``riskshare/scenario-private-record/v1``) and
  whether it was checked against the commitment on the replica (``committed``; an
  endorsed version not yet seen in a block is kept uncommitted);
- ``private_purged``: the versions deleted after the scenario's retention.

Deletion overwrites (``secure_delete``) and truncates the write-ahead log, so a purged
state does not linger in the file.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from scenarios.kit import PrivateRecord

__all__ = ["PrivateStore", "open_scenarios_db"]


def open_scenarios_db(data_dir: Path) -> sqlite3.Connection:
    """``scenarios.sqlite``, shared by the private records and the co-signing approvals.

    ``secure_delete``: a purge or a forgotten approval is overwritten, not left in free
    pages where a copy of the file would still hold it.
    """
    conn = sqlite3.connect(data_dir / "scenarios.sqlite", timeout=10, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA secure_delete=ON")
    return conn


class PrivateStore:
    """The private records this member holds, in ``scenarios.sqlite``."""

    def __init__(self, data_dir: Path) -> None:
        self._conn = open_scenarios_db(data_dir)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS private_states ("
            "hid BLOB NOT NULL, version INTEGER NOT NULL, contract TEXT NOT NULL, "
            "type TEXT NOT NULL, object TEXT NOT NULL, record BLOB NOT NULL, "
            "committed INTEGER NOT NULL, stored_ms INTEGER NOT NULL, "
            "PRIMARY KEY (hid, version))"
        )
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS private_purged ("
            "hid BLOB NOT NULL, version INTEGER NOT NULL, purged_ms INTEGER NOT NULL, "
            "PRIMARY KEY (hid, version))"
        )
        self._conn.commit()
        self._lock = threading.Lock()

    def put(self, record: PrivateRecord, *, committed: bool, now_ms: int) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO private_states "
                "(hid, version, contract, type, object, record, committed, stored_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.hid,
                    record.version,
                    record.contract,
                    record.obj.type,
                    record.obj.id,
                    record.to_bytes(),
                    int(committed),
                    now_ms,
                ),
            )

    def get(self, hid: bytes, version: int, *, committed: bool = True) -> PrivateRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT record FROM private_states WHERE hid = ? AND version = ? "
                "AND committed >= ?",
                (hid, version, int(committed)),
            ).fetchone()
        return None if row is None else PrivateRecord.from_bytes(bytes(row[0]))

    def latest(self, hid: bytes) -> PrivateRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT record FROM private_states WHERE hid = ? AND committed = 1 "
                "ORDER BY version DESC LIMIT 1",
                (hid,),
            ).fetchone()
        return None if row is None else PrivateRecord.from_bytes(bytes(row[0]))

    def find(self, contract: str, type_: str, object_id: str) -> PrivateRecord | None:
        """The latest committed version of an object this member holds, by its id."""
        with self._lock:
            row = self._conn.execute(
                "SELECT record FROM private_states WHERE contract = ? AND type = ? "
                "AND object = ? AND committed = 1 ORDER BY version DESC LIMIT 1",
                (contract, type_, object_id),
            ).fetchone()
        return None if row is None else PrivateRecord.from_bytes(bytes(row[0]))

    def purged(self, hid: bytes) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM private_purged WHERE hid = ? LIMIT 1", (hid,)
            ).fetchone()
        return row is not None

    def purge(self, hid: bytes, now_ms: int) -> int:
        """Delete every version of an object; remember which were purged."""
        with self._lock, self._conn:
            versions = [
                v
                for (v,) in self._conn.execute(
                    "SELECT version FROM private_states WHERE hid = ?", (hid,)
                )
            ]
            self._conn.executemany(
                "INSERT OR REPLACE INTO private_purged (hid, version, purged_ms) VALUES (?, ?, ?)",
                [(hid, v, now_ms) for v in versions],
            )
            self._conn.execute("DELETE FROM private_states WHERE hid = ?", (hid,))
        with self._lock:
            # The deleted pages may linger in the write-ahead log until a checkpoint.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(versions)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
