"""``riskshare`` with a storage-fault switch: how the campaign starts every gateway.

``python -m tests.reliability._inject --control FILE <riskshare arguments>`` runs the
real CLI (``riskshare gateway serve ...``) in this process, plus one thread that polls
``FILE``. When the file holds ``full``, every open connection to the gateway's ledger
replica (``ledger.sqlite``) gets ``PRAGMA max_page_count`` set to its current page
count, so the next block that needs a page fails with SQLITE_FULL, exactly as it would
on a full disk; when the file is emptied, the previous limit is restored ("space was
freed") and nothing else is touched: the gateway must recover on its own.

Nothing here changes the gateway's code path. It reaches into ``ledger.Store``'s
private connection and lock because a fault injector has to; production code has no
hook for it.
"""

from __future__ import annotations

import sys
import threading
import weakref
from pathlib import Path
from typing import Any

import gateway  # noqa: F401  (pins the TLS 1.3 cipher list before grpc loads)
import ledger._store as store_module

__all__ = ["install", "main"]

_POLL_SECONDS = 0.05


def install(control: Path) -> None:
    """Track every ledger ``Store`` opened from now on; obey ``control``."""
    stores: weakref.WeakSet[Any] = weakref.WeakSet()
    original = store_module.Store.__init__

    def tracking_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self.path.name == "ledger.sqlite":
            stores.add(self)

    store_module.Store.__init__ = tracking_init  # type: ignore[method-assign]

    def watch() -> None:
        limits: dict[int, int] = {}  # id(store) -> max_page_count before the fault
        stop = threading.Event()
        while not stop.wait(_POLL_SECONDS):
            try:
                full = control.read_text().strip() == "full"
            except OSError:
                full = False
            for store in list(stores):
                try:
                    _apply(store, full, limits)
                except Exception:  # a store closed under us: it no longer matters
                    limits.pop(id(store), None)

    threading.Thread(target=watch, name="fault-injector", daemon=True).start()


def _apply(store: Any, full: bool, limits: dict[int, int]) -> None:
    key = id(store)
    with store._lock:
        conn = store._conn
        if full and key not in limits:
            limits[key] = conn.execute("PRAGMA max_page_count").fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {int(pages)}")
        elif not full and key in limits:
            conn.execute(f"PRAGMA max_page_count = {int(limits.pop(key))}")


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] != "--control":
        raise SystemExit(
            "usage: python -m tests.reliability._inject --control FILE <riskshare args>"
        )
    install(Path(argv[1]))
    from cli import main as riskshare

    sys.argv = ["riskshare", *argv[2:]]
    riskshare()


if __name__ == "__main__":
    main(sys.argv[1:])
