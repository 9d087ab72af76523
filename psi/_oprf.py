"""RFC 9497 OPRF (mode 0) and VOPRF (mode 1) with the ristretto255-SHA512 suite.

Names follow the RFC (§3.2–§3.3.2) so the code can be read against it:
``derive_key_pair``, ``blind``, ``blind_evaluate``, ``generate_proof``,
``verify_proof``, ``compute_composites``, ``compute_composites_fast``, ``finalize``
and the server-side direct ``evaluate``. Group elements and scalars are their
canonical byte encodings throughout.

Rules this module keeps:

- It is pure: randomness comes in as an ``Rng`` argument, or as explicit blinds and
  proof nonces (for the RFC's test vectors).
- Elements a peer sent (blinded elements at the server; evaluated elements and the
  proof at the client) are deserialised here, so a bad encoding, the identity, a
  non-canonical scalar or a proof that does not verify raises ``ProtocolError`` and
  nothing else.
- A batch holds at most 65535 elements: the composite transcript encodes the index
  in two bytes (§2.2.1), so larger batches are the caller's to split.

The composite sums are also exposed in pieces (``composite_seed`` and
``composite_terms``) so the worker pool in ``_parallel`` can split one batch across
processes and add the partial sums; the result is bit-for-bit the RFC's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from psi import _group as g
from psi._errors import ProtocolError, PsiError

__all__ = [
    "MAX_BATCH",
    "PROOF_BYTES",
    "KeyPair",
    "Mode",
    "Suite",
    "blind",
    "blind_evaluate",
    "blind_with",
    "composite_seed",
    "composite_terms",
    "compute_composites",
    "compute_composites_fast",
    "decode_proof",
    "derive_key_pair",
    "evaluate",
    "finalize",
    "finalize_hash",
    "generate_key_pair",
    "generate_proof",
    "key_id",
    "prove_composite",
    "suite",
    "verify_composite",
    "verify_proof",
]

MAX_BATCH = 65535
PROOF_BYTES = 2 * g.SCALAR_BYTES
_IDENTIFIER = b"ristretto255-SHA512"
_KEY_ID_DOMAIN = b"riskshare/psi/key-id/v1"


class Mode(IntEnum):
    """RFC 9497 protocol modes this package speaks (POPRF, mode 2, is not used)."""

    OPRF = 0
    VOPRF = 1


@dataclass(frozen=True, slots=True)
class Suite:
    """The context string and domain-separation tags of one mode (RFC 9497 §3.1, §4.1)."""

    mode: Mode
    context: bytes
    hash_to_group_dst: bytes
    hash_to_scalar_dst: bytes
    derive_key_pair_dst: bytes
    seed_dst: bytes


def _make_suite(mode: Mode) -> Suite:
    context = b"OPRFV1-" + bytes((mode,)) + b"-" + _IDENTIFIER
    return Suite(
        mode=mode,
        context=context,
        hash_to_group_dst=b"HashToGroup-" + context,
        hash_to_scalar_dst=b"HashToScalar-" + context,
        derive_key_pair_dst=b"DeriveKeyPair" + context,
        seed_dst=b"Seed-" + context,
    )


_SUITES = {mode: _make_suite(mode) for mode in Mode}


def suite(mode: Mode) -> Suite:
    """The precomputed context of ``mode``."""
    return _SUITES[Mode(mode)]


def _i2osp2(n: int) -> bytes:
    return n.to_bytes(2, "big")


def _lp(data: bytes) -> bytes:
    # RFC 9497 frames every transcript field with a two-byte length.
    return _i2osp2(len(data)) + data


def key_id(public_key: bytes) -> bytes:
    """A 32-byte identifier of an OPRF public key, as named in index commitments."""
    return hashlib.sha256(_KEY_ID_DOMAIN + _lp(public_key)).digest()


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A server key pair: secret scalar ``skS`` and public element ``pkS = skS * G``.

    The secret never appears in ``repr`` (it would otherwise reach logs).
    """

    secret: bytes = field(repr=False)
    public: bytes

    @property
    def key_id(self) -> bytes:
        """``key_id(public)``: how commitments and snapshots name this key."""
        return key_id(self.public)

    @classmethod
    def from_secret(cls, secret: bytes) -> KeyPair:
        """Rebuild a key pair from a stored secret scalar (checked to be canonical, non-zero)."""
        sk = g.deserialize_scalar(secret)
        return cls(secret=sk, public=g.scalar_mult_base(sk))


def generate_key_pair(rng: g.Rng) -> KeyPair:
    """RFC 9497 §3.2 GenerateKeyPair with randomness from ``rng``."""
    sk = g.random_scalar(rng)
    return KeyPair(secret=sk, public=g.scalar_mult_base(sk))


def derive_key_pair(seed: bytes, info: bytes, mode: Mode = Mode.VOPRF) -> KeyPair:
    """RFC 9497 §3.2.1 DeriveKeyPair: a key pair from a 32-byte seed and public ``info``."""
    if len(seed) != 32:
        raise PsiError("DeriveKeyPair seed must be 32 bytes")
    derive_input = seed + _lp(info)
    dst = suite(mode).derive_key_pair_dst
    for counter in range(256):
        sk = g.hash_to_scalar(derive_input + bytes((counter,)), dst)
        if sk != bytes(g.SCALAR_BYTES):
            return KeyPair(secret=sk, public=g.scalar_mult_base(sk))
    raise PsiError("DeriveKeyPairError: no non-zero scalar in 256 attempts")


def _input_element(data: bytes, sx: Suite) -> bytes:
    if len(data) > 0xFFFF:
        raise PsiError("an OPRF input is at most 65535 bytes")
    element = g.hash_to_group(data, sx.hash_to_group_dst)
    if element == g.IDENTITY:
        # Probability 2^-252; RFC 9497 calls this InvalidInputError.
        raise PsiError("InvalidInputError: input hashes to the identity")
    return element


def blind_with(inputs: Sequence[bytes], blinds: Sequence[bytes], mode: Mode) -> list[bytes]:
    """Blind with given scalars (RFC 9497 §3.3.1 with the RNG replaced by ``blinds``)."""
    if len(inputs) != len(blinds):
        raise PsiError("one blind per input")
    sx = suite(mode)
    return [g.scalar_mult(r, _input_element(x, sx)) for x, r in zip(inputs, blinds, strict=True)]


def blind(inputs: Sequence[bytes], rng: g.Rng, mode: Mode) -> tuple[list[bytes], list[bytes]]:
    """RFC 9497 Blind for a batch: returns ``(blinds, blinded_elements)``."""
    blinds = [g.random_scalar(rng) for _ in inputs]
    return blinds, blind_with(inputs, blinds, mode)


def blind_evaluate(secret: bytes, blinded: Sequence[bytes]) -> list[bytes]:
    """``skS * B`` for each blinded element; a bad element from the client raises ``ProtocolError``.

    libsodium's scalar multiplication itself rejects non-canonical encodings and an
    identity result (which, for a non-zero key in a prime-order group, means an identity
    input), so the peer's bytes need no separate validity pass.
    """
    out = []
    for element in blinded:
        if len(element) != g.ELEMENT_BYTES:
            raise ProtocolError("blinded element has the wrong length")
        out.append(g.scalar_mult(secret, element))
    return out


def composite_seed(public_key: bytes, mode: Mode) -> bytes:
    """The ``seed`` of RFC 9497 §2.2.1 ComputeComposites for public key ``B``."""
    return hashlib.sha512(_lp(public_key) + _lp(suite(mode).seed_dst)).digest()


def composite_terms(
    seed: bytes,
    start: int,
    c: Sequence[bytes],
    d: Sequence[bytes],
    mode: Mode,
    *,
    with_z: bool,
) -> tuple[bytes, bytes]:
    """Partial sums ``Σ d_i·C_i`` (and ``Σ d_i·D_i`` if ``with_z``) for indices from ``start``.

    Returns ``IDENTITY`` for an empty range (and for ``Z`` when not asked for).
    """
    if start + len(c) > MAX_BATCH or len(c) != len(d):
        raise ProtocolError("batch too large or mismatched for a composite proof")
    dst = suite(mode).hash_to_scalar_dst
    prefix = _lp(seed)
    m = g.IDENTITY
    z = g.IDENTITY
    for i, (ci, di_elem) in enumerate(zip(c, d, strict=True), start):
        transcript = prefix + _i2osp2(i) + _lp(ci) + _lp(di_elem) + b"Composite"
        di = g.hash_to_scalar(transcript, dst)
        m = g.add(m, g.scalar_mult(di, ci))
        if with_z:
            z = g.add(z, g.scalar_mult(di, di_elem))
    return m, z


def compute_composites(
    b: bytes, c: Sequence[bytes], d: Sequence[bytes], mode: Mode
) -> tuple[bytes, bytes]:
    """RFC 9497 §2.2.1 ComputeComposites (the verifier's form)."""
    return composite_terms(composite_seed(b, mode), 0, c, d, mode, with_z=True)


def compute_composites_fast(
    k: bytes, b: bytes, c: Sequence[bytes], d: Sequence[bytes], mode: Mode
) -> tuple[bytes, bytes]:
    """RFC 9497 §2.2.1 ComputeCompositesFast (the prover's form): ``Z = k·M``."""
    m, _ = composite_terms(composite_seed(b, mode), 0, c, d, mode, with_z=False)
    return m, g.scalar_mult(k, m)


def _challenge(b: bytes, m: bytes, z: bytes, t2: bytes, t3: bytes, mode: Mode) -> bytes:
    transcript = _lp(b) + _lp(m) + _lp(z) + _lp(t2) + _lp(t3) + b"Challenge"
    return g.hash_to_scalar(transcript, suite(mode).hash_to_scalar_dst)


def prove_composite(
    k: bytes, a: bytes, b: bytes, m: bytes, z: bytes, r: bytes, mode: Mode
) -> bytes:
    """The DLEQ proof for composites ``(M, Z)`` with nonce ``r``: ``c || s``."""
    t2 = g.scalar_mult(r, a)
    t3 = g.scalar_mult(r, m)
    c = _challenge(b, m, z, t2, t3, mode)
    s = g.scalar_sub(r, g.scalar_mul(c, k))
    return c + s


def generate_proof(
    k: bytes,
    a: bytes,
    b: bytes,
    c: Sequence[bytes],
    d: Sequence[bytes],
    r: bytes,
    mode: Mode = Mode.VOPRF,
) -> bytes:
    """RFC 9497 §2.2.1 GenerateProof with the nonce ``r`` given (draw it with ``random_scalar``)."""
    m, z = compute_composites_fast(k, b, c, d, mode)
    return prove_composite(k, a, b, m, z, r, mode)


def decode_proof(proof: bytes) -> tuple[bytes, bytes]:
    """Split a 64-byte proof into its canonical scalars ``(c, s)``; ``ProtocolError`` if bad."""
    if len(proof) != PROOF_BYTES:
        raise ProtocolError(f"proof must be {PROOF_BYTES} bytes, got {len(proof)}")
    return g.deserialize_scalar(proof[:32]), g.deserialize_scalar(proof[32:])


def verify_composite(a: bytes, b: bytes, m: bytes, z: bytes, proof: bytes, mode: Mode) -> None:
    """Check a DLEQ proof against composites ``(M, Z)``; raises ``ProtocolError`` if it fails."""
    c, s = decode_proof(proof)
    t2 = g.add(g.scalar_mult(s, a), g.scalar_mult(c, b))
    t3 = g.add(g.scalar_mult(s, m), g.scalar_mult(c, z))
    if _challenge(b, m, z, t2, t3, mode) != c:
        raise ProtocolError("DLEQ proof does not verify")


def verify_proof(
    a: bytes,
    b: bytes,
    c: Sequence[bytes],
    d: Sequence[bytes],
    proof: bytes,
    mode: Mode = Mode.VOPRF,
) -> None:
    """RFC 9497 §2.2.2 VerifyProof; raises ``ProtocolError`` if the proof does not verify."""
    m, z = compute_composites(b, c, d, mode)
    verify_composite(a, b, m, z, proof, mode)


def finalize_hash(data: bytes, element: bytes) -> bytes:
    """The RFC 9497 Finalize/Evaluate output hash of an input and its unblinded element."""
    return hashlib.sha512(_lp(data) + _lp(element) + b"Finalize").digest()


def finalize(
    inputs: Sequence[bytes],
    blinds: Sequence[bytes],
    evaluated: Sequence[bytes],
    blinded: Sequence[bytes],
    mode: Mode,
    public_key: bytes | None = None,
    proof: bytes | None = None,
) -> list[bytes]:
    """RFC 9497 Finalize for a batch. In VOPRF mode the proof is verified first.

    ``evaluated`` and ``proof`` came from the server and are validated here.
    """
    if not len(inputs) == len(blinds) == len(evaluated) == len(blinded):
        raise ProtocolError("evaluated batch does not match the blinded batch")
    evaluated = [g.deserialize_element(e) for e in evaluated]
    if mode == Mode.VOPRF:
        if public_key is None or proof is None:
            raise PsiError("VOPRF finalize needs the server public key and the proof")
        verify_proof(g.GENERATOR, public_key, blinded, evaluated, proof, mode)
    out = []
    for x, r, e in zip(inputs, blinds, evaluated, strict=True):
        n = g.scalar_mult(g.scalar_inverse(r), e)
        out.append(finalize_hash(x, n))
    return out


def evaluate(secret: bytes, data: bytes, mode: Mode) -> bytes:
    """RFC 9497 server-side Evaluate: the PRF output without blinding."""
    element = g.scalar_mult(secret, _input_element(data, suite(mode)))
    return finalize_hash(data, element)
