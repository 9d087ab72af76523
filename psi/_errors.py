"""The exceptions of `psi`: one root, and one protocol error for everything a peer can get wrong.

``ProtocolError`` is the single type raised for bytes that came from elsewhere and are
bad: wrong lengths, non-canonical or identity group elements, non-canonical scalars, a
DLEQ proof that does not verify, a snapshot or delta that does not match its ledger
commitment, a label that does not decrypt. Callers that face a peer catch it and answer
with one opaque error (STYLE rule 4); its message is for the local log only.

The other classes are local mistakes made by the caller of this package: an identifier
that was not normalised, a list or identifier type the registry does not know, a bucket
too small to hide its members, or a request that the store cannot satisfy.
"""

__all__ = [
    "BucketTooSmall",
    "DeltaUnavailable",
    "IdentifierError",
    "ProtocolError",
    "PsiError",
    "StoreError",
    "UnknownTypeError",
]


class PsiError(Exception):
    """Base class of every error raised by `psi`."""


class ProtocolError(PsiError):
    """Bytes from a peer or a file are malformed, or a proof or commitment does not verify."""


class IdentifierError(PsiError):
    """An identifier value is not in the normalised shape its identifier type requires."""


class UnknownTypeError(PsiError):
    """A list type or identifier type is not in the registry, or not allowed for that list."""


class BucketTooSmall(PsiError):
    """A bucket-mode lookup would reveal a bucket with fewer entries than the privacy floor."""


class DeltaUnavailable(PsiError):
    """No delta can bridge the requested epochs (unknown epoch, or the key was rotated)."""


class StoreError(PsiError):
    """The index store is missing a list, holds no key for it, or is inconsistent."""
