"""The genesis configuration: who founds the consortium, on what terms, signed by all.

The configuration is encoded as ``riskshare/genesis/v1`` (canonical CBOR)::

    {"consortium": str, "time": int (ms), "normaliser_version": "v1",
     "founders": [{"id", "name", "role", "signing_key" (32 bytes),
                   "tls_fingerprint" (32 bytes), "address"}, ...],
     "list_types": {name: {"id_types": [id_type, ...], "retention_days": int}},
     "id_types": {name: {"description": str}},
     "params": {name: value}}

Every founder signs those exact bytes with its ledger key. The **chain id** is their
SHA-256; every transaction of the consortium carries it. The genesis block (height 0)
holds one ``gov.genesis`` transaction whose body is ``{"config": <bytes>,
"signatures": {founder id: signature}}``, submitted and proposed by one founder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger._block import GENESIS_PREV, Block, make_block
from ledger._codec import decode, encode
from ledger._contract import ContractRegistry
from ledger._errors import LedgerError
from ledger._execute import GENESIS_KIND, BlockExecutor
from ledger._state import MemoryState
from ledger._tx import sign_transaction

__all__ = [
    "Founder",
    "GenesisConfig",
    "build_genesis_block",
    "decode_genesis_config",
    "sign_genesis",
]

GENESIS_DOMAIN, GENESIS_VERSION = "genesis", 1


@dataclass(frozen=True, slots=True)
class Founder:
    id: str
    name: str
    role: str
    signing_key: bytes
    tls_fingerprint: bytes
    address: str

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "signing_key": self.signing_key,
            "tls_fingerprint": self.tls_fingerprint,
            "address": self.address,
        }


@dataclass(frozen=True, slots=True)
class GenesisConfig:
    consortium: str
    founders: tuple[Founder, ...]
    time: int
    # The ledger holds whatever list and id types the founders sign; their launch
    # definitions live in psi, and the gateway fills them in (ledger imports no psi).
    list_types: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    id_types: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    normaliser_version: str = "v1"
    params: Mapping[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        """The bytes every founder signs."""
        return encode(
            GENESIS_DOMAIN,
            GENESIS_VERSION,
            {
                "consortium": self.consortium,
                "time": self.time,
                "normaliser_version": self.normaliser_version,
                "founders": [f.to_row() for f in self.founders],
                "list_types": {k: dict(v) for k, v in self.list_types.items()},
                "id_types": {k: dict(v) for k, v in self.id_types.items()},
                "params": dict(self.params),
            },
        )

    @property
    def chain_id(self) -> bytes:
        return hashlib.sha256(self.encode()).digest()


def decode_genesis_config(data: bytes) -> dict[str, Any]:
    """The configuration's fields; structure is checked by the ``gov.genesis`` handler."""
    value = decode(GENESIS_DOMAIN, GENESIS_VERSION, data)
    if not isinstance(value, dict):
        raise LedgerError("genesis configuration is not a map")
    return value


def sign_genesis(config: bytes, key: Ed25519PrivateKey) -> bytes:
    """A founder's signature over the configuration bytes."""
    return key.sign(config)


def build_genesis_block(
    config: bytes,
    signatures: Mapping[str, bytes],
    *,
    proposer: str,
    key: Ed25519PrivateKey,
    registry: ContractRegistry,
) -> Block:
    """The height-0 block: one ``gov.genesis`` transaction, signed and proposed by one
    founder, with every founder's signature over ``config`` in its body.

    The block is executed here (in memory) to obtain its state digest; a block that
    would not apply raises :class:`LedgerError` with the reason instead of being built.
    """
    fields = decode_genesis_config(config)
    time = fields.get("time")
    if not isinstance(time, int):
        raise LedgerError("genesis configuration has no time")
    chain = hashlib.sha256(config).digest()
    tx = sign_transaction(
        key,
        chain=chain,
        member=proposer,
        kind=GENESIS_KIND,
        body={"config": config, "signatures": dict(signatures)},
        seq=1,
        time=time,
    )
    executor = BlockExecutor(MemoryState(), registry, height=0, time=time, prev_digest=GENESIS_PREV)
    result = executor.execute(tx, 0)
    if not result.ok:
        raise LedgerError(f"genesis refused: {result.reason}")
    _, digest = executor.finish()
    return make_block(
        key,
        chain=chain,
        height=0,
        prev=GENESIS_PREV,
        time=time,
        proposer=proposer,
        txs=[tx.raw],
        state_digest=digest,
    )
