"""The ordering log: a total order of blocks by height, written once per height.

The ``etcd`` ordering backend keeps blocks in an etcd v3 cluster (``ledger/_etcd.py``);
tests and single-process tools use :class:`MemoryOrderingLog`. Whatever the backend,
the rules are the same:

- ``append(height, block)`` is a compare-and-put: it writes only if ``height`` holds
  nothing yet, and returns ``True`` exactly when this call's bytes are the ones stored.
  A backend that cannot tell whether its write landed (a timeout, a lost connection)
  resolves the doubt by reading ``height`` back before answering.
- A height, once written, never changes; heights are written in order without gaps
  (a writer appends at ``last_height() + 1``), so ``get`` for any height up to
  ``last_height()`` returns bytes unless it was compacted away.
- ``watch`` yields every height from ``from_height`` on, existing ones first, in order,
  until ``stop`` is set. Replicas use it to catch up and follow.
- ``compact(keep_from_height)`` may drop heights below ``keep_from_height``; the log is a
  sliding window, the SQLite replicas keep everything.

The log stores opaque bytes: it neither parses nor verifies blocks. Replicas verify
every block before they apply it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Protocol

from ledger._errors import LedgerError

__all__ = ["MemoryOrderingLog", "OrderingLog", "OrderingLogError"]


class OrderingLogError(LedgerError):
    """The ordering log cannot answer (unreachable, compacted, or refused a write)."""


class OrderingLog(Protocol):
    def append(self, height: int, block: bytes) -> bool:
        """Compare-and-put: ``True`` if this call wrote ``block`` at ``height``."""
        ...

    def get(self, height: int) -> bytes | None: ...

    def last_height(self) -> int:
        """The highest written height, ``-1`` when the log is empty."""
        ...

    def watch(self, from_height: int, stop: threading.Event) -> Iterator[tuple[int, bytes]]:
        """Every height ``>= from_height`` in order, existing ones included, until ``stop``."""
        ...

    def compact(self, keep_from_height: int) -> None: ...


class MemoryOrderingLog:
    """An in-process :class:`OrderingLog`, thread-safe, with the same rules as etcd's.

    Used by tests of the ordering logic and by tools that order blocks in one process.
    """

    def __init__(self) -> None:
        self._blocks: dict[int, bytes] = {}
        self._last = -1
        self._first = 0
        self._changed = threading.Condition()

    def append(self, height: int, block: bytes) -> bool:
        if height < 0:
            raise OrderingLogError(f"height {height} is negative")
        with self._changed:
            if height <= self._last:
                return False
            if height != self._last + 1:
                raise OrderingLogError(f"height {height} would leave a gap after {self._last}")
            self._blocks[height] = bytes(block)
            self._last = height
            self._changed.notify_all()
            return True

    def get(self, height: int) -> bytes | None:
        with self._changed:
            return self._blocks.get(height)

    def last_height(self) -> int:
        with self._changed:
            return self._last

    def watch(self, from_height: int, stop: threading.Event) -> Iterator[tuple[int, bytes]]:
        height = from_height
        while not stop.is_set():
            with self._changed:
                if height < self._first:
                    raise OrderingLogError(
                        f"height {height} was compacted; the log starts at {self._first}"
                    )
                block = self._blocks.get(height)
                if block is None:
                    self._changed.wait(timeout=0.05)
                    continue
            yield height, block
            height += 1

    def compact(self, keep_from_height: int) -> None:
        with self._changed:
            for height in [h for h in self._blocks if h < keep_from_height]:
                del self._blocks[height]
            self._first = max(self._first, keep_from_height)
