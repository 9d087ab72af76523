"""Small public helpers that join the pieces: direct evaluation and bucket sizing."""

from __future__ import annotations

from psi import _oprf as o
from psi._store import MIN_BUCKET

__all__ = ["bucket_bits_for", "evaluate"]


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
