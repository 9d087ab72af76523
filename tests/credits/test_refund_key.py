"""The key a refund is judged against: the one the request named and both parties signed.

During an OPRF key rotation a responder keeps answering requests that name its old key
(gateway._rotation). Such an answer may be recorded after the new epoch is published;
it must be judged against the key it was made under, not the key ``pub.index`` shows
when the receipt lands. With the consortium's real verifier (psi's batched DLEQ check,
as the gateway registers it), real keys and the real contract.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest

from gateway._registry import verify_voprf_response
from ledger import encode
from psi import KeyPair, evaluate_batch, generate_key_pair
from psi.hazmat import blind_batch
from token_incentive import (
    AdmissionRefused,
    SignedRequest,
    check_request,
    receipt_id,
)

from ._net import T0, Net

LT = "transaction_fraud"


class Rotating:
    """bravo publishes LT under ``old``, then rotates to ``new`` (both active)."""

    def __init__(self) -> None:
        self.net = Net(verifier=verify_voprf_response)
        self.old, self.new = generate_key_pair(os.urandom), generate_key_pair(os.urandom)
        self.net.publish("alpha", LT)
        self.register("bravo", self.old)
        self.net.publish("bravo", LT, key_id=self.kid(self.old))

    @staticmethod
    def kid(key: KeyPair) -> str:
        return key.key_id.hex()

    def register(self, member: str, key: KeyPair, *, active: bool = True) -> None:
        row = {"public_key": key.public, "since": T0, "active": active}
        self.net.state.put("pub.oprf_keys", f"{member}/{self.kid(key)}", row)

    def rotate(self) -> None:
        """The rotation's two ledger records: the new key, then the epoch under it."""
        self.register("bravo", self.new)
        self.net.publish("bravo", LT, epoch=2, key_id=self.kid(self.new))

    def answer(
        self, named: KeyPair | None, under: KeyPair, now: int, *, proof: bytes | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """alpha asks naming ``named``; bravo answers under ``under`` (with ``proof``
        instead of the true one, if given) and signs: (receipt body, refund claim)."""
        _, blinded = blind_batch([os.urandom(20) for _ in range(3)], os.urandom, pool=None)
        evaluated, true_proof = evaluate_batch(under, blinded, os.urandom, pool=None)
        proof = true_proof if proof is None else proof
        key_id = None if named is None else self.kid(named)
        signed = self.net.request("alpha", "bravo", LT, 3, now, blinded=blinded, key_id=key_id)
        body = self.net.receipt_body(signed, now, evaluated=evaluated, proof=proof)
        claim = {
            "receipt": signed.receipt_id,
            "blinded": blinded,
            "evaluated": evaluated,
            "proof": proof,
        }
        return body, claim


@pytest.fixture
def rot() -> Rotating:
    return Rotating()


def test_a_correct_answer_under_the_old_key_recorded_after_the_rotation_is_not_refundable(
    rot: Rotating,
) -> None:
    now = T0 + 1000
    body, claim = rot.answer(rot.old, rot.old, now)
    rot.rotate()  # the new epoch is on the ledger before the receipt is
    rot.net.apply("bravo", "credits.receipt", body, now + 1)
    row = rot.net.receipt(claim["receipt"])
    assert row["key_id"] == rot.kid(rot.old)
    assert row["index"]["key_id"] == rot.kid(rot.new)  # what the old rule checked
    assert "the response verifies" in rot.net.refused("alpha", "credits.refund", claim, now + 2)
    assert rot.net.balance("alpha") == -3000
    assert row["status"] == "recorded"


def test_the_key_retired_after_recording_still_judges_the_claim(rot: Rotating) -> None:
    """Retirement stops a key answering, not the judging of what it answered."""
    now = T0 + 1000
    body, claim = rot.answer(rot.old, rot.old, now)
    rot.rotate()
    rot.net.apply("bravo", "credits.receipt", body, now + 1)
    rot.register("bravo", rot.old, active=False)  # pub.retire_oprf_key
    assert "the response verifies" in rot.net.refused("alpha", "credits.refund", claim, now + 2)
    wrong = (1).to_bytes(32, "little") + (2).to_bytes(32, "little")
    body, claim = rot.answer(rot.new, rot.new, now + 3, proof=wrong)
    rot.net.apply("bravo", "credits.receipt", body, now + 3)
    rot.register("bravo", rot.new, active=False)
    rot.net.apply("alpha", "credits.refund", claim, now + 4)
    assert rot.net.receipt(claim["receipt"])["refund"]["reason"] == "proof"


def test_a_bad_answer_under_the_old_key_is_refunded(rot: Rotating) -> None:
    now = T0 + 1000
    wrong = (1).to_bytes(32, "little") + (2).to_bytes(32, "little")  # canonical, but false
    body, claim = rot.answer(rot.old, rot.old, now, proof=wrong)
    rot.rotate()
    rot.net.apply("bravo", "credits.receipt", body, now + 1)
    rot.net.apply("alpha", "credits.refund", claim, now + 2)
    row = rot.net.receipt(claim["receipt"])
    assert (row["status"], row["refund"]["reason"]) == ("refunded", "proof")
    assert rot.net.balance("alpha") == 0
    assert rot.net.conservation_gap() == 0


def test_an_answer_under_a_key_the_querier_did_not_name_is_refunded(rot: Rotating) -> None:
    """The querier named the old key; the responder answered under the new one. The
    proof is sound under the new key, and the new key is the published one at
    recording — the old rule found nothing to refund; the signed key says otherwise."""
    now = T0 + 1000
    rot.rotate()
    body, claim = rot.answer(rot.old, rot.new, now)
    rot.net.apply("bravo", "credits.receipt", body, now + 1)
    rot.net.apply("alpha", "credits.refund", claim, now + 2)
    assert rot.net.receipt(claim["receipt"])["refund"]["reason"] == "proof"
    # And the other way round: named the new key, answered under the old one.
    body, claim = rot.answer(rot.new, rot.old, now + 3)
    rot.net.apply("bravo", "credits.receipt", body, now + 3)
    rot.net.apply("alpha", "credits.refund", claim, now + 4)
    assert rot.net.balance("alpha") == 0
    assert rot.net.conservation_gap() == 0


def test_a_request_naming_no_key_is_judged_against_the_current_key_at_recording(
    rot: Rotating,
) -> None:
    """As before the key was signed: a request naming none (version 1 on the ledger, or
    a client that names none) stands for the key pub.index shows at recording."""
    now = T0 + 1000
    body, claim = rot.answer(None, rot.old, now)
    rot.net.apply("bravo", "credits.receipt", body, now + 1)
    assert rot.net.receipt(claim["receipt"])["key_id"] == rot.kid(rot.old)
    assert "the response verifies" in rot.net.refused("alpha", "credits.refund", claim, now + 2)


def test_requests_naming_a_key_are_version_2_and_naming_none_version_1(rot: Rotating) -> None:
    now = T0 + 1000
    named, _ = rot.answer(rot.old, rot.old, now)
    assert named["request"].startswith(b"riskshare/credits-request/v2\0")
    body, _ = rot.answer(None, rot.old, now)
    request = SignedRequest.from_parts(body["request"], body["request_sig"]).request
    fields = {f.name: getattr(request, f.name) for f in dataclasses.fields(request)}
    del fields["key_id"]
    # What a ledger recorded before keys were named, byte for byte.
    assert body["request"] == encode("credits-request", 1, fields)
    rot.net.apply("bravo", "credits.receipt", body, now + 1)
    rid = receipt_id(request.querier, request.request_id)
    assert rot.net.receipt(rid)["key_id"] == rot.kid(rot.old)


@pytest.mark.parametrize("case", ["unknown", "another member's", "retired", "another list's"])
def test_a_request_naming_a_key_the_responder_may_not_answer_under(
    rot: Rotating, case: str
) -> None:
    now = T0 + 1000
    other = generate_key_pair(os.urandom)
    if case == "another member's":
        rot.register("charlie", other)
    elif case == "retired":
        rot.rotate()
        rot.register("bravo", rot.old, active=False)  # pub.retire_oprf_key
        other = rot.old
    elif case == "another list's":
        rot.register("bravo", other)
        rot.net.publish("alpha", "marketing_abuse")
        rot.net.publish("bravo", "marketing_abuse", key_id=rot.kid(other))
    expected = {
        "unknown": f"{rot.kid(other)!r} is not an OPRF key of bravo",
        "another member's": f"{rot.kid(other)!r} is not an OPRF key of bravo",
        "retired": f"bravo's OPRF key {rot.kid(other)!r} is retired",
        "another list's": f"is its marketing_abuse key, not its {LT} key",
    }[case]
    body, claim = rot.answer(other, other, now)
    signed = SignedRequest.from_parts(body["request"], body["request_sig"])
    # The responder's gateway refuses it before evaluating ...
    with pytest.raises(AdmissionRefused, match=expected) as refused:
        check_request(rot.net.state, signed, "bravo", now)
    assert refused.value.code == "oprf_key"
    # ... and should a responder answer it anyway, the ledger records the fact and
    # charges it; the refund is judged against the key both signed: a key that is not
    # bravo's cannot verify the answer, a key of bravo's (retired since, or another
    # list's, which the querier itself named) can.
    rot.net.apply("bravo", "credits.receipt", body, now)
    assert rot.net.balance("alpha") == -1000 * len(claim["blinded"])
    if case in ("unknown", "another member's"):
        rot.net.apply("alpha", "credits.refund", claim, now + 1)
        assert rot.net.balance("alpha") == 0
    else:
        assert "the response verifies" in rot.net.refused("alpha", "credits.refund", claim, now + 1)
    assert rot.net.conservation_gap() == 0
