"""Transaction, block and checkpoint encodings: round trips, strictness, hostile bytes."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import (
    MAX_BLOCK_BYTES,
    EncodingError,
    decode_block,
    decode_checkpoint,
    decode_header,
    decode_transaction,
    decode_tx_proof,
    make_block,
    merkle_root,
    sign_checkpoint,
    sign_transaction,
    verify_signature,
)
from ledger._codec import encode

from .helpers import T0, key_for

_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
_CHAIN = hashlib.sha256(b"chain").digest()


@given(
    body=st.dictionaries(st.text(max_size=8), _values, max_size=5),
    seq=st.integers(1, 2**63 - 1),
    time=st.integers(0, 2**63 - 1),
    kind=st.from_regex(r"[a-z][a-z0-9_]{0,5}\.[a-z][a-z0-9_]{0,8}", fullmatch=True),
)
def test_transaction_round_trip_and_signature(body, seq, time, kind) -> None:
    key = key_for("m1")
    stx = sign_transaction(key, chain=_CHAIN, member="m1", kind=kind, body=body, seq=seq, time=time)
    again = decode_transaction(stx.raw)
    assert again == stx
    assert again.tx_id == hashlib.sha256(stx.raw).digest()
    assert again.tx.body == body
    verify_signature(key.public_key().public_bytes_raw(), again.payload, again.signature)


def test_transaction_refuses_bad_fields() -> None:
    key = key_for("m1")
    good = {"chain": _CHAIN, "kind": "a.b", "member": "m1", "seq": 1, "time": 0, "body": {}}
    bad_fields = [
        {**good, "chain": b"short"},
        {**good, "kind": "nodot"},
        {**good, "kind": "A.b"},
        {**good, "member": "has/slash"},
        {**good, "member": ""},
        {**good, "seq": 0},
        {**good, "seq": True},
        {**good, "time": -1},
        {**good, "body": []},
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "body"},
    ]
    for fields in bad_fields:
        payload = encode("tx", 1, fields)
        raw = encode("signed-tx", 1, {"payload": payload, "signature": key.sign(payload)})
        with pytest.raises(EncodingError):
            decode_transaction(raw)
    payload = encode("tx", 1, good)
    with pytest.raises(EncodingError):
        decode_transaction(encode("signed-tx", 1, {"payload": payload, "signature": b"x" * 63}))
    with pytest.raises(EncodingError):
        decode_transaction(encode("signed-tx", 2, {"payload": payload, "signature": b"x" * 64}))
    with pytest.raises(EncodingError):
        sign_transaction(key, chain=_CHAIN, member="m1", kind="nodot", body={}, seq=1, time=0)


def _block(txs: list[bytes]):
    return make_block(
        key_for("m1"),
        chain=_CHAIN,
        height=3,
        prev=b"\x01" * 32,
        time=T0,
        proposer="m1",
        txs=txs,
        state_digest=b"\x02" * 32,
    )


@given(st.lists(st.binary(max_size=40), max_size=10))
def test_block_round_trip(txs) -> None:
    block = _block(txs)
    again = decode_block(block.raw)
    assert again == block
    assert again.header.tx_root == merkle_root(txs)
    assert again.header.tx_count == len(txs)
    assert decode_header(block.header.raw).hash == block.hash
    verify_signature(
        key_for("m1").public_key().public_bytes_raw(), block.header.raw, block.signature
    )


def test_block_over_one_mebibyte_is_refused() -> None:
    with pytest.raises(EncodingError, match="over"):
        _block([b"x" * (MAX_BLOCK_BYTES // 2)] * 2)
    ok = _block([b"x" * (MAX_BLOCK_BYTES - 2048)])
    assert len(ok.raw) <= MAX_BLOCK_BYTES


@given(st.binary(max_size=300))
def test_decoders_take_arbitrary_bytes(data) -> None:
    prefixes = [
        b"",
        b"riskshare/signed-tx/v1\x00",
        b"riskshare/block/v1\x00",
        b"riskshare/block-header/v1\x00",
        b"riskshare/checkpoint/v1\x00",
        b"riskshare/tx-proof/v1\x00",
    ]
    for prefix in prefixes:
        for decoder in (
            decode_transaction,
            decode_block,
            decode_header,
            decode_checkpoint,
            decode_tx_proof,
        ):
            with contextlib.suppress(EncodingError):
                decoder(prefix + data)


def test_checkpoint_round_trip() -> None:
    block = _block([b"a"])
    cp = sign_checkpoint(block.header.raw, block.signature, "m2", key_for("m2"))
    assert decode_checkpoint(cp.encode()) == cp
