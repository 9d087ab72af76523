"""Small public helpers that join the pieces: direct evaluation and bucket sizing.

Bucket sizing is the querier's decision, made from the size a responder declares on the
ledger, which nothing can check when the querier keeps no snapshot. A responder that
declares a huge list would be sent a prefix long enough to single an identifier out, so
the bits are capped: by ``BUCKET_MAX_BITS`` unless the consortium sets another cap
(``pub.bucket_max_bits`` in the governance parameters).
"""

from __future__ import annotations

from collections.abc import Sequence

from psi import _group as g
from psi import _oprf as o
from psi._errors import ProtocolError
from psi._store import MIN_BUCKET

__all__ = ["BUCKET_MAX_BITS", "bucket_bits_for", "evaluate", "verify_evaluation"]

#: The most prefix bits a bucket-mode query reveals unless the consortium sets a cap.
#: An honest list needs 16 bits only past 2^16 x 2 x MIN_BUCKET = 2^29 (5.4 x 10^8)
#: entries, far beyond any fraud list; and 16 bits leave 10^10 / 2^16, about 150,000
#: candidates of a 10^10 phone space, where bits sized to an honest list of 10^6
#: entries (6) leave 1.6 x 10^8. Every bit more halves what is left; at 22 bits fewer
#: than MIN_BUCKET (4096) candidates of that space would remain, which is the floor
#: bucket mode keeps for the entries of a bucket.
BUCKET_MAX_BITS = 16


def evaluate(key: o.KeyPair, data: bytes) -> bytes:
    """RFC 9497 server-side Evaluate in VOPRF mode: the 64-byte PRF output of ``data``.

    The same value a querier gets from blind / evaluate_batch / finalize; the index is
    built with it.
    """
    return o.evaluate(key.secret, data, o.Mode.VOPRF)


def bucket_bits_for(size: int, max_bits: int = BUCKET_MAX_BITS) -> int:
    """How many prefix bits bucket mode may reveal for an index of ``size`` entries.

    The largest ``b`` (0 to ``max_bits``, at most 32) with ``size / 2^b >= 2 *
    MIN_BUCKET``: buckets then hold about 8192 entries on average, and one under 4096
    (which the responder refuses) is vanishingly unlikely. ``size`` is what the
    responder declared, so ``max_bits`` bounds what a lie about it can extract. Zero
    means the list is too small for bucket mode (or the cap is 0).
    """
    if not 0 <= max_bits <= 32:
        raise ProtocolError("bucket prefixes have 0 to 32 bits")
    bits = 0
    while bits < max_bits and size >> (bits + 1) >= 2 * MIN_BUCKET:
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
