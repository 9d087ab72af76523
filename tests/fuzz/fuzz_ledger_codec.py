"""Ledger decoders on raw bytes: the canonical codec, transactions, block headers, blocks,
checkpoints, transaction proofs and genesis configurations.

Contract: :class:`ledger.LedgerError` or success. On success the value must re-encode
to the very bytes decoded (the codec promises one encoding per value, and signatures
cover stored bytes), and a proof whose header is trusted by hash must verify or raise
:class:`ledger.ProofError` — never anything else.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import (
    Founder,
    GenesisConfig,
    LedgerError,
    TxProof,
    decode,
    decode_block,
    decode_checkpoint,
    decode_genesis_config,
    decode_header,
    decode_transaction,
    decode_tx_proof,
    encode,
    inclusion_proof,
    make_block,
    sign_checkpoint,
    sign_transaction,
    verify_tx_proof,
)
from ledger._block import encode_block
from tests.fuzz._harness import OneInput, Target

DOMAINS = (
    ("tx", 1),
    ("signed-tx", 1),
    ("block-header", 1),
    ("block", 1),
    ("checkpoint", 1),
    ("checkpoint-vote", 1),
    ("tx-proof", 1),
    ("genesis", 1),
    ("credits-request", 1),
)


@functools.cache
def _samples() -> dict[str, list[bytes]]:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    chain = hashlib.sha256(b"fuzz chain").digest()
    txs = [
        sign_transaction(
            key,
            chain=chain,
            member=f"bank-{c}",
            kind="credits.receipt",
            body={"n": i, "blob": bytes(32), "list": [1, "two", None, True]},
            seq=i + 1,
            time=1_700_000_000_000 + i,
        ).raw
        for i, c in enumerate("abc")
    ]
    block = make_block(
        key,
        chain=chain,
        height=7,
        prev=bytes(32),
        time=1_700_000_000_000,
        proposer="orderer",
        txs=txs,
        state_digest=bytes(range(32)),
    )
    checkpoint = sign_checkpoint(block.header.raw, block.signature, "bank-b", key)
    proof = TxProof(txs[1], 1, tuple(inclusion_proof(txs, 1)), block.header.raw, block.signature)
    founder = Founder("bank-a", "Bank A", "member", bytes(32), bytes(32), "127.0.0.1:1")
    genesis = GenesisConfig("fuzz", (founder,), 1_700_000_000_000).encode()
    return {
        "codec": [encode("tx", 1, {"a": [1, b"x", {"b": None}]}), txs[0]],
        "tx": txs,
        "header": [block.header.raw],
        "block": [block.raw],
        "checkpoint": [checkpoint.encode()],
        "proof": [proof.encode()],
        "genesis": [genesis],
    }


def _codec(data: bytes) -> None:
    if not data:
        return
    domain, version = DOMAINS[data[0] % len(DOMAINS)]
    try:
        value = decode(domain, version, data[1:])
    except LedgerError:
        return
    assert encode(domain, version, value) == data[1:], "decode accepted a non-canonical encoding"


def _tx(data: bytes) -> None:
    try:
        stx = decode_transaction(data)
    except LedgerError:
        return
    assert stx.raw == data
    assert stx.tx.payload() == stx.payload, "payload is not the canonical encoding of its fields"


def _header(data: bytes) -> None:
    try:
        header = decode_header(data)
    except LedgerError:
        return
    assert decode_header(header.raw) == header


def _block(data: bytes) -> None:
    try:
        block = decode_block(data)
    except LedgerError:
        return
    assert encode_block(block.header.raw, block.signature, block.txs) == data


def _checkpoint(data: bytes) -> None:
    try:
        checkpoint = decode_checkpoint(data)
    except LedgerError:
        return
    assert checkpoint.encode() == data


def _proof(data: bytes) -> None:
    try:
        proof = decode_tx_proof(data)
    except LedgerError:
        return
    assert proof.encode() == data
    try:
        verify_tx_proof(proof, header_hash=hashlib.sha256(proof.header).digest())
    except LedgerError:
        return


def _genesis(data: bytes) -> None:
    try:
        fields = decode_genesis_config(data)
    except LedgerError:
        return
    assert encode("genesis", 1, fields) == data


def _target(name: str, function: Callable[[bytes], None]) -> Target:
    def setup(scratch: Path) -> OneInput:
        return function

    def seeds(scratch: Path) -> Iterable[bytes]:
        found = _samples()[name]
        if name == "codec":
            return [bytes([i]) + s for s in found for i in range(len(DOMAINS))]
        return found

    return Target(name, setup, seeds)


TARGETS = [
    _target("codec", _codec),
    _target("tx", _tx),
    _target("header", _header),
    _target("block", _block),
    _target("checkpoint", _checkpoint),
    _target("proof", _proof),
    _target("genesis", _genesis),
]
