"""The auto-loan ABS demo (``riskshare demo --scenario abs``).

The originator ``autofin`` (also the servicer) takes 104 applications and screens every
applicant's phone in one riskshare query against the custodian bank's fraud list: one
recorded receipt covers all 104, and each loan's ``screen`` step consumes one
identifier of it. Approval before screening is refused; the three applicants on the
list are rejected; the custodian ``custody`` co-signs every cash event. The manager
``sec-firm`` structures plan ABS-1 in three tranches (senior 75 %, mezzanine 10 %,
subordinate the rest of the pool balance); a transfer with a 72-month loan is refused
by the eligibility rules, and the other 100 loans enter the pool; the trustee co-signs
the issue. Then four monthly periods, each reported by the servicer (the custodian
co-signs) and distributed through the waterfall by the manager (the trustee co-signs):

1. every loan pays its instalment but four, which go 30 days past due;
2. six loans prepay and the pool balance falls below the floor; the delinquent loans
   are 60 days past due;
3. the pool is still below the floor 30 days on: the JD-style trigger holds, and the
   distribution is refused until anyone (the trustee) applies ``evaluate_triggers``;
   the plan is in early amortisation and principal now pays the notes; two of the
   delinquent loans, 90 days past due, are written off;
4. the pool is cleaned up: every current loan prepays and the originator repurchases
   the two still delinquent; the senior notes are repaid, then the mezzanine, and the
   subordinate takes what is left.

The manager's waterfall comes from the contract's own calculator on the plan as the
ledger holds it. Every figure the ledger ends up with — each report's pool balance and
collections, each distribution's lines, the tranche balances after each period — is
checked against :class:`Independent`: plain arithmetic on the flow's own cash figures,
written apart from the contract, with its own rounding (``fractions.Fraction``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from scenarios.abs._contract import LOANS, PLANS, TRANCHES, pool_balance
from scenarios.abs._waterfall import waterfall
from scenarios.kit import MAX_LEGS, Demo, DemoRun, Leg, Obj, format_minor

__all__ = ["DEMO", "Independent", "loan_id"]

ORIG, CUST, MGR, TRUSTEE = "autofin", "custody", "sec-firm", "trustee"
PLAN = "ABS-1"
LIST_TYPE = "transaction_fraud"
APPLICANTS = 104
LISTED = (7, 42, 77)  # applicants whose phone is on the custodian bank's list
INELIGIBLE = 103  # a 72-month loan: beyond the plan's 60
MISSED = (10, 11, 12, 13)  # stop paying after their first instalment is due
WRITTEN_OFF = (10, 11)  # at 90 days past due, in period 3
REPURCHASED = (12, 13)  # by the originator at the clean-up, in period 4
PREPAID = range(20, 26)  # prepay in period 2
PERIODS = 4
FEES = 1_500_00  # trustee and servicer, per period
COUPONS = {"senior": 40_000, "mezzanine": 60_000}  # 4.00 % and 6.00 % a year
SENIOR_PCT, MEZZANINE_PCT = 75, 10
FLOOR_PCT = 95  # of the pool balance at issue
TRIGGER_DAYS = 30


def loan_id(i: int) -> str:
    return f"L{i:03d}"


def _phone(i: int) -> str:
    return f"1380013{i:04d}"


def _terms(i: int) -> dict[str, Any]:
    return {
        "borrower_ref": hashlib.sha256(b"abs demo borrower %d" % i).hexdigest()[:16],
        "principal": 20_000_00 + (i * 7919 % 61) * 500_00,
        "rate": 60_000 + (i * 37 % 30) * 1_000,
        "term": 72 if i == INELIGIBLE else (36 if i % 2 else 48),
        "servicer": ORIG,
        "custodian": CUST,
    }


@dataclass(frozen=True, slots=True)
class Cash:
    """One cash event of a period, as the servicer's books have it."""

    loan: int
    kind: str  # repay, prepay or repurchase
    principal: int
    interest: int


def _month(balance: int, ppm: int) -> int:
    """One month's interest at ``ppm`` a year, half a unit rounded up."""
    exact = Fraction(balance * ppm, 12 * 1_000_000)
    return int(exact + Fraction(1, 2))


class Independent:
    """The pool, the notes and each period's waterfall from the flow's own figures."""

    def __init__(self, pooled: Sequence[int]) -> None:
        self.outstanding = {i: _terms(i)["principal"] for i in pooled}
        self.live = set(pooled)  # current or delinquent, still in the pool
        initial = sum(self.outstanding.values())
        senior = initial * SENIOR_PCT // 100
        mezzanine = initial * MEZZANINE_PCT // 100
        self.issued = {
            "senior": senior,
            "mezzanine": mezzanine,
            "subordinate": initial - senior - mezzanine,
        }
        self.notes = dict(self.issued)
        self.floor = initial * FLOOR_PCT // 100
        self.amortising = False
        self.below_since: date | None = None

    def period(self, p: int) -> tuple[list[Cash], list[int], list[int]]:
        """Period ``p``'s cash events, the loans then marked past due (30 days a
        period) and those written off after that."""
        cash: list[Cash] = []
        late: list[int] = []
        for i in sorted(self.live):
            t = _terms(i)
            owed = self.outstanding[i]
            if i in MISSED and p == PERIODS:
                cash.append(Cash(i, "repurchase", owed, 0))
            elif i in MISSED:
                late.append(i)
            elif p == PERIODS or (p == 2 and i in PREPAID):
                cash.append(Cash(i, "prepay", owed, _month(owed, t["rate"])))
            else:
                instalment = t["principal"] // t["term"]
                cash.append(Cash(i, "repay", instalment, _month(owed, t["rate"])))
        written_off = [i for i in late if 30 * p >= 90 and i in WRITTEN_OFF]
        for c in cash:
            self.outstanding[c.loan] -= c.principal
        for i in written_off:
            self.outstanding[i] = 0
        self.live = {i for i in self.live if self.outstanding[i] > 0}
        return cash, late, written_off

    def report(self, as_of: date) -> bool:
        """Record a report's date; whether the trigger then holds: the pool below the
        floor on every report from one at least ``TRIGGER_DAYS`` before this one."""
        if self.pool_balance >= self.floor:
            self.below_since = None
        elif self.below_since is None:
            self.below_since = as_of
        since = self.below_since
        return not self.amortising and since is not None and (as_of - since).days >= TRIGGER_DAYS

    @property
    def pool_balance(self) -> int:
        return sum(self.outstanding[i] for i in self.live)

    def distribute(self, available: int) -> dict[str, int]:
        """The period's lines (SCENARIOS.md §1: fees, senior interest, senior principal,
        mezzanine, subordinate), the notes paid down by them."""
        left = available
        lines: dict[str, int] = {}
        for line, due in (
            ("fees", FEES),
            ("senior_interest", _month(self.notes["senior"], COUPONS["senior"])),
            ("senior_principal", self.notes["senior"] if self.amortising else 0),
            ("mezzanine_interest", _month(self.notes["mezzanine"], COUPONS["mezzanine"])),
            ("mezzanine_principal", self.notes["mezzanine"] if self.amortising else 0),
            ("subordinate_principal", self.notes["subordinate"] if self.amortising else 0),
        ):
            lines[line] = min(left, due)
            left -= lines[line]
        lines["subordinate_residual"] = left if self.amortising else 0
        lines["reinvest"] = 0 if self.amortising else left
        for tranche in self.notes:
            self.notes[tranche] -= lines[f"{tranche}_principal"]
        return lines


def _batches(ids: Sequence[int], size: int = MAX_LEGS) -> list[list[int]]:
    return [list(ids[k : k + size]) for k in range(0, len(ids), size)]


def _span(ids: Sequence[int]) -> str:
    return f"{loan_id(ids[0])}–{loan_id(ids[-1])}" if len(ids) > 1 else loan_id(ids[0])


def _legs(ids: Sequence[int], transition: str, payload: Any = None) -> list[Leg]:
    """One leg per loan; ``payload`` a mapping, or a function of the loan's index."""
    return [
        Leg("loan", loan_id(i), -1, transition, payload(i) if callable(payload) else payload or {})
        for i in ids
    ]


def _cash_tx(run: DemoRun, say: str, actor: str, legs: list[Leg]) -> None:
    """A batch of cash events: the custodian approves exactly it, then it is submitted."""
    run.authorize_tx(CUST, legs)
    run.submit(actor, say, legs)


def _originate(run: DemoRun) -> tuple[list[int], str]:
    """Apply, screen, approve or reject, disburse; the loans disbursed and the
    screening receipt."""
    everyone = list(range(APPLICANTS))
    for batch in _batches(everyone):
        run.submit(ORIG, f"apply {_span(batch)}", _legs(batch, "apply", _terms))
    run.step(ORIG, "approve L000 before screening", "abs.approve", "L000", refused=True)
    receipt, hits = run.screen_batch(ORIG, "phone", [_phone(i) for i in everyone])
    listed = [i for i in everyone if hits[i]]
    run.check("applicants on the custodian bank's list", listed, sorted(LISTED))
    for batch in _batches(everyone):
        run.submit(
            ORIG,
            f"screen {_span(batch)} (one identifier of receipt {receipt[:8]}… each)",
            _legs(batch, "screen", {"receipt": receipt}),
        )
    for batch in _batches(everyone):
        legs = [
            Leg("loan", loan_id(i), -1, "reject" if i in listed else "approve", {}) for i in batch
        ]
        rejected = [loan_id(i) for i in batch if i in listed]
        note = f" (reject {', '.join(rejected)}: on a list)" if rejected else ""
        run.submit(ORIG, f"approve {_span(batch)}{note}", legs)
    approved = [i for i in everyone if i not in listed]

    def ref(i: int) -> dict[str, str]:
        return {"bank_ref": f"D-{i:03d}"}

    first = _batches(approved)[0]
    run.submit(
        ORIG,
        f"disburse {_span(first)} before the custodian approves",
        _legs(first, "disburse", ref),
        refused=True,
    )
    for batch in _batches(approved):
        _cash_tx(
            run,
            f"disburse {_span(batch)} (custodian co-signs)",
            ORIG,
            _legs(batch, "disburse", ref),
        )
    return approved, receipt


def _structure(run: DemoRun, approved: list[int], receipt: str) -> Independent:
    pooled = [i for i in approved if i != INELIGIBLE]
    x = Independent(pooled)
    rules = {
        "max_principal": 50_000_00,
        "min_rate": 50_000,
        "max_term": 60,
        "max_dpd": 0,
        "floor": x.floor,
        "trigger_days": TRIGGER_DAYS,
    }
    terms = {
        "trustee": TRUSTEE,
        "servicer": ORIG,
        "custodian": CUST,
        **x.issued,
        "senior_coupon": COUPONS["senior"],
        "mezzanine_coupon": COUPONS["mezzanine"],
        "fees": FEES,
        "rules": rules,
    }
    issued = ", ".join(f"{t} {format_minor(x.issued[t])}" for t in TRANCHES)
    run.step(MGR, f"structure {PLAN}: {issued}", "abs.create", PLAN, terms)
    run.say(f"figures: issued {issued}; floor {format_minor(x.floor)}")

    def transfer(ids: list[int], say: str, refused: bool = False) -> None:
        payload = {"loans": [loan_id(i) for i in ids]}
        run.authorize(MGR, "abs.transfer_to_pool", PLAN, payload)
        run.step(ORIG, say, "abs.transfer_to_pool", PLAN, payload, refused=refused)

    batches = _batches(pooled, 15)
    transfer(
        [*batches[0][:14], INELIGIBLE],
        f"transfer 14 loans and {loan_id(INELIGIBLE)} (72 months; the rules allow 60)",
        refused=True,
    )
    for batch in batches:
        transfer(batch, f"transfer {_span(batch)} into the pool (the manager co-signs)")
    run.authorize(TRUSTEE, "abs.issue", PLAN)
    run.step(MGR, f"issue {PLAN}'s notes (the trustee co-signs)", "abs.issue", PLAN)
    # Each pooled loan, as the manager's replica holds it: screened with the one receipt.
    state = run.state(MGR)
    held = [LOANS.get(state, loan_id(i)) for i in pooled]
    run.check(
        f"loans in {PLAN}'s pool, each screened with receipt {receipt[:8]}…",
        sum(1 for o in held if o and o.attrs.get("plan") == PLAN and o.attrs["screen"] == receipt),
        len(pooled),
    )
    run.check(
        f"{PLAN}'s pool balance at issue",
        _money(pool_balance(state, PLAN)),
        _money(sum(x.issued.values())),
    )
    return x


def _collect(run: DemoRun, p: int, cash: list[Cash]) -> None:
    paid = [c for c in cash if c.kind != "repurchase"]
    for batch in _batches(range(len(paid))):
        events = [paid[k] for k in batch]
        legs = [
            Leg(
                "loan",
                loan_id(c.loan),
                -1,
                "repay",
                {
                    "kind": c.kind,
                    "principal": c.principal,
                    "interest": c.interest,
                    "bank_ref": f"R{p}-{c.loan:03d}",
                },
            )
            for c in events
        ]
        kinds = sorted({c.kind for c in events})
        total = sum(c.principal + c.interest for c in events)
        say = f"{' and '.join(kinds)} {len(events)} loans, {format_minor(total)}"
        _cash_tx(run, say, ORIG, legs)
    bought = [c.loan for c in cash if c.kind == "repurchase"]
    if bought:
        _cash_tx(
            run,
            f"repurchase the delinquent {', '.join(map(loan_id, bought))} at their outstanding",
            ORIG,
            _legs(bought, "repurchase"),
        )


def _period(run: DemoRun, x: Independent, p: int, as_of: date) -> None:
    cash, late, written_off = x.period(p)
    _collect(run, p, cash)
    if late:
        run.submit(
            ORIG,
            f"mark {', '.join(map(loan_id, late))} {30 * p} days past due",
            _legs(late, "mark_delinquent", {"dpd": 30 * p}),
        )
    if written_off:
        _cash_tx(
            run,
            f"write off {', '.join(map(loan_id, written_off))} (90 days past due)",
            ORIG,
            _legs(written_off, "write_off"),
        )
    collections = sum(c.principal + c.interest for c in cash)
    report = {
        "as_of": as_of.isoformat(),
        "pool_balance": x.pool_balance,
        "collections": collections,
        "delinquent": len(late) - len(written_off),
        "statement": hashlib.sha256(f"custody statement {PLAN} {as_of}".encode()).digest(),
    }
    trigger = x.report(as_of)
    below = "below" if x.pool_balance < x.floor else "above"
    run.authorize(CUST, "abs.publish_servicer_report", PLAN, report)
    plan = run.step(
        ORIG,
        f"period {p}: report as of {as_of}, pool {format_minor(x.pool_balance)} ({below} "
        "the floor; the custodian co-signs)",
        "abs.publish_servicer_report",
        PLAN,
        report,
    )
    if plan is None:
        return
    run.check(f"period {p} funds available", _money(plan.attrs["available"]), _money(collections))
    if trigger:
        # The manager distributes as if nothing had happened; the ledger refuses it.
        run.authorize(TRUSTEE, "abs.distribute", PLAN, _lines(plan))
        run.step(
            MGR,
            f"period {p}: distribute while the trigger holds, unapplied",
            "abs.distribute",
            PLAN,
            _lines(plan),
            refused=True,
        )
        applied = run.step(
            TRUSTEE,
            "apply the trigger: early amortisation (anyone may)",
            "abs.evaluate_triggers",
            PLAN,
        )
        if applied is None:
            return
        plan = applied
        x.amortising = True
        run.check(f"{PLAN} state", plan.state, "EARLY_AMORTISATION")
        run.check(
            f"{PLAN} below the floor since",
            plan.attrs["trigger"]["below_since"],
            None if x.below_since is None else x.below_since.isoformat(),
        )
    payload = _lines(plan)
    run.authorize(TRUSTEE, "abs.distribute", PLAN, payload)
    after = run.step(
        MGR,
        f"period {p}: distribute {format_minor(collections)} through the waterfall "
        "(the trustee co-signs)",
        "abs.distribute",
        PLAN,
        payload,
    )
    lines = x.distribute(collections)
    run.say(
        f"figures: period {p} {plan.state} collections {format_minor(collections)}: "
        + ", ".join(f"{line} {format_minor(amount)}" for line, amount in lines.items())
    )
    if after is None:
        return
    for line, amount in lines.items():
        run.check(
            f"period {p} {line}",
            _money(after.attrs["distribution"]["lines"][line]),
            _money(amount),
        )
    run.say(
        f"figures: after period {p} "
        + ", ".join(f"{t} {format_minor(x.notes[t])}" for t in TRANCHES)
    )
    for tranche in TRANCHES:
        run.check(
            f"{tranche} balance after period {p}",
            _money(after.attrs["tranches"][tranche]["balance"]),
            _money(x.notes[tranche]),
        )


def _money(amount: int) -> str:
    return format_minor(amount)


def _lines(plan: Obj) -> dict[str, Any]:
    """The manager's waterfall: the contract's calculator on the plan as it stands."""
    a = plan.attrs
    lines = waterfall(
        a["available"],
        a["fees"],
        {t: x["balance"] for t, x in a["tranches"].items()},
        {t: x["coupon"] for t, x in a["tranches"].items()},
        amortising=plan.state != "REVOLVING",
    )
    return {"lines": [{"line": line, "amount": amount} for line, amount in lines]}


def _flow(run: DemoRun) -> None:
    approved, receipt = _originate(run)
    x = _structure(run, approved, receipt)
    for p in range(1, PERIODS + 1):
        _period(run, x, p, run.today - timedelta(days=30 * (PERIODS - p)))
    plan = PLANS.get(run.state(MGR), PLAN)
    held = None if plan is None else {t: plan.attrs["tranches"][t]["balance"] for t in TRANCHES}
    for tranche in TRANCHES:
        run.check(
            f"{tranche} balance at the end, on the manager's replica",
            None if held is None else _money(held[tranche]),
            _money(x.notes[tranche]),
        )
    run.check(
        "the pool balance at the end",
        None if plan is None else _money(pool_balance(run.state(MGR), PLAN)),
        _money(x.pool_balance),
    )


DEMO = Demo(
    members=(ORIG, CUST, MGR, TRUSTEE),
    flow=_flow,
    lists={
        CUST: [(LIST_TYPE, "phone", _phone(i)) for i in LISTED]
        + [(LIST_TYPE, "phone", "13700137000")],
        # Reciprocity: a member asks a list type only if it publishes one of its own.
        ORIG: [(LIST_TYPE, "phone", "13600136000")],
    },
)
