"""The signed query request and receipt: canonical codecs, signatures, digests."""

from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import encode
from psi import batch_digest
from token_incentive import (
    MessageError,
    QueryReceipt,
    QueryRequest,
    SignedReceipt,
    SignedRequest,
    blinded_digest,
    receipt_id,
    response_digest,
    sign_receipt,
    sign_request,
)

from ._net import key_of

text = st.text(min_size=1, max_size=40)
u63 = st.integers(0, (1 << 63) - 1)
requests = st.builds(
    QueryRequest,
    request_id=st.binary(min_size=16, max_size=16),
    querier=text,
    responder=text,
    list_type=text,
    id_type=text,
    item_count=st.integers(1, (1 << 63) - 1),
    purpose_code=text,
    legal_basis=text,
    consent_ref=st.none() | text,
    blinded_digest=st.binary(min_size=32, max_size=32),
    seq=u63,
    time=u63,
    normaliser_version=text,
    key_id=st.none() | text,
)
receipts = st.builds(
    QueryReceipt,
    request_digest=st.binary(min_size=32, max_size=32),
    response_digest=st.binary(min_size=32, max_size=32),
    time=u63,
)


@given(requests)
def test_request_round_trips_canonically(request: QueryRequest) -> None:
    data = request.to_bytes()
    assert QueryRequest.from_bytes(data) == request
    signed = sign_request(request, key_of("alpha"))
    again = SignedRequest.from_bytes(signed.to_bytes())
    assert again == signed and again.request == request
    again.verify(key_of("alpha").public_key().public_bytes_raw())


@given(receipts)
def test_receipt_round_trips_canonically(receipt: QueryReceipt) -> None:
    assert QueryReceipt.from_bytes(receipt.to_bytes()) == receipt
    signed = sign_receipt(receipt, key_of("bravo"))
    assert SignedReceipt.from_bytes(signed.to_bytes()).receipt == receipt


@given(st.binary(max_size=400))
def test_arbitrary_bytes_decode_or_raise_message_error(data: bytes) -> None:
    for decoder in (
        QueryRequest.from_bytes,
        QueryReceipt.from_bytes,
        SignedRequest.from_bytes,
        SignedReceipt.from_bytes,
    ):
        with contextlib.suppress(MessageError):
            decoder(data)


@given(requests, st.integers(0, 10_000), st.integers(0, 7))
def test_any_flipped_bit_breaks_the_signature_or_the_encoding(
    request: QueryRequest, position: int, bit: int
) -> None:
    signed = sign_request(request, key_of("alpha"))
    data = bytearray(signed.data)
    data[position % len(data)] ^= 1 << bit
    with pytest.raises(MessageError):
        SignedRequest.from_parts(bytes(data), signed.signature).verify(
            key_of("alpha").public_key().public_bytes_raw()
        )


def test_wrong_shapes_are_refused() -> None:
    good = {
        "request_digest": b"\0" * 32,
        "response_digest": b"\1" * 32,
        "time": 5,
    }
    QueryReceipt.from_bytes(encode("credits-receipt", 1, good))
    for bad in (
        {**good, "time": -1},
        {**good, "time": True},
        {**good, "request_digest": b"\0" * 31},
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "time"},
    ):
        with pytest.raises(MessageError):
            QueryReceipt.from_bytes(encode("credits-receipt", 1, bad))
    with pytest.raises(MessageError, match="not a credits-receipt"):
        QueryReceipt.from_bytes(encode("credits-request", 1, good))
    with pytest.raises(MessageError):
        SignedRequest.from_parts(b"x", b"short")


def test_a_request_names_its_oprf_key_in_version_2_and_version_1_names_none() -> None:
    request = QueryRequest(
        request_id=b"r" * 16,
        querier="alpha",
        responder="bravo",
        list_type="transaction_fraud",
        id_type="phone",
        item_count=1,
        purpose_code="screening",
        legal_basis="contract",
        consent_ref=None,
        blinded_digest=b"\0" * 32,
        seq=1,
        time=5,
        normaliser_version="v1",
        key_id="ab" * 32,
    )
    data = request.to_bytes()
    assert data.startswith(b"riskshare/credits-request/v2\0")
    assert QueryRequest.from_bytes(data).key_id == "ab" * 32
    v2 = {f: getattr(request, f) for f in QueryRequest.__dataclass_fields__}
    v1 = {f: v for f, v in v2.items() if f != "key_id"}
    # Version 1 (what the ledger holds from before) is a request naming no key, and one
    # naming no key is still made as version 1, byte for byte.
    legacy = QueryRequest.from_bytes(encode("credits-request", 1, v1))
    assert legacy.key_id is None and legacy.request_id == request.request_id
    assert legacy.to_bytes() == encode("credits-request", 1, v1)
    # Each version has its exact field set; a key id is non-empty text when given.
    for domain, bad in (
        (("credits-request", 2), v1),
        (("credits-request", 1), v2),
        (("credits-request", 2), {**v2, "key_id": ""}),
        (("credits-request", 2), {**v2, "key_id": None}),
        (("credits-request", 2), {**v2, "key_id": b"ab"}),
        (("credits-request", 3), v2),
    ):
        with pytest.raises(MessageError):
            QueryRequest.from_bytes(encode(*domain, bad))


@given(st.lists(st.binary(min_size=32, max_size=32), max_size=20))
def test_blinded_digest_is_psis_batch_digest(elements: list[bytes]) -> None:
    assert blinded_digest(elements) == batch_digest(elements)


def test_digests_bind_order_count_and_proof() -> None:
    a, b = os.urandom(32), os.urandom(32)
    assert blinded_digest([a, b]) != blinded_digest([b, a])
    assert response_digest([a, b], b"p") != response_digest([a, b], b"q")
    assert response_digest([a + b], b"") != response_digest([a, b], b"")
    with pytest.raises(MessageError):
        blinded_digest([b"short"])


def test_receipt_ids_are_scoped_by_querier() -> None:
    rid = os.urandom(16)
    assert receipt_id("alpha", rid) != receipt_id("bravo", rid)
    assert len(receipt_id("alpha", rid)) == 64
