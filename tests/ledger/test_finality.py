"""Checkpoints, finality, and equivocation: two signed headers for one height stop a replica."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import (
    Block,
    BlockError,
    EmbeddedOrderer,
    EquivocationError,
    Replica,
    Store,
    add_oprf_key_body,
    decode,
    decode_block,
    sign_checkpoint,
)

from .helpers import T0, Net, key_for, make_net, point


def _fork(net: Net, tmp_path: Path) -> tuple[Block, Block]:
    """Two different, each internally valid, blocks at height 1, both signed by m1."""
    blocks = []
    for name, key_id in (("a", "ka"), ("b", "kb")):
        o = EmbeddedOrderer(
            net.store(tmp_path / f"{name}.sqlite"),
            net.registry,
            member="m1",
            key=key_for("m1"),
            clock=lambda: T0,
        )
        o.submit(
            net.tx(
                "m2", "pub.add_oprf_key", add_oprf_key_body(key_id, point("m2", key_id)), seq=5
            ).raw
        )
        o.cut()
        blocks.append(decode_block(o.store.block(1) or b""))
    return blocks[0], blocks[1]


@pytest.fixture
def net() -> Net:
    return make_net(("m1", "m2", "m3", "obs"), roles={"obs": "observer"})


def test_two_blocks_for_one_height_from_one_proposer_stop_the_replica(
    net: Net, tmp_path: Path
) -> None:
    a, b = _fork(net, tmp_path)
    replica = Replica(net.store(tmp_path / "r.sqlite"), net.registry)
    replica.apply(a.raw)
    assert replica.apply(a.raw).results == ()  # the same block again is a no-op
    with pytest.raises(EquivocationError) as caught:
        replica.apply(b.raw)
    report = caught.value.report
    assert report is not None and report.height == 1
    assert {report.header_a, report.header_b} == {a.header.raw, b.header.raw}
    evidence = decode("equivocation", 1, report.encode())
    assert evidence["signature_b"] == b.signature
    assert "equivocation at height 1" in str(caught.value)
    ((height, detail, _),) = replica.store.equivocations()
    assert height == 1 and "by 'm1'" in detail
    # Loudly stopped: nothing more is applied, not even valid checkpoints.
    with pytest.raises(EquivocationError, match="halted"):
        replica.apply(a.raw)
    with pytest.raises(EquivocationError, match="halted"):
        replica.add_checkpoint(sign_checkpoint(a.header.raw, a.signature, "m2", key_for("m2")))
    # The halt survives a restart: it is recorded in the store.
    replica.store.close()
    reopened = Replica(Store(tmp_path / "r.sqlite", create=False), net.registry)
    with pytest.raises(EquivocationError, match="halted"):
        reopened.apply(a.raw)


def test_a_checkpoint_carrying_a_conflicting_header_is_equivocation(
    net: Net, tmp_path: Path
) -> None:
    a, b = _fork(net, tmp_path)
    replica = Replica(net.store(tmp_path / "r.sqlite"), net.registry)
    replica.apply(a.raw)
    replica.add_checkpoint(sign_checkpoint(a.header.raw, a.signature, "m2", key_for("m2")))
    with pytest.raises(EquivocationError):
        replica.add_checkpoint(sign_checkpoint(b.header.raw, b.signature, "m3", key_for("m3")))


def test_a_voter_signing_two_headers_is_equivocation(net: Net, tmp_path: Path) -> None:
    a, b = _fork(net, tmp_path)
    replica = Replica(net.store(tmp_path / "r.sqlite"), net.registry)
    # Checkpoints may arrive before the block: the first is recorded, the second betrays.
    replica.add_checkpoint(sign_checkpoint(a.header.raw, a.signature, "m2", key_for("m2")))
    with pytest.raises(EquivocationError, match="'m2' co-signed two headers at height 1"):
        replica.add_checkpoint(sign_checkpoint(b.header.raw, b.signature, "m2", key_for("m2")))


def test_a_block_that_contradicts_checkpoints_is_refused(net: Net, tmp_path: Path) -> None:
    a, b = _fork(net, tmp_path)
    replica = Replica(net.store(tmp_path / "r.sqlite"), net.registry)
    replica.add_checkpoint(sign_checkpoint(a.header.raw, a.signature, "m3", key_for("m3")))
    with pytest.raises(BlockError, match="differs from the header 'm3' co-signed"):
        replica.apply(b.raw)
    assert replica.store.height == 0
    replica.apply(a.raw)


def test_checkpoints_are_checked_and_finality_needs_a_supermajority(
    net: Net, tmp_path: Path
) -> None:
    a, _ = _fork(net, tmp_path)
    replica = Replica(net.store(tmp_path / "r.sqlite"), net.registry)
    replica.apply(a.raw)
    with pytest.raises(BlockError, match="not a voting member"):
        replica.add_checkpoint(sign_checkpoint(a.header.raw, a.signature, "obs", key_for("obs")))
    with pytest.raises(BlockError, match="bad checkpoint signature"):
        replica.add_checkpoint(sign_checkpoint(a.header.raw, a.signature, "m2", key_for("m3")))
    with pytest.raises(BlockError, match="not validly signed"):
        replica.add_checkpoint(sign_checkpoint(a.header.raw, bytes(64), "m2", key_for("m2")))
    assert replica.final_height() == -1
    replica.checkpoint("m1", key_for("m1"))
    replica.checkpoint("m2", key_for("m2"))
    assert replica.final_height() == -1  # 2 of 3 voters is not more than two thirds
    assert not replica.add_checkpoint(
        sign_checkpoint(a.header.raw, a.signature, "m2", key_for("m2"))
    )
    replica.checkpoint("m3", key_for("m3"))
    assert replica.final_height() == 1
    assert replica.signers(1) == ["m1", "m2", "m3"]
    # What a checkpoint stream sends: each stored vote with the header it names.
    rows = replica.store.checkpoints_on_blocks(1)
    assert [(h, m) for h, m, *_ in rows] == [(1, "m1"), (1, "m2"), (1, "m3")]
    assert {(hh, hd, ps) for _, _, hh, _, hd, ps in rows} == {
        (a.header.hash, a.header.raw, a.signature)
    }
    assert replica.store.checkpoints_on_blocks(2) == []


def test_a_checkpoint_stream_sends_only_votes_for_the_held_block(net: Net, tmp_path: Path) -> None:
    """A vote stored ahead of its block, or for another header, is not sent with the
    held block's header (the stream rescans, so it goes out once its block is held)."""
    a, b = _fork(net, tmp_path)
    store = net.store(tmp_path / "r.sqlite")
    replica = Replica(store, net.registry)
    replica.apply(a.raw)
    store.add_checkpoint(1, "m2", b.header.hash, bytes(64))
    store.add_checkpoint(2, "m3", bytes(32), bytes(64))
    assert store.checkpoints_on_blocks(0) == []
    replica.checkpoint("m1", key_for("m1"))
    assert [(h, m) for h, m, *_ in store.checkpoints_on_blocks(0)] == [(1, "m1")]


def test_a_replica_with_a_clock_refuses_blocks_from_the_future(net: Net, tmp_path: Path) -> None:
    a, _ = _fork(net, tmp_path)
    late = Replica(net.store(tmp_path / "r.sqlite"), net.registry, clock=lambda: T0 - 10**6)
    with pytest.raises(BlockError, match="ahead of this replica's clock"):
        late.apply(a.raw)
    assert late.store.height == 0
    Replica(late.store, net.registry, clock=lambda: T0).apply(a.raw)
