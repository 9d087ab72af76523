"""Insurance (SCENARIOS.md §2) at the contract: every rule and signer requirement, each
refusal named and changing nothing (``tests/scenarios/_ins.py``)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

import pytest

from scenarios import ScenarioError
from scenarios.ins import ALERTS, LAYERS, POLICIES, REGISTRATIONS, SCREENING_DAYS
from scenarios.kit import MS_PER_DAY, Loss
from tests.scenarios._ins import Insurance
from tests.scenarios._net import ms

TODAY = "2025-01-06"
VIN = "1HGCM82633A004352"


def terms(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "product": "indemnity",
        "coverage": "collision",
        "currency": "USD",
        "limit": 20_000_00,
        "deductible": 500_00,
        "sum_insured": 30_000_00,
        "premium": 800_00,
        "cover_from": "2024-12-01",
        "cover_to": "2025-11-30",
        "holder": bytes(32),
    }
    return out | changes


def fps(ins: Insurance, member: str, loss: Loss) -> dict[str, Any]:
    """The loss's fingerprints; a hash stands in for the registry's OPRF (deterministic
    in the input, which is all the contract relies on)."""
    inputs = loss.fingerprint_inputs()
    exact = [hashlib.sha256(x).digest() for x in inputs.exact]
    similar = [hashlib.sha256(x).digest() for x in inputs.similar]
    return ins.net.fingerprints(member, exact, similar)


def register(ins: Insurance, member: str, claim: str, loss: Loss) -> None:
    ins.step(REGISTRATIONS, member, "register", claim, {"loss": fps(ins, member, loss)})


def issued(ins: Insurance, member: str = "insurer-a", policy: str = "P-1", **changes: Any) -> None:
    ins.private(POLICIES, member, "quote", policy, terms(**changes))
    receipt = ins.screening(member)
    ins.private(POLICIES, member, "check", policy, {"receipt": receipt, "result": "clear"})
    ins.private(POLICIES, member, "issue", policy)


@pytest.fixture
def ins() -> Insurance:
    return Insurance()


# Sale-time check ------------------------------------------------------------------------


def test_a_policy_is_issued_only_after_a_fresh_screening_of_its_own(ins: Insurance) -> None:
    ins.private(POLICIES, "insurer-a", "quote", "P-1", terms())
    ins.refused_private(
        "no recorded screening receipt",
        POLICIES,
        "insurer-a",
        "check",
        "P-1",
        {"receipt": "ab" * 32, "result": "clear"},
    )
    theirs = ins.screening("insurer-b")
    ins.refused_private(
        "another member's query",
        POLICIES,
        "insurer-a",
        "check",
        "P-1",
        {"receipt": theirs, "result": "clear"},
    )
    evaluation = ins.screening("insurer-a", list_type="fingerprint")
    ins.refused_private(
        "not a screening receipt",
        POLICIES,
        "insurer-a",
        "check",
        "P-1",
        {"receipt": evaluation, "result": "clear"},
    )
    old = ins.screening("insurer-a", at=ms(TODAY) - (SCREENING_DAYS + 1) * MS_PER_DAY)
    ins.refused_private(
        f"older than {SCREENING_DAYS} days",
        POLICIES,
        "insurer-a",
        "check",
        "P-1",
        {"receipt": old, "result": "clear"},
    )
    ins.refused_private(
        "issue is not allowed when policy 'P-1' is QUOTED", POLICIES, "insurer-a", "issue", "P-1"
    )
    fresh = ins.screening("insurer-a")
    assert (
        ins.private(
            POLICIES, "insurer-a", "check", "P-1", {"receipt": fresh, "result": "clear"}
        ).state
        == "CHECKED"
    )
    # Still fresh at issue: N days later it is not.
    ins.net.at((date.fromisoformat(TODAY) + timedelta(days=SCREENING_DAYS + 1)).isoformat())
    ins.refused_private("screen again", POLICIES, "insurer-a", "issue", "P-1")
    ins.net.at(TODAY)
    assert ins.private(POLICIES, "insurer-a", "issue", "P-1").state == "ISSUED"


def test_a_hit_goes_to_a_person_never_to_refusal(ins: Insurance) -> None:
    ins.private(POLICIES, "insurer-a", "quote", "P-1", terms())
    receipt = ins.screening("insurer-a")
    assert (
        ins.private(
            POLICIES, "insurer-a", "check", "P-1", {"receipt": receipt, "result": "hit"}
        ).state
        == "REVIEW"
    )
    ins.refused_private("REVIEW", POLICIES, "insurer-a", "issue", "P-1")
    reviewed = ins.private(
        POLICIES, "insurer-a", "review", "P-1", {"reviewer": "underwriter-7", "notes": bytes(32)}
    )
    assert reviewed.state == "CHECKED"
    assert ins.private(POLICIES, "insurer-a", "issue", "P-1").state == "ISSUED"


def test_policy_terms_are_checked(ins: Insurance) -> None:
    ins.refused_private(
        "terms: needs 0 ≤ deductible < limit",
        POLICIES,
        "insurer-a",
        "quote",
        "P-1",
        terms(deductible=20_000_00),
    )
    ins.refused_private(
        "a parametric policy needs flight",
        POLICIES,
        "insurer-a",
        "quote",
        "P-1",
        terms(product="parametric"),
    )
    ins.refused_private(
        "an indemnity policy names no flight",
        POLICIES,
        "insurer-a",
        "quote",
        "P-1",
        terms(flight="FLIGHT.X1"),
    )


# Claims ---------------------------------------------------------------------------------


def test_a_claim_is_capped_and_paid_only_once_registered_and_paid_there(ins: Insurance) -> None:
    issued(ins)
    ins.refused_private(
        "outside the cover",
        POLICIES,
        "insurer-a",
        "fnol",
        "P-1",
        {"claim": "C-1", "loss_date": "2025-12-01", "claimed": 100_00},
    )
    ins.net.at("2025-01-02")
    ins.refused_private(
        "in the future",
        POLICIES,
        "insurer-a",
        "fnol",
        "P-1",
        {"claim": "C-1", "loss_date": "2025-01-03", "claimed": 100_00},
    )
    ins.net.at(TODAY)
    notice = {"claim": "C-1", "loss_date": "2025-01-03", "claimed": 25_000_00}
    ins.private(POLICIES, "insurer-a", "fnol", "P-1", notice)
    ins.refused_private("already notified", POLICIES, "insurer-a", "fnol", "P-1", notice)
    ins.refused_private(
        "not on the claim registry",
        POLICIES,
        "insurer-a",
        "assess",
        "P-1",
        {"claim": "C-1", "amount": 24_000_00},
    )
    register(ins, "insurer-b", "C-1", Loss("vin", VIN, "2025-01-03", "collision"))
    ins.refused_private(
        "registered by another insurer",
        POLICIES,
        "insurer-a",
        "assess",
        "P-1",
        {"claim": "C-1", "amount": 24_000_00},
    )


def test_approval_and_payment(ins: Insurance) -> None:
    issued(ins)
    for claim, day in (("C-1", "2025-01-03"), ("C-2", "2025-01-04")):
        ins.private(
            POLICIES,
            "insurer-a",
            "fnol",
            "P-1",
            {"claim": claim, "loss_date": day, "claimed": 25_000_00},
        )
        register(ins, "insurer-a", claim, Loss("address", f"{claim} High St", day, "fire"))
        ins.private(POLICIES, "insurer-a", "assess", "P-1", {"claim": claim, "amount": 24_000_00})
    ins.refused_private(
        "exceeds the assessment",
        POLICIES,
        "insurer-a",
        "approve_claim",
        "P-1",
        {"claim": "C-1", "amount": 24_000_01},
    )
    ins.refused_private(
        r"min\(limit − deductible, sum insured − paid\) = 1950000",
        POLICIES,
        "insurer-a",
        "approve_claim",
        "P-1",
        {"claim": "C-1", "amount": 19_500_01},
    )
    ins.private(
        POLICIES, "insurer-a", "approve_claim", "P-1", {"claim": "C-1", "amount": 19_500_00}
    )
    ins.refused_private(
        "REGISTERED on the claim registry; it must be PAID",
        POLICIES,
        "insurer-a",
        "pay_claim",
        "P-1",
        {"claim": "C-1"},
    )
    ins.net.refused("only the insurer", ins.step, REGISTRATIONS, "insurer-b", "mark_paid", "C-1")
    ins.step(REGISTRATIONS, "insurer-a", "mark_paid", "C-1")
    paid = ins.private(POLICIES, "insurer-a", "pay_claim", "P-1", {"claim": "C-1"})
    assert paid.attrs["claims"]["C-1"]["paid"] == 19_500_00
    # The second claim is capped by what is left of the sum insured: 30,000 − 19,500.
    ins.refused_private(
        "= 1050000",
        POLICIES,
        "insurer-a",
        "approve_claim",
        "P-1",
        {"claim": "C-2", "amount": 10_500_01},
    )
    ins.private(
        POLICIES, "insurer-a", "approve_claim", "P-1", {"claim": "C-2", "amount": 10_500_00}
    )
    ins.refused_private(
        "claim 'C-1' is PAID, not APPROVED",
        POLICIES,
        "insurer-a",
        "pay_claim",
        "P-1",
        {"claim": "C-1"},
    )


def _flight_delay_cover(ins: Insurance) -> None:
    """Policy P-1: 300.00 if flight BA117 of 2025-01-05 is two hours late or more."""
    flight: dict[str, Any] = {
        "flight": "FLIGHT.BA117",
        "flight_date": "2025-01-05",
        "delay_minutes": 120,
    }
    issued(
        ins,
        product="parametric",
        limit=300_00,
        deductible=0,
        sum_insured=300_00,
        cover_from="2025-01-05",
        cover_to="2025-01-05",
        **flight,
    )


def test_parametric_pays_on_the_oracle_observation_only(ins: Insurance) -> None:
    _flight_delay_cover(ins)
    ins.refused_private(
        "no oracle observation of FLIGHT.BA117 on 2025-01-05",
        POLICIES,
        "insurer-a",
        "parametric_claim",
        "P-1",
        {"claim": "F-1"},
    )
    ins.net.refused("only the oracle", ins.net.submit, "insurer-a", "ins.observe", {})
    ins.observe("FLIGHT.BA117", "2025-01-05", 119)
    ins.refused_private(
        "delay_threshold: FLIGHT.BA117 was 119 minutes late",
        POLICIES,
        "insurer-a",
        "parametric_claim",
        "P-1",
        {"claim": "F-1"},
    )


def test_parametric_pays_once(ins: Insurance) -> None:
    _flight_delay_cover(ins)
    ins.observe("FLIGHT.BA117", "2025-01-05", 185)
    paid = ins.private(POLICIES, "insurer-a", "parametric_claim", "P-1", {"claim": "F-1"})
    assert paid.attrs["claims"]["F-1"]["state"] == "PAID"
    assert paid.attrs["claims"]["F-1"]["history"] == ["FNOL", "ORACLE_CONFIRMED", "PAID"]
    assert paid.attrs["claims"]["F-1"]["paid"] == 300_00
    ins.refused_private(
        "paid its flight already",
        POLICIES,
        "insurer-a",
        "parametric_claim",
        "P-1",
        {"claim": "F-2"},
    )
    ins.refused_private(
        "claimed on the oracle's observation",
        POLICIES,
        "insurer-a",
        "fnol",
        "P-1",
        {"claim": "F-3", "loss_date": "2025-01-05", "claimed": 300_00},
    )


# The claim registry ---------------------------------------------------------------------


def test_a_duplicate_is_flagged_and_resolved_before_payment(ins: Insurance) -> None:
    register(ins, "insurer-a", "C-A1", Loss("vin", VIN, "2025-01-03", "collision"))
    register(
        ins, "insurer-b", "C-B1", Loss("VIN", "1hgcm8-2633a0 04352", "2025-01-03", "Collision")
    )
    flagged = REGISTRATIONS.load(ins.net.state, "C-B1")
    assert flagged.state == "DUPLICATE_FLAGGED"
    alert = ALERTS.load(ins.net.state, "C-B1~C-A1")
    assert (alert.state, alert.attrs["match"], alert.parties) == (
        "OPEN",
        "exact",
        {"first": "insurer-a", "second": "insurer-b"},
    )
    ins.net.refused(
        "mark_paid is not allowed when registration 'C-B1' is DUPLICATE_FLAGGED",
        ins.step,
        REGISTRATIONS,
        "insurer-b",
        "mark_paid",
        "C-B1",
    )
    ins.net.refused(
        "insurer-a",
        ins.step,
        ALERTS,
        "insurer-b",
        "resolve_alert",
        "C-B1~C-A1",
        {"outcome": "withdraw"},
    )
    ins.step(REGISTRATIONS, "insurer-a", "mark_paid", "C-A1")
    ins.net.refused(
        "still held by registration 'C-A1'",
        ins.step,
        ALERTS,
        "insurer-b",
        "resolve_alert",
        "C-B1~C-A1",
        {"outcome": "clear"},
        ["insurer-a"],
    )
    ins.step(
        ALERTS, "insurer-b", "resolve_alert", "C-B1~C-A1", {"outcome": "withdraw"}, ["insurer-a"]
    )
    assert REGISTRATIONS.load(ins.net.state, "C-B1").state == "WITHDRAWN"
    # The same loss again, after payment: still a duplicate (a PAID claim keeps its loss).
    register(ins, "insurer-b", "C-B3", Loss("vin", VIN, "2025-01-03", "collision"))
    assert REGISTRATIONS.load(ins.net.state, "C-B3").state == "DUPLICATE_FLAGGED"


def test_coinsurance_lets_both_insurers_pay_one_loss(ins: Insurance) -> None:
    loss = Loss("address", "1 High Street, Leeds", "2025-01-02", "fire")
    register(ins, "insurer-a", "C-A1", loss)
    register(
        ins, "insurer-b", "C-B1", Loss("address", "1 HIGH STREET  leeds", "2025-01-02", "Fire")
    )
    ins.step(
        ALERTS, "insurer-b", "resolve_alert", "C-B1~C-A1", {"outcome": "coinsurance"}, ["insurer-a"]
    )
    coinsured = REGISTRATIONS.load(ins.net.state, "C-B1")
    assert (coinsured.state, coinsured.attrs["coinsurance_with"]) == ("REGISTERED", ["C-A1"])
    ins.step(REGISTRATIONS, "insurer-a", "mark_paid", "C-A1")
    ins.step(REGISTRATIONS, "insurer-b", "mark_paid", "C-B1")


def test_a_similar_loss_raises_a_review_alert_and_never_blocks(ins: Insurance) -> None:
    register(ins, "insurer-a", "C-A1", Loss("vin", VIN, "2025-01-03", "collision"))
    register(ins, "insurer-b", "C-B1", Loss("vin", VIN, "2024-12-27", "theft"))  # 7 days
    register(ins, "insurer-b", "C-B2", Loss("vin", VIN, "2024-12-26", "fire"))  # 8 days
    assert REGISTRATIONS.load(ins.net.state, "C-B1").state == "REGISTERED"
    assert ALERTS.load(ins.net.state, "C-B1~C-A1").attrs["match"] == "similar"
    assert ALERTS.get(ins.net.state, "C-B2~C-A1") is None
    assert ALERTS.load(ins.net.state, "C-B2~C-B1").attrs["match"] == "similar"
    ins.step(REGISTRATIONS, "insurer-b", "mark_paid", "C-B1")


def test_only_the_registering_insurer_updates_its_entry(ins: Insurance) -> None:
    register(ins, "insurer-a", "C-A1", Loss("person", "X-123", "2025-01-03", "injury"))
    for name in ("mark_paid", "mark_denied", "withdraw"):
        ins.net.refused("only the insurer", ins.step, REGISTRATIONS, "insurer-b", name, "C-A1")
    ins.step(REGISTRATIONS, "insurer-a", "mark_denied", "C-A1")
    register(ins, "insurer-b", "C-B1", Loss("person", "X-123", "2025-01-03", "injury"))
    assert REGISTRATIONS.load(ins.net.state, "C-B1").state == "REGISTERED"  # released


# The treaty -----------------------------------------------------------------------------


LAYER = {
    "cedent": "insurer-a",
    "reinsurers": ["re-1", "re-2", "re-3"],
    "treaty": "T-2025",
    "layer": 1,
    "currency": "USD",
    "limit": 10_000_000_00,
    "attachment": 5_000_000_00,
    "period_from": "2025-01-01",
    "period_to": "2025-12-31",
}
ALL_PARTIES = ("insurer-a", "re-1", "re-2", "re-3")


def ordered(ins: Insurance) -> None:
    ins.private(LAYERS, "broker", "draft_layer", "L-1", LAYER, ALL_PARTIES)
    ins.private(LAYERS, "insurer-a", "submit_layer", "L-1")
    for r, capacity in (("re-1", 600_000), ("re-2", 400_000)):
        ins.private(LAYERS, r, "quote_layer", "L-1", {"rate": 125_000, "capacity": capacity})
    ins.refused_private(
        r"missing \['re-3'\]",
        LAYERS,
        "insurer-a",
        "firm_order",
        "L-1",
        {
            "order": 1_000_000,
            "premium": 100_00,
            "instalments": [{"due": "2025-02-01", "amount": 100_00}],
        },
    )
    ins.private(LAYERS, "re-3", "quote_layer", "L-1", {"rate": 130_000, "capacity": 300_000})
    ins.refused_private(
        "quoted this layer already",
        LAYERS,
        "re-3",
        "quote_layer",
        "L-1",
        {"rate": 1, "capacity": 1},
    )
    ins.refused_private(
        "instalments_sum_to_premium",
        LAYERS,
        "insurer-a",
        "firm_order",
        "L-1",
        {
            "order": 1_000_000,
            "premium": 1_250_000_00,
            "instalments": [{"due": "2025-02-01", "amount": 1_249_999_99}],
        },
    )
    ins.private(
        LAYERS,
        "insurer-a",
        "firm_order",
        "L-1",
        {
            "order": 1_000_000,
            "premium": 1_250_000_00,
            "instalments": [
                {"due": "2025-02-01", "amount": 625_000_00},
                {"due": "2025-08-01", "amount": 625_000_00},
            ],
        },
    )


def test_a_layer_binds_only_at_exactly_the_order(ins: Insurance) -> None:
    ins.refused_private(
        "different members",
        LAYERS,
        "broker",
        "draft_layer",
        "L-0",
        LAYER | {"reinsurers": ["broker"]},
        ALL_PARTIES,
    )
    ordered(ins)
    ins.refused_private(
        "only the reinsurers", LAYERS, "outsider", "sign_line", "L-1", {"line": 100_000}
    )
    ins.refused_private(
        "exceeds the quoted 300000 ppm", LAYERS, "re-3", "sign_line", "L-1", {"line": 300_001}
    )
    ins.private(LAYERS, "re-1", "sign_line", "L-1", {"line": 500_000})
    ins.private(LAYERS, "re-2", "sign_line", "L-1", {"line": 300_000})
    ins.refused_private("lines_sum_to_order", LAYERS, "broker", "bind", "L-1")
    ins.refused_private("lines_within_order", LAYERS, "re-3", "sign_line", "L-1", {"line": 200_001})
    ins.private(LAYERS, "re-3", "sign_line", "L-1", {"line": 200_000})
    assert ins.private(LAYERS, "broker", "bind", "L-1").state == "BOUND"


def test_endorsements_need_every_reinsurer_and_instalments_are_exact(ins: Insurance) -> None:
    ordered(ins)
    for r, line in (("re-1", 500_000), ("re-2", 300_000), ("re-3", 200_000)):
        ins.private(LAYERS, r, "sign_line", "L-1", {"line": line})
    ins.private(LAYERS, "broker", "bind", "L-1")
    change = {"limit": 12_000_000_00, "doc": bytes(32)}
    ins.refused_private(
        "re-3", LAYERS, "broker", "endorse_layer", "L-1", change, ("insurer-a", "re-1", "re-2")
    )
    assert (
        ins.private(LAYERS, "broker", "endorse_layer", "L-1", change, ALL_PARTIES).state
        == "ENDORSED"
    )
    ins.refused_private(
        "is 62500000, not 62499999",
        LAYERS,
        "insurer-a",
        "account",
        "L-1",
        {"instalment": 0, "amount": 624_999_99},
    )
    ins.private(LAYERS, "insurer-a", "account", "L-1", {"instalment": 0, "amount": 625_000_00})
    ins.refused_private(
        "paid already",
        LAYERS,
        "insurer-a",
        "account",
        "L-1",
        {"instalment": 0, "amount": 625_000_00},
    )
    ins.refused_private("premium_paid", LAYERS, "broker", "close_layer", "L-1")
    ins.private(LAYERS, "insurer-a", "account", "L-1", {"instalment": 1, "amount": 625_000_00})
    assert ins.private(LAYERS, "broker", "close_layer", "L-1").state == "CLOSED"


def test_a_loss_is_normalised_before_it_is_fingerprinted() -> None:
    same = [
        Loss("vin", VIN, "2025-01-03", "collision"),
        Loss(" VIN ", "1hgcm8-2633a0 04352", "2025-01-03", "Collision"),
    ]
    assert same[0].fingerprint_inputs() == same[1].fingerprint_inputs()
    street = Loss("address", "1 High Street, Leeds", "2025-01-02", "fire")
    assert street.normalised().object_id == "1 HIGH STREET LEEDS"
    inputs = street.fingerprint_inputs()
    assert (len(inputs.exact), len(inputs.similar)) == (1, 15)
    assert (
        inputs.similar[0]
        == Loss("address", "1 high street leeds", "2025-01-08", "theft")
        .fingerprint_inputs()
        .similar[2]
    )  # the loss day, looked up from six days later (offsets 0, -7, -6, ...)
    for bad, reason in (
        (Loss("vin", "1HGCM82633A00435", "2025-01-03", "collision"), "17 letters"),
        (Loss("vin", "IHGCM82633A004352", "2025-01-03", "collision"), "no I, O or Q"),
        (Loss("boat", "X", "2025-01-03", "collision"), "one of vin, address, person"),
        (Loss("vin", VIN, "03/01/2025", "collision"), "loss_date must be a date"),
        (Loss("vin", VIN, "2025-01-03", "Collision!"), "lower-case name"),
    ):
        with pytest.raises(ScenarioError, match=reason):
            bad.fingerprint_inputs()
