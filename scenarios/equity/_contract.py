"""Equity trade settlement (SCENARIOS.md §9): issuance, cash, DvP in atomic batches.

Three machines, each judging its own legs (``scenarios.kit``):

- ``instrument`` — a private company's share class, issued by the company, or cash,
  issued only by a cash bank (a member the parameter ``equity.cash_banks`` names).
  ``issue`` mints to a holder (issuance to founders, cash deposited); ``burn`` destroys
  units a holder surrenders, with the issuer's signature (a buy-back, cash withdrawn). A share
  class carries its transfer restrictions as rule parameters the issuer agrees
  (``eligible``: the members who may hold it; ``rofr_days``: the days existing holders
  have, from matching, to exercise a right of first refusal before a new holder may
  settle). The kit audits conservation per instrument on every transaction: supply
  changes only by the issuer's issue and burn.
- ``trade`` — ``propose`` [seller: buyer, operator, shares, quantity, price, cash,
  trade date, settlement date, cut-off], ``confirm`` [buyer] → ``MATCHED``;
  ``instruct`` [operator] creates its two instructions (delivery ``<trade>~D``,
  payment ``<trade>~P``) as legs of the same transaction → ``INSTRUCTED``;
  ``settle`` [operator] settles both instructions in the same transaction, only within
  ``[settlement date, cut-off]`` and with the restrictions met; ``fail`` [anyone, after
  the cut-off] and ``cancel`` [buyer and seller both, before settlement] release what
  was allocated.
- ``instruction`` — ``allocate`` [sender]: the instructed quantity moves from the
  sender's free holding into the instruction's own account (``instruction:<id>``), which
  only a step on that instruction can debit, and only ``settle`` (to the receiver) or
  ``release`` (back to the sender) does: a locked holding is usable by its
  instruction alone, and cannot be spent twice. ``approve`` [receiver; the command
  ``approve-receipt``] designates the receiving account. Both done, the instruction
  is ``READY``.

``settle_batch`` is an ``equity.tx`` of several ``trade.settle`` legs submitted by the
operator: each spawns its two instruction legs, and if any leg of any trade is refused
(an instruction not allocated, a restriction, the cut-off), the whole transaction is
refused and nothing moves. A settled trade is final; a correction is a new trade.

Deviation from §9's letter: a holding is locked by moving it into the instruction's
account (as a Daml allocation pledges a holding to a settlement) rather than marking
it locked in the owner's account, so the operator's batch needs no signature of the
owners — their allocations are their authority. Settled quantities and prices are on
the shared ledger, as the members must all verify conservation; documents (articles,
subscription agreements) stay behind the gateways, hashed.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger import ContractError, State, param
from scenarios.kit import (
    ANYONE,
    NEW,
    Burn,
    Date,
    Documents,
    Enum,
    Holdings,
    Int,
    ListOf,
    Machine,
    Member,
    Mint,
    Move,
    Obj,
    Post,
    Primitive,
    Rule,
    Schema,
    SetAttr,
    SetParty,
    SetRules,
    SetState,
    Spawn,
    Str,
    Supplies,
    Transition,
    View,
    account,
    amend_rules,
    build_contract,
    days_between,
    parse_date,
)

__all__ = [
    "CASH_BANKS",
    "CONTRACT",
    "INSTRUCTIONS",
    "INSTRUMENTS",
    "MAX_QTY",
    "NAME",
    "SUPPLY",
    "TRADES",
    "cash_banks",
    "delivery_id",
    "payment_id",
]

NAME = "equity"
CASH_BANKS = f"{NAME}.cash_banks"
MAX_QTY = 10**15
_MEMBERS = frozenset({"member"})
_HOLDINGS = Holdings(NAME)


def cash_banks(state: State) -> list[str]:
    named = param(state, CASH_BANKS)
    return [m for m in named if isinstance(m, str)] if isinstance(named, list) else []


def delivery_id(trade: str) -> str:
    return f"{trade}~D"


def payment_id(trade: str) -> str:
    return f"{trade}~P"


# Instruments -----------------------------------------------------------------------------


def _create(v: View) -> Iterable[Primitive]:
    p = v.payload
    yield SetParty("issuer", v.actor)
    yield SetAttr("kind", p["kind"])
    if "doc" in p:
        yield SetAttr("data_hash", p["doc"])
    rules = {k: p[k] for k in ("eligible", "rofr_days") if k in p}
    if p["kind"] == "cash" and rules:
        raise ContractError("cash carries no transfer restrictions")
    yield SetRules(rules)


def _issue(v: View) -> Iterable[Primitive]:
    yield Mint(v.payload["qty"], v.id, v.payload["to"])


def _burn(v: View) -> Iterable[Primitive]:
    # The holder surrenders its own units (its signature debits them); the issuer's
    # signature, which every burn needs, makes it the issuer's act too.
    yield Burn(v.payload["qty"], v.id, v.actor, "burned")


def _cash_from_a_cash_bank(p: Post) -> bool:
    return p.after.attrs["kind"] != "cash" or p.after.parties["issuer"] in cash_banks(p.state)


def _issued_to_eligible(p: Post) -> bool:
    allowed = p.params.get("eligible")
    return allowed is None or p.payload["to"] in allowed


_RESTRICTIONS = Schema(
    {
        "eligible": ListOf(
            Member(), max_len=64, unique=True, required=False, help="Who may hold it."
        ),
        "rofr_days": Int(0, 365, required=False, help="Right-of-first-refusal window, days."),
    }
)

INSTRUMENTS = Machine(
    NAME,
    "instrument",
    [
        Transition(
            "create",
            frozenset({NEW}),
            frozenset({"LIVE"}),
            frozenset({"issuer"}),
            Schema(
                {
                    "kind": Enum(frozenset({"share", "cash"}), help="share or cash."),
                    "eligible": ListOf(
                        Member(),
                        max_len=64,
                        unique=True,
                        required=False,
                        help="Members who may hold the shares (separated by ;).",
                    ),
                    "rofr_days": Int(
                        0, 365, required=False, help="Right-of-first-refusal window in days."
                    ),
                    "doc": Documents(required=False, help="Articles or terms, kept here."),
                }
            ),
            _create,
            rules=(Rule("cash_bank", _cash_from_a_cash_bank, "only a cash bank issues cash"),),
            consortium_roles=_MEMBERS,
            help="Create a share class you issue, or cash if you are a cash bank.",
        ),
        Transition(
            "issue",
            frozenset({"LIVE"}),
            frozenset({"LIVE"}),
            frozenset({"issuer"}),
            Schema({"to": Member(help="The holder."), "qty": Int(1, MAX_QTY, help="Units.")}),
            _issue,
            rules=(Rule("eligible_holder", _issued_to_eligible, "the holder is not eligible"),),
            consortium_roles=_MEMBERS,
            help="Issue units of your instrument to a holder (founders, a deposit).",
        ),
        Transition(
            "burn",
            frozenset({"LIVE"}),
            frozenset({"LIVE"}),
            frozenset({ANYONE}),
            Schema({"qty": Int(1, MAX_QTY, help="Units.")}),
            _burn,
            consortium_roles=_MEMBERS,
            help="Surrender your units to be burned (a buy-back, cash withdrawn); the "
            "issuer co-signs.",
        ),
        amend_rules(_RESTRICTIONS, roles=frozenset({"issuer"}), from_states=frozenset({"LIVE"})),
    ],
    rules_schema=_RESTRICTIONS,
)

SUPPLY = Supplies(INSTRUMENTS, "id", reasons=("burned",))


# Instructions ----------------------------------------------------------------------------


def _instruction(v: View) -> Iterable[Primitive]:
    p = v.payload
    yield SetParty("sender", p["sender"])
    yield SetParty("receiver", p["receiver"])
    yield SetParty("operator", v.actor)
    for key in ("leg", "asset", "qty", "trade"):
        yield SetAttr(key, p[key])
    yield SetAttr("allocated", False)
    yield SetAttr("approved", False)


def _ready(allocated: bool, approved: bool) -> SetState:
    return SetState("READY" if allocated and approved else "PENDING")


def _allocate(v: View) -> Iterable[Primitive]:
    a = v.before.attrs
    if a["allocated"]:
        raise ContractError(f"instruction {v.id!r} is already allocated")
    yield Move(a["qty"], a["asset"], v.before.parties["sender"], account(v.before))
    yield SetAttr("allocated", True)
    yield _ready(True, a["approved"])


def _approve(v: View) -> Iterable[Primitive]:
    a = v.before.attrs
    if a["approved"]:
        raise ContractError(f"instruction {v.id!r} is already approved")
    yield SetAttr("approved", True)
    yield _ready(a["allocated"], True)


def _settle_instruction(v: View) -> Iterable[Primitive]:
    a = v.before.attrs
    yield Move(a["qty"], a["asset"], account(v.before), v.before.parties["receiver"])


def _release(v: View) -> Iterable[Primitive]:
    a = v.before.attrs
    if a["allocated"]:
        yield Move(a["qty"], a["asset"], account(v.before), v.before.parties["sender"])


_OPERATOR = frozenset({"operator"})

INSTRUCTIONS = Machine(
    NAME,
    "instruction",
    [
        Transition(
            "create_instruction",
            frozenset({NEW}),
            frozenset({"PENDING"}),
            _OPERATOR,
            Schema(
                {
                    "leg": Enum(frozenset({"delivery", "payment"})),
                    "sender": Member(),
                    "receiver": Member(),
                    "asset": Str(),
                    "qty": Int(1, MAX_QTY),
                    "trade": Str(),
                }
            ),
            _instruction,
            internal=True,
            help="An instruction of a trade (created by instruct).",
        ),
        Transition(
            "allocate",
            frozenset({"PENDING"}),
            frozenset({"PENDING", "READY"}),
            frozenset({"sender"}),
            effect=_allocate,
            consortium_roles=_MEMBERS,
            help="Lock the instructed quantity for this instruction only (the sender).",
        ),
        Transition(
            "approve",
            frozenset({"PENDING"}),
            frozenset({"PENDING", "READY"}),
            frozenset({"receiver"}),
            effect=_approve,
            consortium_roles=_MEMBERS,
            command="approve-receipt",
            help="Designate your account to receive (the receiver).",
        ),
        Transition(
            "settle_instruction",
            frozenset({"READY"}),
            frozenset({"SETTLED"}),
            _OPERATOR,
            effect=_settle_instruction,
            internal=True,
            help="Deliver the locked quantity to the receiver (a leg of settle).",
        ),
        Transition(
            "release",
            frozenset({"PENDING", "READY"}),
            frozenset({"RELEASED"}),
            _OPERATOR,
            effect=_release,
            internal=True,
            help="Give a locked quantity back to the sender (a leg of fail or cancel).",
        ),
    ],
)


# Trades ----------------------------------------------------------------------------------


def _propose(v: View) -> Iterable[Primitive]:
    p = v.payload
    if p["buyer"] == v.actor:
        raise ContractError("a trade has two sides")
    security = v.get(INSTRUMENTS, p["security"])
    cash = v.get(INSTRUMENTS, p["cash"])
    if security is None or security.attrs["kind"] != "share":
        raise ContractError(f"no share class {p['security']!r}")
    if cash is None or cash.attrs["kind"] != "cash":
        raise ContractError(f"no cash instrument {p['cash']!r}")
    if not p["trade_date"] <= p["settle_date"] <= p["cutoff"]:
        raise ContractError("trade date ≤ settlement date ≤ cut-off")
    if p["trade_date"] > v.today.isoformat():
        raise ContractError(f"the trade date {p['trade_date']} is after today")
    yield SetParty("seller", v.actor)
    yield SetParty("buyer", p["buyer"])
    yield SetParty("operator", p["operator"])
    for key in ("security", "qty", "cash", "price", "trade_date", "settle_date", "cutoff"):
        yield SetAttr(key, p[key])
    yield SetAttr("consideration", p["qty"] * p["price"])


def _confirm(v: View) -> Iterable[Primitive]:
    yield SetAttr("matched_on", v.today.isoformat())


def _instruct(v: View) -> Iterable[Primitive]:
    a, parties = v.before.attrs, v.before.parties
    legs = (
        (
            delivery_id(v.id),
            "delivery",
            parties["seller"],
            parties["buyer"],
            a["security"],
            a["qty"],
        ),
        (
            payment_id(v.id),
            "payment",
            parties["buyer"],
            parties["seller"],
            a["cash"],
            a["consideration"],
        ),
    )
    for object_id, leg, sender, receiver, asset, qty in legs:
        payload = {
            "leg": leg,
            "sender": sender,
            "receiver": receiver,
            "asset": asset,
            "qty": qty,
            "trade": v.id,
        }
        yield Spawn(INSTRUCTIONS, object_id, "create_instruction", payload)


def _settle(v: View) -> Iterable[Primitive]:
    today = v.today.isoformat()
    a = v.before.attrs
    if not a["settle_date"] <= today <= a["cutoff"]:
        after = today > a["cutoff"]
        raise ContractError(
            f"settlement is within [{a['settle_date']}, {a['cutoff']}]; today {today} is "
            + ("after the cut-off" if after else "before the settlement date")
        )
    yield Spawn(INSTRUCTIONS, delivery_id(v.id), "settle_instruction")
    yield Spawn(INSTRUCTIONS, payment_id(v.id), "settle_instruction")


def _unwind(v: View) -> Iterable[Primitive]:
    for object_id in (delivery_id(v.id), payment_id(v.id)):
        found = v.get(INSTRUCTIONS, object_id)
        if found is not None and found.state in {"PENDING", "READY"}:
            yield Spawn(INSTRUCTIONS, object_id, "release")


def _fail(v: View) -> Iterable[Primitive]:
    if v.today.isoformat() <= v.before.attrs["cutoff"]:
        raise ContractError(f"the cut-off {v.before.attrs['cutoff']} has not passed")
    yield from _unwind(v)


def _security(p: Post) -> Obj:
    return INSTRUMENTS.load(p.state, p.after.attrs["security"])


def _eligible_buyer(p: Post) -> bool:
    rules = _security(p).attrs.get("rules", {}).get("params", {})
    allowed = rules.get("eligible")
    return allowed is None or p.after.parties["buyer"] in allowed


def _rofr_lapsed(p: Post) -> bool:
    # A buyer who held none before is a new holder: the existing holders' right of first
    # refusal must have lapsed, counted from the day the trade was matched.
    rules = _security(p).attrs.get("rules", {}).get("params", {})
    window = rules.get("rofr_days")
    if not window:
        return True
    held = _HOLDINGS.balance(p.state, p.after.attrs["security"], p.after.parties["buyer"])
    if held > p.after.attrs["qty"]:
        return True
    matched = parse_date(p.after.attrs["matched_on"])
    return bool(days_between(matched, p.today) >= window)


def _both_settled(p: Post) -> bool:
    legs = [INSTRUCTIONS.get(p.state, f(p.after.id)) for f in (delivery_id, payment_id)]
    return all(x is not None and x.state == "SETTLED" for x in legs)


_SETTLE_RULES = (
    Rule("eligible_holder", _eligible_buyer, "the buyer may not hold this share class"),
    Rule("rofr_window", _rofr_lapsed, "the right-of-first-refusal window has not lapsed"),
    Rule("both_legs", _both_settled, "delivery and payment settle together"),
)
_BOTH = frozenset({"buyer", "seller"})

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
                    "buyer": Member(help="The buyer."),
                    "operator": Member(help="The settlement operator."),
                    "security": Str(help="The share class."),
                    "qty": Int(1, 10**9, help="Number of shares."),
                    "cash": Str(help="The cash instrument paid."),
                    "price": Int(1, 10**9, help="Price per share, cash minor units."),
                    "trade_date": Date(help="Trade date."),
                    "settle_date": Date(help="Intended settlement date."),
                    "cutoff": Date(help="Last day it may settle."),
                }
            ),
            _propose,
            consortium_roles=_MEMBERS,
            help="Propose a trade: shares for cash at a price (the seller).",
        ),
        Transition(
            "confirm",
            frozenset({"PROPOSED"}),
            frozenset({"MATCHED"}),
            frozenset({"buyer"}),
            effect=_confirm,
            consortium_roles=_MEMBERS,
            help="Confirm a trade proposed to you: it is matched (the buyer).",
        ),
        Transition(
            "instruct",
            frozenset({"MATCHED"}),
            frozenset({"INSTRUCTED"}),
            _OPERATOR,
            effect=_instruct,
            consortium_roles=_MEMBERS,
            help="Create the trade's delivery and payment instructions (the operator).",
        ),
        Transition(
            "settle",
            frozenset({"INSTRUCTED"}),
            frozenset({"SETTLED"}),
            _OPERATOR,
            effect=_settle,
            rules=_SETTLE_RULES,
            consortium_roles=_MEMBERS,
            help="Settle both legs atomically; batch several with submit (the operator).",
        ),
        Transition(
            "fail",
            frozenset({"MATCHED", "INSTRUCTED"}),
            frozenset({"FAILED"}),
            frozenset({ANYONE}),
            effect=_fail,
            help="Fail a trade past its cut-off; what was locked is released (anyone).",
        ),
        Transition(
            "cancel",
            frozenset({"PROPOSED", "MATCHED", "INSTRUCTED"}),
            frozenset({"CANCELLED"}),
            _BOTH,
            effect=_unwind,
            required_signers=_BOTH,
            consortium_roles=_MEMBERS,
            help="Cancel before settlement; both sides sign, locks are released.",
        ),
    ],
)

CONTRACT = build_contract(NAME, [INSTRUMENTS, INSTRUCTIONS, TRADES])
