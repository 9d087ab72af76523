"""Bad input is refused with a clear reason and changes nothing, at submission and replay."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cbor2
import pytest

from ledger import (
    MAX_BLOCK_BYTES,
    BlockError,
    BlockExecutor,
    EmbeddedOrderer,
    Replica,
    Store,
    add_oprf_key_body,
    approve_body,
    make_block,
    propose_body,
    sign_transaction,
)
from ledger._codec import encode

from .helpers import T0, Net, key_for, make_net, point


def _snapshot(store: Store) -> tuple[int, list[tuple[str, str, bytes]]]:
    return store.height, list(store.state_rows())


@pytest.fixture
def net() -> Net:
    return make_net(("m1", "m2", "m3", "obs"), roles={"obs": "observer"})


@pytest.fixture
def orderer(net: Net, tmp_path: Path):
    store = net.store(tmp_path / "ledger.sqlite")
    o = EmbeddedOrderer(store, net.registry, member="m1", key=key_for("m1"), clock=lambda: T0)
    o.submit(net.tx("m1", "pub.add_oprf_key", add_oprf_key_body("k1", point(1))).raw)
    o.cut()
    yield o
    store.close()


def _refused(orderer, raw: bytes, reason: str) -> None:
    before = _snapshot(orderer.store)
    answer = orderer.submit(raw)
    assert not answer.accepted
    assert reason in answer.reason, answer.reason
    assert orderer.cut() is None
    assert _snapshot(orderer.store) == before


def test_wrong_signature(net: Net, orderer) -> None:
    tx = net.tx("m2", "pub.add_oprf_key", add_oprf_key_body("k", point(2)), key=key_for("m3"))
    _refused(orderer, tx.raw, "bad signature by 'm2'")


def test_unknown_member(net: Net, orderer) -> None:
    tx = net.tx("m9", "pub.add_oprf_key", add_oprf_key_body("k", point(2)))
    _refused(orderer, tx.raw, "unknown member 'm9'")


def test_replayed_sequence_number(net: Net, orderer) -> None:
    first = net.tx("m2", "pub.add_oprf_key", add_oprf_key_body("k", point(2)), seq=7)
    assert orderer.submit(first.raw).accepted
    orderer.cut()
    # The same bytes again are recognised as committed, not applied twice ...
    again = orderer.submit(first.raw)
    assert again.accepted and again.height == orderer.store.height
    # ... and new bytes that reuse (or go below) the sequence number are refused.
    for seq in (7, 3):
        replay = net.tx("m2", "pub.add_oprf_key", add_oprf_key_body("k2", point(3)), seq=seq)
        _refused(orderer, replay.raw, "is not above its last, 7")


def test_unknown_kind(net: Net, orderer) -> None:
    _refused(orderer, net.tx("m2", "nobody.knows", {}).raw, "unknown transaction kind")


def test_wrong_chain(net: Net, orderer) -> None:
    tx = sign_transaction(
        key_for("m2"),
        chain=hashlib.sha256(b"other").digest(),
        member="m2",
        kind="pub.add_oprf_key",
        body=add_oprf_key_body("k", point(2)),
        seq=50,
        time=T0,
    )
    _refused(orderer, tx.raw, "another chain")


def test_claimed_time_outside_the_skew_window(net: Net, orderer) -> None:
    tx = net.tx("m2", "pub.add_oprf_key", add_oprf_key_body("k", point(2)), time=T0 + 10**9)
    _refused(orderer, tx.raw, "more than 300000 ms from block time")


def test_role_not_allowed(net: Net, orderer) -> None:
    tx = net.tx("obs", "pub.add_oprf_key", add_oprf_key_body("k", point(2)))
    _refused(orderer, tx.raw, "role 'observer' may not submit pub.add_oprf_key")


def test_contract_rule(net: Net, orderer) -> None:
    tx = net.tx("m1", "pub.add_oprf_key", add_oprf_key_body("k1", point(2)))
    _refused(orderer, tx.raw, "key_id is already used")


def test_malformed_bytes(orderer) -> None:
    _refused(orderer, b"riskshare/signed-tx/v1\x00\xff", "malformed transaction")


def test_oversized_transaction(net: Net, orderer) -> None:
    tx = net.tx("m2", "pub.add_oprf_key", {"pad": b"x" * (MAX_BLOCK_BYTES - 900)})
    _refused(orderer, tx.raw, "too large for a block")


def test_governance_change_without_enough_approvals(net: Net, orderer) -> None:
    proposal = net.tx("m1", "gov.propose", propose_body("set_params", {"set": {"x.y": 1}}))
    assert orderer.submit(proposal.raw).accepted
    orderer.cut()
    assert orderer.submit(
        net.tx("m2", "gov.approve", approve_body(proposal.tx_id.hex())).raw
    ).accepted
    orderer.cut()
    state = orderer.store.state()
    assert state.get("gov.params", "x.y") is None  # 2 of 3 voters is not more than 2/3
    row = state.get("gov.proposals", proposal.tx_id.hex())
    assert isinstance(row, dict) and row["status"] == "open"
    # The observer does not vote; its approval is refused and changes nothing.
    _refused(
        orderer,
        net.tx("obs", "gov.approve", approve_body(proposal.tx_id.hex())).raw,
        "role 'observer' may not submit gov.approve",
    )
    _refused(
        orderer,
        net.tx("m2", "gov.approve", approve_body(proposal.tx_id.hex())).raw,
        "already approved",
    )
    assert orderer.submit(
        net.tx("m3", "gov.approve", approve_body(proposal.tx_id.hex())).raw
    ).accepted
    orderer.cut()
    assert orderer.store.state().get("gov.params", "x.y") == 1


def test_replica_records_an_invalid_transaction_and_applies_nothing_for_it(
    net: Net, tmp_path: Path
) -> None:
    """A proposer that includes a bad transaction does not halt the chain."""
    store = net.store(tmp_path / "r.sqlite")
    good = net.tx("m2", "pub.add_oprf_key", add_oprf_key_body("k", point(2)))
    forged = net.tx("m3", "pub.add_oprf_key", add_oprf_key_body("k", point(3)), key=key_for("m2"))
    # Build the block the honest way for the good tx, and see what a replica says.
    o = EmbeddedOrderer(
        net.store(tmp_path / "o.sqlite"),
        net.registry,
        member="m1",
        key=key_for("m1"),
        clock=lambda: T0,
    )
    o.submit(good.raw)
    ok_block = o.store.block(o.cut() or 0)
    assert ok_block is not None
    honest = Replica(store, net.registry).apply(ok_block)
    assert [r.ok for r in honest.results] == [True]
    # A block with the forged tx: the proposer computes the digest as a replica would.
    head = store.head()
    assert head is not None
    ex = BlockExecutor(
        store.state(), net.registry, height=head.height + 1, time=T0, prev_digest=head.state_digest
    )
    results = [ex.execute(forged.raw, 0)]
    _, digest = ex.finish()
    block = make_block(
        key_for("m1"),
        chain=net.chain,
        height=head.height + 1,
        prev=head.hash,
        time=T0,
        proposer="m1",
        txs=[forged.raw],
        state_digest=digest,
    )
    before = list(store.state_rows())
    applied = Replica(store, net.registry).apply(block.raw)
    assert [(r.ok, r.reason) for r in applied.results] == [(False, "bad signature by 'm3'")]
    assert results[0].reason == "bad signature by 'm3'"
    assert list(store.state_rows()) == before
    record = store.tx(forged.tx_id)
    assert record is not None and not record.ok and record.reason == "bad signature by 'm3'"


def test_replica_refuses_a_block_over_one_mebibyte(net: Net, tmp_path: Path) -> None:
    store = net.store(tmp_path / "r.sqlite")
    head = store.head()
    assert head is not None
    header = encode(
        "block-header",
        1,
        {
            "chain": net.chain,
            "height": 1,
            "prev": head.hash,
            "time": T0,
            "proposer": "m1",
            "tx_root": point(0),
            "tx_count": 1,
            "state_digest": point(0),
        },
    )
    raw = b"riskshare/block/v1\x00" + cbor2.dumps(
        {
            "header": header,
            "signature": key_for("m1").sign(header),
            "txs": [b"x" * MAX_BLOCK_BYTES],
        },
        canonical=True,
    )
    before = _snapshot(store)
    with pytest.raises(BlockError, match=r"malformed block: .*over"):
        Replica(store, net.registry).apply(raw)
    assert _snapshot(store) == before
