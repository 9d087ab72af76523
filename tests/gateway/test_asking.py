"""The querier's decisions (gateway._asking), without a network, a ledger or a gateway.

Real keys, a real index and real signatures; only the transport is absent, so each
path a responder can take (an honest answer, a receipt from someone else, a receipt
for another request or another answer, a false proof, a lying bucket answer, a
refusal, a lost reply) is judged exactly as the driver would judge it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway._asking import (
    Answered,
    BucketRefuted,
    Context,
    Failure,
    RefundDue,
    Reply,
    bucket_bits,
    judge,
    retry_after,
)
from ledger import Member
from psi import (
    BUCKET_MAX_BITS,
    Entry,
    IndexStore,
    PendingQuery,
    Snapshot,
    encode_elements,
    generate_key_pair,
    prepare_query,
)
from token_incentive import QueryReceipt, response_digest, sign_receipt

LT = "transaction_fraud"
LISTED, UNLISTED = "13800138000", "13900139000"


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class _Responder:
    """An honest responder's index and signing key, held in one test's directory."""

    def __init__(self, tmp_path: Path) -> None:
        self.signing = Ed25519PrivateKey.generate()
        self.key = generate_key_pair(os.urandom)
        self.index = IndexStore(tmp_path / "index.sqlite", pool=None)
        self.index.create_list(LT, self.key)
        self.index.apply(LT, adds=[Entry("phone", LISTED)], removes=[], now=1_700_000_000)
        self.commitment = self.index.commitment(LT)
        self.member = Member("bank-b", "Bank B", "member", "active", _raw(self.signing), b"", "", 0)

    def context(self, *, snapshot: bool = True, size: int | None = None, cap: int = 16) -> Context:
        snap = Snapshot.load(self.index.export_snapshot(LT), self.commitment) if snapshot else None
        return Context(
            member=self.member,
            key_id=self.commitment.key_id.hex(),
            public_key=self.key.public,
            size=self.commitment.size if size is None else size,
            epoch=self.commitment.epoch,
            bucket_cap=cap,
            normaliser="v1",
            commitment=self.commitment,
            snapshot=snap,
        )

    def answer(
        self,
        pending: PendingQuery,
        request_digest: bytes,
        *,
        proof: bytes | None = None,
        signer: Ed25519PrivateKey | None = None,
        signed_digest: bytes | None = None,
    ) -> Reply:
        evaluated, real_proof = self.index.evaluate(LT, list(pending.blinded), os.urandom)
        proof = real_proof if proof is None else proof
        receipt = sign_receipt(
            QueryReceipt(
                request_digest if signed_digest is None else signed_digest,
                response_digest(evaluated, proof),
                1_700_000_000_000,
            ),
            signer or self.signing,
        )
        return Reply(receipt.to_bytes(), encode_elements(evaluated), proof, self.commitment.epoch)


@pytest.fixture
def responder(tmp_path: Path) -> _Responder:
    return _Responder(tmp_path)


def _ask(values: list[str]) -> tuple[PendingQuery, bytes]:
    pending = prepare_query(LT, [("phone", v) for v in values], os.urandom)
    return pending, hashlib.sha256(b"the signed request").digest()


def test_an_honest_answer_says_which_identifiers_are_listed(responder: _Responder) -> None:
    pending, digest = _ask([LISTED, UNLISTED])
    verdict = judge(
        "bank-b", responder.context(), pending, digest, responder.answer(pending, digest), 0
    )
    assert isinstance(verdict, Answered)
    assert verdict.hits == (True, False)
    assert verdict.epoch == responder.commitment.epoch


def test_a_receipt_signed_by_another_key_charges_nothing_and_is_refused(
    responder: _Responder,
) -> None:
    pending, digest = _ask([LISTED])
    reply = responder.answer(pending, digest, signer=Ed25519PrivateKey.generate())
    with pytest.raises(Failure) as caught:
        judge("bank-b", responder.context(), pending, digest, reply, 0)
    assert caught.value.code == "DATA_LOSS" and "valid receipt" in caught.value.message


def test_a_receipt_for_another_request_is_refused(responder: _Responder) -> None:
    pending, digest = _ask([LISTED])
    reply = responder.answer(pending, digest, signed_digest=hashlib.sha256(b"other").digest())
    with pytest.raises(Failure, match="for another request"):
        judge("bank-b", responder.context(), pending, digest, reply, 0)


def test_a_receipt_for_another_answer_is_refused(responder: _Responder) -> None:
    pending, digest = _ask([LISTED])
    reply = responder.answer(pending, digest)
    swapped = Reply(reply.signed_receipt, reply.evaluated, bytes(64), reply.epoch)
    with pytest.raises(Failure, match="does not match its answer"):
        judge("bank-b", responder.context(), pending, digest, swapped, 0)


def test_a_signed_answer_with_a_false_proof_is_refunded_not_used(responder: _Responder) -> None:
    pending, digest = _ask([LISTED])
    false_proof = (1).to_bytes(32, "little") + (2).to_bytes(32, "little")
    reply = responder.answer(pending, digest, proof=false_proof)
    verdict = judge("bank-b", responder.context(), pending, digest, reply, 0)
    assert isinstance(verdict, RefundDue)
    assert verdict.evaluated == reply.evaluated and verdict.proof == false_proof


def test_a_bucket_that_contradicts_the_commitment_refutes_bucket_mode(
    responder: _Responder,
) -> None:
    pending, digest = _ask([LISTED])
    honest = responder.answer(pending, digest)
    lying = Reply(honest.signed_receipt, honest.evaluated, honest.proof, honest.epoch, (b"",))
    context = responder.context(snapshot=False)
    verdict = judge("bank-b", context, pending, digest, lying, 4)
    assert isinstance(verdict, BucketRefuted) and verdict.epoch == responder.commitment.epoch


def test_bucket_bits(responder: _Responder) -> None:
    assert bucket_bits(responder.context(), "bank-b", LT, None) == 0  # snapshot mode
    bucket = responder.context(snapshot=False, size=1 << 20)
    bits = bucket_bits(bucket, "bank-b", LT, None)
    assert 0 < bits <= 16
    # A responder declaring 2^45 entries would single out a phone number: capped.
    lying = responder.context(snapshot=False, size=1 << 45, cap=BUCKET_MAX_BITS)
    assert bucket_bits(lying, "bank-b", LT, None) <= BUCKET_MAX_BITS
    with pytest.raises(Failure, match="until it publishes a new epoch"):
        bucket_bits(bucket, "bank-b", LT, (bucket.epoch, "bucket was short"))
    assert bucket_bits(bucket, "bank-b", LT, (bucket.epoch - 1, "older")) == bits
    with pytest.raises(Failure, match="disabled bucket mode"):
        bucket_bits(responder.context(snapshot=False, cap=0), "bank-b", LT, None)
    with pytest.raises(Failure, match="too small"):
        bucket_bits(responder.context(snapshot=False, size=1), "bank-b", LT, None)


@pytest.mark.parametrize(
    ("code", "reason", "attempts", "retries", "expected"),
    [
        ("UNAVAILABLE", "", 1, 2, 0.2),
        ("DEADLINE_EXCEEDED", "", 2, 2, 0.4),
        ("RESOURCE_EXHAUSTED", "rate_limited", 1, 2, 0.2),
        ("UNAVAILABLE", "", 3, 2, None),  # out of attempts
        ("UNAVAILABLE", "", 9, 20, 2.0),  # backoff capped
        ("RESOURCE_EXHAUSTED", "over_overdraft", 1, 2, None),  # refused: never again
        ("PERMISSION_DENIED", "not_publisher", 1, 2, None),
        ("DATA_LOSS", "", 1, 2, None),
    ],
)
def test_retry_after(
    code: str, reason: str, attempts: int, retries: int, expected: float | None
) -> None:
    assert retry_after(Failure(code, "m", reason), attempts, retries) == expected
