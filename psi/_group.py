"""ristretto255 and SHA-512 as RFC 9497 uses them, over libsodium (through pysodium).

Rules this module keeps:

- Elements cross this boundary only as their 32-byte canonical encodings. Anything that
  came from elsewhere goes through ``deserialize_element``, which rejects wrong lengths,
  non-canonical encodings and the identity (RFC 9497 §2.1, RFC 9496 §4.3.1).
- Scalars are 32-byte little-endian encodings of integers below the group order L;
  ``deserialize_scalar`` rejects anything else.
- libsodium refuses to return the identity from ``crypto_scalarmult_ristretto255``; every
  libsodium failure becomes ``ProtocolError`` here, so no ``ValueError`` escapes.
- ``expand_message_xmd`` is RFC 9380 §5.3.1 with SHA-512 from hashlib; the group maps
  (``hash_to_group``, ``hash_to_scalar``) are RFC 9497 §4.1's for this suite.

No randomness is drawn here: ``random_scalar`` takes the random bytes source as an
argument, so tests and vectors can inject it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pysodium

from psi._errors import ProtocolError, PsiError

__all__ = [
    "ELEMENT_BYTES",
    "GENERATOR",
    "GROUP_ORDER",
    "IDENTITY",
    "SCALAR_BYTES",
    "Rng",
    "add",
    "deserialize_element",
    "deserialize_scalar",
    "expand_message_xmd",
    "hash_to_group",
    "hash_to_scalar",
    "random_scalar",
    "scalar_inverse",
    "scalar_mul",
    "scalar_mult",
    "scalar_mult_base",
    "scalar_sub",
]

#: A source of random bytes: called with a length, returns that many bytes.
Rng = Callable[[int], bytes]

ELEMENT_BYTES = 32
SCALAR_BYTES = 32
#: The prime order of ristretto255 (RFC 9496 §4.1).
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
IDENTITY = bytes(ELEMENT_BYTES)
#: The canonical encoding of the ristretto255 base point (RFC 9496 §4.4).
GENERATOR = bytes.fromhex("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76")

_SHA512_BLOCK = 128
_SHA512_OUT = 64
# SHA-512 state after absorbing Z_pad, copied instead of re-hashing 128 zero bytes per call.
_ZPAD_STATE = hashlib.sha512(bytes(_SHA512_BLOCK))


def expand_message_xmd(msg: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 §5.3.1 with SHA-512: ``length`` uniform bytes from ``msg`` under ``dst``."""
    ell = -(-length // _SHA512_OUT)
    if ell > 255 or length > 65535 or len(dst) > 255:
        raise PsiError("expand_message_xmd: requested length or DST too long")
    dst_prime = dst + bytes((len(dst),))
    h = _ZPAD_STATE.copy()
    h.update(msg)
    h.update(length.to_bytes(2, "big") + b"\x00" + dst_prime)
    b0 = h.digest()
    bi = hashlib.sha512(b0 + b"\x01" + dst_prime).digest()
    out = [bi]
    for i in range(2, ell + 1):
        mixed = (int.from_bytes(b0, "big") ^ int.from_bytes(bi, "big")).to_bytes(_SHA512_OUT, "big")
        bi = hashlib.sha512(mixed + bytes((i,)) + dst_prime).digest()
        out.append(bi)
    return b"".join(out)[:length]


def hash_to_group(msg: bytes, dst: bytes) -> bytes:
    """RFC 9497 HashToGroup for ristretto255: ``from_hash(expand_message_xmd(msg, dst, 64))``.

    The result may in principle be the identity; RFC 9497 callers check for it.
    """
    point: bytes = pysodium.crypto_core_ristretto255_from_hash(expand_message_xmd(msg, dst, 64))
    return point


def hash_to_scalar(msg: bytes, dst: bytes) -> bytes:
    """RFC 9497 HashToScalar for ristretto255: 64 uniform bytes reduced modulo L."""
    wide = expand_message_xmd(msg, dst, 64)
    scalar: bytes = pysodium.crypto_core_ristretto255_scalar_reduce(wide)
    return scalar


def random_scalar(rng: Rng) -> bytes:
    """A uniformly random non-zero scalar: 64 random bytes reduced modulo L (bias < 2^-256)."""
    while True:
        wide = rng(64)
        if len(wide) != 64:
            raise PsiError("rng returned the wrong number of bytes")
        s: bytes = pysodium.crypto_core_ristretto255_scalar_reduce(wide)
        if s != bytes(SCALAR_BYTES):
            return s


def deserialize_element(data: bytes) -> bytes:
    """Check that ``data`` is a canonical, non-identity ristretto255 encoding; return it."""
    if len(data) != ELEMENT_BYTES:
        raise ProtocolError(f"element must be {ELEMENT_BYTES} bytes, got {len(data)}")
    data = bytes(data)
    if data == IDENTITY:
        raise ProtocolError("element is the identity")
    if not pysodium.crypto_core_ristretto255_is_valid_point(data):
        raise ProtocolError("element is not a canonical ristretto255 encoding")
    return data


def deserialize_scalar(data: bytes) -> bytes:
    """Check that ``data`` is a canonical scalar encoding (little-endian, below L); return it."""
    if len(data) != SCALAR_BYTES:
        raise ProtocolError(f"scalar must be {SCALAR_BYTES} bytes, got {len(data)}")
    if int.from_bytes(data, "little") >= GROUP_ORDER:
        raise ProtocolError("scalar is not reduced modulo the group order")
    return bytes(data)


def scalar_mult(scalar: bytes, element: bytes) -> bytes:
    """``scalar * element``; raises ``ProtocolError`` on an invalid element or identity result."""
    try:
        out: bytes = pysodium.crypto_scalarmult_ristretto255(scalar, element)
    except ValueError:
        raise ProtocolError("scalar multiplication failed: invalid element or identity") from None
    return out


def scalar_mult_base(scalar: bytes) -> bytes:
    """``scalar * G``; raises ``ProtocolError`` for the zero scalar."""
    try:
        out: bytes = pysodium.crypto_scalarmult_ristretto255_base(scalar)
    except ValueError:
        raise ProtocolError("base multiplication by a zero scalar") from None
    return out


def add(p: bytes, q: bytes) -> bytes:
    """Group addition of two encoded elements (the identity is accepted as an operand)."""
    try:
        out: bytes = pysodium.crypto_core_ristretto255_add(p, q)
    except ValueError:
        raise ProtocolError("element addition failed: invalid encoding") from None
    return out


def scalar_inverse(s: bytes) -> bytes:
    """The multiplicative inverse of a non-zero scalar modulo L."""
    try:
        out: bytes = pysodium.crypto_core_ristretto255_scalar_invert(s)
    except ValueError:
        raise ProtocolError("the zero scalar has no inverse") from None
    return out


def scalar_mul(x: bytes, y: bytes) -> bytes:
    """``x * y mod L``."""
    out: bytes = pysodium.crypto_core_ristretto255_scalar_mul(x, y)
    return out


def scalar_sub(x: bytes, y: bytes) -> bytes:
    """``x - y mod L``."""
    out: bytes = pysodium.crypto_core_ristretto255_scalar_sub(x, y)
    return out
