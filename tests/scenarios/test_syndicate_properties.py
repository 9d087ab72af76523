"""Every invariant of SCENARIOS.md §8, on random syndicated books, against a model
written from the spec (exact fractions, its own rounding and largest remainder).

- Σ shares over lenders = 100 % at all times; assignments conserve shares.
- Each lender's funding notice = share × amount by largest remainder; Σ = amount.
- Distributions are pro rata as of the record date; Σ allocations = gross.
- Accrual per lender = its funded part × rate × day-count fraction; on assignment the
  accrual to settlement stays with the seller unless traded with accrued; the total
  accrual is unchanged by the transfer.
- Σ lender funded = borrower outstanding.
- An amendment is effective only if yes-votes by share reach its threshold (66⅔ %;
  unanimity for sacred rights).
- Only the agent posts rates and payments; every step is an event of the object.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from scenarios.syndicate import SHARE_UNITS
from tests.scenarios._local_run import LocalRun

F = "SYN-1"
LENDERS = ["bank-a", "bank-b", "bank-c", "bank-d", "bank-e"]
AGENT, BORROWER = "bank-a", "acme"
START = date(2025, 1, 1)
SACRED = {"commitment", "margin", "maturity"}


def split(amount: int, weights: dict[str, int]) -> dict[str, int]:
    names = sorted(m for m, w in weights.items() if w > 0)
    total = sum(weights[m] for m in names)
    quotas = {m: Fraction(amount * weights[m], total) for m in names}
    parts = {m: int(q) for m, q in quotas.items()}
    for m in sorted(names, key=lambda m: (parts[m] - quotas[m], m))[: amount - sum(parts.values())]:
        parts[m] += 1
    return parts


def half_up(x: Fraction) -> int:
    return int(x + Fraction(1, 2)) if x >= 0 else -int(-x + Fraction(1, 2))


def interest(principal: int, rate_ppm: int, start: date, end: date, basis: int) -> int:
    return half_up(Fraction(principal * rate_ppm * (end - start).days, 1_000_000 * basis))


@st.composite
def share_sets(draw: st.DrawFn) -> dict[str, int]:
    cuts = sorted(
        draw(st.lists(st.integers(1, SHARE_UNITS - 1), min_size=4, max_size=4, unique=True))
    )
    bounds = [0, *cuts, SHARE_UNITS]
    return {m: bounds[i + 1] - bounds[i] for i, m in enumerate(LENDERS)}


class Syndicate(RuleBasedStateMachine):
    @initialize(shares=share_sets(), act360=st.booleans(), consent=st.booleans())
    def sign(self, shares: dict[str, int], act360: bool, consent: bool) -> None:
        self.book = LocalRun("syndicate", [*LENDERS, BORROWER, "bank-x"], today="2030-01-01")
        self.basis = 360 if act360 else 365
        self.consent = consent
        terms = {
            "borrower": BORROWER,
            "shares": shares,
            "commitment": 10**12,
            "maturity": "2029-01-01",
            "daycount": "ACT/360" if act360 else "ACT/365F",
            "margin": 10_000,
            "borrower_consent": consent,
        }
        self.book.run(AGENT, "syndicate.sign", F, terms)
        self.book.run(AGENT, "syndicate.satisfy_conditions", F, {})
        self.shares = dict(shares)
        self.margin = 10_000
        self.loans: dict[str, dict[str, Any]] = {}
        self.steps = 2
        self.paid = {m: {"interest": 0, "principal": 0} for m in LENDERS}

    def step(self, actor: str, transition: str, payload: dict[str, Any]) -> dict[str, Any]:
        obj = self.book.run(actor, f"syndicate.{transition}", F, payload)
        self.steps += 1
        assert obj.version == self.steps
        return dict(obj.attrs)

    # Utilisations ---------------------------------------------------------------------

    @precondition(lambda self: len(self.loans) < 3)
    @rule(amount=st.integers(1, 10**11), offset=st.integers(0, 30))
    def draw(self, amount: int, offset: int) -> None:
        loan_id = f"L{len(self.loans) + 1}"
        start = START + timedelta(days=offset)
        self.step(
            BORROWER,
            "request_drawdown",
            {
                "loan": loan_id,
                "amount": amount,
                "start": start.isoformat(),
                "maturity": "2028-12-31",
            },
        )
        attrs = self.step(AGENT, "issue_notices", {"loan": loan_id})
        notices = attrs["loans"][loan_id]["notices"]
        # Notices: largest remainder of share × amount, each within a unit of its quota.
        assert notices == split(amount, self.shares)
        assert sum(notices.values()) == amount
        for m, n in notices.items():
            assert abs(Fraction(amount * self.shares[m], SHARE_UNITS) - n) < 1
        for lender in sorted(m for m, n in notices.items() if n):
            self.step(lender, "fund", {"loan": loan_id})
        self.step(AGENT, "confirm_funding", {"loan": loan_id})
        self.loans[loan_id] = {
            "funded": {m: n for m, n in notices.items() if n},
            "outstanding": amount,
            "next": start,
            "period": None,
        }

    def _open(self) -> list[str]:
        return sorted(k for k, v in self.loans.items() if v["period"] is not None)

    @precondition(
        lambda self: any(v["period"] is None and v["outstanding"] for v in self.loans.values())
    )
    @rule(data=st.data(), days=st.integers(1, 200), base=st.integers(0, 100_000))
    def open_period(self, data: st.DataObject, days: int, base: int) -> None:
        choices = sorted(
            k for k, v in self.loans.items() if v["period"] is None and v["outstanding"]
        )
        loan_id = data.draw(st.sampled_from(choices))
        loan = self.loans[loan_id]
        end = loan["next"] + timedelta(days=days)
        self.step(AGENT, "set_rate", {"loan": loan_id, "end": end.isoformat(), "base": base})
        loan["period"] = {"start": loan["next"], "end": end, "rate": base + self.margin}
        loan["accrued_to"], loan["accrued"], loan["total"] = loan["next"], {}, 0

    def _accrue_model(self, loan: dict[str, Any], to: date) -> None:
        p = loan["period"]
        total = interest(loan["outstanding"], p["rate"], p["start"], to, self.basis)
        for m, n in (
            split(total - loan["total"], loan["funded"]).items() if total > loan["total"] else ()
        ):
            if n:
                loan["accrued"][m] = loan["accrued"].get(m, 0) + n
        loan["total"], loan["accrued_to"] = total, to

    @precondition(lambda self: bool(self._open()))
    @rule(data=st.data(), days=st.integers(0, 200))
    def accrue(self, data: st.DataObject, days: int) -> None:
        loan_id = data.draw(st.sampled_from(self._open()))
        loan = self.loans[loan_id]
        to = min(loan["period"]["end"], loan["accrued_to"] + timedelta(days=days))
        attrs = self.step(AGENT, "accrue", {"loan": loan_id, "to": to.isoformat()})
        self._accrue_model(loan, to)
        held = attrs["loans"][loan_id]
        assert held["accrued"] == {m: n for m, n in loan["accrued"].items() if n}
        # The period's total is one rounding of the whole period to date, however it was
        # cut into segments.
        assert held["period_accrued"] == loan["total"] == sum(held["accrued"].values())

    @precondition(
        lambda self: any(
            v["period"] is not None and v["accrued_to"] == v["period"]["end"]
            for v in self.loans.values()
        )
    )
    @rule(data=st.data())
    def pay_interest(self, data: st.DataObject) -> None:
        ready = sorted(
            k
            for k, v in self.loans.items()
            if v["period"] is not None and v["accrued_to"] == v["period"]["end"]
        )
        loan_id = data.draw(st.sampled_from(ready))
        loan = self.loans[loan_id]
        end = loan["period"]["end"].isoformat()
        pid = f"P{self.steps}"
        if loan["total"] == 0:
            return  # nothing accrued (a zero rate): there is no payment to post
        payment = {
            "payment": pid,
            "loan": loan_id,
            "type": "interest",
            "gross": loan["total"],
            "record_date": end,
        }
        non_agent = data.draw(st.sampled_from([*LENDERS[1:], BORROWER, "bank-x"]))
        self.book.refused("only the agent", non_agent, "syndicate.post_payment", F, payment)
        attrs = self.step(AGENT, "post_payment", payment)
        allocations = attrs["payments"][pid]["allocations"]
        assert allocations == {m: n for m, n in loan["accrued"].items() if n}
        assert sum(allocations.values()) == loan["total"]
        attrs = self.step(AGENT, "distribute", {"payment": pid})
        for m, n in allocations.items():
            self.paid[m]["interest"] += n
        loan["next"], loan["period"] = loan["period"]["end"], None
        assert {m: attrs["paid"][m] for m in LENDERS} == self.paid

    @precondition(
        lambda self: any(v["period"] is None and v["outstanding"] for v in self.loans.values())
    )
    @rule(data=st.data(), fraction=st.fractions(0, 1))
    def repay(self, data: st.DataObject, fraction: Fraction) -> None:
        choices = sorted(
            k for k, v in self.loans.items() if v["period"] is None and v["outstanding"]
        )
        loan_id = data.draw(st.sampled_from(choices))
        loan = self.loans[loan_id]
        gross = max(1, int(loan["outstanding"] * fraction))
        pid = f"P{self.steps}"
        attrs = self.step(
            AGENT,
            "post_payment",
            {
                "payment": pid,
                "loan": loan_id,
                "type": "principal",
                "gross": gross,
                "record_date": loan["next"].isoformat(),
            },
        )
        # Pro rata to the positions as of the record date, summing to the gross.
        expected = split(gross, loan["funded"])
        assert attrs["payments"][pid]["allocations"] == expected
        attrs = self.step(AGENT, "distribute", {"payment": pid})
        for m, n in expected.items():
            loan["funded"][m] -= n
            self.paid[m]["principal"] += n
        loan["funded"] = {m: n for m, n in loan["funded"].items() if n}
        loan["outstanding"] -= gross
        assert attrs["loans"][loan_id]["funded"] == loan["funded"]

    # Assignments ----------------------------------------------------------------------

    @rule(data=st.data(), with_accrued=st.booleans(), fraction=st.fractions(0, 1))
    def assign(self, data: st.DataObject, with_accrued: bool, fraction: Fraction) -> None:
        sellers = [m for m in LENDERS if self.shares[m] > 0]
        seller = data.draw(st.sampled_from(sellers))
        buyer = data.draw(st.sampled_from([m for m in LENDERS if m != seller]))
        share = max(1, int(self.shares[seller] * fraction))
        open_loans = [self.loans[k] for k in self._open()]
        if open_loans:
            settle = max(v["accrued_to"] for v in open_loans)
            if any(settle > v["period"]["end"] for v in open_loans):
                return  # no one date cuts every open period
        else:
            settle = START
        aid = f"A{self.steps}"
        self.step(
            seller,
            "trade_assignment",
            {
                "assignment": aid,
                "buyer": buyer,
                "share": share,
                "settle_date": settle.isoformat(),
                "with_accrued": with_accrued,
            },
        )
        self.book.refused(
            "lacks the consent", buyer, "syndicate.settle_assignment", F, {"assignment": aid}
        )
        self.step(AGENT, "consent", {"assignment": aid})
        if self.consent:
            self.book.refused(
                "lacks the consent of the borrower",
                buyer,
                "syndicate.settle_assignment",
                F,
                {"assignment": aid},
            )
            self.step(BORROWER, "consent", {"assignment": aid})
        before = {k: dict(v.get("accrued", {})) for k, v in self.loans.items()}
        totals = {k: v.get("total") for k, v in self.loans.items()}
        for k in self._open():
            self._accrue_model(self.loans[k], settle)
        seller_share = self.shares[seller]
        keys = ("funded", "accrued") if with_accrued else ("funded",)
        for loan in self.loans.values():
            for key in keys:
                if key not in loan:
                    continue
                part = loan[key].get(seller, 0)
                moved = (
                    part if share == seller_share else half_up(Fraction(part * share, seller_share))
                )
                if moved:
                    loan[key][seller] -= moved
                    loan[key][buyer] = loan[key].get(buyer, 0) + moved
                loan[key] = {m: n for m, n in loan[key].items() if n}
        attrs = self.step(buyer, "settle_assignment", {"assignment": aid})
        self.shares[seller] -= share
        self.shares[buyer] += share
        assert attrs["shares"] == self.shares
        for k, loan in self.loans.items():
            held = attrs["loans"][k]
            assert held["funded"] == loan["funded"]
            if loan["period"] is not None:
                assert held["accrued"] == loan["accrued"]
                # The transfer changes no total, and the seller keeps its accrual to
                # settlement unless it sold it.
                assert held["period_accrued"] == loan["total"] == sum(loan["accrued"].values())
                if not with_accrued and totals[k] == loan["total"]:
                    assert held["accrued"].get(seller, 0) == before[k].get(seller, 0)

    # Amendments -----------------------------------------------------------------------

    @rule(
        term=st.sampled_from(["covenant", "margin", "maturity", "commitment"]),
        voters=st.lists(st.sampled_from(LENDERS), unique=True),
        data=st.data(),
    )
    def amend(self, term: str, voters: list[str], data: st.DataObject) -> None:
        aid = f"AM{self.steps}"
        values: dict[str, dict[str, Any]] = {
            "covenant": {"covenant": "max_leverage", "limit": 300},
            "margin": {"margin": 12_000},
            "maturity": {"maturity": "2029-06-30"},
            "commitment": {"amount": 2 * 10**12},
        }
        value = values[term]
        self.step(
            data.draw(st.sampled_from(LENDERS)),
            "propose_amendment",
            {"amendment": aid, "term": term, **value},
        )
        for voter in voters:
            self.step(voter, "vote", {"amendment": aid, "yes": True})
        attrs = self.step(AGENT, "close_vote", {"amendment": aid})
        yes = Fraction(sum(self.shares[m] for m in voters), SHARE_UNITS)
        needed = Fraction(1) if term in SACRED else Fraction(2, 3)
        status = attrs["amendments"][aid]["status"]
        assert status == ("APPROVED" if yes >= needed else "REJECTED")
        if status == "APPROVED" and term == "margin":
            self.margin = 12_000

    # Invariants -----------------------------------------------------------------------

    @invariant()
    def book_balances(self) -> None:
        obj = self.book.objects[F]
        a = obj.attrs
        assert sum(a["shares"].values()) == SHARE_UNITS
        assert all(n >= 0 for n in a["shares"].values())
        total = 0
        for loan_id, loan in a["loans"].items():
            assert (
                sum(loan["funded"].values())
                == loan["outstanding"]
                == self.loans[loan_id]["outstanding"]
            )
            assert sum(loan["accrued"].values()) == loan["period_accrued"]
            total += loan["outstanding"]
        assert total == a["outstanding"]
        # Every step is an event of the object, signed and timed.
        assert obj.version == self.steps


TestSyndicate = Syndicate.TestCase
TestSyndicate.settings = settings(
    max_examples=25,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
