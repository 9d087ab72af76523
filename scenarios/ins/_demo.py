"""The insurance demo (``riskshare demo --scenario ins``).

Two insurers register the same car crash; the second is flagged; the flag is resolved
(the second withdraws) and the first claim is paid, capped by the policy; a
flight-delay policy pays on the oracle's signed observation; a reinsurance layer is
bound with three reinsurers whose signed lines sum to exactly 100 %. Each policy is
sold after a sale-time screening through the risk-sharing network, and the one whose
applicant is on a list goes to manual review, never to refusal.

Every figure the flow prints (``figures:`` lines) is recomputed independently by the
test from the inputs below (``tests/scenarios/test_ins_e2e.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from scenarios.kit import Demo, DemoRun, Loss, allocate, format_minor, with_consent

__all__ = ["DEMO", "FLIGHT", "LAYER", "LINES", "MOTOR", "PARAMETRIC"]

LIST_TYPE = "transaction_fraud"
# Applicants' phones: insurer-a's applicant is on nobody's list, insurer-b's is on
# insurer-a's (a hit, which a person reviews).
CLEAN_PHONE = "13900000001"
LISTED_PHONE = "13900000002"
VIN = "1HGCM82633A004352"
MOTOR = {
    "limit": 20_000_00,
    "deductible": 500_00,
    "sum_insured": 30_000_00,
    "claimed": 25_000_00,
    "assessed": 24_000_00,
}
FLIGHT = "FLIGHT.BA117"
PARAMETRIC = {"delay_minutes": 120, "payout": 300_00, "observed": 185}
LAYER = {"limit": 10_000_000_00, "attachment": 5_000_000_00, "premium": 1_250_000_00}
LINES = {"re-1": 500_000, "re-2": 300_000, "re-3": 200_000}
INSTALMENTS = (400_000_00, 400_000_00, 450_000_00)


def _policy(run: DemoRun, insurer: str, policy: str, phone: str, terms: dict[str, Any]) -> None:
    receipt, hit = run.screen(insurer, "phone", phone)
    run.step(insurer, f"quote {policy}", "ins.quote", policy, terms)
    result = "hit" if hit else "clear"
    run.step(
        insurer,
        f"record the sale-time screening of {policy} ({result})",
        "ins.check",
        policy,
        {"receipt": receipt, "result": result},
    )
    if hit:
        run.step(insurer, f"issue {policy} before its review", "ins.issue", policy, refused=True)
        run.step(
            insurer,
            f"a person reviews the hit on {policy}",
            "ins.review",
            policy,
            {"reviewer": "underwriter-7", "notes": run.document_hash()},
        )
    run.step(insurer, f"issue {policy}", "ins.issue", policy)


def _register(run: DemoRun, insurer: str, claim: str, loss: Loss, say: str) -> None:
    inputs = loss.fingerprint_inputs()
    fps, receipt = run.fingerprint(insurer, "claim", [*inputs.exact, *inputs.similar])
    value = {"exact": fps[: len(inputs.exact)], "similar": fps[len(inputs.exact) :]}
    run.step(insurer, say, "ins.register", claim, {"loss": {**value, "receipt": receipt}})


def _motor(run: DemoRun) -> None:
    today = run.today
    terms = {
        "product": "indemnity",
        "coverage": "collision",
        "currency": "USD",
        "limit": MOTOR["limit"],
        "deductible": MOTOR["deductible"],
        "sum_insured": MOTOR["sum_insured"],
        "premium": 800_00,
        "cover_from": (today - timedelta(days=30)).isoformat(),
        "cover_to": (today + timedelta(days=335)).isoformat(),
        "holder": run.document_hash(),
    }
    _policy(run, "insurer-a", "P-A1", CLEAN_PHONE, terms)
    _policy(run, "insurer-b", "P-B1", LISTED_PHONE, terms)
    loss_day = (today - timedelta(days=3)).isoformat()
    for insurer, policy, claim in (("insurer-a", "P-A1", "C-A1"), ("insurer-b", "P-B1", "C-B1")):
        run.step(
            insurer,
            f"first notice of loss {claim} on {policy}",
            "ins.fnol",
            policy,
            {"claim": claim, "loss_date": loss_day, "claimed": MOTOR["claimed"]},
        )
    _register(run, "insurer-a", "C-A1", Loss("vin", VIN, loss_day, "collision"), "register C-A1")
    retyped = Loss("VIN", "1hgcm8-2633a0 04352", loss_day, "Collision")
    _register(run, "insurer-b", "C-B1", retyped, "register the same crash (typed differently)")
    run.step("insurer-b", "mark the flagged C-B1 paid", "ins.mark_paid", "C-B1", refused=True)
    near = Loss("vin", VIN, (today - timedelta(days=8)).isoformat(), "theft")
    _register(run, "insurer-b", "C-B2", near, "register a theft of the same car 5 days earlier")
    with_consent(
        run,
        "insurer-b",
        "insurer-a",
        "ins.resolve_alert",
        "C-B1~C-A1",
        {"outcome": "withdraw"},
        early="resolve C-B1~C-A1 before insurer-a authorised it",
        say="withdraw C-B1 by resolving the alert with insurer-a",
    )
    payable = min(
        MOTOR["assessed"], MOTOR["limit"] - MOTOR["deductible"], MOTOR["sum_insured"]
    )  # nothing paid on the policy before
    run.step(
        "insurer-a",
        "assess C-A1",
        "ins.assess",
        "P-A1",
        {"claim": "C-A1", "amount": MOTOR["assessed"]},
    )
    run.step(
        "insurer-a",
        "approve C-A1 for the whole assessment",
        "ins.approve_claim",
        "P-A1",
        {"claim": "C-A1", "amount": MOTOR["assessed"]},
        refused=True,
    )
    run.step(
        "insurer-a",
        "approve C-A1 up to the cap",
        "ins.approve_claim",
        "P-A1",
        {"claim": "C-A1", "amount": payable},
    )
    run.step(
        "insurer-a",
        "pay C-A1 before the registry says PAID",
        "ins.pay_claim",
        "P-A1",
        {"claim": "C-A1"},
        refused=True,
    )
    run.step("insurer-a", "mark C-A1 paid on the registry", "ins.mark_paid", "C-A1")
    paid = run.step("insurer-a", "pay C-A1", "ins.pay_claim", "P-A1", {"claim": "C-A1"})
    amount = None if paid is None else paid.attrs["claims"]["C-A1"]["paid"]
    run.say(f"figures: motor C-A1 paid {format_minor(amount or 0)}")


def _parametric(run: DemoRun) -> None:
    today = run.today
    flight_day = (today - timedelta(days=1)).isoformat()
    terms = {
        "product": "parametric",
        "coverage": "flight_delay",
        "currency": "USD",
        "limit": PARAMETRIC["payout"],
        "deductible": 0,
        "sum_insured": PARAMETRIC["payout"],
        "premium": 12_00,
        "cover_from": flight_day,
        "cover_to": flight_day,
        "holder": run.document_hash(),
        "flight": FLIGHT,
        "flight_date": flight_day,
        "delay_minutes": PARAMETRIC["delay_minutes"],
    }
    _policy(run, "insurer-a", "P-A2", CLEAN_PHONE, terms)
    run.step(
        "insurer-a",
        "claim P-A2 before the oracle's observation",
        "ins.parametric_claim",
        "P-A2",
        {"claim": "F-1"},
        refused=True,
    )
    run.observe(FLIGHT, flight_day, PARAMETRIC["observed"], 0)
    paid = run.step(
        "insurer-a",
        "claim P-A2 on the observation",
        "ins.parametric_claim",
        "P-A2",
        {"claim": "F-1"},
    )
    amount = None if paid is None else paid.attrs["claims"]["F-1"]["paid"]
    run.say(f"figures: parametric F-1 paid {format_minor(amount or 0)}")


def _treaty(run: DemoRun) -> None:
    today = run.today
    run.step(
        "broker",
        "draft layer L-1 of treaty T-2025 with three reinsurers",
        "ins.draft_layer",
        "L-1",
        {
            "cedent": "insurer-a",
            "reinsurers": sorted(LINES),
            "treaty": "T-2025",
            "layer": 1,
            "currency": "USD",
            "limit": LAYER["limit"],
            "attachment": LAYER["attachment"],
            "period_from": today.isoformat(),
            "period_to": (today + timedelta(days=364)).isoformat(),
        },
    )
    run.step("insurer-a", "submit L-1", "ins.submit_layer", "L-1")
    for reinsurer, line in LINES.items():
        run.step(
            reinsurer,
            "quote L-1",
            "ins.quote_layer",
            "L-1",
            {"rate": 125_000, "capacity": min(1_000_000, line + 100_000)},
        )
    due = [(today + timedelta(days=90 * k)).isoformat() for k in range(len(INSTALMENTS))]
    run.step(
        "insurer-a",
        "firm order for 100 % of L-1",
        "ins.firm_order",
        "L-1",
        {
            "order": 1_000_000,
            "premium": LAYER["premium"],
            "instalments": [{"due": d, "amount": a} for d, a in zip(due, INSTALMENTS, strict=True)],
        },
    )
    signed = list(LINES.items())
    for reinsurer, line in signed[:2]:
        run.step(
            reinsurer, f"sign a {line / 10_000:g} % line", "ins.sign_line", "L-1", {"line": line}
        )
    run.step("broker", "bind L-1 with 80 % signed", "ins.bind", "L-1", refused=True)
    reinsurer, line = signed[2]
    run.step(reinsurer, f"sign a {line / 10_000:g} % line", "ins.sign_line", "L-1", {"line": line})
    run.step("broker", "bind L-1", "ins.bind", "L-1")
    bound = run.held("re-1", "L-1")
    shares = allocate(LAYER["premium"], [bound.attrs["lines"][r] for r in sorted(LINES)])
    for reinsurer, share in zip(sorted(LINES), shares, strict=True):
        run.say(f"figures: {reinsurer} premium share {format_minor(share)}")
    run.step(
        "insurer-a",
        "pay the first premium instalment",
        "ins.account",
        "L-1",
        {"instalment": 0, "amount": INSTALMENTS[0]},
    )


def _flow(run: DemoRun) -> None:
    _motor(run)
    _parametric(run)
    _treaty(run)


DEMO = Demo(
    members=("insurer-a", "insurer-b", "broker", "re-1", "re-2", "re-3", "oracle", "registry"),
    flow=_flow,
    registry="registry",
    oracle="oracle",
    lists={
        "insurer-a": [(LIST_TYPE, "phone", LISTED_PHONE)],
        "insurer-b": [(LIST_TYPE, "phone", "13900000003")],
    },
)
