"""Pausing the cyclic garbage collector while a batch of transactions is applied.

Applying a transaction allocates a few dozen short-lived containers (decoded CBOR,
overlays, results), none of them in reference cycles: reference counting frees them
all. With the collector on, every 700 allocations start a pass over the young objects
anyway, and every tenth of those a pass over older ones — measured at 8-10% of the CPU
time of applying query receipts (``bench/ledger_bench.py``, docs/benchmarks/ledger.md).
So the ledger pauses the collector for a batch and resumes it afterwards.

Pauses nest and may overlap across threads: the collector is resumed when the last
pause ends, and only if it was running when the first one began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body with the cyclic collector paused (see the module docstring)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
