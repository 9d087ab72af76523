"""One wall clock for every process of a test consortium, moved forward by the test.

The gateways take "now" from the system clock (the orderer stamps blocks with it, a
co-signer previews a step at it, a submitter stamps its transactions with it), so a
step that depends on the date — past maturity, an expired registration — needs the
whole consortium to live on a later day. Nothing in the product has a clock knob, and
none is added for tests: every gateway process runs under Debian's libfaketime
(``LD_PRELOAD``), all reading one timestamp file holding a relative offset (``+0``,
then ``+2d``). Each process re-reads it at most once a second, so after :meth:`advance`
writes a new offset and waits a little, every process's wall clock has moved by the
same amount, together: the certificates (valid 397 days) stay valid and transaction
times stay inside the ledger's five-minute skew window.

Only the wall clock moves (``FAKETIME_DONT_FAKE_MONOTONIC=1``): gRPC's timers, Python's
waits and every deadline run on the real monotonic clock, undisturbed by the jump.

libfaketime 0.9.10 (Debian 12) has one bug with that setting: it mangles
``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`` into a negative time, so Python
3.11's ``time.sleep`` fails with EINVAL (wolfcw/libfaketime#426, fixed in 0.9.11). The
processes therefore also load ``sitecustomize`` from a directory of this test run that
replaces ``time.sleep`` with the same wait made through ``select`` (a relative timeout
libfaketime passes through untouched). That is the whole shim; the product's code runs
unchanged.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import time
from pathlib import Path

__all__ = ["SharedClock", "libfaketime_path"]

# Each process re-reads the offset at most this often (seconds).
_CACHE_S = 1
_SHIM = '''"""Loaded by every process of a faketime test consortium (tests/scenarios/_clock.py)."""

import select
import time

_monotonic = time.monotonic


def _sleep(secs):
    # time.sleep through select: libfaketime 0.9.10 breaks the clock_nanosleep call
    # Python 3.11 sleeps with when the monotonic clock is not faked (libfaketime#426).
    if secs < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = _monotonic() + secs
    while True:
        left = deadline - _monotonic()
        if left <= 0:
            return
        select.select([], [], [], left)


time.sleep = _sleep
'''


def libfaketime_path() -> Path:
    """Debian's libfaketime; a clear failure (never a skip) when it is missing."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not found:
        raise RuntimeError(
            "libfaketime is not installed: run tools/sysdeps.sh (Debian package faketime)"
        )
    return Path(found[0])


class SharedClock:
    """The offset file every process of the consortium reads, and the test's view of it."""

    def __init__(self, root: Path, *, sitecustomize: str = "") -> None:
        """``sitecustomize``: more start-up code for every process (there is one
        ``sitecustomize`` module per interpreter, so a test that needs its own adds it
        here rather than shadowing the clock's)."""
        root.mkdir(parents=True, exist_ok=True)
        self._file = root / "faketime-offset"
        self._shim = root / "faketime-shim"
        self._shim.mkdir(exist_ok=True)
        (self._shim / "sitecustomize.py").write_text(_SHIM + sitecustomize)
        self.days = 0
        self._write()

    def env(self) -> dict[str, str]:
        """The environment a gateway process needs to live on this clock."""
        path = [str(self._shim)]
        if os.environ.get("PYTHONPATH"):
            path.append(os.environ["PYTHONPATH"])
        return {
            "LD_PRELOAD": str(libfaketime_path()),
            "FAKETIME_TIMESTAMP_FILE": str(self._file),
            "FAKETIME_CACHE_DURATION": str(_CACHE_S),
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            # File times stay real (SQLite and the logs do not care, people reading do).
            "NO_FAKE_STAT": "1",
            "PYTHONPATH": os.pathsep.join(path),
        }

    def today(self) -> dt.date:
        """The consortium's calendar day (UTC)."""
        return (dt.datetime.now(dt.UTC) + dt.timedelta(days=self.days)).date()

    def advance(self, days: int) -> None:
        """Move every process's wall clock ``days`` forward, and wait until they all have."""
        if days < 1:
            raise ValueError("the clock only moves forward")
        self.days += days
        self._write()
        # Every process has dropped its cached offset after _CACHE_S; the margin covers
        # a process descheduled on a loaded machine.
        time.sleep(3 * _CACHE_S + 1)

    def _write(self) -> None:
        # Atomic, so no process ever reads a half-written offset.
        tmp = self._file.with_suffix(".tmp")
        tmp.write_text(f"+{self.days}d\n")
        tmp.replace(self._file)
