"""The querier's decisions about one responder, with no I/O: a sans-IO core.

The driver (``gateway._querier``) reads the ledger, talks gRPC, sleeps and keeps state;
everything it decides on is here, as pure functions of what it read and received:

- :func:`bucket_bits`: snapshot mode, or how many prefix bits bucket mode sends (the
  responder's declared size, capped by the consortium, and refused for an epoch whose
  bucket answer was shown to lie);
- :func:`judge`: what an answer means. A receipt that is not the responder's, or not
  for this request and this response, is refused (``DATA_LOSS``: nothing can be
  recorded against us). A signed answer whose proof does not verify is charged, so a
  refund is due. A bucket answer that does not match the commitment refutes bucket
  mode for that epoch. Otherwise the answer: hit or miss per identifier, with labels;
- :func:`retry_after`: whether a failed attempt is tried again, and after how long.

Unit-tested without a network in tests/gateway/test_asking.py, as aioquic tests its
connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger import Member
from psi import (
    Commitment,
    Hit,
    PendingQuery,
    ProtocolError,
    Snapshot,
    bucket_bits_for,
    bucket_lookup,
    bucket_prefix,
    decode_elements,
    prf_input,
)
from token_incentive import MessageError, SignedReceipt, response_digest

__all__ = [
    "RETRYABLE",
    "Answered",
    "BucketRefuted",
    "Context",
    "Failure",
    "RefundDue",
    "Reply",
    "bucket_bits",
    "bucket_prefixes",
    "judge",
    "retry_after",
]

# Codes after which the same question may be asked again with a new request (the old
# one's answer, if the responder stored it, is asked for first: see the driver).
RETRYABLE = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED"})
_MAX_BACKOFF_S = 2.0


@dataclass(frozen=True, slots=True)
class Context:
    """What the ledger (and the snapshot book) say about one responder's list, read once
    per query: every attempt is judged against the same commitment."""

    member: Member
    key_id: str
    public_key: bytes
    size: int
    epoch: int
    bucket_cap: int
    normaliser: str
    commitment: Commitment
    snapshot: Snapshot | None  # None: bucket mode


class Failure(Exception):
    """An attempt that ended without an answer: a gRPC status name, a message for
    people and, from a responder's refusal, its machine-readable reason."""

    def __init__(self, code: str, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer as it arrived (the protobuf's fields, nothing decoded yet)."""

    signed_receipt: bytes
    evaluated: bytes
    proof: bytes
    epoch: int
    buckets: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class Answered:
    hits: tuple[bool, ...]
    labels: tuple[Any, ...]
    epoch: int


@dataclass(frozen=True, slots=True)
class RefundDue:
    """Signed but wrong: the receipt will charge us, so the refund must be claimed."""

    evaluated: bytes
    proof: bytes
    message: str


@dataclass(frozen=True, slots=True)
class BucketRefuted:
    """A bucket answer contradicting the commitment: refuse bucket mode at ``epoch``."""

    epoch: int
    why: str


Verdict = Answered | RefundDue | BucketRefuted


def bucket_bits(
    context: Context, responder: str, list_type: str, refuted: tuple[int, str] | None
) -> int:
    """0 for snapshot mode, else the prefix bits to send; raises :class:`Failure`.

    ``refuted`` is (epoch, why) if a bucket answer of this list was shown to lie.
    """
    if context.snapshot is not None:
        return 0
    if refuted is not None and refuted[0] == context.epoch:
        raise Failure(
            "FAILED_PRECONDITION",
            f"bucket mode is refused for {responder}'s {list_type} list until it"
            f" publishes a new epoch: at epoch {refuted[0]} its {refuted[1]}",
        )
    if context.bucket_cap == 0:
        raise Failure("FAILED_PRECONDITION", "the consortium disabled bucket mode")
    # The declared size, which nothing checks, is capped by the consortium: a lying
    # responder cannot make the prefix single out one identifier.
    bits = bucket_bits_for(context.size, context.bucket_cap)
    if bits == 0:
        raise Failure("FAILED_PRECONDITION", "the list is too small for bucket mode")
    return bits


def bucket_prefixes(list_type: str, id_type: str, values: Sequence[str], bits: int) -> bytes:
    """The big-endian prefixes of ``values``' PRF inputs, ``ceil(bits / 8)`` bytes each."""
    width = -(-bits // 8)
    return b"".join(
        bucket_prefix(prf_input(list_type, id_type, v), bits).to_bytes(width, "big") for v in values
    )


def judge(
    responder: str,
    context: Context,
    pending: PendingQuery,
    request_digest: bytes,
    reply: Reply,
    bits: int,
) -> Verdict:
    """What ``reply`` to the request with ``request_digest`` means; raises
    :class:`Failure` (``DATA_LOSS``) when it carries no receipt we can be charged by."""
    try:
        receipt = SignedReceipt.from_bytes(reply.signed_receipt)
        receipt.verify(context.member.signing_key)
        evaluated = decode_elements(reply.evaluated)
    except (MessageError, ProtocolError):
        # Without a valid receipt nothing can be recorded against us: no charge.
        raise Failure("DATA_LOSS", f"{responder} sent an answer without a valid receipt") from None
    if receipt.receipt.request_digest != request_digest:
        raise Failure("DATA_LOSS", f"{responder}'s receipt is for another request")
    if receipt.receipt.response_digest != response_digest(evaluated, reply.proof):
        raise Failure("DATA_LOSS", f"{responder}'s receipt does not match its answer")
    try:
        outputs = pending.finish(evaluated, reply.proof, context.public_key)
    except ProtocolError:
        return RefundDue(
            reply.evaluated, reply.proof, f"{responder}'s proof does not verify; refund claimed"
        )
    found: list[Hit | None]
    if context.snapshot is not None:
        found = [context.snapshot.lookup(out) for out in outputs]
        epoch = context.snapshot.epoch
    else:
        found = []
        for out, answer in zip(outputs, reply.buckets, strict=True):
            prefix = bucket_prefix(prf_input(out.list_type, out.id_type, out.value), bits)
            try:
                found.append(
                    bucket_lookup(answer, out, context.commitment, bits=bits, prefix=prefix)
                )
            except ProtocolError as exc:
                # Charged all the same (the receipt covers the evaluation, not the
                # buckets, so no refund claim can succeed), but never used.
                return BucketRefuted(context.commitment.epoch, str(exc))
        epoch = reply.epoch
    return Answered(
        hits=tuple(h is not None for h in found),
        labels=tuple(h.label if h is not None else None for h in found),
        epoch=epoch,
    )


def retry_after(failure: Failure, attempts: int, retries: int) -> float | None:
    """Seconds to wait before attempt ``attempts + 1``, or ``None`` to give up.

    Only a lost answer or an unreachable responder (``RETRYABLE``) and a responder's
    rate limit are tried again, with exponential backoff; a refusal is final: asking
    again would be refused again, and charged nothing either way.
    """
    if attempts > retries:
        return None
    if failure.code not in RETRYABLE and failure.reason != "rate_limited":
        return None
    return min(_MAX_BACKOFF_S, 0.1 * 2.0**attempts)
