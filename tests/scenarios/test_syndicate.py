"""Syndicated loans (``scenarios.syndicate``, SCENARIOS.md §8) on the kit's engine.

The demo flow runs here in process with every figure checked against its independent
computation; each bad input is refused with a precise reason and changes nothing;
``test_syndicate_properties`` checks every §8 invariant on random books, and
``test_syndicate_e2e`` runs the facility through real gateways.
"""

from __future__ import annotations

from typing import Any

import pytest

from scenarios.syndicate import DEMO, passes, pro_rata
from tests.scenarios._local_run import LocalRun

F = "SYN-1"
SHARES = {"bank-a": 300_000, "bank-b": 250_000, "bank-c": 200_000, "bank-d": 150_000}
SHARES["bank-e"] = 100_000
TERMS = {
    "borrower": "acme",
    "shares": SHARES,
    "commitment": 10_000_000_00,
    "maturity": "2028-01-01",
    "daycount": "ACT/365F",
    "margin": 20_000,
    "borrower_consent": False,
}


def test_the_demo_flow_matches_its_independent_computation() -> None:
    book = LocalRun("syndicate", DEMO.members)
    DEMO.flow(book)
    assert len(book.checks) == 37
    assert [c for c in book.checks if c[1] != c[2]] == []
    refused = [o for o in book.outcomes if o[2] != "applied"]
    assert [r[2].partition(":")[2].strip()[:30] for r in refused] == [
        "shares_whole: the lenders' sha",
        "only the agent of facility 'SY",
        "interest of the period is 3562",
        "assignment 'A1' lacks the cons",
    ]


@pytest.fixture
def drawn() -> LocalRun:
    book = LocalRun("syndicate", [*SHARES, "acme", "bank-x"])
    book.run("bank-a", "syndicate.sign", F, TERMS)
    book.run("bank-a", "syndicate.satisfy_conditions", F, {})
    loan = {"loan": "L1", "amount": 4_000_000_00, "start": "2025-01-01", "maturity": "2026-01-01"}
    book.run("acme", "syndicate.request_drawdown", F, loan)
    book.run("bank-a", "syndicate.issue_notices", F, {"loan": "L1"})
    for lender in SHARES:
        book.run(lender, "syndicate.fund", F, {"loan": "L1"})
    book.run("bank-a", "syndicate.confirm_funding", F, {"loan": "L1"})
    book.run("bank-a", "syndicate.set_rate", F, {"loan": "L1", "end": "2025-04-01", "base": 1})
    return book


def test_bad_input_is_refused_precisely_and_changes_nothing(drawn: LocalRun) -> None:
    book = drawn
    fresh = LocalRun("syndicate", [*SHARES, "acme"])
    fresh.refused(
        "shares_whole",
        "bank-a",
        "syndicate.sign",
        "SYN-2",
        {**TERMS, "shares": {**SHARES, "bank-e": 100_001}},
    )
    fresh.refused(
        "the borrower is neither",
        "bank-a",
        "syndicate.sign",
        "SYN-2",
        {**TERMS, "borrower": "bank-b"},
    )
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        # Only the agent sets rates, accrues, posts and distributes.
        ("only the agent", "bank-b", "accrue", {"loan": "L1", "to": "2025-02-01"}),
        (
            "only the agent",
            "acme",
            "post_payment",
            {
                "payment": "P",
                "loan": "L1",
                "type": "principal",
                "gross": 1,
                "record_date": "2025-01-01",
            },
        ),
        # A party outside the syndicate takes no step at all.
        ("only the lenders", "bank-x", "vote", {"amendment": "X", "yes": True}),
        (
            "only the borrower",
            "bank-a",
            "request_drawdown",
            {"loan": "L2", "amount": 1, "start": "2025-01-01", "maturity": "2025-12-01"},
        ),
        # The commitment bounds what is drawn.
        (
            "exceeds the undrawn commitment",
            "acme",
            "request_drawdown",
            {"loan": "L2", "amount": 6_000_000_01, "start": "2025-01-01", "maturity": "2025-12-01"},
        ),
        # Nobody books the future (the book's today is 2025-06-30).
        ("is after today", "bank-a", "accrue", {"loan": "L1", "to": "2025-07-01"}),
        ("up to the period end", "bank-a", "accrue", {"loan": "L1", "to": "2025-04-02"}),
        # Interest is paid on a period accrued to its end; principal between periods.
        (
            "accrued to its end",
            "bank-a",
            "post_payment",
            {
                "payment": "P",
                "loan": "L1",
                "type": "interest",
                "gross": 1,
                "record_date": "2025-04-01",
            },
        ),
        (
            "between interest periods",
            "bank-a",
            "post_payment",
            {
                "payment": "P",
                "loan": "L1",
                "type": "principal",
                "gross": 1,
                "record_date": "2025-04-01",
            },
        ),
        ("no posted payment", "bank-a", "distribute", {"payment": "P"}),
        # Assignments: a seller sells what it holds, to a lender of the syndicate.
        (
            "holds a share of 100000",
            "bank-e",
            "trade_assignment",
            {
                "assignment": "A",
                "buyer": "bank-a",
                "share": 100_001,
                "settle_date": "2025-02-01",
                "with_accrued": False,
            },
        ),
        (
            "another lender of the syndicate",
            "bank-a",
            "trade_assignment",
            {
                "assignment": "A",
                "buyer": "bank-x",
                "share": 1,
                "settle_date": "2025-02-01",
                "with_accrued": False,
            },
        ),
        ("only a NOTICED utilisation is funded, not ACTIVE", "bank-a", "fund", {"loan": "L1"}),
        ("no amendment 'X' open", "bank-a", "vote", {"amendment": "X", "yes": True}),
        (
            "names its new margin",
            "bank-a",
            "propose_amendment",
            {"amendment": "M", "term": "margin"},
        ),
    ]
    for match, actor, transition, payload in cases:
        book.refused(match, actor, f"syndicate.{transition}", F, payload)


def test_an_assignment_needs_consents_and_keeps_the_accrual_with_the_seller(
    drawn: LocalRun,
) -> None:
    book = drawn
    trade = {
        "assignment": "A1",
        "buyer": "bank-a",
        "share": 100_000,
        "settle_date": "2025-02-15",
        "with_accrued": False,
    }
    book.run("bank-e", "syndicate.trade_assignment", F, trade)
    book.refused("only the buyer", "bank-e", "syndicate.settle_assignment", F, {"assignment": "A1"})
    book.refused(
        "lacks the consent of the agent",
        "bank-a",
        "syndicate.settle_assignment",
        F,
        {"assignment": "A1"},
    )
    book.refused("needs no borrower consent", "acme", "syndicate.consent", F, {"assignment": "A1"})
    book.run("bank-a", "syndicate.consent", F, {"assignment": "A1"})
    after = book.run("bank-a", "syndicate.settle_assignment", F, {"assignment": "A1"})
    loan = after.attrs["loans"]["L1"]
    # bank-e sold everything: no share, no funded position, but its accrual to the
    # settlement date (45 days of 10 % of 4,000,000.00 at 2.0001 %, ACT/365F) stays.
    assert after.attrs["shares"]["bank-e"] == 0 and "bank-e" not in loan["funded"]
    assert (
        loan["accrued"]["bank-e"]
        == pro_rata(loan["period_accrued"], {m: n for m, n in loan["notices"].items()})["bank-e"]
    )
    assert sum(loan["accrued"].values()) == loan["period_accrued"]
    # A lender with no share still votes, with no weight.
    assert passes({"bank-e": True}, after.attrs["shares"], "covenant") is False


def test_sacred_rights_need_every_lender(drawn: LocalRun) -> None:
    book = drawn
    book.run(
        "bank-b",
        "syndicate.propose_amendment",
        F,
        {"amendment": "M1", "term": "margin", "margin": 10_000},
    )
    for lender in ("bank-a", "bank-b", "bank-c", "bank-d"):  # 90 %
        book.run(lender, "syndicate.vote", F, {"amendment": "M1", "yes": True})
    book.run("bank-e", "syndicate.vote", F, {"amendment": "M1", "yes": False})
    closed = book.run("bank-a", "syndicate.close_vote", F, {"amendment": "M1"})
    assert closed.attrs["amendments"]["M1"]["status"] == "REJECTED"
    assert closed.attrs["margin_ppm"] == 20_000
    book.refused(
        "no amendment 'M1' open", "bank-e", "syndicate.vote", F, {"amendment": "M1", "yes": True}
    )
