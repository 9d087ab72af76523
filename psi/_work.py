"""The per-chunk work of batched OPRF operations: pure functions a worker process runs.

Each function takes one contiguous chunk of a batch (as concatenated bytes, cheap to
send between processes) and returns its share of the result. Splitting is exact: the
composite sums of RFC 9497 §2.2.1 are sums over the batch index, so partial sums over
chunks, added in any order, give the RFC's ``M`` and ``Z``; ``d_i`` uses the global
index ``start + j``.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Sequence

from psi import _group as g
from psi import _oprf as o
from psi._labels import Label, seal_label
from psi._registry import encode_prf_input

__all__ = [
    "BUCKET_DOMAIN",
    "IndexItem",
    "blind_chunk",
    "bucket_key",
    "eval_chunk",
    "index_chunk",
    "split32",
    "unblind_chunk",
]

BUCKET_DOMAIN = b"riskshare/psi/bucket/v1"


def split32(data: bytes) -> list[bytes]:
    """Concatenated 32-byte encodings back into a list (lengths checked by the caller)."""
    return [data[i : i + 32] for i in range(0, len(data), 32)]


def bucket_key(prf_input: bytes) -> int:
    """The 32-bit bucket key ``SHA-256(domain | prf_input)[0:4]`` (bucket mode, DESIGN §4)."""
    return int.from_bytes(hashlib.sha256(BUCKET_DOMAIN + prf_input).digest()[:4], "big")


def _batch_invert(scalars: Sequence[bytes]) -> list[bytes]:
    # Montgomery's trick: one inversion and three multiplications per scalar instead of
    # one inversion each (an inversion costs about 25 multiplications in libsodium).
    if not scalars:
        return []
    prefix = [scalars[0]]
    for s in scalars[1:]:
        prefix.append(g.scalar_mul(prefix[-1], s))
    inv = g.scalar_inverse(prefix[-1])
    out = [b""] * len(scalars)
    for i in range(len(scalars) - 1, 0, -1):
        out[i] = g.scalar_mul(inv, prefix[i - 1])
        inv = g.scalar_mul(inv, scalars[i])
    out[0] = inv
    return out


def blind_chunk(inputs: Sequence[bytes], blinds: bytes, mode: int) -> bytes:
    """Blinded elements of a chunk of inputs with the given blinds (concatenated)."""
    return b"".join(o.blind_with(inputs, split32(blinds), o.Mode(mode)))


def eval_chunk(
    secret: bytes, seed: bytes, start: int, blinded: bytes, mode: int
) -> tuple[bytes, bytes]:
    """Server side: ``D_i = k·C_i`` for the chunk and its share of ``M = Σ d_i·C_i``."""
    c = split32(blinded)
    d = o.blind_evaluate(secret, c)
    m, _ = o.composite_terms(seed, start, c, d, o.Mode(mode), with_z=False)
    return b"".join(d), m


def unblind_chunk(
    seed: bytes,
    start: int,
    inputs: Sequence[bytes],
    blinds: bytes,
    blinded: bytes,
    evaluated: bytes,
    mode: int,
) -> tuple[bytes, bytes, list[bytes]]:
    """Client side: shares of ``M`` and ``Z``, and the (not yet trusted) outputs.

    The caller verifies the proof against the summed composites before it releases any
    output, so outputs computed here from a bad answer are discarded.
    """
    c = split32(blinded)
    # The server's elements are validated by the scalar multiplications themselves:
    # libsodium rejects a non-canonical encoding, and an identity input gives an
    # identity result, which it refuses too. Both become ProtocolError in _group.
    d = split32(evaluated)
    m, z = o.composite_terms(seed, start, c, d, o.Mode(mode), with_z=True)
    inverses = _batch_invert(split32(blinds))
    outputs = [
        o.finalize_hash(x, g.scalar_mult(inv, e))
        for x, inv, e in zip(inputs, inverses, d, strict=True)
    ]
    return m, z, outputs


#: One entry to evaluate: id type, normalised value, reason, listed_at, expires_at.
IndexItem = tuple[str, str, int, int | None, int | None]


def index_chunk(
    secret: bytes,
    list_type: str,
    normaliser_version: str,
    key_id: bytes,
    labels: bool,
    items: Sequence[IndexItem],
) -> tuple[bytes, bytes, bytes]:
    """Index build for checked entries: tags (16 bytes each), sealed labels, bucket keys.

    Returned as three packed columns (``bytes``; bucket keys as ``array('I')`` bytes),
    which cross the process boundary far cheaper than a list of tuples.
    """
    tags = bytearray()
    sealed = bytearray()
    buckets = array("I")
    mode = o.Mode.VOPRF
    for id_type, value, reason, listed_at, expires_at in items:
        x = encode_prf_input(list_type, id_type, value, normaliser_version)
        output = o.evaluate(secret, x, mode)
        tags += output[:16]
        if labels:
            label = Label.from_times(reason, listed_at, expires_at)
            sealed += seal_label(output, list_type, key_id, label)
        buckets.append(bucket_key(x))
    return bytes(tags), bytes(sealed), buckets.tobytes()
