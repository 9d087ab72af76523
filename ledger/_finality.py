"""Checkpoints (co-signed block headers), finality and equivocation evidence.

A **checkpoint** is a voter's signature over ``riskshare/checkpoint-vote/v1``
``{"chain", "height", "hash"}`` for a block header it has applied. It travels with the
header and the proposer's signature (``riskshare/checkpoint/v1`` ``{"header",
"proposer_signature", "member", "signature"}``), so a replica that holds a different
header for that height receives, in the checkpoint itself, a second validly signed
header: proof of **equivocation**.

A height is **final** when checkpoints from more than two thirds of the current voters
(active members of role ``member``) name its header hash; a final height makes every
earlier height final too, because each header commits to its predecessor's hash.

Equivocation evidence, ``riskshare/equivocation/v1`` ``{"height", "header_a",
"signature_a", "header_b", "signature_b"}``, holds two different headers for one
height, each carrying a valid signature by its proposer; anyone can re-check it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger._block import decode_header
from ledger._codec import EncodingError, decode, encode
from ledger._errors import LedgerError
from ledger._tx import MEMBER_ID_PATTERN

__all__ = [
    "Checkpoint",
    "EquivocationError",
    "EquivocationReport",
    "checkpoint_message",
    "decode_checkpoint",
    "decode_equivocation",
    "double_vote_detail",
    "sign_checkpoint",
]

CHECKPOINT_DOMAIN, CHECKPOINT_VERSION = "checkpoint", 1
VOTE_DOMAIN, VOTE_VERSION = "checkpoint-vote", 1
EVIDENCE_DOMAIN, EVIDENCE_VERSION = "equivocation", 1


def checkpoint_message(chain: bytes, height: int, header_hash: bytes) -> bytes:
    """The bytes a voter signs to co-sign the header ``header_hash`` at ``height``."""
    return encode(
        VOTE_DOMAIN, VOTE_VERSION, {"chain": chain, "height": height, "hash": header_hash}
    )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    header: bytes
    proposer_signature: bytes
    member: str
    signature: bytes

    def encode(self) -> bytes:
        return encode(
            CHECKPOINT_DOMAIN,
            CHECKPOINT_VERSION,
            {
                "header": self.header,
                "proposer_signature": self.proposer_signature,
                "member": self.member,
                "signature": self.signature,
            },
        )


def decode_checkpoint(raw: bytes) -> Checkpoint:
    fields = decode(CHECKPOINT_DOMAIN, CHECKPOINT_VERSION, raw)
    if not isinstance(fields, dict) or set(fields) != {
        "header",
        "proposer_signature",
        "member",
        "signature",
    }:
        raise EncodingError("checkpoint has the wrong fields")
    cp = Checkpoint(
        fields["header"], fields["proposer_signature"], fields["member"], fields["signature"]
    )
    if not (
        isinstance(cp.header, bytes)
        and isinstance(cp.proposer_signature, bytes)
        and isinstance(cp.signature, bytes)
        and isinstance(cp.member, str)
        and MEMBER_ID_PATTERN.match(cp.member)
    ):
        raise EncodingError("checkpoint fields have the wrong types")
    decode_header(cp.header)
    return cp


def sign_checkpoint(
    header: bytes, proposer_signature: bytes, member: str, key: Ed25519PrivateKey
) -> Checkpoint:
    """A voter's checkpoint over a header it has applied."""
    decoded = decode_header(header)
    message = checkpoint_message(decoded.chain, decoded.height, decoded.hash)
    return Checkpoint(header, proposer_signature, member, key.sign(message))


@dataclass(frozen=True, slots=True)
class EquivocationReport:
    """Two different validly signed headers for one height."""

    height: int
    header_a: bytes
    signature_a: bytes
    header_b: bytes
    signature_b: bytes

    def encode(self) -> bytes:
        return encode(
            EVIDENCE_DOMAIN,
            EVIDENCE_VERSION,
            {
                "height": self.height,
                "header_a": self.header_a,
                "signature_a": self.signature_a,
                "header_b": self.header_b,
                "signature_b": self.signature_b,
            },
        )

    def describe(self) -> str:
        a, b = decode_header(self.header_a), decode_header(self.header_b)
        return (
            f"equivocation at height {self.height}: {a.hash.hex()[:16]} by {a.proposer!r}"
            f" and {b.hash.hex()[:16]} by {b.proposer!r}"
        )


def decode_equivocation(raw: bytes) -> EquivocationReport:
    """Evidence bytes back into a report; structure only (signatures are the caller's)."""
    fields = decode(EVIDENCE_DOMAIN, EVIDENCE_VERSION, raw)
    names = {"height", "header_a", "signature_a", "header_b", "signature_b"}
    if not isinstance(fields, dict) or set(fields) != names:
        raise EncodingError("equivocation evidence has the wrong fields")
    report = EquivocationReport(
        fields["height"],
        fields["header_a"],
        fields["signature_a"],
        fields["header_b"],
        fields["signature_b"],
    )
    if not (
        isinstance(report.height, int)
        and not isinstance(report.height, bool)
        and all(
            isinstance(v, bytes)
            for v in (report.header_a, report.signature_a, report.header_b, report.signature_b)
        )
    ):
        raise EncodingError("equivocation evidence fields have the wrong types")
    decode_header(report.header_a)
    decode_header(report.header_b)
    return report


def double_vote_detail(member: str, height: int) -> str:
    """What a replica records when a voter co-signs two headers for one height (the
    evidence is the second checkpoint; the first is in the ``checkpoints`` table)."""
    return f"{member!r} co-signed two headers at height {height}"


class EquivocationError(LedgerError):
    """Two different signed headers exist for one height; the replica has stopped.

    Distinct from every other ledger error on purpose: it is not a bad message to drop
    but proof that a proposer (or a voter) signed two histories, which an operator must
    look at. A replica that raised it refuses further blocks until the evidence is
    cleared by hand.
    """

    def __init__(self, report: EquivocationReport | None, message: str | None = None) -> None:
        super().__init__(message or (report.describe() if report else "equivocation"))
        self.report = report
