"""Asset custody (SCENARIOS.md §5): one product, its five roles, rules, portfolio and
instructions, confidential to the five.

The entrustor, the manager, the custodian, the investment adviser and the auditor are
the parties of a product; each holds it and endorses every step on the state it holds
(``scenarios.kit.Confidential``), so the auditor and the entrustor read every event and
nobody else reads any. The rules, each enforced here:

- **The agreement**: drafted by the entrustor with the five roles, the rules and the
  opening cash (``DRAFT``); it is ``ACTIVE`` once all five sign. Its rules are data (the
  kit's rule parameters, ``RULES``), versioned, changed only by an amendment all five
  sign; terminating needs all five too.
- **The securities master**: the manager lists an instrument (class, issuer, rating);
  the custodian, the pricing source, prices it.
- **Instructions**, entries of the product: the adviser may propose (advice only); only
  the manager submits. Submission runs the deterministic check (``_check``) on the
  hypothetical post-trade portfolio under the rules version in force then, and records
  ``CHECKED_PASS`` or ``CHECKED_FAIL`` with every violated rule named; a failed
  instruction may be submitted again (under the rules then in force) or rejected. The
  custodian accepts only a manager-submitted instruction that passed, settles only an
  accepted one (cash and positions move; neither may go negative), or fails it; the
  manager may cancel before settlement.
- **NAV reports** come from the custodian: cash plus every position at its price, computed
  here, never typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ledger import ContractError
from scenarios.cust._check import RATINGS, nav, post_trade, violations
from scenarios.kit import (
    ALL,
    NEW,
    Confidential,
    Date,
    Enum,
    Int,
    Invariant,
    ListOf,
    Machine,
    Member,
    Money,
    Post,
    Ppm,
    Primitive,
    Record,
    Schema,
    SetAttr,
    SetParty,
    SetRules,
    Str,
    Transition,
    View,
    amend_rules,
)

__all__ = ["FUNDS", "ROLES", "RULES"]

NAME = "cust"
ROLES = ("entrustor", "manager", "custodian", "adviser", "auditor")
CLASSES = frozenset({"govt", "policy_bank", "corp", "equity", "fund"})
_MAX = 10**15
_ACTIVE = frozenset({"ACTIVE"})
_TEXT = re.compile(r"[A-Za-z0-9_.-]{1,64}")

RULES = Schema(
    {
        "allowed_classes": ListOf(Enum(CLASSES), 1, 5, unique=True, required=False),
        "max_issuer": Ppm(required=False, help="Per-issuer holdings at most, e.g. 10%."),
        "min_rating": Enum(frozenset(RATINGS), required=False, help="Minimum rating."),
        "max_leverage": Ppm(required=False, help="Gross holdings at most, of NAV."),
        "prohibited_counterparties": ListOf(Str(_TEXT), 0, 32, unique=True, required=False),
        "min_cash": Ppm(required=False, help="Cash at least, of NAV."),
        "trading_days": ListOf(Int(0, 6), 1, 7, unique=True, required=False),
    }
)


def _instructions(v: View) -> dict[str, dict[str, Any]]:
    return {k: dict(i) for k, i in v.before.attrs["instructions"].items()}


def _entry(v: View, *states: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    entries = _instructions(v)
    iid = v.payload["instruction"]
    if iid not in entries:
        raise ContractError(f"product {v.id!r} has no instruction {iid!r}")
    if entries[iid]["state"] not in states:
        raise ContractError(
            f"instruction {iid!r} is {entries[iid]['state']}, not {' or '.join(states)}"
        )
    return entries, entries[iid]


def _portfolio(v: View) -> dict[str, Any]:
    a = v.before.attrs
    return {"cash": a["cash"], "positions": dict(a["positions"])}


# Effects ------------------------------------------------------------------------------


def _draft(v: View) -> Iterable[Primitive]:
    p = v.payload
    named = [v.actor, *(p[r] for r in ROLES[1:])]
    if len(set(named)) != len(named):
        raise ContractError("the five roles are five different members")
    yield SetParty("entrustor", v.actor)
    for role in ROLES[1:]:
        yield SetParty(role, p[role])
    yield SetRules(p["rules"])
    for key, value in (
        ("currency", p["currency"]),
        ("cash", p["cash"]),
        ("positions", {}),
        ("securities", {}),
        ("instructions", {}),
        ("navs", []),
    ):
        yield SetAttr(key, value)


def _list(v: View) -> Iterable[Primitive]:
    securities = dict(v.before.attrs["securities"])
    p = v.payload
    if p["instrument"] in securities:
        raise ContractError(f"{p['instrument']} is listed already")
    securities[p["instrument"]] = {
        "class": p["class"],
        "issuer": p["issuer"],
        "rating": p["rating"],
        "price": p["price"],
    }
    yield SetAttr("securities", securities)


def _price(v: View) -> Iterable[Primitive]:
    securities = {k: dict(s) for k, s in v.before.attrs["securities"].items()}
    if v.payload["instrument"] not in securities:
        raise ContractError(f"{v.payload['instrument']} is not listed")
    securities[v.payload["instrument"]]["price"] = v.payload["price"]
    yield SetAttr("securities", securities)


_ORDER = ("side", "instrument", "qty", "price", "counterparty")


def _propose(v: View) -> Iterable[Primitive]:
    entries = _instructions(v)
    p = v.payload
    if p["instruction"] in entries:
        raise ContractError(f"instruction {p['instruction']!r} exists already")
    if p["instrument"] not in v.before.attrs["securities"]:
        raise ContractError(f"{p['instrument']} is not listed")
    entries[p["instruction"]] = {"state": "PROPOSED", "proposer": v.actor} | {
        k: p[k] for k in _ORDER
    }
    yield SetAttr("instructions", entries)


def _submit(v: View) -> Iterable[Primitive]:
    entries, entry = _entry(v, "PROPOSED", "CHECKED_FAIL")
    rules = v.before.attrs["rules"]
    found = violations(rules["params"], _portfolio(v), v.before.attrs["securities"], entry, v.today)
    entry.update(
        state="CHECKED_FAIL" if found else "CHECKED_PASS",
        submitter=v.actor,
        rules_version=rules["version"],
        violations=found,
        submitted_on=v.today.isoformat(),
    )
    yield SetAttr("instructions", entries)


def _accept(v: View) -> Iterable[Primitive]:
    entries, entry = _entry(v, "CHECKED_PASS", "CHECKED_FAIL", "PROPOSED")
    if entry["state"] != "CHECKED_PASS":
        what = "did not pass its check" if entry["state"] == "CHECKED_FAIL" else "is unsubmitted"
        raise ContractError(
            f"instruction {v.payload['instruction']!r} {what}: the custodian accepts only a "
            "manager-submitted instruction that passed"
        )
    entry["state"] = "ACCEPTED"
    yield SetAttr("instructions", entries)


def _settle(v: View) -> Iterable[Primitive]:
    entries, entry = _entry(v, "ACCEPTED")
    after = post_trade(_portfolio(v), entry)
    entry.update(state="SETTLED", bank_ref=v.payload["bank_ref"])
    yield SetAttr("cash", after["cash"])
    yield SetAttr("positions", after["positions"])
    yield SetAttr("instructions", entries)


def _move(states: tuple[str, ...], to: str) -> Any:
    def effect(v: View) -> Iterable[Primitive]:
        entries, entry = _entry(v, *states)
        entry["state"] = to
        yield SetAttr("instructions", entries)

    return effect


def _report(v: View) -> Iterable[Primitive]:
    value = nav(v.before.attrs, v.before.attrs["securities"])
    navs = [*v.before.attrs["navs"], {"date": v.payload["date"], "nav": value}]
    yield SetAttr("navs", navs)


# Rules --------------------------------------------------------------------------------


def _holdings_non_negative(p: Post) -> bool:
    a: Mapping[str, Any] = p.after.attrs
    return "cash" not in a or (a["cash"] >= 0 and all(q >= 0 for q in a["positions"].values()))


_INVARIANTS = (
    Invariant("no_overdraft_or_short", _holdings_non_negative, "cash and positions stay ≥ 0"),
)
_INSTRUCTION = Schema({"instruction": Str(help="The instruction's id.")})
_ALL_ROLES = frozenset(ROLES)


def _t(name: str, from_: Iterable[str], to: Iterable[str], role: str, **kw: Any) -> Transition:
    return Transition(name, frozenset(from_), frozenset(to), frozenset({role}), **kw)


_TRANSITIONS = (
    _t(
        "draft",
        {NEW},
        {"DRAFT"},
        "entrustor",
        schema=Schema(
            {
                **{r: Member(help=f"The {r}.") for r in ROLES[1:]},
                "currency": Str(re.compile(r"[A-Z]{3}"), help="ISO 4217 currency."),
                "cash": Money(None, 1, _MAX, help="The opening cash."),
                "rules": Record(RULES, help="The investment rules (JSON)."),
            }
        ),
        effect=_draft,
        help="Draft a custody agreement: the five roles, the rules and the opening cash.",
    ),
    _t(
        "sign",
        {"DRAFT"},
        _ACTIVE,
        "entrustor",
        required_signers=_ALL_ROLES,
        help="Sign the agreement; all five roles sign.",
    ),
    amend_rules(RULES, roles=_ALL_ROLES, from_states=_ACTIVE),
    _t(
        "list_security",
        _ACTIVE,
        _ACTIVE,
        "manager",
        schema=Schema(
            {
                "instrument": Str(_TEXT, help="The instrument's id."),
                "class": Enum(CLASSES, help="Its asset class."),
                "issuer": Str(_TEXT, help="Its issuer."),
                "rating": Enum(frozenset(RATINGS), help="Its rating."),
                "price": Money(None, 1, _MAX, help="Its price per unit."),
            }
        ),
        effect=_list,
        help="List an instrument in the securities master.",
    ),
    _t(
        "price",
        _ACTIVE,
        _ACTIVE,
        "custodian",
        schema=Schema(
            {
                "instrument": Str(_TEXT, help="The instrument."),
                "price": Money(None, 1, _MAX, help="Its price per unit."),
            }
        ),
        effect=_price,
        help="Price an instrument (the custodian is the pricing source).",
    ),
    _t(
        "propose",
        _ACTIVE,
        _ACTIVE,
        "adviser",
        schema=Schema(
            {
                "instruction": Str(help="The instruction's id."),
                "side": Enum(frozenset({"buy", "sell"}), help="buy or sell."),
                "instrument": Str(_TEXT, help="The instrument."),
                "qty": Int(1, 10**12, help="Units."),
                "price": Money(None, 1, _MAX, help="Price limit per unit."),
                "counterparty": Str(_TEXT, help="The counterparty."),
            }
        ),
        effect=_propose,
        help="Propose an instruction (advice only; the manager submits).",
    ),
    _t(
        "submit",
        _ACTIVE,
        _ACTIVE,
        "manager",
        schema=_INSTRUCTION,
        effect=_submit,
        command="submit-instruction",
        help="Submit an instruction: checked on the post-trade portfolio under the rules now.",
    ),
    _t(
        "reject",
        _ACTIVE,
        _ACTIVE,
        "manager",
        schema=_INSTRUCTION,
        effect=_move(("CHECKED_FAIL",), "REJECTED"),
        help="Reject an instruction that failed its check.",
    ),
    _t(
        "accept",
        _ACTIVE,
        _ACTIVE,
        "custodian",
        schema=_INSTRUCTION,
        effect=_accept,
        help="Accept an instruction the manager submitted and that passed.",
    ),
    _t(
        "settle",
        _ACTIVE,
        _ACTIVE,
        "custodian",
        schema=Schema({"instruction": Str(help="The instruction."), "bank_ref": Str()}),
        effect=_settle,
        help="Settle an accepted instruction.",
    ),
    _t(
        "fail_settlement",
        _ACTIVE,
        _ACTIVE,
        "custodian",
        schema=_INSTRUCTION,
        effect=_move(("ACCEPTED",), "SETTLEMENT_FAILED"),
        help="Record that an accepted instruction failed to settle.",
    ),
    _t(
        "cancel",
        _ACTIVE,
        _ACTIVE,
        "manager",
        schema=_INSTRUCTION,
        effect=_move(("PROPOSED", "CHECKED_PASS", "CHECKED_FAIL", "ACCEPTED"), "CANCELLED"),
        help="Cancel an instruction before settlement.",
    ),
    _t(
        "report_nav",
        _ACTIVE,
        _ACTIVE,
        "custodian",
        schema=Schema({"date": Date(help="The valuation date.")}),
        effect=_report,
        help="Report the NAV: cash plus positions at their prices, computed, not typed.",
    ),
    _t(
        "terminate",
        _ACTIVE,
        {"TERMINATED"},
        "entrustor",
        required_signers=_ALL_ROLES,
        help="Terminate the agreement; all five sign.",
    ),
)

FUNDS = Machine(
    NAME,
    "product",
    _TRANSITIONS,
    invariants=_INVARIANTS,
    rules_schema=RULES,
    confidential=Confidential(retention_days=10 * 365, quorum=ALL),
)
