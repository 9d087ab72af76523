"""Every invariant of SCENARIOS.md §1, on random pools, against a model from the spec.

- ``outstanding = principal − Σ principal repaid − written off ≥ 0``; a loan is in at
  most one pool.
- ``pool_balance = Σ outstanding(loans in the pool)``; a report's collections are
  exactly the pooled loans' cash events since the last report (else refused).
- Only loans eligible at transfer enter the pool; the screening receipt exists before
  ``APPROVED``.
- The waterfall pays in order; tranche payments ≤ tranche balance; Σ lines = funds.
- Triggers cannot be suppressed: once one holds, the plan's next step is the trigger.
- History is append-only: every step is one more event of its object.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from scenarios.abs import LINES, LOANS, PLANS, pool_balance, waterfall
from tests.scenarios._local_run import LocalRun
from tests.scenarios.test_abs import CUST, LISTS, MGR, ORIG, TRUSTEE, expected_waterfall, half_up

_AMOUNT = st.integers(0, 10**12)


@given(
    available=_AMOUNT,
    fees=st.integers(0, 10**9),
    balances=st.fixed_dictionaries({t: _AMOUNT for t in ("senior", "mezzanine", "subordinate")}),
    coupons=st.fixed_dictionaries({t: st.integers(0, 200_000) for t in ("senior", "mezzanine")}),
    amortising=st.booleans(),
)
def test_the_waterfall_pays_in_order_within_balances_and_sums_to_the_funds(
    available: int,
    fees: int,
    balances: dict[str, int],
    coupons: dict[str, int],
    amortising: bool,
) -> None:
    lines = waterfall(available, fees, balances, coupons, amortising=amortising)
    assert [name for name, _ in lines] == list(LINES)
    assert sum(a for _, a in lines) == available and all(a >= 0 for _, a in lines)
    paid = dict(lines)
    for tranche, balance in balances.items():
        assert paid[f"{tranche}_principal"] <= balance
    if not amortising:
        assert paid["senior_principal"] == paid["subordinate_residual"] == 0
    # Priority: a line paid short leaves nothing for any line after it.
    for i, (name, amount) in enumerate(lines[:-2]):
        due = {"fees": fees}.get(name)
        if due is not None and amount < due:
            assert all(a == 0 for _, a in lines[i + 1 :])
    assert lines == expected_waterfall(available, fees, balances, coupons, amortising)


def _loan(i: int) -> dict[str, Any]:
    return {
        "borrower_ref": f"b{i}",
        "principal": 10_000_00 + 1_000_00 * i,
        "rate": 60_000,
        "term": 12 + i,
        "servicer": ORIG,
        "custodian": CUST,
    }


class Pool(RuleBasedStateMachine):
    """Eight loans, six eligible (terms up to 17 months) and pooled, the plan issued;
    then cash events, reports, distributions and the trigger in any order."""

    @initialize(floor=st.integers(0, 90), days=st.integers(1, 60))
    def structure(self, floor: int, days: int) -> None:
        self.run = LocalRun("abs", [ORIG, CUST, MGR, TRUSTEE, LISTS], today="2025-01-02")
        receipt = self.run.net.receipt(ORIG, LISTS, 8, "transaction_fraud", "phone")
        self.loans: dict[str, dict[str, Any]] = {}
        for i in range(8):
            lid = f"L{i}"
            self.run.run(ORIG, "abs.apply", lid, _loan(i))
            # Approval needs the screening receipt first.
            self.run.refused("approve is not allowed when loan", ORIG, "abs.approve", lid, {})
            self.run.run(ORIG, "abs.screen", lid, {"receipt": receipt})
            self.run.run(ORIG, "abs.approve", lid, {})
            self.run.run(ORIG, "abs.disburse", lid, {"bank_ref": f"D{i}"}, [CUST])
            self.loans[lid] = {
                "outstanding": _loan(i)["principal"],
                "state": "CURRENT",
                "in_pool": False,
                "collected": 0,
                "events": 4,
            }
        eligible = [f"L{i}" for i in range(6)]
        total = sum(self.loans[x]["outstanding"] for x in eligible)
        self.floor = total * floor // 100
        self.tranches = {"senior": total * 8 // 10, "mezzanine": total // 10}
        self.tranches["subordinate"] = total - sum(self.tranches.values())
        self.coupons = {"senior": 40_000, "mezzanine": 60_000}
        rules = {"max_term": 17, "max_dpd": 0, "floor": self.floor, "trigger_days": days}
        self.run.run(
            MGR,
            "abs.create",
            "P",
            {
                "trustee": TRUSTEE,
                "servicer": ORIG,
                "custodian": CUST,
                **self.tranches,
                "senior_coupon": self.coupons["senior"],
                "mezzanine_coupon": self.coupons["mezzanine"],
                "fees": 100_00,
                "rules": rules,
            },
        )
        # Only loans eligible at the transfer date enter the pool.
        self.run.refused(
            "eligible", ORIG, "abs.transfer_to_pool", "P", {"loans": ["L0", "L7"]}, [MGR]
        )
        self.run.run(ORIG, "abs.transfer_to_pool", "P", {"loans": eligible}, [MGR])
        for x in eligible:
            self.loans[x]["in_pool"] = True
            self.loans[x]["events"] += 1
        self.run.refused(
            "already in pool", ORIG, "abs.transfer_to_pool", "P", {"loans": ["L0"]}, [MGR]
        )
        self.run.run(MGR, "abs.issue", "P", {}, [TRUSTEE])
        self.days, self.reported, self.day = days, 0, 0
        self.below_since: int | None = None
        self.last_report = 0
        self.available = 0
        self.plan_state = "REVOLVING"

    def _trigger_holds(self) -> bool:
        return (
            self.plan_state == "REVOLVING"
            and self.below_since is not None
            and self.last_report - self.below_since >= self.days
            and self._pooled() < self.floor
        )

    def _pooled(self) -> int:
        return sum(x["outstanding"] for x in self.loans.values() if x["in_pool"])

    @precondition(
        lambda self: any(x["state"] in {"CURRENT", "DELINQUENT"} for x in self.loans.values())
    )
    @rule(
        data=st.data(),
        action=st.sampled_from(["repay", "prepay", "late", "write_off", "repurchase"]),
    )
    def cash(self, data: st.DataObject, action: str) -> None:
        live = sorted(k for k, x in self.loans.items() if x["state"] in {"CURRENT", "DELINQUENT"})
        lid = data.draw(st.sampled_from(live))
        loan = self.loans[lid]
        held = LOANS.load(self.run.net.state, lid)
        if action in {"repay", "prepay"}:
            principal = loan["outstanding"] if action == "prepay" else loan["outstanding"] // 3
            interest = half_up(loan["outstanding"] * 60_000, 12_000_000)
            self.run.refused(
                "exceeds the outstanding",
                ORIG,
                "abs.repay",
                lid,
                {
                    "kind": "repay",
                    "principal": loan["outstanding"] + 1,
                    "interest": 0,
                    "bank_ref": "X",
                },
                [CUST],
            )
            self.run.run(
                ORIG,
                "abs.repay",
                lid,
                {"kind": action, "principal": principal, "interest": interest, "bank_ref": "R"},
                [CUST],
            )
            loan["outstanding"] -= principal
            if loan["in_pool"]:
                loan["collected"] += principal + interest
            if loan["outstanding"]:
                loan["state"] = "CURRENT"
            else:
                loan["state"] = "PREPAID" if action == "prepay" else "PAID_OFF"
        elif action == "late":
            self.run.run(ORIG, "abs.mark_delinquent", lid, {"dpd": 90})
            loan["state"] = "DELINQUENT"
        elif action == "write_off":
            if loan["state"] != "DELINQUENT":
                self.run.refused("write_off is not allowed", ORIG, "abs.write_off", lid, {}, [CUST])
                return
            self.run.run(ORIG, "abs.write_off", lid, {}, [CUST])
            loan["outstanding"], loan["state"] = 0, "WRITTEN_OFF"
        else:
            breach = held.attrs["dpd"] > 0 or held.state != "CURRENT"
            if not loan["in_pool"] or not breach:
                self.run.refused(
                    "in no pool|no eligibility breach", ORIG, "abs.repurchase", lid, {}, [CUST]
                )
                return
            self.run.run(ORIG, "abs.repurchase", lid, {}, [CUST])
            loan["collected"] += loan["outstanding"]
            loan["outstanding"], loan["state"], loan["in_pool"] = 0, "REPURCHASED", False
        loan["events"] += 1

    @precondition(lambda self: not self._trigger_holds())
    @rule(gap=st.integers(1, 40), wrong=st.integers(1, 100))
    def report(self, gap: int, wrong: int) -> None:
        self.day += gap
        as_of = (date(2025, 1, 2) + timedelta(days=self.day)).isoformat()
        self.run.at(max(as_of, "2025-01-02"))
        collected = sum(x["collected"] for x in self.loans.values())
        report = {
            "as_of": as_of,
            "pool_balance": self._pooled(),
            "collections": collected - self.reported,
            "delinquent": 0,
            "statement": b"s" * 32,
        }
        self.run.refused(
            "does not reconcile",
            ORIG,
            "abs.publish_servicer_report",
            "P",
            {**report, "collections": report["collections"] + wrong},
            [CUST],
        )
        self.run.refused(
            "does not reconcile",
            ORIG,
            "abs.publish_servicer_report",
            "P",
            {**report, "pool_balance": report["pool_balance"] + wrong},
            [CUST],
        )
        self.run.run(ORIG, "abs.publish_servicer_report", "P", report, [CUST])
        self.available += collected - self.reported
        self.reported = collected
        self.last_report = self.day
        if self._pooled() < self.floor:
            self.below_since = self.day if self.below_since is None else self.below_since
        else:
            self.below_since = None

    @precondition(lambda self: self.available > 0)
    @rule()
    def distribute(self) -> None:
        if self._trigger_holds():
            # Not suppressible: the distribution waits for the trigger, which anyone applies.
            lines = expected_waterfall(self.available, 100_00, self.tranches, self.coupons, False)
            self.run.refused(
                "trigger_first",
                MGR,
                "abs.distribute",
                "P",
                {"lines": [{"line": n, "amount": a} for n, a in lines]},
                [TRUSTEE],
            )
            self.run.run(LISTS, "abs.evaluate_triggers", "P", {})
            self.plan_state = "EARLY_AMORTISATION"
        amortising = self.plan_state != "REVOLVING"
        lines = expected_waterfall(self.available, 100_00, self.tranches, self.coupons, amortising)
        self.run.run(
            MGR,
            "abs.distribute",
            "P",
            {"lines": [{"line": n, "amount": a} for n, a in lines]},
            [TRUSTEE],
        )
        for tranche in self.tranches:
            self.tranches[tranche] -= dict(lines)[f"{tranche}_principal"]
        self.available = 0

    @precondition(lambda self: not self._trigger_holds() and self.plan_state == "REVOLVING")
    @rule()
    def no_trigger(self) -> None:
        self.run.refused("no trigger holds", LISTS, "abs.evaluate_triggers", "P", {})

    @invariant()
    def balances(self) -> None:
        state = self.run.net.state
        for lid, model in self.loans.items():
            held = LOANS.load(state, lid)
            a = held.attrs
            assert a["outstanding"] == model["outstanding"] >= 0
            assert a["outstanding"] == a["principal"] - a["principal_repaid"] - a["written_off"]
            assert a["in_pool"] == model["in_pool"]
            assert len(LOANS.events(state, lid)) == held.version == model["events"]
        assert pool_balance(state, "P") == self._pooled()
        plan = PLANS.load(state, "P")
        assert plan.state == self.plan_state
        assert {t: x["balance"] for t, x in plan.attrs["tranches"].items()} == self.tranches
        assert all(b >= 0 for b in self.tranches.values())


TestPool = Pool.TestCase
TestPool.settings = settings(
    max_examples=15,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
