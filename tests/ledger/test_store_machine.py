"""A hypothesis state machine drives the store: append, restart, replay, fork attempts.

The model is what must be true of a replica: committed blocks never change, a restart
loses only what was never committed, a replayed transaction is never applied twice, a
conflicting block is refused (or, from the same proposer, stops the replica as
equivocation) and changes nothing, and a replica fed the same blocks agrees exactly.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger import (
    BlockError,
    EmbeddedOrderer,
    EquivocationError,
    Replica,
    SignedTransaction,
    Store,
    add_oprf_key_body,
    make_block,
    verify_chain,
)

from .helpers import T0, key_for, make_net, point

NET = make_net(("m1", "m2", "m3"))
MEMBERS = ("m1", "m2", "m3")


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-machine-"))
        self.store = NET.store(self.dir / "main.sqlite")
        self.orderer = self._orderer()
        self.replica = Replica(Store(self.dir / "replica-0.sqlite"), NET.registry)
        self.replicas = 0
        self.hashes = [NET.genesis.hash]
        self.seq = {"m1": 1, "m2": 0, "m3": 0}  # last committed; m1 signed genesis with 1
        self.pending: list[SignedTransaction] = []
        self.pending_seq = dict(self.seq)
        self.committed: list[tuple[SignedTransaction, int]] = []
        self.keys = 0

    def _orderer(self) -> EmbeddedOrderer:
        return EmbeddedOrderer(
            self.store, NET.registry, member="m1", key=key_for("m1"), clock=lambda: T0
        )

    def _tx(self, member: str, seq: int) -> SignedTransaction:
        self.keys += 1
        body = add_oprf_key_body(f"k{self.keys}", point(self.keys))
        return NET.tx(member, "pub.add_oprf_key", body, seq=seq)

    def _snapshot(self) -> tuple[int, list[tuple[str, str, bytes]]]:
        return self.store.height, list(self.store.state_rows())

    @rule(member=st.sampled_from(MEMBERS), gap=st.integers(1, 3))
    def submit(self, member: str, gap: int) -> None:
        seq = self.pending_seq[member] + gap  # any increase is allowed, not just +1
        tx = self._tx(member, seq)
        answer = self.orderer.submit(tx.raw)
        assert answer.accepted, answer.reason
        self.pending.append(tx)
        self.pending_seq[member] = seq

    @rule()
    def cut(self) -> None:
        height = self.orderer.cut()
        if not self.pending:
            assert height is None
            return
        assert height == len(self.hashes)
        head = self.store.head()
        assert head is not None
        self.hashes.append(head.hash)
        for tx in self.pending:
            self.committed.append((tx, height))
            self.seq[tx.tx.member] = tx.tx.seq
        self.pending = []

    @rule()
    def restart(self) -> None:
        """Close and reopen the store: uncommitted submissions are gone, blocks are not."""
        self.store.close()
        self.store = Store(self.dir / "main.sqlite", create=False)
        self.orderer = self._orderer()
        self.pending = []
        self.pending_seq = dict(self.seq)

    @precondition(lambda self: bool(self.committed))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        tx, height = data.draw(st.sampled_from(self.committed))
        before = self._snapshot()
        answer = self.orderer.submit(tx.raw)
        assert answer.accepted and answer.height == height  # recognised, not re-applied
        stale = self._tx(tx.tx.member, tx.tx.seq)  # new bytes, old sequence number
        refused = self.orderer.submit(stale.raw)
        assert not refused.accepted and "is not above its last" in refused.reason
        if not self.pending:
            assert self.orderer.cut() is None
            assert self._snapshot() == before

    @rule()
    def sync_replica(self) -> None:
        self.replica.sync(self.store.blocks_from(self.replica.store.height + 1))
        assert self.replica.store.head() == self.store.head()

    @precondition(lambda self: len(self.hashes) > 1)
    @rule(data=st.data(), same_proposer=st.booleans())
    def fork(self, data: st.DataObject, same_proposer: bool) -> None:
        """A different signed block for a height the replica holds."""
        self.sync_replica()
        height = data.draw(st.integers(1, len(self.hashes) - 1))
        proposer = "m1" if same_proposer else "m2"
        held = self.replica.store.block_info(height)
        assert held is not None
        forged = make_block(
            key_for(proposer),
            chain=NET.chain,
            height=height,
            prev=held.decoded_header().prev,
            time=T0,
            proposer=proposer,
            txs=[self._tx("m3", 10**6).raw],
            state_digest=bytes(32),
        )
        before = (self.replica.store.head(), list(self.replica.store.state_rows()))
        if same_proposer:
            with pytest.raises(EquivocationError):
                self.replica.apply(forged.raw)
            with pytest.raises(EquivocationError, match="halted"):
                self.replica.apply(self.store.block(height) or b"")
            # An operator would investigate; the test starts a fresh replica.
            self.replica.store.close()
            self.replicas += 1
            self.replica = Replica(
                Store(self.dir / f"replica-{self.replicas}.sqlite"), NET.registry
            )
        else:
            with pytest.raises(BlockError, match="conflicts with the held block"):
                self.replica.apply(forged.raw)
            assert (self.replica.store.head(), list(self.replica.store.state_rows())) == before

    @rule()
    def extend_with_a_bad_link(self) -> None:
        """A block on the wrong parent, or past a gap, is refused and changes nothing."""
        self.sync_replica()
        head = self.replica.store.head()
        assert head is not None
        before = (head, list(self.replica.store.state_rows()))
        for height, prev in ((head.height + 1, bytes(32)), (head.height + 2, head.hash)):
            block = make_block(
                key_for("m1"),
                chain=NET.chain,
                height=height,
                prev=prev,
                time=T0,
                proposer="m1",
                txs=[],
                state_digest=bytes(32),
            )
            with pytest.raises(BlockError):
                self.replica.apply(block.raw)
        assert (self.replica.store.head(), list(self.replica.store.state_rows())) == before

    @invariant()
    def committed_blocks_never_change(self) -> None:
        assert self.store.height == len(self.hashes) - 1
        for height in (0, len(self.hashes) - 1):
            info = self.store.block_info(height)
            assert info is not None and info.hash == self.hashes[height]
        state = self.store.state()
        for member in MEMBERS:
            assert state.get("ledger.seq", member) == (self.seq[member] or None)

    def teardown(self) -> None:
        verify_chain(self.store, NET.registry)
        self.store.close()
        self.replica.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)


StoreMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
test_store_machine = StoreMachine.TestCase
