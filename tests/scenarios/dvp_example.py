"""Delivery versus payment on the kit: one module of declarations (SCENARIOS.md §9).

Two instruments (shares an issuer mints, cash a cash bank mints), two owners, and a
settlement that is one atomic transaction of three legs, each judged by its own
machine:

- ``trade.settle`` — both parties sign; its rules read the post-state: both
  instructions settled in this very transaction, quantities as agreed, and the price
  within the agreed tolerance (a rule parameter on the trade) of the oracle's
  observation for the trade date;
- ``instruction.settle`` for the delivery — the seller's shares move from their lock;
- ``instruction.settle`` for the payment — the buyer's cash moves from its lock.

If any leg fails (the buyer never locked the cash, the price is off the oracle's), the
whole transaction is refused and nothing moves. Contract version 2 (chosen by
governance at a height) requires an oracle observation where version 1 tolerated its
absence.

This module is what a ``scenarios/dvp/__init__.py`` would hold; the tests register it
next to the built-in scenarios (one entry in ``SCENARIO_MODULES``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scenarios import Scenario
from scenarios.kit import (
    NEW,
    Date,
    Int,
    Lock,
    Machine,
    Member,
    Mint,
    Move,
    Post,
    Primitive,
    Release,
    Rule,
    Schema,
    SetAttr,
    SetParty,
    SetRules,
    Str,
    Supplies,
    Transition,
    View,
    amend_rules,
    build_contract,
    observation,
    within_tolerance,
)

__all__ = ["INSTRUCTIONS", "INSTRUMENTS", "SCENARIO", "TRADES"]

NAME = "dvp"
_MEMBERS = frozenset({"member"})


# Instruments ----------------------------------------------------------------------------


def _create(v: View) -> Iterable[Primitive]:
    yield SetParty("issuer", v.actor)


def _issue(v: View) -> Iterable[Primitive]:
    yield Mint(v.payload["qty"], v.id, v.payload["to"])


INSTRUMENTS = Machine(
    NAME,
    "instrument",
    [
        Transition(
            "create",
            frozenset({NEW}),
            frozenset({"LIVE"}),
            frozenset({"issuer"}),
            effect=_create,
            consortium_roles=_MEMBERS,
            help="Create an instrument you issue (a share class, cash at your bank).",
        ),
        Transition(
            "issue",
            frozenset({"LIVE"}),
            frozenset({"LIVE"}),
            frozenset({"issuer"}),
            Schema({"to": Member(), "qty": Int(1, 10**15)}),
            _issue,
            consortium_roles=_MEMBERS,
            help="Mint units of your instrument to a member.",
        ),
    ],
)


# Instructions ---------------------------------------------------------------------------


def _instruct(v: View) -> Iterable[Primitive]:
    p = v.payload
    yield SetParty("sender", v.actor)
    yield SetParty("receiver", p["receiver"])
    for key in ("instrument", "qty", "trade"):
        yield SetAttr(key, p[key])


def _allocate(v: View) -> Iterable[Primitive]:
    a = v.before.attrs
    yield Lock(a["qty"], a["instrument"], v.before.parties["sender"], v.id)


def _settle_instruction(v: View) -> Iterable[Primitive]:
    a, parties = v.before.attrs, v.before.parties
    yield Move(a["qty"], a["instrument"], parties["sender"], parties["receiver"], v.id)


def _cancel(v: View) -> Iterable[Primitive]:
    yield Release(v.before.attrs["instrument"], v.before.parties["sender"], v.id)


INSTRUCTIONS = Machine(
    NAME,
    "instruction",
    [
        Transition(
            "instruct",
            frozenset({NEW}),
            frozenset({"PENDING"}),
            frozenset({"sender"}),
            Schema(
                {
                    "receiver": Member(),
                    "instrument": Str(),
                    "qty": Int(1, 10**15),
                    "trade": Str(),
                }
            ),
            _instruct,
            consortium_roles=_MEMBERS,
            help="Instruct a delivery or a payment of one instrument for a trade.",
        ),
        Transition(
            "allocate",
            frozenset({"PENDING"}),
            frozenset({"ALLOCATED"}),
            frozenset({"sender"}),
            effect=_allocate,
            consortium_roles=_MEMBERS,
            help="Lock the instructed quantity for this instruction only.",
        ),
        Transition(
            "settle_instruction",
            frozenset({"ALLOCATED"}),
            frozenset({"SETTLED"}),
            frozenset({"sender", "receiver"}),
            effect=_settle_instruction,
            required_signers=frozenset({"sender", "receiver"}),
            consortium_roles=_MEMBERS,
            help="Move the locked quantity to the receiver (a leg of a settlement).",
        ),
        Transition(
            "cancel",
            frozenset({"PENDING", "ALLOCATED"}),
            frozenset({"CANCELLED"}),
            frozenset({"sender"}),
            effect=_cancel,
            consortium_roles=_MEMBERS,
            help="Cancel an instruction; anything locked for it is released.",
        ),
    ],
)


# Trades ---------------------------------------------------------------------------------


def _propose(v: View) -> Iterable[Primitive]:
    p = v.payload
    yield SetParty("seller", v.actor)
    yield SetParty("buyer", p["buyer"])
    for key in ("security", "qty", "cash", "price", "trade_date"):
        yield SetAttr(key, p[key])
    yield SetRules({"tolerance_bps": p["tolerance_bps"]})


def _instruction(p: Post, field: str) -> Any:
    return INSTRUCTIONS.get(p.state, p.payload[field])


def _both_settled(p: Post) -> bool:
    a = p.after.attrs
    delivery, payment = _instruction(p, "delivery"), _instruction(p, "payment")
    if delivery is None or payment is None:
        return False
    return (
        delivery.state == payment.state == "SETTLED"
        and delivery.attrs["trade"] == payment.attrs["trade"] == p.after.id
        and (delivery.attrs["instrument"], delivery.attrs["qty"]) == (a["security"], a["qty"])
        and (payment.attrs["instrument"], payment.attrs["qty"])
        == (a["cash"], a["qty"] * a["price"])
        and delivery.parties["sender"] == payment.parties["receiver"] == p.after.parties["seller"]
        and payment.parties["sender"] == delivery.parties["receiver"] == p.after.parties["buyer"]
    )


def _observed_price(p: Post) -> int:
    seen = observation(p.state, NAME, p.after.attrs["security"], p.after.attrs["trade_date"])
    return p.after.attrs["price"] if seen is None else seen.value


def _observed(p: Post) -> bool:
    a = p.after.attrs
    return observation(p.state, NAME, a["security"], a["trade_date"]) is not None


_TRADE_RULES = (
    Rule("both_legs_settle", _both_settled, "delivery and payment settle together, as agreed"),
    within_tolerance(
        "price_near_oracle", lambda p: p.after.attrs["price"], _observed_price, "tolerance_bps"
    ),
    Rule("price_observed", _observed, "the oracle has no price for the trade date", since=2),
)

TRADES = Machine(
    NAME,
    "trade",
    [
        Transition(
            "propose",
            frozenset({NEW}),
            frozenset({"PROPOSED"}),
            frozenset({"seller"}),
            Schema(
                {
                    "buyer": Member(),
                    "security": Str(),
                    "qty": Int(1, 10**9),
                    "cash": Str(),
                    "price": Int(1, 10**9, help="Price per share in cash minor units."),
                    "trade_date": Date(),
                    "tolerance_bps": Int(0, 10_000),
                }
            ),
            _propose,
            consortium_roles=_MEMBERS,
            help="Propose a trade: shares for cash at a price, within a tolerance of the "
            "oracle's price.",
        ),
        Transition(
            "match",
            frozenset({"PROPOSED"}),
            frozenset({"MATCHED"}),
            frozenset({"buyer"}),
            consortium_roles=_MEMBERS,
            help="Confirm a trade proposed to you.",
        ),
        Transition(
            "settle",
            frozenset({"MATCHED"}),
            frozenset({"SETTLED"}),
            frozenset({"buyer", "seller"}),
            Schema({"delivery": Str(), "payment": Str()}),
            rules=_TRADE_RULES,
            required_signers=frozenset({"buyer", "seller"}),
            consortium_roles=_MEMBERS,
            help="Settle a trade with its two instructions in one transaction.",
        ),
        amend_rules(
            Schema({"tolerance_bps": Int(0, 10_000)}),
            roles=frozenset({"buyer", "seller"}),
            from_states=frozenset({"PROPOSED", "MATCHED"}),
        ),
    ],
    rules_schema=Schema({"tolerance_bps": Int(0, 10_000)}),
)


SCENARIO = Scenario(
    name=NAME,
    title="Delivery versus payment",
    spec="SCENARIOS.md §9",
    contract=build_contract(
        NAME, [INSTRUMENTS, INSTRUCTIONS, TRADES], versions=(1, 2), oracle=True
    ),
    machines=(INSTRUMENTS, INSTRUCTIONS, TRADES),
    supplies=(Supplies(INSTRUMENTS, "id"),),
    oracle=True,
    versions=(1, 2),
)
