"""Transactions: what a member signs, and the exact bytes every replica keeps.

Two encodings, both through :mod:`ledger._codec` (canonical CBOR behind a domain tag):

- the **payload** ``riskshare/tx/v1``: ``{"chain", "kind", "member", "seq", "time",
  "body"}`` — the bytes the member's Ed25519 key signs;
- the **signed transaction** ``riskshare/signed-tx/v1``: ``{"payload": <payload
  bytes>, "signature": <64 bytes>}`` — the bytes stored in blocks and on disk.

The payload travels inside the envelope as a byte string, so a verifier checks the
signature over the very bytes that were signed and never re-serialises anything. The
transaction id is ``SHA-256`` of the signed transaction's bytes, and those bytes are
the RFC 9162 Merkle leaf in the block's ``tx_root``.

``chain`` is the consortium's chain id (``SHA-256`` of its genesis configuration), so
a transaction signed for one consortium can never be replayed on another. ``seq`` is
the member's sequence number: each committed transaction's must exceed the member's
last committed one. ``time`` is the member's claimed time in milliseconds since the
Unix epoch; the validator bounds its distance from the block's time.

Decoding checks structure and field types only; whether the signer is a member, and
whether the signature verifies under that member's key, depends on ledger state and is
the validator's job.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger._codec import EncodingError, decode, encode

__all__ = [
    "KIND_PATTERN",
    "MEMBER_ID_PATTERN",
    "SignedTransaction",
    "Transaction",
    "decode_transaction",
    "sign_transaction",
]

TX_DOMAIN, TX_VERSION = "tx", 1
SIGNED_TX_DOMAIN, SIGNED_TX_VERSION = "signed-tx", 1

KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}\.[a-z][a-z0-9_]{0,63}\Z")
# No "/" or ":" so ids can be joined into keys ("<member>/<list_type>") unambiguously.
MEMBER_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_MAX_INT = (1 << 63) - 1
_PAYLOAD_FIELDS = frozenset({"chain", "kind", "member", "seq", "time", "body"})
_ENVELOPE_FIELDS = frozenset({"payload", "signature"})


@dataclass(frozen=True, slots=True)
class Transaction:
    """The signed content of a transaction."""

    chain: bytes
    kind: str
    member: str
    seq: int
    time: int
    body: Mapping[str, Any]

    def payload(self) -> bytes:
        """The canonical bytes a member signs (and the only ones anyone verifies)."""
        return encode(
            TX_DOMAIN,
            TX_VERSION,
            {
                "chain": self.chain,
                "kind": self.kind,
                "member": self.member,
                "seq": self.seq,
                "time": self.time,
                "body": dict(self.body),
            },
        )


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """A transaction as stored: ``raw`` is the envelope, ``payload`` what was signed."""

    raw: bytes
    payload: bytes
    signature: bytes
    tx: Transaction
    tx_id: bytes = field(init=False, compare=False)  # SHA-256 of ``raw``, computed once

    def __post_init__(self) -> None:
        object.__setattr__(self, "tx_id", hashlib.sha256(self.raw).digest())


def _field(mapping: Mapping[str, Any], name: str, kind: type) -> Any:
    value = mapping.get(name)
    # bool is an int subclass; an integer field must not accept True.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise EncodingError(f"transaction field {name!r} is missing or not {kind.__name__}")
    return value


def _transaction(payload: bytes) -> Transaction:
    fields = decode(TX_DOMAIN, TX_VERSION, payload)
    if not isinstance(fields, dict) or fields.keys() != _PAYLOAD_FIELDS:
        raise EncodingError("transaction payload has the wrong fields")
    tx = Transaction(
        chain=_field(fields, "chain", bytes),
        kind=_field(fields, "kind", str),
        member=_field(fields, "member", str),
        seq=_field(fields, "seq", int),
        time=_field(fields, "time", int),
        body=_field(fields, "body", dict),
    )
    if len(tx.chain) != 32:
        raise EncodingError("transaction chain id is not 32 bytes")
    if not KIND_PATTERN.match(tx.kind):
        raise EncodingError(f"transaction kind {tx.kind!r} is not <contract>.<action>")
    if not MEMBER_ID_PATTERN.match(tx.member):
        raise EncodingError(f"transaction member id {tx.member!r} is not a valid id")
    if not 0 < tx.seq <= _MAX_INT or not 0 <= tx.time <= _MAX_INT:
        raise EncodingError("transaction seq or time is out of range")
    return tx


def decode_transaction(raw: bytes) -> SignedTransaction:
    """Parse stored transaction bytes; raise :class:`EncodingError` if malformed."""
    envelope = decode(SIGNED_TX_DOMAIN, SIGNED_TX_VERSION, raw)
    if not isinstance(envelope, dict) or envelope.keys() != _ENVELOPE_FIELDS:
        raise EncodingError("signed transaction has the wrong fields")
    payload = _field(envelope, "payload", bytes)
    signature = _field(envelope, "signature", bytes)
    if len(signature) != 64:
        raise EncodingError("transaction signature is not 64 bytes")
    return SignedTransaction(bytes(raw), payload, signature, _transaction(payload))


def sign_transaction(
    key: Ed25519PrivateKey,
    *,
    chain: bytes,
    member: str,
    kind: str,
    body: Mapping[str, Any],
    seq: int,
    time: int,
) -> SignedTransaction:
    """Build and sign a transaction; ``time`` is the member's clock in milliseconds."""
    tx = Transaction(chain=chain, kind=kind, member=member, seq=seq, time=time, body=body)
    payload = tx.payload()
    # Parse our own payload back so a transaction we sign is one every replica accepts.
    _transaction(payload)
    signature = key.sign(payload)
    raw = encode(SIGNED_TX_DOMAIN, SIGNED_TX_VERSION, {"payload": payload, "signature": signature})
    return SignedTransaction(raw, payload, signature, tx)
