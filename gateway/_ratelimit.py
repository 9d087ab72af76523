"""Per-peer token buckets (pure: the caller passes ``now``).

A bucket holds at most ``burst`` tokens and refills at ``rate`` tokens per second. A
request costing ``cost`` tokens is admitted when the bucket holds that many, and then
they are removed; a refused request removes nothing, so a flood of refused requests
cannot push an honest retry further back. A cost larger than the burst can never be
admitted and is refused outright (the caller should split the batch).

The limits are per peer for the gateway as a whole, however many worker processes
share its port. Dividing them by the number of workers would not do: a peer keeps one
long-lived channel, which the kernel places on one worker, so it would get only a
fraction of its limit; and a peer opening many connections would still get the whole
limit only on average. So under the supervisor every worker keeps a peer's bucket in
one small file under ``<data_dir>/limits/`` and updates it under an exclusive
``fcntl`` lock (16 bytes: tokens and the time they were counted). The lock is held for
a read and a write, a few microseconds, and a waiter is woken as soon as it is
released. ``now`` is ``time.monotonic()``, one clock for every process on the host;
the supervisor empties the directory when it starts, and a bucket dated more than a
minute ahead of ``now`` (a file left from before a reboot) counts as full.
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import struct
import threading
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from gateway._errors import RateLimitedError

__all__ = ["RateLimiter", "TokenBucket", "shared_dir"]


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=burst, updated=now)

    def refill(self, now: float) -> None:
        # A clock that steps backwards must not mint tokens or go negative.
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated = max(self.updated, now)

    def take(self, now: float, cost: float) -> float:
        """Remove ``cost`` tokens and return 0, or return the seconds until it would fit."""
        if cost < 0:
            raise ValueError("cost must not be negative")
        self.refill(now)
        if cost > self.burst:
            return float("inf")
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate


def shared_dir(data_dir: Path) -> Path:
    """Where the processes serving one member keep the buckets they share."""
    return data_dir / "limits"


_STATE = struct.Struct("<dd")  # tokens, updated
# A bucket dated further ahead than this was written before the clock restarted.
_FUTURE_SECONDS = 60.0
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class RateLimiter:
    """Named buckets per peer: in this process, or in ``shared`` for every process.

    ``shared`` is a directory (created 0700 if missing) that every process enforcing
    the same limit names; without it the buckets live in this process only.
    """

    def __init__(self, rate: float, burst: float, *, unit: str, shared: Path | None = None) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        if not _PLAIN_NAME.fullmatch(unit):
            raise ValueError(f"unit {unit!r} cannot name a file")
        self._rate = rate
        self._burst = burst
        self._unit = unit
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self._shared = shared
        self._files: dict[str, int] = {}
        if shared is not None:
            shared.mkdir(mode=0o700, parents=True, exist_ok=True)

    def charge(self, peer: str, cost: float, now: float) -> None:
        """Admit ``cost`` for ``peer`` or raise :class:`RateLimitedError`."""
        # fcntl locks belong to the process: the thread lock keeps our own threads apart.
        with self._lock:
            if self._shared is None:
                bucket = self._buckets.get(peer)
                if bucket is None:
                    bucket = self._buckets[peer] = TokenBucket.full(self._rate, self._burst, now)
                wait = bucket.take(now, cost)
            else:
                wait = self._take_shared(peer, cost, now)
        if wait == float("inf"):
            raise RateLimitedError(
                f"{cost:g} {self._unit} exceeds the burst of {self._burst:g}; split the request"
            )
        if wait > 0:
            raise RateLimitedError(f"{self._unit} rate limit exceeded; retry in {wait:.2f}s")

    def close(self) -> None:
        """Close the shared buckets' files (the buckets themselves stay)."""
        with self._lock:
            for fd in self._files.values():
                os.close(fd)
            self._files.clear()

    def _file(self, peer: str) -> int:
        fd = self._files.get(peer)
        if fd is None:
            assert self._shared is not None
            # Member ids are plain names; anything else is named by its digest.
            name = peer if _PLAIN_NAME.fullmatch(peer) else "~" + sha256(peer.encode()).hexdigest()
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = self._files[peer] = os.open(self._shared / f"{self._unit}.{name}", flags, 0o600)
        return fd

    def _take_shared(self, peer: str, cost: float, now: float) -> float:
        fd = self._file(peer)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        try:
            stored = os.pread(fd, _STATE.size, 0)
            bucket = TokenBucket.full(self._rate, self._burst, now)
            if len(stored) == _STATE.size:
                tokens, updated = _STATE.unpack(stored)
                if math.isfinite(tokens) and 0 <= updated <= now + _FUTURE_SECONDS:
                    bucket.tokens, bucket.updated = min(max(tokens, 0.0), self._burst), updated
            wait = bucket.take(now, cost)
            os.pwrite(fd, _STATE.pack(bucket.tokens, bucket.updated), 0)
            return wait
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN)
