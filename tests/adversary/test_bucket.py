"""Attack 3: in bucket mode a lying responder picks the prefix length.

Bucket mode sends, per identifier, a prefix of ``SHA-256(domain | identifier)`` whose
length the querier derives from the list size the responder declared on the ledger,
which nothing checks. trudy declares a list of 2^32 entries (no ledger rule can refuse
that: a phone list of 4.3 x 10^9 entries is implausible, not impossible) and serves, on
her registered address, a ``BucketQuery`` of her own: correct VOPRF evaluations under
her committed key, a receipt she signs and records (so the answer is charged), and
buckets as small as she likes.

What must happen: bank-a, asked through its admin socket to screen in bucket mode,
sends at most the consortium's cap of prefix bits (16 by default, ``pub.bucket_max_bits``
when governance sets one), never the 19 that trudy's declared size would give; and an
answer whose bucket holds fewer than ``psi.MIN_BUCKET`` entries is refused with a
precise error, and bucket mode is then refused for that list epoch before anything is
sent.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway._pb.riskshare.psi.v1 import psi_pb2, psi_pb2_grpc
from ledger import PUB, ContractError
from psi import (
    MIN_BUCKET,
    KeyPair,
    decode_elements,
    encode_elements,
    evaluate_batch,
)
from psi._formats import BucketAnswer
from tests.adversary._world import LIST, World, now_ms, phones, wait_for
from token_incentive import (
    QueryReceipt,
    SignedRequest,
    receipt_body,
    response_digest,
    sign_receipt,
)

DECLARED_SIZE = 2**32  # bucket_bits_for gives 19 bits for it: 2^32 / 2^19 = 8192
CAP = 16  # psi.BUCKET_MAX_BITS, the default cap


@dataclass
class LyingBuckets(psi_pb2_grpc.PsiServicer):
    """trudy's Psi service: honest evaluations, buckets of ``bucket_size`` made-up tags."""

    world: World
    key: KeyPair
    epoch: int
    bucket_size: int
    asked: list[int] = field(default_factory=list)  # prefix bits of every BucketQuery
    answered: list[tuple[SignedRequest, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def BucketQuery(self, request: Any, context: Any) -> Any:
        with self._lock:
            self.asked.append(int(request.prefix_bits))
        evaluate = request.evaluate
        signed = SignedRequest.from_bytes(bytes(evaluate.signed_request))
        blinded = decode_elements(bytes(evaluate.blinded))
        evaluated, proof = evaluate_batch(self.key, blinded, os.urandom, pool=None)
        receipt = sign_receipt(
            QueryReceipt(signed.digest, response_digest(evaluated, proof), now_ms()),
            self.world.signer("trudy").credentials.signing_key,
        )
        with self._lock:
            self.answered.append((signed, receipt))
        bits = int(request.prefix_bits)
        width = -(-bits // 8)
        raw = bytes(request.prefixes)
        prefixes = [int.from_bytes(raw[i : i + width], "big") for i in range(0, len(raw), width)]
        records = tuple((os.urandom(16), b"") for _ in range(self.bucket_size))
        buckets = [
            BucketAnswer(LIST, self.key.key_id, self.epoch, bits, p, 0, records).to_bytes()
            for p in prefixes
        ]
        return psi_pb2.BucketQueryResponse(
            evaluate=psi_pb2.EvaluateResponse(
                evaluated=encode_elements(evaluated),
                proof=proof,
                key_id=self.key.key_id.hex(),
                signed_receipt=receipt.to_bytes(),
                epoch=self.epoch,
            ),
            buckets=[psi_pb2.Bucket(tags=b) for b in buckets],
        )

    def record(self) -> None:
        """A cheat wants paying: trudy puts the receipts she signed on the ledger."""
        with self._lock:
            answered, self.answered = self.answered, []
        for signed, receipt in answered:
            recorded = self.world.signer("trudy").submit(
                "credits.receipt", receipt_body(signed, receipt)
            )
            assert recorded.ok, recorded.reason


def _synced(world: World, table: str, key: str, expected: Any) -> None:
    """Wait until every gateway's replica holds ``expected`` under ``table``/``key``."""

    def held() -> bool:
        return all(world.state_get(table, key, m) == expected for m in world.gateways)

    wait_for(held, 60, f"{table}/{key} on every replica")


@pytest.fixture()
def declared(world: World) -> Iterator[tuple[KeyPair, int]]:
    """trudy's list of 2^32 entries for one test, retracted afterwards."""
    yield world.declare_list("trudy", size=DECLARED_SIZE)
    world.retract_list("trudy")


def _ask(world: World, values: list[str]) -> Any:
    with world.admin("bank-a") as admin:
        reply = admin.query(
            LIST, "phone", values, members=["trudy"], bucket_mode=True, deadline_ms=20_000
        )
    (answer,) = reply.answers
    return answer


def test_a_declared_size_does_not_choose_the_prefix_length(
    world: World, declared: tuple[KeyPair, int]
) -> None:
    key, epoch = declared
    trudy = world.signer("trudy")
    honest_sized = LyingBuckets(world, key, epoch, bucket_size=MIN_BUCKET)
    with trudy.serving(honest_sized):
        answer = _ask(world, phones(2, start=9000))
    honest_sized.record()
    # 19 bits before the cap: 2^32 declared entries / 2^19 buckets = 8192 per bucket.
    assert honest_sized.asked == [CAP], f"bank-a sent {honest_sized.asked} prefix bits"
    assert answer.error_code == "", answer.error
    assert list(answer.hits) == [False, False]


def test_a_bucket_under_the_minimum_is_refused(world: World, declared: tuple[KeyPair, int]) -> None:
    key, epoch = declared
    trudy = world.signer("trudy")
    balance = world.balance("bank-a")
    tiny = LyingBuckets(world, key, epoch, bucket_size=17)
    with trudy.serving(tiny):
        answer = _ask(world, phones(1, start=9100))
        assert answer.error_code == "DATA_LOSS", (answer.error_code, answer.error)
        assert f"17 entries, under the minimum of {MIN_BUCKET}" in answer.error
        assert answer.receipt, "the refused answer names the receipt it was charged under"
        # Charged: trudy records the receipt her answer signed (nothing the ledger can
        # check binds the buckets to it, so no refund claim could succeed; see
        # docs/THREAT_MODEL.md).
        tiny.record()
        receipt = world.state_get("credits.receipts", answer.receipt.decode())
        assert receipt is not None and receipt["charge"] > 0
        assert world.balance("bank-a") < balance
        # The list's declared size is refuted for this epoch: bucket mode is refused
        # before a prefix is sent or anything is charged.
        again = _ask(world, phones(1, start=9101))
    assert again.error_code == "FAILED_PRECONDITION", (again.error_code, again.error)
    assert "until it publishes a new epoch" in again.error and "under the minimum" in again.error
    assert tiny.asked == [CAP]


def test_the_consortium_sets_the_cap(world: World, declared: tuple[KeyPair, int]) -> None:
    key, epoch = declared
    trudy = world.signer("trudy")
    responder = LyingBuckets(world, key, epoch, bucket_size=MIN_BUCKET)
    world.govern("set_params", {"set": {"pub.bucket_max_bits": 12}, "unset": []})
    try:
        _synced(world, "gov.params", "pub.bucket_max_bits", 12)
        with trudy.serving(responder):
            answer = _ask(world, phones(1, start=9200))
        responder.record()
        assert responder.asked == [12]
        assert answer.error_code == "", answer.error
    finally:
        world.govern("set_params", {"set": {}, "unset": ["pub.bucket_max_bits"]})
        _synced(world, "gov.params", "pub.bucket_max_bits", None)


@pytest.mark.parametrize("bad", [33, -1, True, "16", 12.0])
def test_the_cap_must_be_a_number_of_bits(bad: Any) -> None:
    assert PUB.param_check is not None
    PUB.param_check({"pub.bucket_max_bits": 0})
    with pytest.raises(ContractError, match=r"bucket_max_bits must be an integer from 0 to 32"):
        PUB.param_check({"pub.bucket_max_bits": bad})
