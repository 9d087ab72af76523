"""The signed messages of a metered query (token_incentive): requests, receipts, and
their signed transport forms, on raw bytes and built field by field.

Contract: :class:`token_incentive.MessageError` or success. On success a message
re-encodes to the bytes decoded, and a signature verifies only over the bytes the key
really signed.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import EncodingError, encode
from tests.fuzz._harness import OneInput, Picker, Target, vocabulary
from token_incentive import (
    MessageError,
    QueryReceipt,
    QueryRequest,
    SignedReceipt,
    SignedRequest,
    sign_receipt,
    sign_request,
)

REQUEST_FIELDS = sorted(QueryRequest._FIELDS)
RECEIPT_FIELDS = sorted(QueryReceipt._FIELDS)


@dataclass(frozen=True)
class Signed:
    key: Ed25519PrivateKey
    request: SignedRequest
    receipt: SignedReceipt


@functools.cache
def _signed() -> Signed:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    request = QueryRequest(
        request_id=bytes(16),
        querier="bank-b",
        responder="bank-a",
        list_type="transaction_fraud",
        id_type="phone",
        item_count=3,
        purpose_code="screening",
        legal_basis="legitimate_interest",
        consent_ref=None,
        blinded_digest=bytes(32),
        seq=1,
        time=1_700_000_000_000,
        normaliser_version="v1",
    )
    signed = sign_request(request, key)
    receipt = sign_receipt(QueryReceipt(signed.digest, bytes(32), 1_700_000_000_001), key)
    return Signed(key, signed, receipt)


def _raw(data: bytes) -> None:
    signed = _signed()
    public = signed.key.public_key().public_bytes_raw()
    which = data[:1]
    body = data[1:]
    try:
        if which == b"q":
            assert QueryRequest.from_bytes(body).to_bytes() == body
        elif which == b"r":
            assert QueryReceipt.from_bytes(body).to_bytes() == body
        elif which == b"s":
            request = SignedRequest.from_bytes(body)
            assert request.to_bytes() == body
            request.verify(public)
            assert request.data == signed.request.data, "a forged request verified"
        else:
            receipt = SignedReceipt.from_bytes(body)
            assert receipt.to_bytes() == body
            receipt.verify(public)
            assert receipt.data == signed.receipt.data, "a forged receipt verified"
    except MessageError:
        return


def _fields(data: bytes) -> None:
    """Messages with the right domain and fuzzed fields: the field checks themselves."""
    pick = Picker(data)
    request = pick.bool()
    names = REQUEST_FIELDS if request else RECEIPT_FIELDS
    words = vocabulary("token_incentive")
    blobs = [bytes(16), bytes(32), b"\x01" * 64]
    fields = {name: pick.value(words, blobs, depth=3) for name in names if pick.int_in(0, 15)}
    if pick.bool():
        fields[pick.pick(words)] = pick.value(words, blobs, depth=3)
    domain = ("credits-request", 1) if request else ("credits-receipt", 1)
    try:
        raw = encode(*domain, fields)
    except EncodingError:  # a value the canonical codec itself refuses: not a message
        return
    try:
        if request:
            assert QueryRequest.from_bytes(raw).to_bytes() == raw
        else:
            assert QueryReceipt.from_bytes(raw).to_bytes() == raw
    except MessageError:
        return


def _seeds(scratch: Path) -> Iterable[bytes]:
    signed = _signed()
    return [
        b"q" + signed.request.data,
        b"r" + signed.receipt.data,
        b"s" + signed.request.to_bytes(),
        b"t" + signed.receipt.to_bytes(),
    ]


def _setup_raw(scratch: Path) -> OneInput:
    _signed()
    return _raw


def _setup_fields(scratch: Path) -> OneInput:
    vocabulary("token_incentive")
    return _fields


def _field_seeds(scratch: Path) -> Iterable[bytes]:
    return [hashlib.sha512(bytes([i])).digest() for i in range(8)]


TARGETS = [
    Target("raw", _setup_raw, _seeds),
    Target("fields", _setup_fields, _field_seeds),
]
