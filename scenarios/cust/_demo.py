"""The custody demo (``riskshare demo --scenario cust``): a bond fund.

The entrustor drafts the agreement with the manager, the custodian, the adviser and
the auditor; all five sign. The manager lists three bonds, the adviser proposes buying
one issuer's bond for 14.7 % of NAV: the manager's submission fails the 10 %
concentration rule, naming it, and the custodian refuses to accept it. An instruction
with a prohibited counterparty fails too. The five amend the limit to 15 %; the same
instruction, submitted again, passes under the new rules version; the custodian
accepts and settles it and reports the NAV.

Every ``figures:`` line is recomputed by the test from the inputs below.
"""

from __future__ import annotations

from typing import Any

from scenarios.kit import Demo, DemoRun, format_minor

__all__ = ["BONDS", "CASH", "DEMO", "ORDER", "RULES_V1", "RULES_V2"]

CASH = 100_000_000_00
BONDS: dict[
    str, tuple[str, str, str, int]
] = {  # instrument: (class, issuer, rating, price per unit in minor units)
    "CGB-2030": ("govt", "MOF", "AAA", 100_00),
    "CDB-2028": ("policy_bank", "CDB", "AAA", 101_50),
    "ACME-2027": ("corp", "ACME", "AA", 98_00),
}
ORDER: dict[str, Any] = {"side": "buy", "instrument": "ACME-2027", "qty": 150_000, "price": 98_00}
RULES_V1: dict[str, Any] = {
    "allowed_classes": ["govt", "policy_bank", "corp"],
    "max_issuer": 100_000,
    "min_rating": "AA",
    "max_leverage": 1_000_000,
    "prohibited_counterparties": ["SHADY-BROKER"],
    "min_cash": 50_000,
    "trading_days": [0, 1, 2, 3, 4, 5, 6],
}
RULES_V2 = RULES_V1 | {"max_issuer": 150_000}
_FIVE = ("entrustor", "manager", "custodian", "adviser", "auditor")


def _flow(run: DemoRun) -> None:
    roles = {r: r for r in _FIVE[1:]}
    run.step("entrustor", "draft the bond fund's agreement", "cust.draft", "FUND-1",
             roles | {"currency": "CNY", "cash": CASH, "rules": RULES_V1})  # fmt: skip
    for member in _FIVE[1:]:
        run.authorize(member, "cust.sign", "FUND-1")
    run.step("entrustor", "sign the agreement (all five)", "cust.sign", "FUND-1")
    for bond, (klass, issuer, rating, price) in BONDS.items():
        run.step("manager", f"list {bond}", "cust.list_security", "FUND-1",
                 {"instrument": bond, "class": klass, "issuer": issuer, "rating": rating,
                  "price": price})  # fmt: skip
    run.step("adviser", "propose buying ACME-2027 (14.7 % of NAV)", "cust.propose", "FUND-1",
             {"instruction": "I-1", **ORDER, "counterparty": "BROKER-A"})  # fmt: skip
    run.step("adviser", "submit I-1 (only the manager submits)", "cust.submit", "FUND-1",
             {"instruction": "I-1"}, refused=True)  # fmt: skip
    checked = run.step("manager", "submit I-1", "cust.submit", "FUND-1", {"instruction": "I-1"})
    if checked is not None:
        entry = checked.attrs["instructions"]["I-1"]
        run.say(f"figures: I-1 {entry['state']} v{entry['rules_version']}: "
                f"{'; '.join(entry['violations'])}")  # fmt: skip
    run.step("custodian", "accept the failed I-1", "cust.accept", "FUND-1",
             {"instruction": "I-1"}, refused=True)  # fmt: skip
    run.step("adviser", "propose buying CGB-2030 from SHADY-BROKER", "cust.propose", "FUND-1",
             {"instruction": "I-2", "side": "buy", "instrument": "CGB-2030", "qty": 1_000,
              "price": 100_00, "counterparty": "SHADY-BROKER"})  # fmt: skip
    bad = run.step("manager", "submit I-2", "cust.submit", "FUND-1", {"instruction": "I-2"})
    if bad is not None:
        run.say(f"figures: I-2 {'; '.join(bad.attrs['instructions']['I-2']['violations'])}")
    amend = {"params": RULES_V2}
    for member in ("entrustor", "custodian", "adviser", "auditor"):
        run.authorize(member, "cust.amend_rules", "FUND-1", amend)
    run.step("manager", "amend max_issuer to 15 % (all five sign)", "cust.amend_rules",
             "FUND-1", amend)  # fmt: skip
    passed = run.step("manager", "submit I-1 again", "cust.submit", "FUND-1",
                      {"instruction": "I-1"})  # fmt: skip
    if passed is not None:
        entry = passed.attrs["instructions"]["I-1"]
        run.say(f"figures: I-1 {entry['state']} v{entry['rules_version']}")
    run.step("custodian", "accept I-1", "cust.accept", "FUND-1", {"instruction": "I-1"})
    run.step("custodian", "settle I-1", "cust.settle", "FUND-1",
             {"instruction": "I-1", "bank_ref": "CNAPS-0001"})  # fmt: skip
    reported = run.step("custodian", "report the NAV", "cust.report_nav", "FUND-1",
                        {"date": run.today.isoformat()})  # fmt: skip
    if reported is not None:
        a = reported.attrs
        value = format_minor(a["navs"][-1]["nav"])
        held = a["positions"]["ACME-2027"]
        run.say(f"figures: cash {format_minor(a['cash'])}, ACME-2027 {held}, NAV {value}")


DEMO = Demo(members=_FIVE, flow=_flow)
