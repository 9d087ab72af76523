"""``riskshare`` with a tap on the querier's blinding, for the privacy scan.

Run as ``python -m tests.privacy._tap gateway serve --config ...`` with
``RISKSHARE_TAP`` naming a file outside the consortium's directories. The gateway is
the real one; the only difference is that every batch of blinded elements its querier
prepares is also appended (hex, one per line) to that file, so the scan knows exactly
which elements went over the wire and can look for each of them everywhere else.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

TAP_ENV = "RISKSHARE_TAP"


def install(path: str) -> None:
    import gateway._querier as querier

    prepare = querier.prepare_query  # type: ignore[attr-defined]
    lock = threading.Lock()

    def tapped(*args: Any, **kwargs: Any) -> Any:
        pending = prepare(*args, **kwargs)
        with lock, open(path, "a", encoding="ascii") as out:
            out.writelines(element.hex() + "\n" for element in pending.blinded)
        return pending

    querier.prepare_query = tapped  # type: ignore[attr-defined]


if __name__ == "__main__":
    install(os.environ[TAP_ENV])
    from cli import main

    sys.argv[0] = "riskshare"
    main()
