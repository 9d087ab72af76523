"""Blocks: a signed header and the exact bytes of the transactions it orders.

Encodings (canonical CBOR behind a domain tag, :mod:`ledger._codec`):

- **header** ``riskshare/block-header/v1``: ``{"chain", "height", "prev", "time",
  "proposer", "tx_root", "tx_count", "state_digest"}``. ``prev`` is the previous
  header's hash (32 zero bytes at height 0), ``tx_root`` the RFC 9162 root over the
  transactions' stored bytes, ``state_digest`` the state digest after applying the
  block (:mod:`ledger._execute`), ``time`` milliseconds since the Unix epoch.
- **block** ``riskshare/block/v1``: ``{"header": <header bytes>, "signature":
  <proposer's Ed25519 signature over the header bytes>, "txs": [<signed tx bytes>...]}``.

The block hash is ``SHA-256`` of the header bytes; it chains blocks together and is
what checkpoints co-sign. A block's encoding is at most 1 MiB.

Decoding checks structure and types; whether the header is the right successor,
whether the proposer may propose and signed it, and whether ``tx_root`` and
``state_digest`` hold, is the validator's job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger._codec import MAX_ENCODED_BYTES, EncodingError, decode, encode
from ledger._merkle import merkle_root
from ledger._tx import MEMBER_ID_PATTERN

__all__ = [
    "GENESIS_PREV",
    "MAX_BLOCK_BYTES",
    "Block",
    "BlockHeader",
    "block_size",
    "decode_block",
    "decode_header",
    "encode_block",
    "make_block",
]

HEADER_DOMAIN, HEADER_VERSION = "block-header", 1
BLOCK_DOMAIN, BLOCK_VERSION = "block", 1
MAX_BLOCK_BYTES = MAX_ENCODED_BYTES
GENESIS_PREV = bytes(32)
_MAX_INT = (1 << 63) - 1
# An upper bound on a block's encoding minus its transactions: prefix, map and keys,
# header bytes (about 250) and signature. Used to cut blocks before they overflow.
_BLOCK_OVERHEAD = 1024
_PER_TX_OVERHEAD = 5


@dataclass(frozen=True, slots=True)
class BlockHeader:
    raw: bytes
    chain: bytes
    height: int
    prev: bytes
    time: int
    proposer: str
    tx_root: bytes
    tx_count: int
    state_digest: bytes

    @property
    def hash(self) -> bytes:
        return hashlib.sha256(self.raw).digest()


@dataclass(frozen=True, slots=True)
class Block:
    raw: bytes
    header: BlockHeader
    signature: bytes
    txs: tuple[bytes, ...]

    @property
    def height(self) -> int:
        return self.header.height

    @property
    def hash(self) -> bytes:
        return self.header.hash


def block_size(tx_sizes_total: int, tx_count: int) -> int:
    """A safe upper bound on the encoded size of a block with these transactions."""
    return _BLOCK_OVERHEAD + tx_sizes_total + _PER_TX_OVERHEAD * tx_count


def _int(fields: dict[str, object], name: str) -> int:
    value = fields[name]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_INT:
        raise EncodingError(f"header field {name!r} is not a non-negative integer")
    return value


def _hash32(fields: dict[str, object], name: str) -> bytes:
    value = fields[name]
    if not isinstance(value, bytes) or len(value) != 32:
        raise EncodingError(f"header field {name!r} is not 32 bytes")
    return value


_HEADER_FIELDS = frozenset(
    {"chain", "height", "prev", "time", "proposer", "tx_root", "tx_count", "state_digest"}
)


def decode_header(raw: bytes) -> BlockHeader:
    """Parse header bytes; raise :class:`EncodingError` if malformed."""
    fields = decode(HEADER_DOMAIN, HEADER_VERSION, raw)
    if not isinstance(fields, dict) or set(fields) != _HEADER_FIELDS:
        raise EncodingError("block header has the wrong fields")
    proposer = fields["proposer"]
    if not isinstance(proposer, str) or not MEMBER_ID_PATTERN.match(proposer):
        raise EncodingError("block header proposer is not a valid member id")
    return BlockHeader(
        raw=bytes(raw),
        chain=_hash32(fields, "chain"),
        height=_int(fields, "height"),
        prev=_hash32(fields, "prev"),
        time=_int(fields, "time"),
        proposer=proposer,
        tx_root=_hash32(fields, "tx_root"),
        tx_count=_int(fields, "tx_count"),
        state_digest=_hash32(fields, "state_digest"),
    )


def decode_block(raw: bytes) -> Block:
    """Parse block bytes (header included); raise :class:`EncodingError` if malformed."""
    fields = decode(BLOCK_DOMAIN, BLOCK_VERSION, raw)
    if not isinstance(fields, dict) or set(fields) != {"header", "signature", "txs"}:
        raise EncodingError("block has the wrong fields")
    header, signature, txs = fields["header"], fields["signature"], fields["txs"]
    if not isinstance(header, bytes) or not isinstance(signature, bytes) or len(signature) != 64:
        raise EncodingError("block header or signature is malformed")
    if not isinstance(txs, list) or not all(isinstance(tx, bytes) for tx in txs):
        raise EncodingError("block transactions are not a list of byte strings")
    return Block(bytes(raw), decode_header(header), signature, tuple(txs))


def encode_block(header_raw: bytes, signature: bytes, txs: Sequence[bytes]) -> bytes:
    """The block bytes for a header, its signature and its transactions."""
    return encode(
        BLOCK_DOMAIN,
        BLOCK_VERSION,
        {"header": header_raw, "signature": signature, "txs": list(txs)},
    )


def make_block(
    key: Ed25519PrivateKey,
    *,
    chain: bytes,
    height: int,
    prev: bytes,
    time: int,
    proposer: str,
    txs: Sequence[bytes],
    state_digest: bytes,
) -> Block:
    """Assemble and sign a block; raises :class:`EncodingError` if it exceeds 1 MiB."""
    header_raw = encode(
        HEADER_DOMAIN,
        HEADER_VERSION,
        {
            "chain": chain,
            "height": height,
            "prev": prev,
            "time": time,
            "proposer": proposer,
            "tx_root": merkle_root(txs),
            "tx_count": len(txs),
            "state_digest": state_digest,
        },
    )
    header = decode_header(header_raw)
    signature = key.sign(header_raw)
    return Block(encode_block(header_raw, signature, txs), header, signature, tuple(txs))
