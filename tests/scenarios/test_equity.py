"""Equity settlement (``scenarios.equity``, SCENARIOS.md §9) on real contracts.

The demo flow runs in process with its cap table checked against its independent
computation; each bad input of §9 is refused with a precise reason and changes
nothing; ``test_equity_properties`` checks the invariants on random books.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from scenarios.equity import DEMO, TRADES
from scenarios.kit import Holdings, Leg
from tests.scenarios._local_run import LocalRun

HOLD = Holdings("equity")
MEMBERS = ["acme", "cashbank", "csd", "founder-a", "founder-b", "fund-x", "bank-z"]
TODAY = "2025-06-30"


def test_the_demo_flow_matches_its_independent_computation() -> None:
    today = dt.date.today().isoformat()
    run = LocalRun("equity", DEMO.members, today=today, params=DEMO.params)
    DEMO.flow(run)
    assert len(run.checks) == 13
    assert [c for c in run.checks if c[1] != c[2]] == []
    refused = [o[2] for o in run.outcomes if o[2] != "applied"]
    assert [r.split(":")[1].strip() for r in refused] == [
        "cash_bank",
        "settle_instruction is not allowed when instruction 'T5~P' is PENDING",
        "eligible_holder",
        "settlement is within [" + refused[3].split("[", 1)[1].split(":")[0].strip(),
    ]
    assert "after the cut-off" in refused[3]


@pytest.fixture
def book() -> LocalRun:
    run = LocalRun("equity", MEMBERS, today=TODAY, params={"equity.cash_banks": ["cashbank"]})
    run.run(
        "acme",
        "equity.create",
        "ACME-A",
        {"kind": "share", "rofr_days": 30, "eligible": ["founder-a", "founder-b", "fund-x"]},
    )
    run.run("acme", "equity.issue", "ACME-A", {"to": "founder-a", "qty": 1000})
    run.run("cashbank", "equity.create", "USD", {"kind": "cash"})
    run.run("cashbank", "equity.issue", "USD", {"to": "fund-x", "qty": 1_000_000})
    run.run("cashbank", "equity.issue", "USD", {"to": "founder-b", "qty": 1_000_000})
    return run


def trade(
    run: LocalRun,
    tid: str,
    seller: str,
    buyer: str,
    qty: int,
    *,
    settle: str = TODAY,
    cutoff: str = TODAY,
    allocate: bool = True,
) -> None:
    run.run(
        seller,
        "equity.propose",
        tid,
        {
            "buyer": buyer,
            "operator": "csd",
            "security": "ACME-A",
            "qty": qty,
            "cash": "USD",
            "price": 100,
            "trade_date": "2025-06-01",
            "settle_date": settle,
            "cutoff": cutoff,
        },
    )
    run.run(buyer, "equity.confirm", tid, {})
    run.run("csd", "equity.instruct", tid, {})
    run.run(seller, "equity.allocate", f"{tid}~D", {})
    run.run(seller, "equity.approve", f"{tid}~P", {})
    run.run(buyer, "equity.approve", f"{tid}~D", {})
    if allocate:
        run.run(buyer, "equity.allocate", f"{tid}~P", {})


def settle(tids: list[str]) -> list[Leg]:
    return [Leg("trade", t, -1, "settle", {}) for t in tids]


def test_bad_input_is_refused_precisely_and_changes_nothing(book: LocalRun) -> None:
    run = book
    # Cash comes from a cash bank only; a founder may not issue the company's shares.
    run.refused("only a cash bank issues cash", "acme", "equity.create", "X", {"kind": "cash"})
    run.refused(
        "only the issuer", "founder-a", "equity.issue", "ACME-A", {"to": "founder-a", "qty": 1}
    )
    run.refused(
        "the holder is not eligible", "acme", "equity.issue", "ACME-A", {"to": "bank-z", "qty": 1}
    )
    # A holder surrenders shares to be burned only with the issuer's signature.
    run.refused(
        "needs the signature of the issuer of ACME-A 'acme'",
        "founder-a",
        "equity.burn",
        "ACME-A",
        {"qty": 1},
    )
    run.refused(
        "holds 1000 ACME-A free to move, not 1001",
        "founder-a",
        "equity.burn",
        "ACME-A",
        {"qty": 1001},
        ["acme"],
    )
    run.run("founder-a", "equity.burn", "ACME-A", {"qty": 1}, ["acme"])
    assert HOLD.audit(run.net.state, "ACME-A").burned == {"burned": 1}
    # A trade is between two sides, of a share class for cash, dated no later than today.
    terms: dict[str, Any] = {
        "buyer": "fund-x",
        "operator": "csd",
        "security": "ACME-A",
        "qty": 10,
        "cash": "USD",
        "price": 100,
        "trade_date": TODAY,
        "settle_date": TODAY,
        "cutoff": TODAY,
    }
    run.refused("a trade has two sides", "fund-x", "equity.propose", "T", terms)
    run.refused(
        "no cash instrument 'ACME-A'",
        "founder-a",
        "equity.propose",
        "T",
        {**terms, "cash": "ACME-A"},
    )
    run.refused(
        "trade date ≤ settlement date ≤ cut-off",
        "founder-a",
        "equity.propose",
        "T",
        {**terms, "cutoff": "2025-06-29"},
    )
    run.refused(
        "is after today",
        "founder-a",
        "equity.propose",
        "T",
        {**terms, "trade_date": "2025-07-01", "settle_date": "2025-07-01", "cutoff": "2025-07-01"},
    )
    run.run("founder-a", "equity.propose", "T", terms)
    run.refused("only the buyer", "founder-a", "equity.confirm", "T", {})
    run.run("fund-x", "equity.confirm", "T", {})
    run.refused("only the operator", "founder-a", "equity.instruct", "T", {})
    run.run("csd", "equity.instruct", "T", {})
    # A negative holding: fund-x cannot lock more cash than it holds, nor founder-b
    # shares it does not have.
    run.run("acme", "equity.issue", "ACME-A", {"to": "founder-b", "qty": 5})
    run.run("founder-b", "equity.propose", "U", {**terms, "qty": 10})
    run.run("fund-x", "equity.confirm", "U", {})
    run.run("csd", "equity.instruct", "U", {})
    run.refused(
        "founder-b holds 5 ACME-A free to move, not 10", "founder-b", "equity.allocate", "U~D", {}
    )
    run.refused("only the sender", "fund-x", "equity.allocate", "T~D", {})
    run.run("founder-a", "equity.allocate", "T~D", {})
    run.refused("already allocated", "founder-a", "equity.allocate", "T~D", {})
    # A DvP leg without its allocation: the whole settlement is refused.
    run.run("founder-a", "equity.approve", "T~P", {})
    run.run("fund-x", "equity.approve", "T~D", {})
    run.refused("instruction 'T~P' is PENDING", "csd", "equity.settle", "T", {})
    run.run("fund-x", "equity.allocate", "T~P", {})
    # The operator alone settles; fund-x is a new holder within the 30-day window.
    run.refused("only the operator", "fund-x", "equity.settle", "T", {})
    run.refused("rofr_window", "csd", "equity.settle", "T", {})
    run.refused("cut-off 2025-06-30 has not passed", "fund-x", "equity.fail", "T", {})
    run.at("2025-07-01")
    run.refused("after the cut-off", "csd", "equity.settle", "T", {})
    run.run("bank-z", "equity.fail", "T", {})  # anyone, after the cut-off
    assert HOLD.balance(run.net.state, "ACME-A", "founder-a") == 999
    assert HOLD.balance(run.net.state, "USD", "fund-x") == 1_000_000


def test_a_batch_settles_all_or_nothing_and_a_lock_serves_its_instruction(
    book: LocalRun,
) -> None:
    run = book
    run.run(
        "acme",
        "equity.amend_rules",
        "ACME-A",
        {"params": {"eligible": ["founder-a", "founder-b", "fund-x"]}},
    )  # the issuer waives the ROFR window
    trade(run, "T1", "founder-a", "fund-x", 100)
    trade(run, "T2", "founder-a", "founder-b", 50)
    trade(run, "T3", "founder-a", "fund-x", 850, allocate=False)
    # founder-a's 1000 shares are all locked: nothing is free for another instruction.
    assert HOLD.balance(run.net.state, "ACME-A", "founder-a") == 0
    run.run(
        "founder-a",
        "equity.propose",
        "T4",
        {
            "buyer": "fund-x",
            "operator": "csd",
            "security": "ACME-A",
            "qty": 1,
            "cash": "USD",
            "price": 1,
            "trade_date": TODAY,
            "settle_date": TODAY,
            "cutoff": TODAY,
        },
    )
    run.run("fund-x", "equity.confirm", "T4", {})
    run.run("csd", "equity.instruct", "T4", {})
    run.refused(
        "founder-a holds 0 ACME-A free to move, not 1", "founder-a", "equity.allocate", "T4~D", {}
    )
    before = run.net.snapshot()
    with pytest.raises(Exception, match="'T3~P' is PENDING"):
        run.tx("csd", settle(["T1", "T2", "T3"]))
    assert run.net.snapshot() == before
    run.tx("csd", settle(["T1", "T2"]))
    state = run.net.state
    assert [TRADES.load(state, t).state for t in ("T1", "T2", "T3")] == [
        "SETTLED",
        "SETTLED",
        "INSTRUCTED",
    ]
    assert HOLD.balance(state, "ACME-A", "fund-x") == 100
    assert HOLD.balance(state, "ACME-A", "founder-b") == 50
    assert HOLD.balance(state, "USD", "founder-a") == 150 * 100
    # A settled trade is final.
    run.refused(
        "settle is not allowed when trade 'T1' is SETTLED", "csd", "equity.settle", "T1", {}
    )
    run.refused(
        "cancel is not allowed when trade 'T1' is SETTLED",
        "founder-a",
        "equity.cancel",
        "T1",
        {},
        ["fund-x"],
    )
    # Cancelling T3 needs both sides, and gives founder-a its 850 shares back.
    run.refused("needs the signature of", "founder-a", "equity.cancel", "T3", {})
    run.run("founder-a", "equity.cancel", "T3", {}, ["fund-x"])
    assert HOLD.balance(run.net.state, "ACME-A", "founder-a") == 850
    assert HOLD.audit(run.net.state, "ACME-A").outstanding == 1000
