"""Attack 5: time (issue 14).

A proposer stamps its block a year ahead. Contracts read the block's time as "now", so
such a block would settle credit epochs early, close refund and dispute windows, and
make every honest receipt stale; and as block time never goes back, every honest block
after it would be refused. The test holds the orderer's key (the orderer gateway is
stopped and the test serves the ``Ledger`` stream on its address), which is the
strongest position: a member cannot propose at all (attack 4, ``test_forks.py``).

Every replica the gateway builds bounds block time by its own clock plus the
consortium's skew (``gov.params["ledger.max_clock_skew_ms"]``, 5 s in this consortium,
5 minutes by default): the year-ahead block is refused, changes nothing, and does not
halt the replica — a block only slightly ahead is refused until the replica's clock has
caught up with it, and then applied.

This runs in a consortium of its own: stopping the orderer would break the shared one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from gateway._pb.riskshare.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from ledger import Block, add_oprf_key_body
from psi import generate_key_pair
from tests.adversary._world import World, forge_block, now_ms, start_consortium, wait_for

pytestmark = pytest.mark.slow

HONEST = ("bank-a", "bank-b")
SKEW_MS = 5_000
YEAR_MS = 365 * 24 * 3600 * 1000


@pytest.fixture(scope="module")
def clocks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("time")
    yield from start_consortium(
        root, list(HONEST), running=HONEST, params={"ledger.max_clock_skew_ms": SKEW_MS}
    )


class _FakeOrderer(ledger_pb2_grpc.LedgerServicer):
    """The orderer's ``Ledger`` stream, as the test (holding its key) decides."""

    def __init__(self, block: Block) -> None:
        self.block = block

    def StreamBlocks(self, request: Any, context: Any) -> Iterator[Any]:
        block = self.block
        if request.from_height == block.height:
            yield ledger_pb2.BlockMessage(height=block.height, block=block.raw)

    def StreamCheckpoints(self, request: Any, context: Any) -> Iterator[Any]:
        return iter(())

    def SubmitCheckpoint(self, request: Any, context: Any) -> Any:
        return ledger_pb2.CheckpointAck()


def _block_at(world: World, time_ms: int) -> Block:
    """The orderer's next block, stamped ``time_ms``, with a transaction of bank-a's
    claiming that same time (so that only the block's time is in question)."""
    orderer = world.signer("orderer")
    key = generate_key_pair(os.urandom).public
    with world.store() as store:
        chain = store.chain_id
        assert chain is not None
        tx = world.signer("bank-a").sign(
            "pub.add_oprf_key", add_oprf_key_body(f"k{time_ms}", key), chain=chain, time=time_ms
        )
        return forge_block(store, orderer, [tx], time_ms=time_ms)


def test_a_block_from_the_future_is_refused_then_taken_when_its_time_comes(
    clocks: World,
) -> None:
    clocks.quiet()
    clocks.stop("orderer")
    ahead = _block_at(clocks, now_ms() + YEAR_MS)
    height = ahead.height
    fake = _FakeOrderer(ahead)
    clocks.signer("orderer").serve_ledger(fake)

    def refused(member_id: str, block: Block) -> bool:
        return any(
            e.get("height") == block.height
            and f"block time {block.header.time} is" in e["detail"]
            and "ahead of this replica's clock" in e["detail"]
            for e in clocks.log_events(member_id, "block from the future")
        )

    wait_for(lambda: all(refused(m, ahead) for m in HONEST), 60, "the year-ahead block refused")
    for member_id in HONEST:
        with clocks.store(member_id) as store:
            assert store.height == height - 1
            assert store.state().get("pub.oprf_keys", f"bank-a/k{ahead.header.time}") is None
    # A block a little ahead: refused while it is, applied once each clock catches up.
    soon = _block_at(clocks, now_ms() + 3 * SKEW_MS)
    fake.block = soon

    def applied() -> bool:
        for member_id in HONEST:
            with clocks.store(member_id) as store:
                info = store.block_info(height)
                if info is None or info.hash != soon.hash:
                    return False
        return True

    wait_for(applied, 90, "the slightly-ahead block applied once its time came")
    assert all(refused(m, soon) for m in HONEST)
    for member_id in HONEST:
        with clocks.store(member_id) as store:
            assert store.state().get("pub.oprf_keys", f"bank-a/k{soon.header.time}") is not None
