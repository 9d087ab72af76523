"""SIGKILL an embedded orderer's process mid-load: nothing lost, nothing duplicated.

The driver (``crash_driver``) commits deterministic transactions and reports each
commit; it is killed at random moments — often inside a block's SQLite transaction,
since committing is most of its work — and restarted on the same file.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from ledger import Replica, Store, verify_chain

from .helpers import make_net

_ROOT = Path(__file__).resolve().parents[2]


def _start(path: Path, count: int, block_txs: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.ledger.crash_driver",
            str(path),
            str(count),
            str(block_txs),
            *extra,
        ],
        cwd=_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(_ROOT)},
    )


def test_sigkill_the_embedded_orderer_during_load(tmp_path: Path) -> None:
    net = make_net()
    path = tmp_path / "ledger.sqlite"
    count, block_txs = 1500, 25
    rng = random.Random(11)
    reported: dict[int, int] = {}
    kills = 0
    heads: list[int] = []
    while True:
        proc = _start(path, count, block_txs)
        assert proc.stdout is not None
        # Kill after a random amount of new progress (not after a time, which would
        # depend on the machine's speed); the driver is busy with the next block then.
        kill_after = rng.randint(1, 300) if kills < 4 else None
        fresh = 0
        finished = False
        for line in proc.stdout:
            if line.startswith("committed"):
                _, index, at = line.split()
                # A transaction reported committed keeps its height across restarts.
                fresh += int(index) not in reported
                assert reported.setdefault(int(index), int(at)) == int(at)
            elif line.strip() == "done":
                finished = True
                break
            if kill_after is not None and fresh >= kill_after:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                break
        proc.stdout.close()
        proc.wait()
        with Store(path, create=False) as store:
            # Whatever instant the kill came at, the store is at a whole block.
            report = verify_chain(store, net.registry)
            heads.append(report.height)
            for i, height in reported.items():
                record = store.txs(member="m2", from_height=height, to_height=height)
                assert any(r.seq == i + 2 for r in record), f"committed tx {i} was lost"
        if finished:
            break
    assert kills == 4
    assert heads == sorted(heads)
    assert sorted(reported) == list(range(count))
    with Store(path, create=False) as store:
        mine = store.txs(member="m2")
        assert len(mine) == count and all(r.ok for r in mine)  # none lost, none twice
        assert sorted(r.seq or 0 for r in mine) == [i + 2 for i in range(count)]
        replica = Replica(Store(tmp_path / "replica.sqlite"), net.registry)
        replica.sync(store.blocks_from(0))
        assert replica.store.head() == store.head()


def test_sigkill_inside_a_block_commit_leaves_the_previous_block(tmp_path: Path) -> None:
    """Killed with every row of a large block written but not committed: none of it stays."""
    net = make_net()
    path = tmp_path / "ledger.sqlite"
    proc = _start(path, 1500, 1500, "big")
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("inside"), line
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    with Store(path, create=False) as store:
        assert store.height == int(line.split()[1]) - 1 == 0
        assert store.txs(member="m2") == []
        assert store.state().get("pub.oprf_keys", "m2/k0") is None
        verify_chain(store, net.registry)
    # The same block commits whole on the next run.
    proc = _start(path, 1500, 1500)
    assert proc.stdout is not None
    assert proc.stdout.read().rstrip().endswith("done")
    proc.wait()
    proc.stdout.close()
    with Store(path, create=False) as store:
        assert len(store.txs(member="m2")) == 1500
        verify_chain(store, net.registry)
