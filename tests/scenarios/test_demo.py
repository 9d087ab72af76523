"""``riskshare demo --scenario scf|tf``, run as an operator runs it: the real entry point
in a subprocess, which starts its own orderer and five member gateway processes.

The demo compares every step with what the spec says must happen and exits 2 when
anything disagrees; these tests check its exit code, and that what it reports is the
flow: which steps applied, which were refused and why, and that every replica agrees.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

ENTRY = "import sys; from cli import main; sys.argv[0] = 'riskshare'; main()"


def riskshare(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *argv],
        capture_output=True,
        text=True,
        timeout=900,
    )


def outcomes(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["actor"], s["outcome"]) for s in report["steps"]]


def test_scf_demo_json() -> None:
    proc = riskshare("demo", "--scenario", "scf", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert (report["scenario"], report["correct"], report["heads_equal"]) == ("scf", True, True)
    assert sorted(report["heads"]) == [
        "bank-a",
        "bank-b",
        "core",
        "orderer",
        "registry",
        "supplier",
    ]
    assert all(s["correct"] and s["expected"] == s["outcome"] for s in report["steps"])
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
    refusals = [s["detail"] for s in report["steps"] if s["outcome"] == "refused"]
    for detail, reason in zip(
        refusals,
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
    assert approved.startswith("CRRC-001.2 FINANCED v3 700,000.00 holder=bank-a issuer=core"), (
        approved
    )


def test_tf_demo_text() -> None:
    proc = riskshare("demo", "--scenario", "tf")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-2:] == ["ledger heads all equal", "every step as the spec says"]
    assert not [line for line in lines if "UNEXPECTED" in line]
    steps = [line for line in lines if line.startswith(("bank-a ", "bank-b "))]
    assert [line.split(":")[0].split(None, 1)[1] for line in steps] == [
        "register invoice EX 2025/118 as A-1",
        "register the same invoice (typed differently) as B-1",
        "disburse against the flagged B-1",
        "register an altered copy (another amount) as B-2",
        "confirm disbursement of A-1",
        "resolve alert B-1~A-1 before bank-a authorised it",
        "withdraw B-1 by resolving the alert with bank-a",
    ]
    assert "B-1 DUPLICATE_FLAGGED" in steps[1]
    assert "refused" in steps[2] and "DUPLICATE_FLAGGED" in steps[2]
    assert "B-2 REGISTERED" in steps[3]
    assert "refused" in steps[5] and "bank-a has not authorised" in steps[5]
    assert "applied" in steps[6] and "WITHDRAWN" in steps[6]
    assert any("alert B-1~A-1: exact match" in line for line in lines)
    assert any("alert B-2~A-1: similar match" in line for line in lines)


def test_an_unknown_scenario_is_one_error_line_and_exit_2() -> None:
    proc = riskshare("demo", "--scenario", "nope")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ") and "nope" in proc.stderr


def test_ins_demo_figures_match_an_independent_computation() -> None:
    from scenarios.ins._demo import LAYER, LINES, MOTOR, PARAMETRIC

    proc = riskshare("demo", "--scenario", "ins")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-2:] == ["ledger heads all equal", "every step as the spec says"]
    assert not [line for line in lines if "UNEXPECTED" in line]
    figures = [line.split("figures: ", 1)[1] for line in lines if "figures: " in line]
    # The motor claim: min(assessed, limit − deductible, sum insured − nothing paid yet).
    motor = min(MOTOR["assessed"], MOTOR["limit"] - MOTOR["deductible"], MOTOR["sum_insured"])
    # The flight: delayed past the threshold, so the fixed payout.
    assert PARAMETRIC["observed"] >= PARAMETRIC["delay_minutes"]
    # Premium shares: the premium pro rata to the signed lines, which sum to 100 %.
    assert sum(LINES.values()) == 1_000_000
    shares = {r: LAYER["premium"] * line // 1_000_000 for r, line in LINES.items()}
    assert sum(shares.values()) == LAYER["premium"]  # these lines divide it exactly

    def money(minor: int) -> str:
        return f"{minor // 100:,}.{minor % 100:02d}"

    assert figures == [
        f"motor C-A1 paid {money(motor)}",
        f"parametric F-1 paid {money(PARAMETRIC['payout'])}",
        *(f"{r} premium share {money(shares[r])}" for r in sorted(LINES)),
    ]
    steps = [line for line in lines if line[:9].strip() in {"insurer-a", "insurer-b", "broker"}]
    refused = [line.split(":")[0].split(None, 1)[1] for line in steps if ": refused" in line]
    assert refused == [
        "issue P-B1 before its review",
        "mark the flagged C-B1 paid",
        "resolve C-B1~C-A1 before insurer-a authorised it",
        "approve C-A1 for the whole assessment",
        "pay C-A1 before the registry says PAID",
        "claim P-A2 before the oracle's observation",
        "bind L-1 with 80 % signed",
    ]
    assert any("register the same crash (typed differently): applied" in s and
               "C-B1 DUPLICATE_FLAGGED" in s for s in steps)  # fmt: skip
    assert any("a person reviews the hit on P-B1: applied" in s for s in steps)
