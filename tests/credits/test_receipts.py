"""Recording queries: two signatures, admission by the responder, post-hoc charging.

The responder judges a request before it answers (``check_request``); the ledger
records the answer as a fact and charges it, whatever changed in between.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from gateway._registry import verify_voprf_response
from psi import evaluate_batch, generate_key_pair
from psi.hazmat import blind_batch
from token_incentive import (
    AdmissionRefused,
    Exposure,
    MessageError,
    admit,
    check_oracle_request,
    check_request,
    params_from_state,
)

from ._net import DAY, T0, Net, key_of

LT = "transaction_fraud"


@pytest.fixture
def net() -> Net:
    n = Net()
    for m in n.members:
        n.publish(m, LT)
    return n


def test_receipt_debits_querier_and_counts_served_items(net: Net) -> None:
    now = T0 + 1000
    rid = net.query("alpha", "bravo", LT, 7, now)
    assert net.balance("alpha") == -7 * 1000
    assert net.balance("bravo") == 0  # the responder is rewarded at settlement, capped
    r = net.receipt(rid)
    assert (r["querier"], r["responder"], r["items"], r["charge"]) == ("alpha", "bravo", 7, 7000)
    assert net.state.get("credits.served", f"{0:012d}/bravo/alpha") == 7
    journal: list[Any] = [row for _, row in net.state.scan("credits.journal", "alpha/")]
    assert [row["amount"] for row in journal] == [-7000]
    assert net.conservation_gap() == 0


def test_a_request_recorded_before_is_refused(net: Net) -> None:
    now = T0 + 1000
    signed = net.request("alpha", "bravo", LT, 2, now)
    body = net.receipt_body(signed, now)
    net.apply("bravo", "credits.receipt", body, now)
    assert "recorded before" in net.refused("bravo", "credits.receipt", body, now + 1)
    # The same request id re-signed with other content is the same request.
    again = net.request("alpha", "bravo", LT, 3, now, request_id=signed.request.request_id)
    reason = net.refused("bravo", "credits.receipt", net.receipt_body(again, now), now + 2)
    assert "recorded before" in reason


def test_signatures_and_binding_are_checked(net: Net) -> None:
    now = T0 + 1000
    signed = net.request("alpha", "bravo", LT, 2, now)
    body = net.receipt_body(signed, now)
    forged = dict(body, request_sig=key_of("charlie").sign(signed.data))
    assert "bad signature by 'alpha'" in net.refused("bravo", "credits.receipt", forged, now)
    by_other = net.receipt_body(signed, now, signer="charlie")
    assert "bad signature by 'bravo'" in net.refused("bravo", "credits.receipt", by_other, now)
    other = net.request("alpha", "bravo", LT, 2, now)
    mixed = dict(body, request=other.data, request_sig=other.signature)
    assert "does not commit" in net.refused("bravo", "credits.receipt", mixed, now)
    # Only the addressed responder may record it.
    assert "addressed to bravo" in net.refused("charlie", "credits.receipt", body, now)
    assert "request, request_sig" in net.refused(
        "bravo", "credits.receipt", {**body, "extra": 1}, now
    )


def test_request_freshness_and_normaliser(net: Net) -> None:
    now = T0 + DAY
    ttl = params_from_state(net.state).request_ttl_ms
    # The responder refuses a stale request on its own clock ...
    stale = net.request("alpha", "bravo", LT, 1, now - ttl - 1)
    with pytest.raises(AdmissionRefused) as exc:
        check_request(net.state, stale, "bravo", now)
    assert exc.value.code == "stale_request"
    # ... and the ledger refuses an answer it signed outside the window of the request.
    assert "stale request" in net.refused(
        "bravo", "credits.receipt", net.receipt_body(stale, now), now
    )
    # A request answered fresh is recorded and charged however late its receipt lands:
    # freshness is judged on the answer time the responder signed, not the block's.
    fresh = net.request("alpha", "bravo", LT, 1, now - ttl + 1)
    net.apply("bravo", "credits.receipt", net.receipt_body(fresh, now), now + 10 * ttl)
    assert net.balance("alpha") == -1000
    net.state.put(
        "gov.consortium",
        "info",
        {"name": "t", "normaliser_version": "v2", "genesis_time": T0, "chain_id": b"c" * 32},
    )
    old = net.request("alpha", "bravo", LT, 1, now + 10 * ttl)
    with pytest.raises(MessageError, match="normaliser"):
        check_request(net.state, old, "bravo", now + 10 * ttl)
    # Answered before the consortium moved to v2, recorded after: still a fact.
    net.apply("bravo", "credits.receipt", net.receipt_body(old, now + 10 * ttl), now + 10 * ttl)
    assert net.balance("alpha") == -2000
    assert net.conservation_gap() == 0


def test_reciprocity_non_publisher_and_stale_list_are_refused(net: Net) -> None:
    now = T0 + 1000
    with pytest.raises(AdmissionRefused) as exc:
        admit(net.state, "alpha", "marketing_abuse", 1, now)
    assert exc.value.code == "not_publisher"
    net.publish("bravo", "marketing_abuse")
    signed = net.request("alpha", "bravo", "marketing_abuse", 1, now)
    with pytest.raises(AdmissionRefused, match="alpha publishes no non-empty marketing_abuse"):
        check_request(net.state, signed, "bravo", now)
    net.publish("alpha", "marketing_abuse", size=0)
    with pytest.raises(AdmissionRefused, match="non-empty"):
        admit(net.state, "alpha", "marketing_abuse", 1, now)
    net.publish("alpha", "marketing_abuse", expires_at=now)
    with pytest.raises(AdmissionRefused) as exc:
        admit(net.state, "alpha", "marketing_abuse", 1, now)
    assert exc.value.code == "stale_list"
    net.publish("alpha", "marketing_abuse", expires_at=now + 1)
    assert admit(net.state, "alpha", "marketing_abuse", 1, now).charge == 500
    # Admitted at the answer, its list expired before the receipt landed: charged.
    signed = net.request("alpha", "bravo", "marketing_abuse", 1, now)
    check_request(net.state, signed, "bravo", now)
    net.apply("bravo", "credits.receipt", net.receipt_body(signed, now), now + 5)
    assert net.balance("alpha") == -500
    # The responder must publish the list it answers on, when it answers.
    net.unpublish("bravo", "marketing_abuse")
    signed = net.request("alpha", "bravo", "marketing_abuse", 1, now + 5)
    with pytest.raises(AdmissionRefused, match="bravo publishes no"):
        check_request(net.state, signed, "bravo", now + 5)


def test_overdraft_is_enforced_at_admission_and_a_recorded_answer_is_a_debt(net: Net) -> None:
    net.set_params(overdraft=10_000)
    now = T0 + 1000
    net.query("alpha", "bravo", LT, 6, now)
    with pytest.raises(AdmissionRefused) as exc:
        admit(net.state, "alpha", LT, 5, now)
    assert exc.value.code == "over_overdraft"
    assert admit(net.state, "alpha", LT, 4, now).balance_after == -10_000
    # Answers not yet recorded count: 4 items pending leave nothing for one more.
    signed = net.request("alpha", "charlie", LT, 1, now)
    with pytest.raises(AdmissionRefused) as exc:
        check_request(net.state, signed, "charlie", now, pending=Exposure(4, 4000))
    assert exc.value.code == "over_overdraft"
    # charlie answered 5 items against a view that did not show the 6: recorded and
    # charged all the same, the balance passes the floor, and the debt refuses more.
    signed = net.request("alpha", "charlie", LT, 5, now)
    net.apply("charlie", "credits.receipt", net.receipt_body(signed, now), now)
    assert net.balance("alpha") == -11_000
    with pytest.raises(AdmissionRefused) as exc:
        admit(net.state, "alpha", LT, 1, now)
    assert exc.value.code == "over_overdraft"
    assert net.conservation_gap() == 0


def test_other_admission_refusals(net: Net) -> None:
    now = T0 + 1000
    with pytest.raises(AdmissionRefused) as exc:
        admit(net.state, "obs", LT, 1, now)
    assert exc.value.code == "not_member"
    with pytest.raises(AdmissionRefused) as exc:
        admit(net.state, "alpha", "no_such_list", 1, now)
    assert exc.value.code == "unknown_list_type"
    for items in (0, 100_001):
        with pytest.raises(AdmissionRefused) as exc:
            admit(net.state, "alpha", LT, items, now)
        assert exc.value.code == "bad_items"
    signed = net.request("alpha", "alpha", LT, 1, now)
    assert "itself" in net.refused("alpha", "credits.receipt", net.receipt_body(signed, now), now)


def _commit_canaries(net: Net, count: int, now: int) -> None:
    commitments = [os.urandom(32) for _ in range(count)]
    net.apply("obs", "credits.canary_commit", {"commitments": commitments}, now)


def test_observer_probes_only_canaries_free_up_to_its_open_canaries(net: Net) -> None:
    now = T0 + 1000
    signed = net.request("obs", "bravo", LT, 1, now)
    with pytest.raises(AdmissionRefused) as exc:
        check_request(net.state, signed, "bravo", now)
    assert exc.value.code == "not_member"
    probe = net.request("obs", "bravo", LT, 1, now, purpose="canary")
    with pytest.raises(AdmissionRefused) as exc:
        check_request(net.state, probe, "bravo", now)
    assert exc.value.code == "canary_bound"  # no canary committed: no free probe
    _commit_canaries(net, 3, now)
    assert check_request(net.state, probe, "bravo", now).canary
    rid = net.query("obs", "bravo", LT, 2, now + 1, purpose="canary")
    assert net.receipt(rid)["canary"] is True
    assert net.balance("obs") == 0
    assert list(net.state.scan("credits.served")) == []
    # Three open canaries: one more probe element at bravo this epoch, none beyond.
    two = net.request("obs", "bravo", LT, 2, now + 2, purpose="canary")
    with pytest.raises(AdmissionRefused) as exc:
        check_request(net.state, two, "bravo", now + 2)
    assert exc.value.code == "canary_bound"
    one = net.request("obs", "bravo", LT, 1, now + 2, purpose="canary")
    with pytest.raises(AdmissionRefused):
        check_request(net.state, one, "bravo", now + 2, pending=Exposure(1, 0))
    # Another responder has its own bound.
    three = net.request("obs", "charlie", LT, 3, now + 2, purpose="canary")
    assert check_request(net.state, three, "charlie", now + 2).canary
    # A probe answered beyond the bound anyway is charged like any query.
    net.apply("bravo", "credits.receipt", net.receipt_body(two, now + 2), now + 3)
    assert net.receipt(two.receipt_id)["canary"] is False
    assert net.balance("obs") == -2000
    # And a non-canary request an observer got answered is a charged query too.
    net.apply("bravo", "credits.receipt", net.receipt_body(signed, now), now + 4)
    assert net.balance("obs") == -3000
    assert net.conservation_gap() == 0


def test_open_canaries_are_capped(net: Net) -> None:
    now = T0 + 1000
    net.set_params(max_canaries=4)
    _commit_canaries(net, 4, now)
    reason = net.refused("obs", "credits.canary_commit", {"commitments": [os.urandom(32)]}, now)
    assert "at most 4 open canaries" in reason


def test_refund_of_a_response_with_the_wrong_element_count(net: Net) -> None:
    now = T0 + 1000
    signed = net.request("alpha", "bravo", LT, 3, now)
    body = net.receipt_body(signed, now, evaluated=[os.urandom(32) for _ in range(2)])
    net.apply("bravo", "credits.receipt", body, now)
    rid = signed.receipt_id
    blinded, evaluated, proof = net.responses[rid]
    claim = {"receipt": rid, "blinded": blinded, "evaluated": evaluated, "proof": proof}
    # Only the querier, only with the committed elements and the signed response.
    assert "only the querier" in net.refused("charlie", "credits.refund", claim, now + 5)
    wrong = {**claim, "blinded": [os.urandom(32) for _ in blinded]}
    assert "committed to" in net.refused("alpha", "credits.refund", wrong, now + 5)
    wrong = {**claim, "proof": b"q" * 64}
    assert "not the one the receipt signed" in net.refused(
        "alpha", "credits.refund", wrong, now + 5
    )
    late = params_from_state(net.state).feedback_window_ms + now
    assert "closed" in net.refused("alpha", "credits.refund", claim, late)
    net.apply("alpha", "credits.refund", claim, now + 5)
    assert net.balance("alpha") == 0
    assert net.receipt(rid)["status"] == "refunded"
    assert list(net.state.scan("credits.served")) == []
    assert "cannot be refunded" in net.refused("alpha", "credits.refund", claim, now + 6)
    assert net.conservation_gap() == 0


def test_refund_when_the_voprf_proof_does_not_verify() -> None:
    """With the consortium's real verifier (psi's batched DLEQ check, as the gateway
    registers it): an honest answer is not refundable; an answer evaluated under a key
    other than the one the responder committed is, on the querier's proof alone."""
    net = Net(verifier=verify_voprf_response)
    committed, other = generate_key_pair(os.urandom), generate_key_pair(os.urandom)
    kid = committed.key_id.hex()[:16]
    row = {"public_key": committed.public, "since": T0, "active": True}
    net.state.put("pub.oprf_keys", f"bravo/{kid}", row)
    net.publish("alpha", LT)
    net.publish("bravo", LT, key_id=kid)
    now = T0 + 1000
    for key, refundable in ((committed, False), (other, True)):
        _, blinded = blind_batch([os.urandom(20) for _ in range(3)], os.urandom, pool=None)
        evaluated, proof = evaluate_batch(key, blinded, os.urandom, pool=None)
        signed = net.request("alpha", "bravo", LT, 3, now, blinded=blinded)
        body = net.receipt_body(signed, now, evaluated=evaluated, proof=proof)
        net.apply("bravo", "credits.receipt", body, now)
        claim = {
            "receipt": signed.receipt_id,
            "blinded": blinded,
            "evaluated": evaluated,
            "proof": proof,
        }
        if refundable:
            net.apply("alpha", "credits.refund", claim, now + 1)
            assert net.receipt(signed.receipt_id)["refund"]["reason"] == "proof"
        else:
            reason = net.refused("alpha", "credits.refund", claim, now + 1)
            assert "verifies" in reason
    assert net.balance("alpha") == -3000  # charged for the honest answer only
    assert net.conservation_gap() == 0


def test_an_oracle_evaluation_is_admitted_and_charged_like_an_answer(net: Net) -> None:
    """The fingerprint registry (an observer here) judges a request at the dearest list
    price, records it itself, and earns no served credit."""
    now = T0 + 1000
    signed = net.request("alpha", "obs", "fingerprint", 4, now)
    checked = check_oracle_request(net.state, signed, "obs", now)
    assert checked.charge == 4 * 1000
    with pytest.raises(AdmissionRefused) as exc:
        check_oracle_request(net.state, signed, "obs", now, pending=Exposure(0, 2_000_000))
    assert exc.value.code == "over_overdraft"
    net.apply("obs", "credits.receipt", net.receipt_body(signed, now), now)
    assert net.balance("alpha") == -4000
    assert list(net.state.scan("credits.served")) == []
    # An observer records oracle evaluations only.
    listed = net.request("alpha", "obs", LT, 1, now)
    assert "only oracle evaluations" in net.refused(
        "obs", "credits.receipt", net.receipt_body(listed, now), now
    )
