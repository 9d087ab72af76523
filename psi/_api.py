"""Small public helpers that join the pieces: direct evaluation and bucket sizing."""

from __future__ import annotations

from collections.abc import Sequence

from psi import _group as g
from psi import _oprf as o
from psi._errors import ProtocolError
from psi._store import MIN_BUCKET

__all__ = ["bucket_bits_for", "evaluate", "verify_evaluation"]


def evaluate(key: o.KeyPair, data: bytes) -> bytes:
    """RFC 9497 server-side Evaluate in VOPRF mode: the 64-byte PRF output of ``data``.

    The same value a querier gets from blind / evaluate_batch / finalize; the index is
    built with it.
    """
    return o.evaluate(key.secret, data, o.Mode.VOPRF)


def bucket_bits_for(size: int) -> int:
    """How many prefix bits bucket mode may reveal for an index of ``size`` entries.

    The largest ``b`` (0-32) with ``size / 2^b >= 2 * MIN_BUCKET``: buckets then hold
    about 8192 entries on average, and one under 4096 (which the responder refuses) is
    vanishingly unlikely. Zero means the list is too small for bucket mode.
    """
    bits = 0
    while bits < 32 and size >> (bits + 1) >= 2 * MIN_BUCKET:
        bits += 1
    return bits


def verify_evaluation(
    public_key: bytes, blinded: Sequence[bytes], evaluated: Sequence[bytes], proof: bytes
) -> None:
    """Check a responder's answer to a blinded batch (RFC 9497 VerifyProof, VOPRF mode).

    For third parties (a ledger rule arbitrating a refund claim) who hold the request,
    the answer and the responder's public key but no blinds. Raises ``ProtocolError``
    if any element or the proof is malformed, or the proof does not verify.
    """
    if not blinded or len(blinded) != len(evaluated) or len(blinded) > o.MAX_BATCH:
        raise ProtocolError("the answer does not evaluate every blinded element")
    pk = g.deserialize_element(public_key)
    elements = [g.deserialize_element(e) for e in (*blinded, *evaluated)]
    n = len(blinded)
    o.verify_proof(g.GENERATOR, pk, elements[:n], elements[n:], proof, o.Mode.VOPRF)
