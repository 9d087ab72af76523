"""Letter-of-credit invariants (SCENARIOS.md §6) as properties, each against an oracle
written from the spec:

- the matching rule finds a quantity, amount or late-presentation discrepancy exactly
  when the presentation breaks the term (exact fractions; banking days counted one by
  one on the credit's calendar);
- any sequence of presentations pays only accepted ones, and Σ drawings never exceeds
  amount × (1 + tolerance);
- amendments: the terms change exactly when the beneficiary accepts;
- an eB/L has exactly one holder, and only that holder moves it.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import ContractError
from scenarios.kit import BankingCalendar
from scenarios.lc import BILLS, discrepancies
from tests.scenarios._lc import MEMBERS, Trade
from tests.scenarios.test_lc import docs, operative, terms

_SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PARTIES = {"applicant": "bohi", "beneficiary": "dreyfus"}


@_SETTINGS
@given(
    quantity=st.integers(50_000, 70_000),
    amount=st.integers(25_000_000_00, 35_000_000_00),
    drawn=st.integers(0, 31_000_000_00),
    shipped=st.integers(0, 10),
    after=st.integers(0, 40),
    holidays=st.lists(st.integers(0, 60), max_size=4),
)
def test_matching_names_exactly_the_broken_terms(
    quantity: int, amount: int, drawn: int, shipped: int, after: int, holidays: list[int]
) -> None:
    start = date(2025, 1, 1)
    agreed = terms(holidays=sorted({(start + timedelta(days=h)).isoformat() for h in holidays}))
    ship_day = start + timedelta(days=shipped)
    presented_on = ship_day + timedelta(days=after)
    found = discrepancies(
        agreed, PARTIES, docs(quantity, amount, ship_day.isoformat()), presented_on, drawn
    )
    kinds = {f.split(":")[0] for f in found}
    off = abs(Fraction(quantity, agreed["quantity"]) - 1) > Fraction(
        agreed["quantity_tolerance"], 10**6
    )
    assert ("quantity" in kinds) == off
    ceiling = Fraction(agreed["amount"] - drawn) * (1 + Fraction(agreed["tolerance"], 10**6))
    assert ("amount" in kinds) == (amount > max(ceiling, Fraction(0)) // 1)
    assert ("late_shipment" in kinds) == (ship_day > date.fromisoformat(agreed["latest_shipment"]))
    calendar = BankingCalendar.of(agreed["weekend"], agreed["holidays"])
    banking = [
        d for k in range(1, 200) if calendar.is_banking_day(d := ship_day + timedelta(days=k))
    ]
    last = min(banking[agreed["presentation_days"] - 1], date.fromisoformat(agreed["expiry"]))
    if not calendar.is_banking_day(ship_day):
        last = min(banking[agreed["presentation_days"]], date.fromisoformat(agreed["expiry"]))
    assert ("late_presentation" in kinds) == (presented_on > last)


@_SETTINGS
@given(
    invoices=st.lists(st.integers(1, 20_000_000_00), min_size=1, max_size=4),
    waive=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_drawings_stay_within_amount_and_tolerance(invoices: list[int], waive: list[bool]) -> None:
    t = Trade()
    t.net.at("2025-01-08")
    operative(t, confirming=False, required=["invoice"])
    drawn = 0
    for n, amount in enumerate(invoices):
        pid, pres = f"P-{n}", {"presentation": f"P-{n}"}
        doc = [{"type": "invoice", "hash": bytes([n]) * 32, "amount": amount,
                "seller": "dreyfus", "buyer": "bohi"}]  # fmt: skip
        t.private("dreyfus", "present", "LC-1", pres | {"docs": doc})
        t.private("ing", "examine", "LC-1", pres | {"registration": "none"})
        entry = t.obj("LC-1").attrs["presentations"][pid]
        assert entry["state"] == "DISCREPANT"  # never registered: always a discrepancy
        try:
            t.private("ing", "pay", "LC-1", pres)
        except ContractError:
            pass
        else:
            raise AssertionError("paid before acceptance")
        t.private("ing", "notify_discrepancies", "LC-1", pres)
        if not waive[n]:
            continue
        t.private("bohi", "waive", "LC-1", pres)
        t.private("ing", "accept_presentation", "LC-1", pres)
        t.private("ing", "release_docs", "LC-1", pres)
        try:
            t.private("ing", "pay", "LC-1", pres)
        except ContractError:
            assert drawn + amount > 31_500_000_00
            continue
        drawn += amount
        assert drawn <= 31_500_000_00
        if t.obj("LC-1").state == "FULLY_DRAWN":
            break
    assert sum(p.get("paid", 0) for p in t.obj("LC-1").attrs["presentations"].values()) == drawn


@_SETTINGS
@given(steps=st.lists(st.sampled_from(["propose", "accept", "refuse"]), max_size=6),
       amounts=st.lists(st.integers(1, 10**12), min_size=6, max_size=6))  # fmt: skip
def test_terms_change_only_when_the_beneficiary_accepts(
    steps: list[str], amounts: list[int]
) -> None:
    t = Trade()
    t.net.at("2025-01-08")
    operative(t)
    agreed, pending = terms()["amount"], None
    for step, amount in zip(steps, amounts, strict=False):
        try:
            if step == "propose":
                t.private("ing", "propose_amendment", "LC-1", {"changes": {"amount": amount}})
            elif step == "accept":
                t.private("dreyfus", "accept_amendment", "LC-1", {},
                          ("bohi", "ing", "socgen", "abn"))  # fmt: skip
            else:
                t.private("dreyfus", "refuse_amendment", "LC-1")
        except ContractError:
            assert (step == "propose") == (pending is not None)
            continue
        if step == "propose":
            pending = amount
        else:
            agreed = pending if step == "accept" else agreed
            pending = None
        assert t.obj("LC-1").attrs["rules"]["params"]["amount"] == agreed


@_SETTINGS
@given(moves=st.lists(st.tuples(st.sampled_from(MEMBERS), st.sampled_from(MEMBERS)), max_size=8))
def test_an_ebl_has_exactly_one_holder(moves: list[tuple[str, str]]) -> None:
    t = Trade()
    t.net.step(BILLS, "carrier", "issue_bill", "BL-1", {"to": "dreyfus", "doc": bytes(32)})
    holder = "dreyfus"
    for by, to in moves:
        try:
            t.net.step(BILLS, by, "endorse_bill", "BL-1", {"to": to})
        except ContractError:
            assert by != holder or to == by
            continue
        assert by == holder and to != by
        holder = to
        assert BILLS.load(t.net.state, "BL-1").parties["holder"] == holder
