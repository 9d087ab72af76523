"""Genesis files: the sealed genesis block a new replica starts from, and the genesis
configuration every founder signs.

- ``block``: bytes to ``Replica.apply`` on an empty store; only
  :class:`ledger.LedgerError`, and nothing is stored unless it is the real genesis.
- ``config``: the real configuration with fields replaced by fuzzed values, re-encoded,
  and signed by the founders whose ids it names (we hold their keys, as a hostile
  founder holds its own), through the ``gov.genesis`` handler as the executor calls
  it; only ``LedgerError`` — and a configuration that applies made a consortium.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ledger import (
    LedgerError,
    MemoryState,
    Overlay,
    Replica,
    Store,
    TxContext,
    consortium_info,
    decode_block,
    decode_genesis_config,
    decode_transaction,
    encode,
)
from tests.fuzz._harness import OneInput, Picker, Target, vocabulary
from tests.fuzz._world import shared_world


def _block(scratch: Path) -> OneInput:
    world = shared_world(scratch)

    path = scratch / "genesis-replica.sqlite"

    def check(data: bytes) -> None:
        for stale in scratch.glob("genesis-replica.sqlite*"):
            stale.unlink()
        store = Store(path)  # a file: a store may open more than one connection to it
        try:
            Replica(store, world.registry).apply(data)
        except LedgerError:
            assert store.height == -1, "a refused genesis left a block behind"
            return
        finally:
            store.close()
        assert decode_block(data).hash == decode_block(world.genesis).hash

    return check


def _config(scratch: Path) -> OneInput:
    world = shared_world(scratch)
    block = decode_block(world.genesis)
    genesis_tx = decode_transaction(block.txs[0]).tx
    real: dict[str, Any] = decode_genesis_config(genesis_tx.body["config"])
    words = (*real["founders"][0], *vocabulary("ledger"))
    blobs = [f["signing_key"] for f in real["founders"]] + [bytes(32)]

    def mutate(pick: Picker, value: Any, depth: int) -> Any:
        if depth > 3 or not pick.int_in(0, 3):
            return pick.value(words, blobs, depth=2)
        if isinstance(value, dict) and value:
            out = dict(value)
            key = pick.pick(sorted(out))
            if pick.int_in(0, 5):
                out[key] = mutate(pick, out[key], depth + 1)
            else:
                del out[key]
            return out
        if isinstance(value, list) and value:
            out_list = list(value)
            at = pick.int_in(0, len(out_list) - 1)
            if pick.int_in(0, 5):
                out_list[at] = mutate(pick, out_list[at], depth + 1)
            else:
                out_list.append(out_list[at])
            return out_list
        return pick.value(words, blobs, depth=2)

    def check(data: bytes) -> None:
        pick = Picker(data)
        fields = dict(real)
        for _ in range(pick.int_in(1, 3)):
            key = pick.pick(sorted(fields))
            fields[key] = mutate(pick, fields[key], 0)
        try:
            config = encode("genesis", 1, fields)
        except LedgerError:
            return
        signatures: dict[str, Any] = {}
        founders = fields.get("founders")
        for founder in founders if isinstance(founders, list) else []:
            member = founder.get("id") if isinstance(founder, dict) else None
            if isinstance(member, str) and member in world.keys:
                signatures[member] = world.keys[member].sign(config)
        if not pick.int_in(0, 7):
            signatures[pick.pick(words)] = pick.blob(64)
        ctx = TxContext(
            tx_id=hashlib.sha256(config).digest(),
            kind="gov.genesis",
            member=genesis_tx.member,
            role="member",
            seq=1,
            time=real["time"],
            body={"config": config, "signatures": signatures},
            height=0,
            block_time=real["time"],
        )
        state = Overlay(MemoryState())
        try:
            world.registry.apply(state, ctx)
        except LedgerError:
            return
        assert consortium_info(state) is not None

    return check


def _block_seeds(scratch: Path) -> Iterable[bytes]:
    return [shared_world(scratch).genesis]


def _config_seeds(scratch: Path) -> Iterable[bytes]:
    return [hashlib.sha512(bytes([i])).digest() * 2 for i in range(16)]


TARGETS = [Target("block", _block, _block_seeds), Target("config", _config, _config_seeds)]
