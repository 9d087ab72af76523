"""The wall clock, in the unit of every ledger time: integer milliseconds since the epoch.

One definition, so that no caller rounds differently (a receipt a millisecond off is a
stale receipt). Pure cores never call it: they take ``now`` from their driver.
"""

from __future__ import annotations

import time

__all__ = ["now_ms"]


def now_ms() -> int:
    """Milliseconds since the Unix epoch, UTC, from the system clock."""
    return time.time_ns() // 1_000_000
