"""Attack 4: forks while the orderer is away (issue 14).

mallory, a member in good standing (role ``member``), signs a block of her own that
extends the head — valid in every respect (chain, height, previous hash, Merkle root,
her transaction, state digest) except that she is not the ordering service. She tries
two ways to get it applied:

- she hands its header to the orderer inside a checkpoint (``Ledger/SubmitCheckpoint``),
  which would plant a competing header for the next height;
- while the orderer is down, she serves it from her address as a peer, where the other
  members' followers catch up from.

Only the ordering service named in consensus state proposes: ``gov.params
["ledger.proposers"]``, by default the active members of role ``orderer``
(``ledger.proposers``). Both are refused with the reason, nothing is stored, and once
the orderer is back its own block for that height is applied everywhere.

This runs in a consortium of its own: stopping the orderer would break the shared one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from gateway._pb.riskshare.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from gateway._stubs import ledger_stub
from ledger import Block, add_oprf_key_body, sign_checkpoint
from psi import generate_key_pair
from tests.adversary._world import (
    World,
    forge_block,
    refusal,
    start_consortium,
    wait_for,
)

pytestmark = pytest.mark.slow

HONEST = ("bank-a", "bank-b")


@pytest.fixture(scope="module")
def forks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("forks")
    yield from start_consortium(root, [*HONEST, "mallory"], running=HONEST)


def _mallorys_block(world: World) -> Block:
    """mallory's own next block: her new OPRF key, executed exactly as a replica would."""
    mallory = world.signer("mallory")
    public = generate_key_pair(os.urandom).public
    with world.store() as store:
        chain = store.chain_id
        assert chain is not None
        tx = mallory.sign("pub.add_oprf_key", add_oprf_key_body("mallory-1", public), chain=chain)
        return forge_block(store, mallory, [tx])


class _PeerServing(ledger_pb2_grpc.LedgerServicer):
    """mallory's read side of ``Ledger``: her block, to whoever catches up from her."""

    def __init__(self, block: Block) -> None:
        self.block = block
        self.served: list[str] = []

    def StreamBlocks(self, request: Any, context: Any) -> Iterator[Any]:
        if request.from_height == self.block.height:
            self.served.append(context.peer())
            yield ledger_pb2.BlockMessage(height=self.block.height, block=self.block.raw)

    def StreamCheckpoints(self, request: Any, context: Any) -> Iterator[Any]:
        return iter(())


def test_a_member_cannot_plant_its_header_through_a_checkpoint(forks: World) -> None:
    block = _mallorys_block(forks)
    mallory = forks.signer("mallory")
    checkpoint = sign_checkpoint(
        block.header.raw, block.signature, "mallory", mallory.credentials.signing_key
    )
    stub = ledger_stub(mallory.channel("orderer"))
    refused = refusal(
        lambda: stub.SubmitCheckpoint(
            ledger_pb2.Checkpoint(
                height=block.height, member_id="mallory", encoded=checkpoint.encode()
            ),
            timeout=30,
        )
    )
    assert refused.code == "FAILED_PRECONDITION", refused
    assert refused.reason == "not_proposer", refused
    assert "'mallory' is not a proposer" in refused.details, refused
    with forks.store() as store:
        assert store.checkpoints(block.height) == []


def test_a_member_serving_its_own_block_as_a_peer_is_refused(forks: World) -> None:
    forks.quiet()
    block = _mallorys_block(forks)
    height = block.height
    forks.stop("orderer")
    mallory = forks.signer("mallory")
    peer = _PeerServing(block)
    mallory.serve_ledger(peer)
    try:
        # With the orderer away, each follower catches up from its peers, mallory among
        # them: both take her block, and refuse it.
        def refused_everywhere() -> bool:
            return all(
                any(
                    e.get("source") == "mallory" and "is not a proposer" in e.get("detail", "")
                    for e in forks.log_events(member_id, "block refused")
                )
                for member_id in HONEST
            )

        wait_for(refused_everywhere, 60, "both followers to refuse mallory's block")
        assert len(peer.served) >= len(HONEST)
        for member_id in HONEST:
            with forks.store(member_id) as store:
                assert store.height == height - 1
                assert store.state().get("pub.oprf_keys", "mallory/mallory-1") is None
    finally:
        mallory.stop_serving()
        forks.restart("orderer")
    # The orderer is back: its own block for that height is the one everyone applies.
    key = generate_key_pair(os.urandom).public
    done = forks.signer("bank-a").submit("pub.add_oprf_key", add_oprf_key_body("a-1", key))
    assert done.ok, done
    with forks.store() as store:
        ordered = store.block_info(height)
    assert ordered is not None and ordered.proposer == "orderer"

    def applied() -> bool:
        for member_id in HONEST:
            with forks.store(member_id) as store:
                info = store.block_info(height)
                if info is None or info.hash != ordered.hash:
                    return False
        return True

    wait_for(applied, 60, "the orderer's block on every replica")
