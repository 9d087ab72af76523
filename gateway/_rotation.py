"""Rotating a list's OPRF key while queries stream (RFC 9497 §7.2.3, DESIGN §4).

A rotation must not fail queries. Queriers name the key they expect (the one their own
replica of the ledger shows, with the snapshot made under it), and their replicas learn
of a new key only when the block committing it reaches them — a moment that differs
per querier. So for a while both keys are in use, and the responder answers under
whichever one a request names, as long as the ledger has not retired it:

1. ``rotate_oprf_key`` (any process on the member's data directory, like ``riskshare
   lists sync``): the current key pair is kept in ``gateway.sqlite`` (table
   ``oprf_retained``), then the index is rebuilt under a fresh key
   (``psi.IndexStore.rotate_key``), a new epoch.
2. The gateway's recorder sees an epoch the ledger does not show and commits the new key
   (``pub.add_oprf_key``) and the epoch (``pub.publish_index``), as for any new epoch.
3. Meanwhile and after, the responder answers a request naming the old key with the
   kept key pair, and one naming the new key (or none) with the index; each querier's
   snapshot follows the ledger (a rotation has no delta, so it fetches the new
   snapshot whole) and its next requests name the new key.
4. ``KEY_GRACE_MS`` after the new epoch is on the ledger, the recorder retires the old
   key (``pub.retire_oprf_key``) and deletes the kept key pair. From then on a request
   naming it is refused (FAILED_PRECONDITION), which a querier whose ledger is that far
   behind must expect.

The kept secret sits next to the index's own secrets, in the member's data directory
(mode 0700, the file 0600); it is never logged, and it is deleted at retirement.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ledger
from gateway._errors import GatewayError
from gateway._localstate import connect_state
from psi import IndexStore, KeyPair, Progress, PsiError, generate_key_pair

__all__ = ["KEY_GRACE_MS", "RetainedKeys", "Rotation", "rotate_oprf_key"]

# How long an old key keeps answering after the new epoch is on the ledger: longer than
# a querier's replica lags plus a query's whole retry budget (deadline x attempts).
KEY_GRACE_MS = 60_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS oprf_retained (
    key_id TEXT PRIMARY KEY,
    list_type TEXT NOT NULL,
    secret BLOB NOT NULL,
    retained_ms INTEGER NOT NULL
)
"""


class RetainedKeys:
    """Old OPRF key pairs still answering during a rotation, in ``gateway.sqlite``."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = connect_state(path)
        with self._lock:
            self._db.execute(_SCHEMA)
        self._cache: dict[str, KeyPair | None] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def retain(self, list_type: str, key: KeyPair, now_ms: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO oprf_retained (key_id, list_type, secret, retained_ms)"
                " VALUES (?, ?, ?, ?)",
                (key.key_id.hex(), list_type, key.secret, now_ms),
            )
            self._cache.pop(key.key_id.hex(), None)

    def get(self, key_id: str) -> KeyPair | None:
        """The kept key pair named ``key_id`` (hex), if this member still keeps it."""
        with self._lock:
            if key_id in self._cache:
                return self._cache[key_id]
            row = self._db.execute(
                "SELECT secret FROM oprf_retained WHERE key_id = ?", (key_id,)
            ).fetchone()
            key = None if row is None else KeyPair.from_secret(bytes(row[0]))
            # Only hits are cached: a key retained later by another process must be seen.
            if key is not None:
                self._cache[key_id] = key
            return key

    def held(self) -> list[tuple[str, str]]:
        """``(key_id, list_type)`` of every kept key pair."""
        with self._lock:
            rows = self._db.execute("SELECT key_id, list_type FROM oprf_retained").fetchall()
        return [(str(k), str(t)) for k, t in rows]

    def drop(self, key_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM oprf_retained WHERE key_id = ?", (key_id,))
            self._cache.pop(key_id, None)


@dataclass(frozen=True, slots=True)
class Rotation:
    list_type: str
    old_key_id: str
    new_key_id: str
    epoch: int
    size: int


def rotate_oprf_key(
    data_dir: Path,
    list_type: str,
    *,
    rng: Callable[[int], bytes] = os.urandom,
    now_ms: int | None = None,
    progress: Progress | None = None,
) -> Rotation:
    """Rebuild ``list_type``'s index under a fresh OPRF key, keeping the old one answering.

    Runs beside the member's gateway (which publishes the new epoch and, later, retires
    the old key); see the module docstring.
    """
    index_path = data_dir / "index.sqlite"
    if not index_path.exists():
        raise GatewayError(f"no index at {index_path}; import a list first")
    now = ledger.now_ms() if now_ms is None else now_ms
    index = IndexStore(index_path)
    keys = RetainedKeys(data_dir / "gateway.sqlite")
    try:
        try:
            old = index.key(list_type)
        except PsiError as exc:
            raise GatewayError(f"cannot rotate {list_type}: {exc}") from None
        # Kept before the index switches, so no moment exists in which a request naming
        # the old key finds neither the index nor a kept key to answer it.
        keys.retain(list_type, old, now)
        commitment = index.rotate_key(list_type, generate_key_pair(rng), progress=progress)
        return Rotation(
            list_type=list_type,
            old_key_id=old.key_id.hex(),
            new_key_id=commitment.key_id.hex(),
            epoch=commitment.epoch,
            size=commitment.size,
        )
    finally:
        keys.close()
        index.close()
