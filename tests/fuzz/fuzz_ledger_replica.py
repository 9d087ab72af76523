"""Blocks, checkpoints and transactions as a replica receives them from peers, checked
against a real ledger (`tests.fuzz._world`).

- ``raw_block``: arbitrary bytes to ``Replica.apply``; only :class:`ledger.LedgerError`,
  and the store's head is unchanged afterwards.
- ``signed_block``: blocks validly signed by the orderer (whose key a hostile orderer
  holds) with fuzzed header fields and transactions — replays of committed ones, fresh
  ones with fuzzed bodies, garbage — to ``Replica.validate``: only ``LedgerError``,
  or a block that really is a valid successor.
- ``checkpoint``: bytes to ``decode_checkpoint`` and ``Replica.add_checkpoint``.
- ``tx``: bytes to ``BlockExecutor.execute``, which must answer with a result, never
  an exception.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable
from pathlib import Path

from ledger import (
    BlockExecutor,
    LedgerError,
    Replica,
    decode_checkpoint,
    make_block,
    merkle_root,
    sign_checkpoint,
)
from tests.fuzz._harness import OneInput, Picker, Target, vocabulary
from tests.fuzz._world import World, shared_world


def _head(world: World) -> tuple[int, bytes]:
    head = world.store.head()
    assert head is not None
    return head.height, head.hash


def _raw_block(scratch: Path) -> OneInput:
    world = shared_world(scratch)
    replica = Replica(world.store, world.registry)

    def check(data: bytes) -> None:
        before = _head(world)
        try:
            applied = replica.apply(data)
        except LedgerError:
            pass
        else:
            # Only a block already held can pass (a no-op: same header, so same hash).
            held = world.store.block_info(applied.height)
            assert held is not None and held.hash == applied.hash and not applied.results
        assert _head(world) == before

    return check


def _signed_block(scratch: Path) -> OneInput:
    world = shared_world(scratch)
    replica = Replica(world.store, world.registry)
    words = vocabulary("ledger", "token_incentive")

    def check(data: bytes) -> None:
        pick = Picker(data)
        head = world.store.head()
        assert head is not None
        height = pick.pick([head.height + 1, head.height + 1, head.height, head.height + 2, 0])
        prev = head.hash if pick.int_in(0, 3) else pick.blob(32).ljust(32, b"\0")
        time = head.time + pick.pick([0, 1, 1000, -1, 10**9])
        txs: list[bytes] = []
        for _ in range(pick.int_in(0, 4)):
            choice = pick.int_in(0, 3)
            if choice == 0:
                txs.append(pick.pick(world.txs))
            elif choice == 1:
                member = pick.pick(["bank-a", "bank-b", "regulator", "orderer"])
                kind = pick.pick(sorted(world.registry.kinds))
                body = pick.value(words, [bytes(32)], depth=2)
                if not isinstance(body, dict):
                    body = {"value": body}
                txs.append(world.sign(member, kind, body))
            elif choice == 2:
                txs.append(pick.blob(pick.int_in(0, 200)))
            else:
                txs.append(world.sign("bank-b", "credits.hits", {"items": []}))
        digest = pick.blob(32).ljust(32, b"\0")
        if pick.int_in(0, 3):
            executor = BlockExecutor(
                world.store.state(),
                world.registry,
                height=height,
                time=time,
                prev_digest=head.state_digest,
            )
            for index, tx in enumerate(txs):
                executor.execute(tx, index)
            digest = executor.finish()[1]
        proposer = pick.pick(["orderer", "orderer", "bank-a"])
        try:
            block = make_block(
                world.keys[proposer],
                chain=world.chain if pick.int_in(0, 7) else hashlib.sha256(data).digest(),
                height=max(0, height),
                prev=prev,
                time=max(0, time),
                proposer=proposer,
                txs=txs,
                state_digest=digest,
            )
        except LedgerError:
            return
        if not pick.int_in(0, 7):  # a tx_root that does not match
            txs.reverse()
            if merkle_root(txs) == block.header.tx_root:
                return
            block = type(block)(block.raw, block.header, block.signature, tuple(txs))
        before = _head(world)
        with contextlib.suppress(LedgerError):
            replica.validate(block)
        assert _head(world) == before

    return check


def _checkpoint(scratch: Path) -> OneInput:
    world = shared_world(scratch)
    replica = Replica(world.store, world.registry)

    def check(data: bytes) -> None:
        before = _head(world)
        with contextlib.suppress(LedgerError):
            replica.add_checkpoint(decode_checkpoint(data))
        assert _head(world) == before

    return check


def _tx(scratch: Path) -> OneInput:
    world = shared_world(scratch)

    def check(data: bytes) -> None:
        head = world.store.head()
        assert head is not None
        executor = BlockExecutor(
            world.store.state(),
            world.registry,
            height=head.height + 1,
            time=head.time + 1,
            prev_digest=head.state_digest,
        )
        result = executor.execute(data, 0)
        assert not result.ok or data not in world.txs, "a committed transaction ran twice"

    return check


def _block_seeds(scratch: Path) -> Iterable[bytes]:
    return list(shared_world(scratch).blocks)


def _checkpoint_seeds(scratch: Path) -> Iterable[bytes]:
    world = shared_world(scratch)
    info = world.store.head()
    assert info is not None
    return [sign_checkpoint(info.header, info.signature, "bank-a", world.keys["bank-a"]).encode()]


def _tx_seeds(scratch: Path) -> Iterable[bytes]:
    return list(shared_world(scratch).txs)


def _choice_seeds(scratch: Path) -> Iterable[bytes]:
    return [hashlib.sha512(bytes([i])).digest() * 2 for i in range(8)]


TARGETS = [
    Target("raw_block", _raw_block, _block_seeds),
    Target("signed_block", _signed_block, _choice_seeds),
    Target("checkpoint", _checkpoint, _checkpoint_seeds),
    Target("tx", _tx, _tx_seeds),
]
