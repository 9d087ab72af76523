"""The syndicated loan demo (``riskshare demo --scenario syndicate``).

A 50,000,000.00 facility with five lenders: one utilisation through two interest
periods, an assignment in the middle of the second (without accrued interest), a
principal repayment, and two amendments — one that fails at 60 % of the shares and one
that passes at 70 %. The steps the ledger must refuse are in the flow too.

Every figure the ledger ends with — each lender's notice, accruals, interest and
principal received — is checked against the computation below, written apart from
the contract: exact fractions (``fractions.Fraction``), its own rounding and its own
largest-remainder split, from the figures of the flow alone.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from scenarios.kit import Demo, DemoRun, format_minor

__all__ = ["DEMO", "Independent"]

FACILITY = "SYN-1"
AGENT, BORROWER = "bank-a", "acme"
SHARES = {"bank-a": 300_000, "bank-b": 250_000, "bank-c": 200_000, "bank-d": 150_000}
SHARES["bank-e"] = 100_000
AMOUNT = 30_000_000_07  # minor units; not a round figure, so the notices have remainders
MARGIN = 15_000  # 1.50 % in parts per million
BASES = (32_500, 34_000)  # each period's base rate
SOLD = 100_000  # bank-b sells 10 % of the facility to bank-e
REPAID = 6_000_000_00


def _split(amount: int, weights: dict[str, int]) -> dict[str, int]:
    """Largest remainder: floors, then one unit each to the largest fractions (ties to
    the lender first in id order)."""
    names = sorted(m for m, w in weights.items() if w > 0)
    total = sum(weights[m] for m in names)
    quotas = {m: Fraction(amount * weights[m], total) for m in names}
    parts = {m: int(q) for m, q in quotas.items()}
    left = amount - sum(parts.values())
    by_remainder = sorted(names, key=lambda m: (-(quotas[m] - parts[m]), m))
    for m in by_remainder[:left]:
        parts[m] += 1
    return parts


def _interest(principal: int, rate_ppm: int, start: date, end: date) -> int:
    exact = Fraction(principal * rate_ppm, 1_000_000) * Fraction((end - start).days, 360)
    whole = int(exact)
    return whole + (1 if exact - whole >= Fraction(1, 2) else 0)


class Independent:
    """The flow's figures computed from its own terms (ACT/360)."""

    def __init__(self, today: date) -> None:
        self.t0 = today - timedelta(days=180)
        self.t1 = today - timedelta(days=90)
        self.mid = today - timedelta(days=45)
        self.t2 = today
        self.notices = _split(AMOUNT, SHARES)
        funded = dict(self.notices)
        rates = [BASES[0] + MARGIN, BASES[1] + MARGIN]
        p1 = _interest(AMOUNT, rates[0], self.t0, self.t1)
        self.accrued1 = _split(p1, funded)
        cut = _interest(AMOUNT, rates[1], self.t1, self.mid)
        accrued2 = _split(cut, funded)
        moved = Fraction(funded["bank-b"] * SOLD, SHARES["bank-b"])
        moved_units = int(moved) + (1 if moved - int(moved) >= Fraction(1, 2) else 0)
        funded["bank-b"] -= moved_units
        funded["bank-e"] += moved_units
        rest = _interest(AMOUNT, rates[1], self.t1, self.t2) - cut
        for m, n in _split(rest, funded).items():
            accrued2[m] = accrued2.get(m, 0) + n
        self.accrued2 = accrued2
        self.funded = funded
        self.principal = _split(REPAID, funded)
        self.shares = {**SHARES, "bank-b": SHARES["bank-b"] - SOLD, "bank-e": 200_000}

    def interest(self, lender: str) -> int:
        return self.accrued1.get(lender, 0) + self.accrued2.get(lender, 0)


def _flow(run: DemoRun) -> None:
    x = Independent(run.today)
    f = FACILITY

    def agent(say: str, transition: str, payload: dict[str, Any], refused: bool = False) -> Any:
        return run.step(AGENT, say, f"syndicate.{transition}", f, payload, refused=refused)

    terms = {
        "borrower": BORROWER,
        "commitment": 50_000_000_00,
        "maturity": (run.today + timedelta(days=3 * 365)).isoformat(),
        "daycount": "ACT/360",
        "margin": MARGIN,
        "borrower_consent": True,
    }
    agent(
        "sign SYN-1: 50,000,000.00, five lenders, margin 1.50%", "sign", {**terms, "shares": SHARES}
    )
    run.step(
        AGENT,
        "sign SYN-2 with shares summing to 95%",
        "syndicate.sign",
        "SYN-2",
        {**terms, "shares": {**SHARES, "bank-e": 50_000}},
        refused=True,
    )
    agent("conditions precedent met", "satisfy_conditions", {})
    run.step(
        BORROWER,
        f"request drawdown L1 of {format_minor(AMOUNT)}",
        "syndicate.request_drawdown",
        f,
        {
            "loan": "L1",
            "amount": AMOUNT,
            "start": x.t0.isoformat(),
            "maturity": (run.today + timedelta(days=365)).isoformat(),
        },
    )
    book = agent("issue funding notices for L1", "issue_notices", {"loan": "L1"})
    if book is not None:
        for lender in sorted(SHARES):
            run.check(
                f"notice to {lender}",
                book.attrs["loans"]["L1"]["notices"][lender],
                x.notices[lender],
            )
    for lender in sorted(SHARES):
        run.step(lender, "fund L1", "syndicate.fund", f, {"loan": "L1"})
    agent("confirm L1 funded", "confirm_funding", {"loan": "L1"})
    period1 = {"loan": "L1", "end": x.t1.isoformat(), "base": BASES[0]}
    run.step(
        "bank-c", "set the rate (not the agent)", "syndicate.set_rate", f, period1, refused=True
    )
    agent(f"set period 1 ({x.t0} to {x.t1}) at 3.25% + 1.50%", "set_rate", period1)
    book = agent("accrue L1 to the period end", "accrue", {"loan": "L1", "to": x.t1.isoformat()})
    p1 = 0 if book is None else book.attrs["loans"]["L1"]["period_accrued"]
    interest = {"loan": "L1", "type": "interest", "record_date": x.t1.isoformat()}
    agent(
        "post interest of one unit more than accrued",
        "post_payment",
        {**interest, "payment": "P1", "gross": p1 + 1},
        refused=True,
    )
    agent(
        f"post period 1 interest {format_minor(p1)}",
        "post_payment",
        {**interest, "payment": "P1", "gross": p1},
    )
    agent("distribute P1", "distribute", {"payment": "P1"})
    agent(
        f"set period 2 ({x.t1} to {x.t2}) at 3.40% + 1.50%",
        "set_rate",
        {"loan": "L1", "end": x.t2.isoformat(), "base": BASES[1]},
    )
    run.step(
        "bank-b",
        f"sell 10% to bank-e, settling {x.mid}",
        "syndicate.trade_assignment",
        f,
        {
            "assignment": "A1",
            "buyer": "bank-e",
            "share": SOLD,
            "settle_date": x.mid.isoformat(),
            "with_accrued": False,
        },
    )
    agent("consent to A1", "consent", {"assignment": "A1"})
    run.step(
        "bank-e",
        "settle A1 before the borrower consents",
        "syndicate.settle_assignment",
        f,
        {"assignment": "A1"},
        refused=True,
    )
    run.step(BORROWER, "consent to A1", "syndicate.consent", f, {"assignment": "A1"})
    run.step(
        "bank-e",
        "settle A1 (accrual cut at the settlement date)",
        "syndicate.settle_assignment",
        f,
        {"assignment": "A1"},
    )
    book = agent("accrue L1 to the period end", "accrue", {"loan": "L1", "to": x.t2.isoformat()})
    p2 = 0 if book is None else book.attrs["loans"]["L1"]["period_accrued"]
    agent(
        f"post period 2 interest {format_minor(p2)}",
        "post_payment",
        {**interest, "record_date": x.t2.isoformat(), "payment": "P2", "gross": p2},
    )
    agent("distribute P2", "distribute", {"payment": "P2"})
    agent(
        f"post a principal repayment of {format_minor(REPAID)}",
        "post_payment",
        {
            "loan": "L1",
            "type": "principal",
            "record_date": x.t2.isoformat(),
            "payment": "P3",
            "gross": REPAID,
        },
    )
    book = agent("distribute P3", "distribute", {"payment": "P3"})
    if book is not None:
        for lender in sorted(SHARES):
            paid = book.attrs["paid"][lender]
            payments = book.attrs["payments"]
            for pid, accrued in (("P1", x.accrued1), ("P2", x.accrued2)):
                run.check(
                    f"{lender} accrued in {pid}'s period",
                    payments[pid]["allocations"].get(lender, 0),
                    accrued.get(lender, 0),
                )
            run.check(f"{lender} share", book.attrs["shares"][lender], x.shares[lender])
            run.check(f"{lender} interest received", paid["interest"], x.interest(lender))
            run.check(f"{lender} principal received", paid["principal"], x.principal[lender])
            run.check(
                f"{lender} funded now",
                book.attrs["loans"]["L1"]["funded"][lender],
                x.funded[lender] - x.principal[lender],
            )
    for amendment, yes, outcome in (
        ("AM-1", ("bank-a", "bank-b", "bank-d"), "REJECTED"),
        ("AM-2", ("bank-a", "bank-c", "bank-e"), "APPROVED"),
    ):
        weight = sum(x.shares[m] for m in yes) * 100 // 1_000_000
        agent(
            f"propose {amendment}: leverage covenant 3.5x",
            "propose_amendment",
            {"amendment": amendment, "term": "covenant", "covenant": "max_leverage", "limit": 350},
        )
        for lender in yes:
            run.step(
                lender,
                f"vote yes on {amendment}",
                "syndicate.vote",
                f,
                {"amendment": amendment, "yes": True},
            )
        book = agent(
            f"close {amendment} with {weight}% yes (needs 66 2/3%)",
            "close_vote",
            {"amendment": amendment},
        )
        if book is not None:
            run.check(
                f"{amendment} outcome", book.attrs["amendments"][amendment]["status"], outcome
            )


DEMO = Demo(
    members=(AGENT, "bank-b", "bank-c", "bank-d", "bank-e", BORROWER),
    flow=_flow,
)
