"""``riskshare demo --scenario all``, run as an operator runs it: the real entry point in
a subprocess, which runs every registered scenario's demo, each starting its own
orderer and member gateway processes, one after another.

Each demo compares every step with what the spec says must happen and the command exits
2 when anything disagrees. One run serves every test here (a module fixture): each
checks its scenario's part of the report — which steps applied, which were refused and
why, that every replica agrees — and recomputes the figures the demo printed (its
``figures:`` notes) independently from the demo's inputs.
"""

from __future__ import annotations

from typing import Any

import pytest

from scenarios import all_scenarios
from tests.scenarios._entry import riskshare

# Every demo, one after another, on a machine other test modules share.
pytestmark = pytest.mark.timeout(3600)


@pytest.fixture(scope="module")
def reports(demo_reports: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return demo_reports


def outcomes(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["actor"], s["outcome"]) for s in report["steps"]]


def figures(report: dict[str, Any]) -> list[str]:
    return [n.split("figures: ", 1)[1] for n in report["notes"] if n.startswith("figures: ")]


def refused(report: dict[str, Any]) -> list[str]:
    return [s["action"] for s in report["steps"] if s["outcome"] == "refused"]


def money(minor: int) -> str:
    return f"{minor // 100:,}.{minor % 100:02d}"


def test_all_runs_every_registered_demo_and_each_is_right(
    reports: dict[str, dict[str, Any]],
) -> None:
    assert list(reports) == [s.name for s in all_scenarios() if s.demo is not None]
    for name, report in reports.items():
        assert (report["correct"], report["heads_equal"]) == (True, True), name
        assert all(s["correct"] and s["expected"] == s["outcome"] for s in report["steps"])


def test_scf(reports: dict[str, dict[str, Any]]) -> None:
    report = reports["scf"]
    assert sorted(report["heads"]) == [
        "bank-a",
        "bank-b",
        "core",
        "orderer",
        "registry",
        "supplier",
    ]
    assert outcomes(report) == [
        ("core", "applied"),  # issue
        ("core", "refused"),  # the same invoice again
        ("supplier", "applied"),  # accept
        ("supplier", "applied"),  # transfer
        ("core", "refused"),  # transfer by a non-holder
        ("supplier", "applied"),  # apply for financing
        ("supplier", "refused"),  # transfer while locked
        ("bank-a", "applied"),  # approve financing
        ("bank-a", "refused"),  # finance a second time
        ("core", "refused"),  # redeem before maturity
    ]
    details = [s["detail"] for s in report["steps"] if s["outcome"] == "refused"]
    for detail, reason in zip(
        details,
        [
            "already backs certificate 'CRRC-001'",
            "only the holder",
            "FINANCING_PENDING",
            "FINANCED",
            "bank-b refused: at_or_after_maturity",
        ],
        strict=True,
    ):
        assert reason in detail, detail
    approved = report["steps"][7]["detail"]
    assert approved.startswith("CRRC-001.2 FINANCED v3 700,000.00 holder=bank-a issuer=core")


def test_tf(reports: dict[str, dict[str, Any]]) -> None:
    steps = reports["tf"]["steps"]
    assert [s["action"] for s in steps] == [
        "register invoice EX 2025/118 as A-1",
        "register the same invoice (typed differently) as B-1",
        "disburse against the flagged B-1",
        "register an altered copy (another amount) as B-2",
        "confirm disbursement of A-1",
        "resolve alert B-1~A-1 before bank-a authorised it",
        "withdraw B-1 by resolving the alert with bank-a",
    ]
    assert "B-1 DUPLICATE_FLAGGED" in steps[1]["detail"]
    assert steps[2]["outcome"] == "refused" and "DUPLICATE_FLAGGED" in steps[2]["detail"]
    assert "B-2 REGISTERED" in steps[3]["detail"]
    assert steps[5]["outcome"] == "refused" and "bank-a has not authorised" in steps[5]["detail"]
    assert steps[6]["outcome"] == "applied" and "WITHDRAWN" in steps[6]["detail"]
    notes = reports["tf"]["notes"]
    assert any(n.startswith("alert B-1~A-1: exact match") for n in notes)
    assert any(n.startswith("alert B-2~A-1: similar match") for n in notes)


def test_ins_figures_match_an_independent_computation(
    reports: dict[str, dict[str, Any]],
) -> None:
    from scenarios.ins._demo import LAYER, LINES, MOTOR, PARAMETRIC

    report = reports["ins"]
    # The motor claim: min(assessed, limit − deductible, sum insured − nothing paid yet).
    motor = min(MOTOR["assessed"], MOTOR["limit"] - MOTOR["deductible"], MOTOR["sum_insured"])
    # The flight: delayed past the threshold, so the fixed payout.
    assert PARAMETRIC["observed"] >= PARAMETRIC["delay_minutes"]
    # Premium shares: the premium pro rata to the signed lines, which sum to 100 %.
    assert sum(LINES.values()) == 1_000_000
    shares = {r: LAYER["premium"] * line // 1_000_000 for r, line in LINES.items()}
    assert sum(shares.values()) == LAYER["premium"]  # these lines divide it exactly
    assert figures(report) == [
        f"motor C-A1 paid {money(motor)}",
        f"parametric F-1 paid {money(PARAMETRIC['payout'])}",
        *(f"{r} premium share {money(shares[r])}" for r in sorted(LINES)),
    ]
    assert refused(report) == [
        "issue P-B1 before its review",
        "mark the flagged C-B1 paid",
        "resolve C-B1~C-A1 before insurer-a authorised it",
        "approve C-A1 for the whole assessment",
        "pay C-A1 before the registry says PAID",
        "claim P-A2 before the oracle's observation",
        "bind L-1 with 80 % signed",
    ]
    by_action = {s["action"]: s for s in report["steps"]}
    assert (
        "C-B1 DUPLICATE_FLAGGED"
        in by_action["register the same crash (typed differently)"]["detail"]
    )
    assert by_action["a person reviews the hit on P-B1"]["outcome"] == "applied"


def test_lc_figures_match_an_independent_computation(reports: dict[str, dict[str, Any]]) -> None:
    from scenarios.lc._demo import AMOUNT, INVOICED, SHIPPED_T, TOLERANCE

    report = reports["lc"]
    # 63,500 t against 60,000 t ± 5 %: off by 3,500 t, more than the 3,000 t allowed.
    assert abs(SHIPPED_T - 60_000) * 100 > 60_000 * TOLERANCE // 10_000
    quantity = f"quantity: {SHIPPED_T} against 60000 ± {TOLERANCE // 10_000} %"
    ceiling = AMOUNT + AMOUNT * TOLERANCE // 1_000_000  # amount × (1 + 5 %)
    paid = min(INVOICED, ceiling)
    assert figures(report) == [
        f"P-1 discrepancies {quantity}",
        f"LC-1 FULLY_DRAWN, paid {money(paid)} of at most {money(ceiling)}",
        f"P-2 discrepancies {quantity}; registry: the documents are DUPLICATE_FLAGGED on the "
        "financing registry (presented under another credit)",
    ]
    assert refused(report) == [
        "make LC-1 operative before confirmation",
        "accept the discrepant P-1",
        "pay P-1 before acceptance",
        "release the documents before the eB/L is Bohi's",
    ]


def test_cust_figures_match_an_independent_computation(
    reports: dict[str, dict[str, Any]],
) -> None:
    from scenarios.cust._demo import BONDS, CASH, ORDER

    report = reports["cust"]
    qty, price = int(ORDER["qty"]), int(ORDER["price"])
    cost = qty * price
    nav = CASH - cost + qty * int(BONDS["ACME-2027"][3])  # priced where it was bought
    share = cost * 10_000 // nav  # basis points of NAV in ACME after the trade
    assert figures(report) == [
        f"I-1 CHECKED_FAIL v1: max_issuer: ACME {share // 100}.{share % 100:02d} % of NAV "
        "above 10.00 %",
        "I-2 prohibited_counterparties: SHADY-BROKER",
        "I-1 CHECKED_PASS v2",
        f"cash {money(CASH - cost)}, ACME-2027 {qty}, NAV {money(nav)}",
    ]
    assert refused(report) == ["submit I-1 (only the manager submits)", "accept the failed I-1"]


def test_an_unknown_scenario_is_one_error_line_and_exit_2() -> None:
    proc = riskshare("demo", "--scenario", "nope", timeout=300)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ") and "nope" in proc.stderr
