"""Tags and encrypted labels derived from an OPRF output.

For an entry y with OPRF output ``out = F(k, prf_input(y))`` (64 bytes):

- ``tag(y) = out[0:16]`` is published in the index; snapshots carry ``out[0:8]``.
- ``out[16:64]`` is never published. It keys the entry's label: HKDF-Expand-SHA-256
  (RFC 5869, the output is already uniform, so no extract step) with info
  ``"riskshare/psi/label/v1" | list_type | key_id`` gives a 32-byte AES key and a
  12-byte nonce for AES-256-GCM-SIV (RFC 8452) over the 11-byte label, with the tag as
  associated data. Only someone who evaluated y itself can derive the key, and a label
  cannot be moved to another entry without failing to open.

GCM-SIV is nonce-misuse resistant, so the deterministic key and nonce are safe even
when an entry's label is rewritten (an expiry extended) under the same OPRF key; equal
labels of one entry encrypt identically, which keeps snapshots reproducible.

Label fields are coarse on purpose: a reason code, the listing month and the expiry
day, nothing that identifies the listing institution's customer.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from psi._errors import ProtocolError, PsiError

__all__ = [
    "LABEL_BYTES",
    "OUTPUT_BYTES",
    "SNAPSHOT_TAG_BYTES",
    "TAG_BYTES",
    "Label",
    "open_label",
    "seal_label",
    "tag_of",
]

OUTPUT_BYTES = 64
TAG_BYTES = 16
SNAPSHOT_TAG_BYTES = 8
_LABEL_VERSION = 1
_PLAIN = struct.Struct(">BHII")
#: Sealed label size: 11 bytes of plaintext and the 16-byte SIV tag.
LABEL_BYTES = _PLAIN.size + 16
_LABEL_DOMAIN = b"riskshare/psi/label/v1"
_DAY = 86400


@dataclass(frozen=True, slots=True)
class Label:
    """What a hit tells the querier beyond "yes".

    ``reason``: a reason code (0-65535) from the list's policy; ``listed_month``: the
    listing month as YYYYMM (0 if unknown); ``expires_day``: the expiry as days since
    1970-01-01 UTC (0 for no expiry).
    """

    reason: int = 0
    listed_month: int = 0
    expires_day: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.reason <= 0xFFFF:
            raise PsiError("label reason code must be 0-65535")
        if self.listed_month and not (
            100001 <= self.listed_month <= 999912 and 1 <= self.listed_month % 100 <= 12
        ):
            raise PsiError("label listed_month must be YYYYMM or 0")
        if not 0 <= self.expires_day <= 0xFFFFFFFF:
            raise PsiError("label expires_day out of range")

    @classmethod
    def from_times(cls, reason: int, listed_at: int | None, expires_at: int | None) -> Label:
        """Coarsen Unix times (seconds) to a listing month and an expiry day."""
        month = 0
        if listed_at is not None:
            d = dt.datetime.fromtimestamp(listed_at, dt.UTC)
            month = d.year * 100 + d.month
        # Round an expiry up to the next whole day, so a label never claims earlier expiry.
        day = 0 if expires_at is None else max(1, -(-expires_at // _DAY))
        return cls(reason=reason, listed_month=month, expires_day=day)

    def to_bytes(self) -> bytes:
        """The 11-byte plaintext: version, reason, month, expiry day (big-endian)."""
        return _PLAIN.pack(_LABEL_VERSION, self.reason, self.listed_month, self.expires_day)

    @classmethod
    def from_bytes(cls, data: bytes) -> Label:
        """Parse a plaintext; a wrong version or size raises ``ProtocolError``."""
        if len(data) != _PLAIN.size:
            raise ProtocolError("label plaintext has the wrong size")
        version, reason, month, day = _PLAIN.unpack(data)
        if version != _LABEL_VERSION:
            raise ProtocolError(f"unknown label version {version}")
        try:
            return cls(reason=reason, listed_month=month, expires_day=day)
        except PsiError as exc:
            raise ProtocolError(f"label fields out of range: {exc}") from None


def tag_of(output: bytes) -> bytes:
    """The 16-byte index tag of an OPRF output."""
    if len(output) != OUTPUT_BYTES:
        raise PsiError("an OPRF output is 64 bytes")
    return output[:TAG_BYTES]


def _aead(output: bytes, list_type: str, key_id: bytes) -> tuple[AESGCMSIV, bytes]:
    if len(output) != OUTPUT_BYTES:
        raise PsiError("an OPRF output is 64 bytes")
    lt = list_type.encode("utf-8")
    info = _LABEL_DOMAIN + len(lt).to_bytes(2, "big") + lt + key_id
    okm = HKDFExpand(hashes.SHA256(), 44, info).derive(output[TAG_BYTES:])
    return AESGCMSIV(okm[:32]), okm[32:]


def seal_label(output: bytes, list_type: str, key_id: bytes, label: Label) -> bytes:
    """Encrypt ``label`` for whoever can compute ``output``; ``LABEL_BYTES`` long."""
    aead, nonce = _aead(output, list_type, key_id)
    return aead.encrypt(nonce, label.to_bytes(), _LABEL_DOMAIN + output[:TAG_BYTES])


def open_label(output: bytes, list_type: str, key_id: bytes, sealed: bytes) -> Label:
    """Decrypt a sealed label with the querier's own OPRF output; ``ProtocolError`` if not."""
    if len(sealed) != LABEL_BYTES:
        raise ProtocolError("sealed label has the wrong size")
    aead, nonce = _aead(output, list_type, key_id)
    try:
        plain = aead.decrypt(nonce, bytes(sealed), _LABEL_DOMAIN + output[:TAG_BYTES])
    except InvalidTag:
        raise ProtocolError("label does not open with this identifier") from None
    return Label.from_bytes(plain)
