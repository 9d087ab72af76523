"""A B3i-style reinsurance treaty layer (SCENARIOS.md §2d), confidential to its parties.

One object per layer of a property-cat excess-of-loss treaty: the cedent (the insurer
buying cover), the broker placing it and the reinsurers approached for that layer hold
it; nobody else — another insurer, another layer's reinsurers — sees more than a keyed
hash, a version and the parties' endorsements on the shared ledger
(``scenarios.kit.Confidential``, every party endorsing every step). The rules, each
enforced here:

- ``DRAFT`` (the broker drafts the layer with the cedent and the market) →
  ``SUBMITTED`` (the cedent submits it) → ``QUOTED`` (each reinsurer quotes its rate
  and the share it can write; only a reinsurer of the layer quotes, once each) →
  ``FIRM_ORDER`` (the cedent orders a share of the layer at a premium with an
  instalment plan whose instalments sum exactly to the premium; every reinsurer has
  quoted) → each reinsurer signs a line, at most its quoted capacity → ``BOUND`` (the
  broker binds only when the signed lines sum to exactly the order) → ``ENDORSED``
  (a change of terms signed by the cedent and every reinsurer of the layer) →
  ``ACCOUNTING`` (premium instalments paid, each exactly as scheduled, once) →
  ``CLOSED`` (every instalment paid).
- Shares are parts per million of the layer (100 % = 1 000 000), compared exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ledger import ContractError
from scenarios.kit import (
    ALL,
    NEW,
    Confidential,
    Date,
    Documents,
    Int,
    ListOf,
    Machine,
    Member,
    Money,
    PartySet,
    Post,
    Ppm,
    Primitive,
    Record,
    Rule,
    Schema,
    SetAttr,
    SetParty,
    Str,
    Transition,
    View,
)

__all__ = ["LAYERS", "WHOLE"]

NAME = "ins"
WHOLE = 1_000_000  # 100 % in parts per million
_MAX = 10**13
_PARTIES = frozenset({"cedent", "broker", "reinsurers"})


def _reinsurers(obj: Any) -> tuple[str, ...]:
    found = obj.party_set("reinsurers")
    return () if found is None else found.members


def _draft(v: View) -> Iterable[Primitive]:
    p = v.payload
    market = list(dict.fromkeys(p["reinsurers"]))
    if len(market) != len(p["reinsurers"]):
        raise ContractError("a reinsurer is named twice")
    if v.actor in market or p["cedent"] in market or p["cedent"] == v.actor:
        raise ContractError("the cedent, the broker and the reinsurers are different members")
    yield SetParty("broker", v.actor)
    yield SetParty("cedent", p["cedent"])
    yield SetParty("reinsurers", PartySet.equal(sorted(market), ALL))
    for key in ("treaty", "layer", "currency", "limit", "attachment", "period_from", "period_to"):
        yield SetAttr(key, p[key])
    yield SetAttr("quotes", {})
    yield SetAttr("lines", {})


def _quote(v: View) -> Iterable[Primitive]:
    quotes = dict(v.before.attrs["quotes"])
    if v.actor in quotes:
        raise ContractError(f"{v.actor} has quoted this layer already")
    quotes[v.actor] = {"rate": v.payload["rate"], "capacity": v.payload["capacity"]}
    yield SetAttr("quotes", quotes)


def _firm_order(v: View) -> Iterable[Primitive]:
    missing = sorted(set(_reinsurers(v.before)) - set(v.before.attrs["quotes"]))
    if missing:
        raise ContractError(f"firm order before every reinsurer quoted (missing {missing})")
    p = v.payload
    yield SetAttr("order", p["order"])
    yield SetAttr("premium", p["premium"])
    yield SetAttr("instalments", [dict(i, paid=False) for i in p["instalments"]])


def _sign_line(v: View) -> Iterable[Primitive]:
    lines = dict(v.before.attrs["lines"])
    if v.actor in lines:
        raise ContractError(f"{v.actor} has signed its line already")
    capacity = v.before.attrs["quotes"][v.actor]["capacity"]
    if v.payload["line"] > capacity:
        raise ContractError(f"a line of {v.payload['line']} ppm exceeds the quoted {capacity} ppm")
    lines[v.actor] = v.payload["line"]
    yield SetAttr("lines", lines)


def _endorse(v: View) -> Iterable[Primitive]:
    p = v.payload
    yield SetAttr("limit", p["limit"])
    yield SetAttr("endorsements", [*v.before.attrs.get("endorsements", []), p["doc"]])


def _account(v: View) -> Iterable[Primitive]:
    plan = [dict(i) for i in v.before.attrs["instalments"]]
    n = v.payload["instalment"]
    if not 0 <= n < len(plan):
        raise ContractError(f"the plan has instalments 0 to {len(plan) - 1}")
    if plan[n]["paid"]:
        raise ContractError(f"instalment {n} is paid already")
    if v.payload["amount"] != plan[n]["amount"]:
        raise ContractError(f"instalment {n} is {plan[n]['amount']}, not {v.payload['amount']}")
    plan[n]["paid"] = True
    yield SetAttr("instalments", plan)


# Rules ----------------------------------------------------------------------------------


def _instalments_sum(p: Post) -> bool:
    a = p.after.attrs
    return bool(sum(i["amount"] for i in a["instalments"]) == a["premium"])


def _lines_complete(p: Post) -> bool:
    return bool(sum(p.after.attrs["lines"].values()) == p.after.attrs["order"])


def _lines_within_order(p: Post) -> bool:
    a: Mapping[str, Any] = p.after.attrs
    return "order" not in a or sum(a["lines"].values()) <= a["order"]


def _all_paid(p: Post) -> bool:
    return all(i["paid"] for i in p.after.attrs["instalments"])


_INSTALMENT = Record(
    Schema(
        {
            "due": Date(help="Due date."),
            "amount": Money(None, 1, _MAX, help="Amount."),
        }
    )
)
_ANY_PARTY = frozenset({"cedent", "broker"})

_TRANSITIONS = (
    Transition(
        "draft_layer",
        frozenset({NEW}),
        frozenset({"DRAFT"}),
        frozenset({"broker"}),
        Schema(
            {
                "cedent": Member(help="The insurer buying the cover."),
                "reinsurers": ListOf(Member(), 1, 16, help="The layer's market: r1,r2,..."),
                "treaty": Str(help="The treaty's reference."),
                "layer": Int(1, 99, help="The layer's number."),
                "currency": Str(re.compile(r"[A-Z]{3}"), help="ISO 4217 currency."),
                "limit": Money(None, 1, _MAX, help="The layer's limit."),
                "attachment": Money(None, 0, _MAX, help="The layer attaches above this."),
                "period_from": Date(help="Period starts."),
                "period_to": Date(help="Period ends."),
            }
        ),
        _draft,
        help="Draft a treaty layer with its cedent and the reinsurers approached.",
    ),
    Transition(
        "submit_layer",
        frozenset({"DRAFT"}),
        frozenset({"SUBMITTED"}),
        frozenset({"cedent"}),
        help="Submit the drafted layer to its market.",
    ),
    Transition(
        "quote_layer",
        frozenset({"SUBMITTED", "QUOTED"}),
        frozenset({"QUOTED"}),
        frozenset({"reinsurers"}),
        Schema(
            {
                "rate": Ppm(help="Rate on line, e.g. 12.5%."),
                "capacity": Ppm(help="The share of the layer you can write, e.g. 50%."),
            }
        ),
        _quote,
        help="Quote the layer (each reinsurer once).",
    ),
    Transition(
        "firm_order",
        frozenset({"QUOTED"}),
        frozenset({"FIRM_ORDER"}),
        frozenset({"cedent"}),
        Schema(
            {
                "order": Ppm(help="The share of the layer ordered, e.g. 100%."),
                "premium": Money(None, 1, _MAX, help="The layer premium."),
                "instalments": ListOf(_INSTALMENT, 1, 12, help="The instalment plan (JSON)."),
            }
        ),
        _firm_order,
        (
            Rule(
                "instalments_sum_to_premium",
                _instalments_sum,
                "the instalments must sum exactly to the layer premium",
            ),
        ),
        help="Place a firm order for the layer.",
    ),
    Transition(
        "sign_line",
        frozenset({"FIRM_ORDER"}),
        frozenset({"FIRM_ORDER"}),
        frozenset({"reinsurers"}),
        Schema({"line": Ppm(help="Your signed line, e.g. 50%.")}),
        _sign_line,
        (
            Rule(
                "lines_within_order",
                _lines_within_order,
                "the signed lines would exceed the order",
            ),
        ),
        help="Sign your line on the firm order.",
    ),
    Transition(
        "bind",
        frozenset({"FIRM_ORDER"}),
        frozenset({"BOUND"}),
        frozenset({"broker"}),
        rules=(
            Rule(
                "lines_sum_to_order",
                _lines_complete,
                "the signed lines must sum to exactly the order at binding",
            ),
        ),
        help="Bind the layer (its signed lines sum to exactly the order).",
    ),
    Transition(
        "endorse_layer",
        frozenset({"BOUND", "ENDORSED"}),
        frozenset({"ENDORSED"}),
        _ANY_PARTY,
        Schema(
            {
                "limit": Money(None, 1, _MAX, help="The layer's new limit."),
                "doc": Documents(option="doc", help="The endorsement wording."),
            }
        ),
        _endorse,
        required_signers=frozenset({"cedent", "reinsurers"}),
        help="Endorse the bound layer; the cedent and every reinsurer of the layer sign.",
    ),
    Transition(
        "account",
        frozenset({"BOUND", "ENDORSED", "ACCOUNTING"}),
        frozenset({"ACCOUNTING"}),
        _ANY_PARTY,
        Schema(
            {
                "instalment": Int(0, 11, help="Which instalment (from 0)."),
                "amount": Money(None, 1, _MAX, help="The amount paid."),
            }
        ),
        _account,
        help="Record a premium instalment paid, exactly as scheduled.",
    ),
    Transition(
        "close_layer",
        frozenset({"ACCOUNTING"}),
        frozenset({"CLOSED"}),
        _ANY_PARTY,
        rules=(Rule("premium_paid", _all_paid, "every instalment must be paid"),),
        help="Close the layer once its premium is paid.",
    ),
)

LAYERS = Machine(
    NAME,
    "layer",
    _TRANSITIONS,
    confidential=Confidential(retention_days=10 * 365, quorum=ALL),
)
