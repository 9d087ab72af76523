"""A process that runs an embedded orderer under load, for the SIGKILL tests.

Usage: python -m tests.ledger.crash_driver <ledger.sqlite> <count> <block_txs> [big]

Submits ``count`` transactions, deterministic in their index (member m2 adds OPRF key
``k<i>`` with sequence number ``i + 2``), so a restarted driver re-sends exactly the
same bytes. Prints ``committed <i> <height>`` for each once its block is committed,
then ``done``. Already-committed transactions are answered with their height, so the
output of a restarted run covers every index again.

With ``big``, all ``count`` transactions go into one block, and the driver pauses
inside the block's SQLite transaction — every row written, ``COMMIT`` not yet sent —
after printing ``inside <height>``, so the test's SIGKILL lands exactly there.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from ledger import EmbeddedOrderer, Store, add_oprf_key_body

from .helpers import T0, key_for, make_net, point


def tx_bytes(i: int) -> bytes:
    net = _NET
    body = add_oprf_key_body(f"k{i}", point(i))
    return net.tx("m2", "pub.add_oprf_key", body, seq=i + 2).raw


_NET = make_net()


def main() -> None:
    path, count, block_txs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    store = _NET.store(path)
    orderer = EmbeddedOrderer(
        store,
        _NET.registry,
        member="m1",
        key=key_for("m1"),
        clock=lambda: T0,
        max_block_txs=block_txs,
    )
    batch = [tx_bytes(i) for i in range(count)]
    if sys.argv[4:] == ["big"]:
        answers = orderer.submit_many(batch)
        assert all(a.accepted for a in answers)
        insert = Store._insert

        def insert_then_pause(self: Store, block: Any, *args: Any) -> None:
            insert(self, block, *args)
            print(f"inside {block.height}", flush=True)
            time.sleep(600)

        Store._insert = insert_then_pause  # type: ignore[method-assign,assignment]
        orderer.cut()
        return
    for start in range(0, count, block_txs):
        part = range(start, min(count, start + block_txs))
        answers = orderer.submit_many([batch[i] for i in part])
        orderer.flush()
        for i, answer in zip(part, answers, strict=True):
            assert answer.accepted, answer.reason
            commit = orderer.wait(answer.tx_id, timeout=30)
            assert commit.ok and commit.height is not None
            print(f"committed {i} {commit.height}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
