"""``riskshare demo --scenario abs``: the auto-loan ABS demo, run as an operator runs it.

The real entry point runs in a subprocess: an orderer and four member gateway
processes; 104 applicants screened in one riskshare query; 100 loans pooled; four
monthly periods through the waterfall, the trigger refusing a distribution until it is
applied. The demo checks every figure the ledger holds against its own independent
computation (``scenarios.abs.Independent``); this test reads its report and does the
arithmetic a third time, from the figures it printed: each period's waterfall from its
collections and the notes outstanding, and the tranche balances from the principal
paid. The flow also runs in process first (fast, no gateways), with the same checks.

The report is the ABS part of the session's one ``--scenario all`` run
(tests/scenarios/conftest.py), which ``tests/scenarios/test_demo.py`` reads too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import pytest
import typer

from gateway._scenario_demo import DemoCheck, DemoStep, ScenarioDemoReport

# The waterfall's line names only: the arithmetic below is this test's own.
from scenarios.abs import DEMO, LINES
from scenarios.abs._demo import COUPONS, CUST, FEES, LIST_TYPE, LISTED, MGR, TRUSTEE, _phone
from scenarios.kit import Leg, Obj
from tests.scenarios._local_run import LocalRun

pytestmark = pytest.mark.timeout(1800)


def minor(text: str) -> int:
    units, cents = text.replace(",", "").split(".")
    return int(units) * 100 + int(cents)


def month(balance: int, ppm: int) -> int:
    return int(Fraction(balance * ppm, 12_000_000) + Fraction(1, 2))


def waterfall(available: int, notes: dict[str, int], amortising: bool) -> dict[str, int]:
    """SCENARIOS.md §1's order, written a third time: each line takes what it is due
    from what is left; in the revolving period no principal is paid."""
    due = {
        "fees": FEES,
        "senior_interest": month(notes["senior"], COUPONS["senior"]),
        "senior_principal": notes["senior"] if amortising else 0,
        "mezzanine_interest": month(notes["mezzanine"], COUPONS["mezzanine"]),
        "mezzanine_principal": notes["mezzanine"] if amortising else 0,
        "subordinate_principal": notes["subordinate"] if amortising else 0,
    }
    paid: dict[str, int] = {}
    for line, amount in due.items():
        paid[line] = min(amount, available - sum(paid.values()))
    left = available - sum(paid.values())
    paid["subordinate_residual"] = left if amortising else 0
    paid["reinvest"] = 0 if amortising else left
    return paid


# The flow in process -------------------------------------------------------------------

# Who co-signs what: the gateways ask whoever the step needs; in process we name them.
COSIGNS = {
    "disburse": CUST,
    "repay": CUST,
    "write_off": CUST,
    "repurchase": CUST,
    "publish_servicer_report": CUST,
    "transfer_to_pool": MGR,
    "issue": TRUSTEE,
    "distribute": TRUSTEE,
}


class InProcess(LocalRun):
    """The demo's flow on real contracts in process: screening is a recorded receipt of
    the custodian bank's answer (hits as its list says), a batch of cash events is
    co-signed only when the custodian approved it."""

    def __init__(self) -> None:
        super().__init__("abs", DEMO.members, today="2025-06-30")
        self.approved: list[Sequence[Leg]] = []

    def run(
        self,
        actor: str,
        kind: str,
        object_id: str,
        payload: Any,
        cosigners: Sequence[str] = (),
    ) -> Obj:
        name = kind.partition(".")[2]
        needed = [COSIGNS[name]] if name in COSIGNS else []
        return super().run(actor, kind, object_id, payload, needed)

    def tx(self, actor: str, legs: Sequence[Leg], cosigners: Sequence[str] = ()) -> None:
        needed = sorted({COSIGNS[x.transition] for x in legs if x.transition in COSIGNS})
        super().tx(actor, legs, needed if any(a is legs for a in self.approved) else [])

    def authorize(self, member: str, kind: str, object_id: str, payload: Any = None) -> None:
        pass

    def authorize_tx(self, member: str, legs: Sequence[Leg]) -> None:
        self.approved.append(legs)

    def screen_batch(
        self, actor: str, id_type: str, values: Sequence[str]
    ) -> tuple[str, list[bool]]:
        receipt = self.net.receipt(actor, CUST, len(values), LIST_TYPE, id_type)
        listed = {_phone(i) for i in LISTED}
        return receipt, [v in listed for v in values]


def test_the_flow_in_process_agrees_with_the_independent_computation() -> None:
    run = InProcess()
    DEMO.flow(run)
    assert run.checks and all(ledger == independent for _, ledger, independent in run.checks)
    refused = [(say, outcome) for _, say, outcome in run.outcomes if outcome != "applied"]
    assert [say for say, _ in refused] == [
        "approve L000 before screening",
        "disburse L000–L016 before the custodian approves",
        "transfer 14 loans and L103 (72 months; the rules allow 60)",
        "period 3: distribute while the trigger holds, unapplied",
    ]
    assert "next step must be evaluate_triggers" in refused[-1][1]


def test_a_figure_that_disagrees_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command fails loudly when the ledger and the independent computation differ."""
    from cli._scenario import run_demo

    report = ScenarioDemoReport("abs", heads={"a": "1:x", "b": "1:x"})
    report.steps.append(DemoStep("autofin", "a step", "applied", "applied", "", 1.0))
    report.checks.append(DemoCheck("senior balance at the end", "0.00", "0.01"))
    monkeypatch.setattr("gateway.scenario.run_scenario_demo", lambda *_, **__: report)
    with pytest.raises(typer.Exit) as exited:
        run_demo("abs", as_json=True)
    assert exited.value.exit_code == 2


# Through the gateways ------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(demo_reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    # The ABS part of the one ``--scenario all`` run (tests/scenarios/conftest.py).
    return demo_reports["abs"]


def test_every_step_and_check_is_as_the_spec_says(report: dict[str, Any]) -> None:
    assert (report["scenario"], report["correct"], report["heads_equal"]) == ("abs", True, True)
    assert sorted(report["heads"]) == ["autofin", "custody", "orderer", "sec-firm", "trustee"]
    assert all(s["expected"] == s["outcome"] for s in report["steps"])
    assert all(c["ledger"] == c["independent"] for c in report["checks"])
    checks = {c["what"]: c["ledger"] for c in report["checks"]}
    assert checks["applicants on the custodian bank's list"] == sorted(LISTED)
    (pooled,) = [v for k, v in checks.items() if k.startswith("loans in ABS-1's pool")]
    assert pooled == 100
    assert checks["ABS-1 state"] == "EARLY_AMORTISATION"


def test_the_distribution_is_refused_until_the_trigger_is_applied(
    report: dict[str, Any],
) -> None:
    steps = report["steps"]
    refused = [s for s in steps if s["outcome"] == "refused"]
    assert [s["action"] for s in refused] == [
        "approve L000 before screening",
        "disburse L000–L016 before the custodian approves",
        "transfer 14 loans and L103 (72 months; the rules allow 60)",
        "period 3: distribute while the trigger holds, unapplied",
    ]
    assert "approve is not allowed when loan 'L000' is APPLIED" in refused[0]["detail"]
    assert "custody has not authorised" in refused[1]["detail"]
    assert "eligible: the loan fails the plan's eligibility" in refused[2]["detail"]
    assert (
        "trigger_first: a trigger holds: the next step must be evaluate_triggers"
        in (refused[3]["detail"])
    )
    at = steps.index(refused[3])
    trigger, distribution = steps[at + 1], steps[at + 2]
    assert (trigger["actor"], trigger["outcome"]) == ("trustee", "applied")
    assert "ABS-1 EARLY_AMORTISATION" in trigger["detail"]
    assert distribution["action"].startswith("period 3: distribute")
    assert distribution["outcome"] == "applied"
    # Screened in one query: every loan's screen step names the same receipt.
    screens = [s["action"] for s in steps if s["action"].startswith("screen L")]
    assert len(screens) == 7 and len({s.rsplit("receipt ", 1)[1] for s in screens}) == 1


def test_the_tranche_balances_match_a_third_computation(report: dict[str, Any]) -> None:
    figures = [n.split("figures: ", 1)[1] for n in report["notes"] if "figures: " in n]
    issued = re.fullmatch(
        r"issued senior ([\d,.]+), mezzanine ([\d,.]+), subordinate ([\d,.]+); floor [\d,.]+",
        figures[0],
    )
    assert issued is not None
    notes = dict(
        zip(("senior", "mezzanine", "subordinate"), map(minor, issued.groups()), strict=True)
    )
    periods = [f for f in figures if re.match(r"period \d ", f)]
    after = [f for f in figures if f.startswith("after period")]
    assert len(periods) == len(after) == 4
    states = []
    for text, balances in zip(periods, after, strict=True):
        head, _, rest = text.partition(": ")
        _, p, state, _, collections = head.split()
        states.append(state)
        lines = {k: minor(v) for k, v in (x.split(" ") for x in rest.split(", "))}
        assert tuple(lines) == LINES
        assert sum(lines.values()) == minor(collections)
        assert lines == waterfall(minor(collections), notes, state != "REVOLVING"), p
        for tranche in notes:
            notes[tranche] -= lines[f"{tranche}_principal"]
            assert notes[tranche] >= 0
        assert balances == f"after period {p} " + ", ".join(
            f"{t} {n // 100:,}.{n % 100:02d}" for t, n in notes.items()
        )
    assert states == ["REVOLVING", "REVOLVING", "EARLY_AMORTISATION", "EARLY_AMORTISATION"]
    checks = {c["what"]: c for c in report["checks"]}
    for tranche, left in notes.items():
        check = checks[f"{tranche} balance at the end, on the manager's replica"]
        assert minor(check["ledger"]) == minor(check["independent"]) == left
    # The senior and mezzanine notes were repaid; the subordinate took the losses.
    assert notes["senior"] == notes["mezzanine"] == 0 < notes["subordinate"]


def test_no_applicant_phone_reaches_the_report(report: dict[str, Any]) -> None:
    text = json.dumps(report)
    assert not any(_phone(i) in text for i in range(104))
