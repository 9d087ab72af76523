"""Asset securitisation (``scenarios.abs``, SCENARIOS.md §1) on real contracts.

A pool of 100 auto loans screened with one recorded riskshare query (three applicants
are on a member's list and are rejected), disbursed with the custodian's signature,
transferred into a plan under its eligibility rules (an ineligible loan refuses its
whole batch), issued in three tranches; five monthly periods of repayments, prepayments,
delinquencies, write-offs and repurchases, each reconciled by the servicer's report
and distributed through the waterfall. The pool falls below the floor, the trigger
holds 30 days later, a distribution is refused until ``evaluate_triggers`` is applied,
and principal then amortises. Every figure — collections, pool balance, each waterfall
line, the tranche balances at the end — is computed here, apart from the contract, and
compared with the ledger.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from scenarios.abs import LOANS, PLANS, pool_balance
from tests.scenarios._local_run import LocalRun

ORIG, CUST, MGR, TRUSTEE, LISTS = "autofin", "custody", "trust-co", "trustee", "bank-b"
LISTED = {7, 42, 77}  # applicants the screening found on bank-b's list
INELIGIBLE = 103  # a 72-month term: beyond the plan's 60
REPORTS = ["2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31", "2025-06-30"]
PREPAY = range(20, 48)  # prepay in full in period 2
MISSED = range(10, 15)  # stop paying from period 2
WRITTEN_OFF = (10, 11)
REPURCHASED = (12, 13, 14)


def loan_id(i: int) -> str:
    return f"L{i:03d}"


def terms(i: int) -> dict[str, Any]:
    return {
        "borrower_ref": hashlib.sha256(b"borrower %d" % i).hexdigest()[:16],
        "principal": 10_000_00 + (i * 7919 % 400) * 100_00,
        "rate": 50_000 + (i * 37 % 40) * 1_000,
        "term": 72 if i == INELIGIBLE else (36 if i % 2 else 48),
        "servicer": ORIG,
        "custodian": CUST,
    }


def half_up(num: int, den: int) -> int:
    q, r = divmod(num, den)
    return q + (1 if 2 * r >= den else 0)


def expected_waterfall(
    available: int, fees: int, balances: dict[str, int], coupons: dict[str, int], amortising: bool
) -> list[tuple[str, int]]:
    """Written from §1: fees, senior interest, senior principal, mezzanine (interest,
    principal), subordinate; in the revolving period principal is reinvested."""
    lines, left = [], available
    for name, due in (
        ("fees", fees),
        ("senior_interest", half_up(balances["senior"] * coupons["senior"], 12_000_000)),
        ("senior_principal", balances["senior"] if amortising else 0),
        ("mezzanine_interest", half_up(balances["mezzanine"] * coupons["mezzanine"], 12_000_000)),
        ("mezzanine_principal", balances["mezzanine"] if amortising else 0),
        ("subordinate_principal", balances["subordinate"] if amortising else 0),
    ):
        paid = min(left, due)
        lines.append((name, paid))
        left -= paid
    lines.append(("subordinate_residual", left if amortising else 0))
    lines.append(("reinvest", 0 if amortising else left))
    return lines


def test_a_pool_of_100_loans_through_five_periods_and_a_trigger() -> None:
    run = LocalRun("abs", [ORIG, CUST, MGR, TRUSTEE, LISTS], today="2025-01-10")
    step = run.run
    # One batch query of the 104 applicants' identifiers against bank-b's list; the
    # responder records it, and each loan's screening consumes one identifier of it.
    receipt = run.net.receipt(ORIG, LISTS, 104, "transaction_fraud", "cn_id")
    book: dict[int, dict[str, Any]] = {}
    for i in range(104):
        step(ORIG, "abs.apply", loan_id(i), terms(i))
    run.refused(
        "approve is not allowed when loan 'L000' is APPLIED", ORIG, "abs.approve", "L000", {}
    )
    for i in range(104):
        step(ORIG, "abs.screen", loan_id(i), {"receipt": receipt})
        if i in LISTED:
            step(ORIG, "abs.reject", loan_id(i), {})
            continue
        step(ORIG, "abs.approve", loan_id(i), {})
        if i == 0:  # a cash event needs the custodian bank's signature
            run.refused(
                "needs the signature of custodian 'custody'",
                ORIG,
                "abs.disburse",
                loan_id(i),
                {"bank_ref": f"D{i}"},
            )
        step(ORIG, "abs.disburse", loan_id(i), {"bank_ref": f"D{i}"}, [CUST])
        t = terms(i)
        book[i] = {
            "outstanding": t["principal"],
            "rate": t["rate"],
            "term": t["term"],
            "principal": t["principal"],
            "state": "CURRENT",
        }
    # The receipt covered 104 identifiers: a 105th screening is refused.
    step(ORIG, "abs.apply", "L999", terms(0))
    run.refused(
        "covered 104 identifiers, all already used",
        ORIG,
        "abs.screen",
        "L999",
        {"receipt": receipt},
    )

    pooled = sorted(i for i in book if i != INELIGIBLE)
    assert len(pooled) == 100
    initial = sum(book[i]["outstanding"] for i in pooled)
    senior, mezzanine = initial * 85 // 100, initial * 6 // 100
    balances = {
        "senior": senior,
        "mezzanine": mezzanine,
        "subordinate": initial - senior - mezzanine,
    }
    coupons = {"senior": 40_000, "mezzanine": 60_000}
    fees = 1_000_00
    floor = initial * 80 // 100
    rules = {
        "max_principal": 50_000_00,
        "min_rate": 50_000,
        "max_term": 60,
        "max_dpd": 0,
        "floor": floor,
        "trigger_days": 30,
    }
    step(
        MGR,
        "abs.create",
        "P1",
        {
            "trustee": TRUSTEE,
            "servicer": ORIG,
            "custodian": CUST,
            **balances,
            "senior_coupon": coupons["senior"],
            "mezzanine_coupon": coupons["mezzanine"],
            "fees": fees,
            "rules": rules,
        },
    )
    batches = [pooled[k : k + 15] for k in range(0, 100, 15)]
    run.refused(
        "eligible: the loan fails the plan's eligibility",
        ORIG,
        "abs.transfer_to_pool",
        "P1",
        {"loans": [loan_id(i) for i in [*batches[0][:14], INELIGIBLE]]},
        [MGR],
    )
    for batch in batches:
        step(ORIG, "abs.transfer_to_pool", "P1", {"loans": [loan_id(i) for i in batch]}, [MGR])
    run.refused(
        "was already in pool 'P1'",
        ORIG,
        "abs.transfer_to_pool",
        "P1",
        {"loans": [loan_id(pooled[0])]},
        [MGR],
    )
    step(MGR, "abs.issue", "P1", {}, [TRUSTEE])
    assert pool_balance(run.net.state, "P1") == initial

    plan_state = "REVOLVING"
    below_since: str | None = None
    for period, as_of in enumerate(REPORTS, start=1):
        run.at(as_of)
        collections = 0
        for i in pooled:
            loan = book[i]
            if loan["state"] not in {"CURRENT", "DELINQUENT"}:
                continue
            lid = loan_id(i)
            if period >= 2 and i in MISSED:
                dpd = 30 * (period - 1)
                step(ORIG, "abs.mark_delinquent", lid, {"dpd": dpd})
                loan["state"] = "DELINQUENT"
                if dpd >= 90 and i in WRITTEN_OFF:
                    step(ORIG, "abs.write_off", lid, {}, [CUST])
                    loan["state"], loan["outstanding"] = "WRITTEN_OFF", 0
                elif period == 3 and i in REPURCHASED:
                    step(ORIG, "abs.repurchase", lid, {}, [CUST])
                    collections += loan["outstanding"]
                    loan["state"], loan["outstanding"] = "REPURCHASED", 0
                continue
            interest = half_up(loan["outstanding"] * loan["rate"], 12_000_000)
            if period == 2 and i in PREPAY:
                principal, kind = loan["outstanding"], "prepay"
            else:
                principal, kind = (
                    min(loan["outstanding"], loan["principal"] // loan["term"]),
                    "repay",
                )
            step(
                ORIG,
                "abs.repay",
                lid,
                {
                    "kind": kind,
                    "principal": principal,
                    "interest": interest,
                    "bank_ref": f"R{period}-{i}",
                },
                [CUST],
            )
            collections += principal + interest
            loan["outstanding"] -= principal
            if loan["outstanding"] == 0:
                loan["state"] = "PREPAID" if kind == "prepay" else "PAID_OFF"
        balance = sum(
            book[i]["outstanding"] for i in pooled if book[i]["state"] in {"CURRENT", "DELINQUENT"}
        )
        delinquent = sum(1 for i in pooled if book[i]["state"] == "DELINQUENT")
        report = {
            "as_of": as_of,
            "pool_balance": balance,
            "collections": collections,
            "delinquent": delinquent,
            "statement": hashlib.sha256(as_of.encode()).digest(),
        }
        run.refused(
            "the report does not reconcile",
            ORIG,
            "abs.publish_servicer_report",
            "P1",
            {**report, "collections": collections + 1},
            [CUST],
        )
        step(ORIG, "abs.publish_servicer_report", "P1", report, [CUST])
        below_since = (below_since or as_of) if balance < floor else None
        lines = expected_waterfall(collections, fees, balances, coupons, plan_state != "REVOLVING")
        payload = {"lines": [{"line": n, "amount": a} for n, a in lines]}
        swapped = [payload["lines"][1], payload["lines"][0], *payload["lines"][2:]]
        if (
            plan_state == "REVOLVING"
            and below_since is not None
            and (date.fromisoformat(as_of) - date.fromisoformat(below_since)).days >= 30
        ):
            # The trigger holds: nothing but the trigger may come next.
            run.refused(
                "trigger_first: a trigger holds", MGR, "abs.distribute", "P1", payload, [TRUSTEE]
            )
            step(LISTS, "abs.evaluate_triggers", "P1", {})  # anyone may
            plan_state = "EARLY_AMORTISATION"
            lines = expected_waterfall(collections, fees, balances, coupons, True)
            payload = {"lines": [{"line": n, "amount": a} for n, a in lines]}
            swapped = [payload["lines"][1], payload["lines"][0], *payload["lines"][2:]]
        run.refused(
            "waterfall line 1 is fees, not senior_interest",
            MGR,
            "abs.distribute",
            "P1",
            {"lines": swapped},
            [TRUSTEE],
        )
        plan = step(MGR, "abs.distribute", "P1", payload, [TRUSTEE])
        assert sum(a for _, a in lines) == collections
        for tranche in balances:
            paid = dict(lines)[f"{tranche}_principal"]
            assert paid <= balances[tranche]
            balances[tranche] -= paid
        assert plan.state == plan_state
        assert plan.attrs["distribution"]["lines"] == dict(lines)
        assert {t: x["balance"] for t, x in plan.attrs["tranches"].items()} == balances

    assert plan_state == "EARLY_AMORTISATION"
    assert balances["senior"] < senior and balances["mezzanine"] == mezzanine
    state = run.net.state
    for i in pooled:
        held = LOANS.load(state, loan_id(i))
        assert (held.state, held.attrs["outstanding"]) == (book[i]["state"], book[i]["outstanding"])
    assert PLANS.load(state, "P1").attrs["trigger"]["below_since"] == "2025-03-31"
