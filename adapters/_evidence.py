"""Evidence commitments: a per-epoch Merkle root that lets one disputed entry be opened.

When a querier disputes a hit, an arbitrator must be able to check that the responder
listed that identifier with that evidence *at the time*, without the responder
revealing any other entry. So each entry version is committed as

    commitment = SHA-256("riskshare/adapters/evidence/v1" 0x00 || salt
                         || len16 list_type || len16 id_type || len16 value
                         || flag || len16 evidence_ref)

with a fresh 32-byte random salt per entry version (kept only in the member's staging
store, so the commitment reveals nothing even about low-entropy phone numbers), and the
commitments of one list type's entries at an epoch, sorted bytewise, are the leaves of
an RFC 9162 Merkle tree (psi's implementation). Its root goes on the ledger with the
epoch's index commitment (``pub.index`` field ``evidence_root``).

An :class:`EvidenceOpening` reveals exactly one entry: its identifier, evidence
reference and salt, its leaf index, the tree size and the inclusion proof.
:func:`verify_opening` raises :class:`EvidenceError` unless it leads to the root and the
tree size both recorded on the ledger.
Sorting by commitment means leaf positions say nothing about listing order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from adapters._errors import EvidenceError
from adapters._model import EntryKey
from psi import MerkleAccumulator, ProtocolError, inclusion_proof, leaf_hash, verify_inclusion

__all__ = [
    "EVIDENCE_DOMAIN",
    "SALT_BYTES",
    "EvidenceOpening",
    "evidence_commitment",
    "evidence_commitments",
    "evidence_root",
    "open_evidence",
    "verify_opening",
]

EVIDENCE_DOMAIN = b"riskshare/adapters/evidence/v1\x00"
SALT_BYTES = 32
_MAX_FIELD = 0xFFFF


def _framed(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > _MAX_FIELD:
        raise EvidenceError("field too long to commit")
    return len(data).to_bytes(2, "big") + data


@lru_cache(maxsize=256)
def _types_framed(list_type: str, id_type: str) -> bytes:
    return _framed(list_type) + _framed(id_type)


_NO_EVIDENCE = b"\x00" + _framed("")


def evidence_commitment(key: EntryKey, evidence_ref: str | None, salt: bytes) -> bytes:
    """The 32-byte salted commitment to one entry and its evidence reference."""
    if len(salt) != SALT_BYTES:
        raise EvidenceError(f"salt must be {SALT_BYTES} bytes")
    return hashlib.sha256(
        b"".join(
            (
                EVIDENCE_DOMAIN,
                salt,
                _types_framed(key.list_type, key.id_type),
                _framed(key.value),
                _NO_EVIDENCE if evidence_ref is None else b"\x01" + _framed(evidence_ref),
            )
        )
    ).digest()


def evidence_commitments(
    items: Iterable[tuple[EntryKey, str | None]], salts: Sequence[bytes]
) -> list[bytes]:
    """:func:`evidence_commitment` of many entries, one salt each (the sync's hot path)."""
    sha256, types, none = hashlib.sha256, _types_framed, _NO_EVIDENCE
    out = []
    for ((list_type, id_type, value), evidence_ref), salt in zip(items, salts, strict=True):
        if len(salt) != SALT_BYTES:
            raise EvidenceError(f"salt must be {SALT_BYTES} bytes")
        v = value.encode()
        parts = [EVIDENCE_DOMAIN, salt, types(list_type, id_type), len(v).to_bytes(2, "big"), v]
        if evidence_ref is None:
            parts.append(none)
        else:
            e = evidence_ref.encode()
            parts += (b"\x01", len(e).to_bytes(2, "big"), e)
        if len(v) > _MAX_FIELD or (evidence_ref is not None and len(e) > _MAX_FIELD):
            raise EvidenceError("field too long to commit")
        out.append(sha256(b"".join(parts)).digest())
    return out


def evidence_root(sorted_commitments: Iterable[bytes]) -> tuple[bytes, int]:
    """Root and size of the tree over commitments, which must come sorted and distinct."""
    acc = MerkleAccumulator()
    last = b""
    for c in sorted_commitments:
        if c <= last:
            raise EvidenceError("commitments must be sorted and distinct")
        acc.append(c)
        last = c
    return acc.root(), acc.size


@dataclass(frozen=True, slots=True)
class EvidenceOpening:
    """Everything an arbitrator needs to check one entry against an epoch's root."""

    list_type: str
    epoch: int
    id_type: str
    value: str
    evidence_ref: str | None
    salt: bytes
    leaf_index: int
    tree_size: int
    proof: tuple[bytes, ...]

    @property
    def key(self) -> EntryKey:
        return EntryKey(self.list_type, self.id_type, self.value)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": 1,
                "list_type": self.list_type,
                "epoch": self.epoch,
                "id_type": self.id_type,
                "value": self.value,
                "evidence_ref": self.evidence_ref,
                "salt": self.salt.hex(),
                "leaf_index": self.leaf_index,
                "tree_size": self.tree_size,
                "proof": [p.hex() for p in self.proof],
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> EvidenceOpening:
        """Parse an opening; anything malformed raises :class:`EvidenceError`."""
        try:
            doc = json.loads(text)
            if doc.pop("version") != 1:
                raise EvidenceError("unknown opening version")
            opening = cls(
                list_type=_text(doc["list_type"]),
                epoch=_int(doc["epoch"]),
                id_type=_text(doc["id_type"]),
                value=_text(doc["value"]),
                evidence_ref=None if doc["evidence_ref"] is None else _text(doc["evidence_ref"]),
                salt=bytes.fromhex(_text(doc["salt"])),
                leaf_index=_int(doc["leaf_index"]),
                tree_size=_int(doc["tree_size"]),
                proof=tuple(bytes.fromhex(_text(p)) for p in doc["proof"]),
            )
            if set(doc) != {f for f in cls.__slots__ if f != "key"}:
                raise EvidenceError("unexpected fields in opening")
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError):
            raise EvidenceError("malformed evidence opening") from None
        return opening


def _text(v: object) -> str:
    if not isinstance(v, str):
        raise TypeError
    return v


def _int(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise TypeError
    return v


def open_evidence(
    key: EntryKey,
    evidence_ref: str | None,
    salt: bytes,
    epoch: int,
    sorted_commitments: Sequence[bytes],
) -> EvidenceOpening:
    """The opening of one entry within its epoch's sorted commitments."""
    mine = evidence_commitment(key, evidence_ref, salt)
    lo, hi = 0, len(sorted_commitments)
    while lo < hi:
        mid = (lo + hi) // 2
        if sorted_commitments[mid] < mine:
            lo = mid + 1
        else:
            hi = mid
    if lo == hi == len(sorted_commitments) or sorted_commitments[lo] != mine:
        raise EvidenceError("entry is not committed in that epoch")
    return EvidenceOpening(
        list_type=key.list_type,
        epoch=epoch,
        id_type=key.id_type,
        value=key.value,
        evidence_ref=evidence_ref,
        salt=salt,
        leaf_index=lo,
        tree_size=len(sorted_commitments),
        proof=tuple(inclusion_proof(sorted_commitments, lo)),
    )


def verify_opening(opening: EvidenceOpening, root: bytes, size: int) -> None:
    """Check an opening against an epoch's evidence root and size; raises :class:`EvidenceError`.

    ``size`` must come from the same ledger record as ``root`` (the epoch's index
    size): an RFC 9162 audit path alone does not pin the tree size, and a path for a
    leaf in the left part of a tree also fits some larger trees.
    """
    if opening.tree_size != size:
        raise EvidenceError(f"opening is for a tree of {opening.tree_size}, the epoch has {size}")
    try:
        commitment = evidence_commitment(opening.key, opening.evidence_ref, opening.salt)
        verify_inclusion(
            leaf_hash(commitment), opening.leaf_index, opening.tree_size, opening.proof, root
        )
    except ProtocolError as exc:
        raise EvidenceError(f"opening does not verify: {exc}") from None
