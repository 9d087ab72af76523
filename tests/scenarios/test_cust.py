"""Asset custody (SCENARIOS.md §5) at the contract: the five roles, rules as data, the
check on the post-trade portfolio, who may do what; each refusal named and changing
nothing (``tests/scenarios/_book.py``)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from scenarios.cust import CONTRACT, FUNDS, violations
from scenarios.cust._demo import BONDS, ORDER, RULES_V1, RULES_V2
from tests.scenarios._book import Book
from tests.scenarios._net import Net

FIVE = ("entrustor", "manager", "custodian", "adviser", "auditor")
OTHERS = FIVE[1:]


def fund(**rules: Any) -> Book:
    book = Book(Net(dict.fromkeys([*FIVE, "outsider"], "member"), [CONTRACT]), FUNDS)
    draft = {r: r for r in OTHERS} | {
        "currency": "CNY",
        "cash": 100_000_000_00,
        "rules": RULES_V1 | rules,
    }
    book.step("entrustor", "draft", "F-1", draft, OTHERS)
    return book


def active(**rules: Any) -> Book:
    book = fund(**rules)
    book.step("entrustor", "sign", "F-1", {}, OTHERS)
    for bond, (klass, issuer, rating, price) in BONDS.items():
        book.step("manager", "list_security", "F-1", {"instrument": bond, "class": klass,
                  "issuer": issuer, "rating": rating, "price": price})  # fmt: skip
    return book


def propose(book: Book, iid: str, **changes: Any) -> None:
    book.step("adviser", "propose", "F-1",
              {"instruction": iid, **ORDER, "counterparty": "BROKER-A"} | changes)  # fmt: skip


def test_the_agreement_needs_all_five(monkeypatch: pytest.MonkeyPatch) -> None:
    book = fund()
    with pytest.raises(Exception, match="auditor"):
        book.step("entrustor", "sign", "F-1", {}, ("manager", "custodian", "adviser"))
    assert book.step("entrustor", "sign", "F-1", {}, OTHERS).state == "ACTIVE"
    bad = Book(Net(dict.fromkeys(FIVE, "member"), [CONTRACT]), FUNDS)
    bad.refused("five different members", "entrustor", "draft", "F-2",
                {r: "manager" for r in OTHERS} | {"currency": "CNY", "cash": 1,
                 "rules": RULES_V1})  # fmt: skip


def test_a_breach_is_named_and_refused_until_the_rules_are_amended() -> None:
    book = active()
    propose(book, "I-1")
    book.refused("only the manager", "adviser", "submit", "F-1", {"instruction": "I-1"})
    failed = book.step("manager", "submit", "F-1", {"instruction": "I-1"})
    entry = failed.attrs["instructions"]["I-1"]
    assert (entry["state"], entry["rules_version"], entry["violations"]) == (
        "CHECKED_FAIL",
        1,
        ["max_issuer: ACME 14.70 % of NAV above 10.00 %"],
    )
    book.refused("did not pass its check", "custodian", "accept", "F-1", {"instruction": "I-1"})
    book.refused("only the custodian", "manager", "settle", "F-1",
                 {"instruction": "I-1", "bank_ref": "X"})  # fmt: skip
    book.refused("needs the signature of auditor", "manager", "amend_rules", "F-1",
                 {"params": RULES_V2},
                 ("entrustor", "custodian", "adviser"))  # fmt: skip
    amended = book.step("manager", "amend_rules", "F-1", {"params": RULES_V2}, FIVE)
    assert amended.attrs["rules"] == {"version": 2, "params": RULES_V2}
    passed = book.step("manager", "submit", "F-1", {"instruction": "I-1"})
    assert passed.attrs["instructions"]["I-1"]["state"] == "CHECKED_PASS"
    assert passed.attrs["instructions"]["I-1"]["rules_version"] == 2
    book.refused("is CHECKED_PASS, not ACCEPTED", "custodian", "settle", "F-1",
                 {"instruction": "I-1", "bank_ref": "X"})  # fmt: skip
    book.step("custodian", "accept", "F-1", {"instruction": "I-1"})
    settled = book.step("custodian", "settle", "F-1", {"instruction": "I-1", "bank_ref": "B-1"})
    assert settled.attrs["cash"] == 100_000_000_00 - 150_000 * 98_00
    assert settled.attrs["positions"] == {"ACME-2027": 150_000}
    book.refused("only the custodian", "manager", "report_nav", "F-1", {"date": "2025-01-06"})
    navs = book.step("custodian", "report_nav", "F-1", {"date": "2025-01-06"}).attrs["navs"]
    assert navs == [{"date": "2025-01-06", "nav": 100_000_000_00}]


def test_the_check_names_every_rule() -> None:
    securities = {b: {"class": c, "issuer": i, "rating": r, "price": p}
                  for b, (c, i, r, p) in BONDS.items()}  # fmt: skip
    securities["JUNK-1"] = {"class": "equity", "issuer": "JUNK", "rating": "B", "price": 1_00}
    empty = {"cash": 100_000_000_00, "positions": {}}
    monday = date(2025, 1, 6)

    def check(params: dict[str, Any], portfolio: Any = empty, day: date = monday,
              **order: Any) -> list[str]:  # fmt: skip
        base = {"side": "buy", "instrument": "CGB-2030", "qty": 1, "price": 100_00,
                "counterparty": "BROKER-A"}  # fmt: skip
        return violations(params, portfolio, securities, base | order, day)

    assert check(RULES_V1) == []
    assert check(RULES_V1, instrument="JUNK-1", price=1_00) == [
        "allowed_classes: equity is not allowed",
        "min_rating: B is below AA",
    ]
    assert check(RULES_V1, counterparty="SHADY-BROKER") == [
        "prohibited_counterparties: SHADY-BROKER"
    ]
    assert check(RULES_V1 | {"trading_days": [0, 1, 2, 3, 4]}, day=date(2025, 1, 4)) == [
        "trading_days: 2025-01-04 is outside the trading window"
    ]
    assert check(RULES_V1, qty=960_000) == [
        "max_issuer: MOF 96.00 % of NAV above 10.00 %",
        "min_cash: cash 4.00 % of NAV below 5.00 %",
    ]
    assert check({"max_leverage": 500_000}, qty=600_000) == [
        "max_leverage: holdings 60.00 % of NAV above 50.00 %"
    ]
    assert check({}, qty=1_000_001) == ["no_overdraft: cash would be negative"]
    assert check({}, side="sell") == ["no_short: a position would be negative"]
    assert check({}) == []  # a rule nobody agreed is no rule


def test_only_the_roles_act_and_settlement_keeps_holdings_non_negative() -> None:
    book = active()
    book.refused("only the adviser", "manager", "propose", "F-1",
                 {"instruction": "I-9", **ORDER, "counterparty": "B"})  # fmt: skip
    unlisted = {"instruction": "I-9", **ORDER, "instrument": "NOPE", "counterparty": "B"}
    book.refused("not listed", "adviser", "propose", "F-1", unlisted)
    propose(book, "I-1", qty=10_000)
    book.refused("exists already", "adviser", "propose", "F-1",
                 {"instruction": "I-1", **ORDER, "counterparty": "B"})  # fmt: skip
    book.refused("is unsubmitted", "custodian", "accept", "F-1", {"instruction": "I-1"})
    book.step("manager", "submit", "F-1", {"instruction": "I-1"})
    book.step("manager", "cancel", "F-1", {"instruction": "I-1"})
    book.refused("is CANCELLED", "custodian", "accept", "F-1", {"instruction": "I-1"})
    book.refused("only the entrustor", "outsider", "terminate", "F-1", {}, FIVE)
