"""Block time is bounded by each replica's clock (issue 14, attack 5).

A replica with a clock refuses a block stamped further ahead of it than the
consortium's skew (``ledger.max_clock_skew_ms``) with :class:`ledger.FutureBlockError`,
changes nothing, and takes the same block once its clock has caught up: the refusal
delays, it never halts. A proposer on a shared log treats another proposer's block from
the future the same way, without losing its own pending transactions.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from ledger import (
    Block,
    BlockExecutor,
    FutureBlockError,
    MemoryOrderingLog,
    Replica,
    Store,
    add_oprf_key_body,
    make_block,
    max_clock_skew,
)

from .helpers import T0, Net, key_for, log_orderer, make_net, point

SKEW = 2_000
AHEAD = T0 + SKEW + 1  # just beyond the skew


def _block(net: Net, store: Store, at: int, txs: list[bytes]) -> Block:
    head = store.head()
    assert head is not None
    executor = BlockExecutor(
        store.state(), net.registry, height=head.height + 1, time=at, prev_digest=head.state_digest
    )
    for index, tx in enumerate(txs):
        assert executor.execute(tx, index).ok
    _, digest = executor.finish()
    return make_block(
        key_for("m1"),
        chain=net.chain,
        height=head.height + 1,
        prev=head.hash,
        time=at,
        proposer="m1",
        txs=txs,
        state_digest=digest,
    )


def test_a_block_ahead_of_the_clock_waits_for_it(tmp_path: Path) -> None:
    net = make_net(params={"ledger.max_clock_skew_ms": SKEW})
    now = [T0]
    with net.store(tmp_path / "ledger.sqlite") as store:
        assert max_clock_skew(store.state()) == SKEW
        replica = Replica(store, net.registry, clock=lambda: now[0])
        at = T0 + SKEW + 1
        tx = net.tx("m2", "pub.add_oprf_key", add_oprf_key_body("k", point(1)), time=at)
        block = _block(net, store, at, [tx.raw])
        before = list(store.state_rows())
        with pytest.raises(FutureBlockError) as caught:
            replica.apply(block.raw)
        assert caught.value.ahead_ms == SKEW + 1 and caught.value.reason_code == "future_block"
        assert f"block time {at} is {SKEW + 1} ms ahead of this replica's clock" in str(
            caught.value
        )
        assert store.height == 0 and list(store.state_rows()) == before
        # One millisecond later the very same block is within the skew, and applies.
        now[0] += 1
        assert replica.apply(block.raw).height == 1


def test_the_default_skew_is_five_minutes(tmp_path: Path) -> None:
    net = make_net()
    with net.store(tmp_path / "ledger.sqlite") as store:
        assert max_clock_skew(store.state()) == 300_000
        year = 365 * 24 * 3600 * 1000
        replica = Replica(store, net.registry, clock=lambda: T0)
        tx = net.tx("m2", "pub.add_oprf_key", add_oprf_key_body("k", point(1)), time=T0 + year)
        with pytest.raises(FutureBlockError):
            replica.apply(_block(net, store, T0 + year, [tx.raw]).raw)
        assert store.height == 0


def test_a_proposer_waits_for_a_rivals_block_from_the_future(tmp_path: Path) -> None:
    """m1's clock runs just over the skew ahead of m2's. m2 loses a height to m1's
    block, cannot take it yet, keeps its own transaction, and gets both in once its
    clock has caught up — its follower thread never stops on it."""
    net = make_net(params={"ledger.max_clock_skew_ms": SKEW})
    log = MemoryOrderingLog()
    log.append(0, net.genesis.raw)
    fast = log_orderer(tmp_path / "a.sqlite", net, log, "m1", clock=lambda: AHEAD)
    slow_now = [T0]
    slow = log_orderer(
        tmp_path / "b.sqlite", net, log, "m2", clock=lambda: slow_now[0], block_interval=0.02
    )
    theirs = net.tx("m3", "pub.add_oprf_key", add_oprf_key_body("k3", point(3)), time=AHEAD).raw
    # Signed between the two clocks: valid in a block of either.
    ours = net.tx(
        "m2", "pub.add_oprf_key", add_oprf_key_body("k2", point(2)), time=T0 + SKEW // 2
    ).raw
    assert fast.submit(theirs).accepted and fast.cut() == 1
    assert slow.submit(ours).accepted
    with pytest.raises(FutureBlockError):
        slow.cut()  # height 1 is taken by a block m2 cannot judge yet
    assert slow.store.height == 0 and slow.pending == 0  # ours is in flight, kept
    slow.start()
    try:
        time.sleep(0.2)  # the ticker and the follower meet the future block, and wait
        assert slow.error is None and slow.store.height == 0
        slow_now[0] = AHEAD  # the clock catches up
        committed = slow.wait(hashlib.sha256(ours).digest(), 10)
        assert committed.ok and committed.height == 2
    finally:
        slow.stop()
    assert slow.error is None
    assert slow.store.block_info(1) == fast.store.block_info(1)
