"""Per-peer token buckets (pure: the caller passes ``now``).

A bucket holds at most ``burst`` tokens and refills at ``rate`` tokens per second. A
request costing ``cost`` tokens is admitted when the bucket holds that many, and then
they are removed; a refused request removes nothing, so a flood of refused requests
cannot push an honest retry further back. A cost larger than the burst can never be
admitted and is refused outright (the caller should split the batch).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from gateway._errors import RateLimitedError

__all__ = ["RateLimiter", "TokenBucket"]


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


class RateLimiter:
    """Named buckets per peer, shared by the threads of one process."""

    def __init__(self, rate: float, burst: float, *, unit: str) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self._rate = rate
        self._burst = burst
        self._unit = unit
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def charge(self, peer: str, cost: float, now: float) -> None:
        """Admit ``cost`` for ``peer`` or raise :class:`RateLimitedError`."""
        with self._lock:
            bucket = self._buckets.get(peer)
            if bucket is None:
                bucket = self._buckets[peer] = TokenBucket.full(self._rate, self._burst, now)
            wait = bucket.take(now, cost)
        if wait == float("inf"):
            raise RateLimitedError(
                f"{cost:g} {self._unit} exceeds the burst of {self._burst:g}; split the request"
            )
        if wait > 0:
            raise RateLimitedError(f"{self._unit} rate limit exceeded; retry in {wait:.2f}s")
