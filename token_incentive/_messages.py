"""The two signed messages of a metered query, and the digests they commit to.

A query is two-party signed (DESIGN §6):

1. the querier signs a :class:`QueryRequest` — who asks whom, on which list, how many
   items, why (purpose code, legal basis, consent reference), the digest of the
   blinded elements it sends, a sequence number, its clock, and the id of the
   responder's OPRF key it expects the answer under;
2. the responder evaluates the blinded elements and signs a :class:`QueryReceipt` over
   the request's digest and the digest of its response (evaluated elements and proof).
   Signing the request's digest signs the key id too, so the key an answer was made
   under is bound by both signatures: a refund claim is judged against that key, not
   against whichever key the responder publishes when the receipt is recorded.

The responder records both on the ledger (``credits.receipt``), which charges the
querier. The responder never learns whether anything hit: it sees blinded elements
only. Hits are reported later by the querier (``credits.hits``).

Each message is encoded with :func:`ledger.encode` under its own domain, and the
signature covers those exact bytes; a signed message keeps the bytes it was signed
over (``data``) and is never re-serialised to verify. A request naming an OPRF key is
``credits-request/v2``; one naming none keeps the layout it had before keys were
named, ``credits-request/v1``, so the receipts a ledger already holds decode as they
were written and a client that names no key (the fingerprint registry's) sends the
same bytes as before. Each version has its exact field set. Decoding is
strict and every way bytes can be bad raises :class:`MessageError`.

The digests of element lists are streamed, so a batch of any size is hashed without
building one large CBOR value: the blinded digest is ``psi``'s batch digest, and the
response digest is a domain-separated header made by :func:`ledger.encode` followed by
each evaluated element, length-prefixed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

import psi
from ledger import EncodingError, decode, encode
from token_incentive._errors import MessageError

__all__ = [
    "QueryReceipt",
    "QueryRequest",
    "SignedReceipt",
    "SignedRequest",
    "blinded_digest",
    "receipt_id",
    "response_digest",
    "sign_receipt",
    "sign_request",
]

_REQUEST = ("credits-request", 2)  # names the OPRF key: ``key_id`` is text
_REQUEST_V1 = ("credits-request", 1)  # names none: version 2 without ``key_id``
_RECEIPT = ("credits-receipt", 1)
_SIGNED_REQUEST = ("credits-signed-request", 1)
_SIGNED_RECEIPT = ("credits-signed-receipt", 1)
_RECEIPT_ID = ("credits-receipt-id", 1)
_ELEMENT_BYTES = 32
_RESPONSE = ("credits-response", 1)

_MAX_TEXT = 256
_MAX_INT = (1 << 63) - 1

# Decoded messages by their exact bytes. A receipt's request is decoded by the
# validator's signature hint, by the ``parties`` hook and by the handler, on the
# orderer and again on every replica; decoding is a pure function of the bytes and
# the results are immutable, so each is decoded once. Bounded: cleared when full.
_MEMO_LIMIT = 1 << 13  # a block holds at most ~1,700 receipts
_requests: dict[bytes, QueryRequest] = {}
_receipts: dict[bytes, QueryReceipt] = {}
_signed_requests: dict[tuple[bytes, bytes], SignedRequest] = {}
_signed_receipts: dict[tuple[bytes, bytes], SignedReceipt] = {}
_receipt_ids: dict[tuple[str, bytes], str] = {}


def _memo(table: dict[Any, Any], key: Any, value: Any) -> None:
    if len(table) >= _MEMO_LIMIT:
        table.clear()
    table[key] = value


def _text(payload: Mapping[str, Any], name: str, *, optional: bool = False) -> Any:
    value = payload[name]
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
        raise MessageError(f"{name} must be non-empty text of at most {_MAX_TEXT} characters")
    return value


def _integer(payload: Mapping[str, Any], name: str, minimum: int) -> int:
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= _MAX_INT:
        raise MessageError(f"{name} must be an integer in [{minimum}, 2^63)")
    return value


def _bytes(payload: Mapping[str, Any], name: str, size: int) -> bytes:
    value = payload[name]
    if not isinstance(value, bytes) or len(value) != size:
        raise MessageError(f"{name} must be {size} bytes")
    return value


def _decode(domain: tuple[str, int], data: bytes, fields: frozenset[str]) -> Mapping[str, Any]:
    try:
        payload = decode(domain[0], domain[1], data)
    except EncodingError as exc:
        raise MessageError(f"not a {domain[0]} message: {exc}") from None
    if not isinstance(payload, dict) or set(payload) != fields:
        raise MessageError(f"a {domain[0]} message must have exactly the fields {sorted(fields)}")
    return payload


def _decode_request(
    data: bytes, fields: frozenset[str], v1_fields: frozenset[str]
) -> Mapping[str, Any]:
    """A request's payload: version 2, or version 1 as the ledger may hold it."""
    try:
        return _decode(_REQUEST, data, fields)
    except MessageError as exc:
        try:
            return _decode(_REQUEST_V1, data, v1_fields)
        except MessageError:
            raise exc from None


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """What the querier signs before any element is evaluated."""

    request_id: bytes  # 16 random bytes chosen by the querier; unique per querier
    querier: str
    responder: str
    list_type: str
    id_type: str
    item_count: int
    purpose_code: str
    legal_basis: str
    consent_ref: str | None
    blinded_digest: bytes  # blinded_digest() of the blinded elements sent
    seq: int
    time: int  # the querier's clock, ms since the Unix epoch
    normaliser_version: str
    # The responder's OPRF key (its ledger id) the answer must be made under: the one
    # the querier's replica shows in pub.index and its snapshot is made with. None (a
    # version 1 request) stands for the responder's current key when it is recorded.
    key_id: str | None = None

    _V1_FIELDS = frozenset(
        {
            "request_id",
            "querier",
            "responder",
            "list_type",
            "id_type",
            "item_count",
            "purpose_code",
            "legal_basis",
            "consent_ref",
            "blinded_digest",
            "seq",
            "time",
            "normaliser_version",
        }
    )
    _FIELDS = _V1_FIELDS | {"key_id"}

    def to_bytes(self) -> bytes:
        """The canonical bytes the querier signs (checked by decoding them back):
        version 2 when the request names a key, version 1 when it names none."""
        payload: dict[str, Any] = {
            "request_id": self.request_id,
            "querier": self.querier,
            "responder": self.responder,
            "list_type": self.list_type,
            "id_type": self.id_type,
            "item_count": self.item_count,
            "purpose_code": self.purpose_code,
            "legal_basis": self.legal_basis,
            "consent_ref": self.consent_ref,
            "blinded_digest": self.blinded_digest,
            "seq": self.seq,
            "time": self.time,
            "normaliser_version": self.normaliser_version,
        }
        if self.key_id is None:
            data = encode(*_REQUEST_V1, payload)
        else:
            data = encode(*_REQUEST, {**payload, "key_id": self.key_id})
        QueryRequest.from_bytes(data)
        return data

    @classmethod
    def from_bytes(cls, data: bytes) -> QueryRequest:
        known = _requests.get(data) if type(data) is bytes else None
        if known is not None:
            return known
        p = _decode_request(data, cls._FIELDS, cls._V1_FIELDS)
        request = cls(
            request_id=_bytes(p, "request_id", 16),
            querier=_text(p, "querier"),
            responder=_text(p, "responder"),
            list_type=_text(p, "list_type"),
            id_type=_text(p, "id_type"),
            item_count=_integer(p, "item_count", 1),
            purpose_code=_text(p, "purpose_code"),
            legal_basis=_text(p, "legal_basis"),
            consent_ref=_text(p, "consent_ref", optional=True),
            blinded_digest=_bytes(p, "blinded_digest", 32),
            seq=_integer(p, "seq", 0),
            time=_integer(p, "time", 0),
            normaliser_version=_text(p, "normaliser_version"),
            key_id=_text(p, "key_id") if "key_id" in p else None,
        )
        _memo(_requests, data, request)
        return request


@dataclass(frozen=True, slots=True)
class QueryReceipt:
    """What the responder signs after evaluating: the request and its response, bound."""

    request_digest: bytes  # SHA-256 of the signed request's bytes
    response_digest: bytes  # response_digest() of the evaluated elements and proof
    time: int  # the responder's clock, ms since the Unix epoch

    _FIELDS = frozenset({"request_digest", "response_digest", "time"})

    def to_bytes(self) -> bytes:
        data = encode(
            *_RECEIPT,
            {
                "request_digest": self.request_digest,
                "response_digest": self.response_digest,
                "time": self.time,
            },
        )
        QueryReceipt.from_bytes(data)
        return data

    @classmethod
    def from_bytes(cls, data: bytes) -> QueryReceipt:
        known = _receipts.get(data) if type(data) is bytes else None
        if known is not None:
            return known
        p = _decode(_RECEIPT, data, cls._FIELDS)
        receipt = cls(
            request_digest=_bytes(p, "request_digest", 32),
            response_digest=_bytes(p, "response_digest", 32),
            time=_integer(p, "time", 0),
        )
        _memo(_receipts, data, receipt)
        return receipt


def _verify(public_key: bytes, data: bytes, signature: bytes, who: str) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError, TypeError):
        raise MessageError(f"the {who} signature does not verify") from None


def _split_signed(domain: tuple[str, int], raw: bytes) -> tuple[bytes, bytes]:
    p = _decode(domain, raw, frozenset({"data", "signature"}))
    data, signature = p["data"], p["signature"]
    if not isinstance(data, bytes) or not isinstance(signature, bytes) or len(signature) != 64:
        raise MessageError(f"a {domain[0]} message carries bytes and a 64-byte signature")
    return data, signature


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request's exact signed bytes, the querier's signature, and the decoded request."""

    data: bytes
    signature: bytes
    request: QueryRequest = field(compare=False)

    @classmethod
    def from_parts(cls, data: bytes, signature: bytes) -> SignedRequest:
        exact = type(data) is bytes and type(signature) is bytes
        if exact:
            known = _signed_requests.get((data, signature))
            if known is not None:
                return known
        if not isinstance(signature, bytes) or len(signature) != 64:
            raise MessageError("a request signature is 64 bytes")
        signed = cls(bytes(data), signature, QueryRequest.from_bytes(bytes(data)))
        if exact:
            _memo(_signed_requests, (data, signature), signed)
        return signed

    @classmethod
    def from_bytes(cls, raw: bytes) -> SignedRequest:
        """Decode the transport form made by :meth:`to_bytes`."""
        return cls.from_parts(*_split_signed(_SIGNED_REQUEST, raw))

    def to_bytes(self) -> bytes:
        """The transport form (``EvaluateRequest.signed_request`` on the wire)."""
        return encode(*_SIGNED_REQUEST, {"data": self.data, "signature": self.signature})

    @property
    def digest(self) -> bytes:
        """SHA-256 of the signed bytes: what the receipt's ``request_digest`` must be."""
        return hashlib.sha256(self.data).digest()

    @property
    def receipt_id(self) -> str:
        key = (self.request.querier, self.request.request_id)
        known = _receipt_ids.get(key)
        if known is None:
            known = receipt_id(*key)
            _memo(_receipt_ids, key, known)
        return known

    def verify(self, public_key: bytes) -> None:
        """Raise :class:`MessageError` unless the querier's key signed ``data``."""
        _verify(public_key, self.data, self.signature, "querier's")


@dataclass(frozen=True, slots=True)
class SignedReceipt:
    """A receipt's exact signed bytes, the responder's signature, and the decoded receipt."""

    data: bytes
    signature: bytes
    receipt: QueryReceipt = field(compare=False)

    @classmethod
    def from_parts(cls, data: bytes, signature: bytes) -> SignedReceipt:
        exact = type(data) is bytes and type(signature) is bytes
        if exact:
            known = _signed_receipts.get((data, signature))
            if known is not None:
                return known
        if not isinstance(signature, bytes) or len(signature) != 64:
            raise MessageError("a receipt signature is 64 bytes")
        signed = cls(bytes(data), signature, QueryReceipt.from_bytes(bytes(data)))
        if exact:
            _memo(_signed_receipts, (data, signature), signed)
        return signed

    @classmethod
    def from_bytes(cls, raw: bytes) -> SignedReceipt:
        return cls.from_parts(*_split_signed(_SIGNED_RECEIPT, raw))

    def to_bytes(self) -> bytes:
        """The transport form (``EvaluateResponse.signed_receipt`` on the wire)."""
        return encode(*_SIGNED_RECEIPT, {"data": self.data, "signature": self.signature})

    def verify(self, public_key: bytes) -> None:
        _verify(public_key, self.data, self.signature, "responder's")


def sign_request(request: QueryRequest, key: Ed25519PrivateKey) -> SignedRequest:
    """The querier signs ``request``."""
    data = request.to_bytes()
    return SignedRequest(data, key.sign(data), request)


def sign_receipt(receipt: QueryReceipt, key: Ed25519PrivateKey) -> SignedReceipt:
    """The responder signs ``receipt``."""
    data = receipt.to_bytes()
    return SignedReceipt(data, key.sign(data), receipt)


def receipt_id(querier: str, request_id: bytes) -> str:
    """The ledger id of the receipt for ``request_id``: hex SHA-256 over both, so one
    querier's request id can neither collide with nor block another querier's."""
    data = encode(*_RECEIPT_ID, [querier, request_id])
    return hashlib.sha256(data).hexdigest()


def _stream_digest(header: bytes, elements: Sequence[bytes]) -> bytes:
    h = hashlib.sha256(header)
    for element in elements:
        h.update(len(element).to_bytes(4, "big"))
        h.update(element)
    return h.digest()


def blinded_digest(elements: Sequence[bytes]) -> bytes:
    """SHA-256 over the blinded elements, in order: ``QueryRequest.blinded_digest``.

    It is ``psi.batch_digest``, so the digest the querier's ``psi`` layer computes is by
    construction the one the ledger checks.
    """
    if any(len(e) != _ELEMENT_BYTES for e in elements):
        raise MessageError(f"every blinded element is {_ELEMENT_BYTES} bytes")
    return psi.batch_digest(elements)


def response_digest(evaluated: Sequence[bytes], proof: bytes) -> bytes:
    """SHA-256 over the evaluated elements and the proof: ``QueryReceipt.response_digest``."""
    return _stream_digest(encode(*_RESPONSE, {"count": len(evaluated), "proof": proof}), evaluated)
