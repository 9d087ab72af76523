"""Syndicated loans (SCENARIOS.md §8): a shared, confidential loan book.

One confidential object per facility (``syndicate.facility``) holds the agreed figures
and every lender's position; only its parties — the agent, the borrower and the
lenders, fixed when the facility is signed — hold it, and the shared ledger a keyed
hash, a version, a salted commitment and their endorsements (``scenarios.kit``'s
``Confidential``). A bank outside the syndicate sees nothing. Every step is one
endorsed transition of that object; the book arithmetic is ``_book``'s.

The rules, as the transitions keep them (the actor of each in brackets):

1. ``sign`` [agent]: the facility with its borrower, lenders and their shares, the
   commitment, maturity, day count (ACT/360 or ACT/365F), margin and whether the
   borrower must consent to assignments. Every party endorses its creation: that is
   the signing. ``satisfy_conditions`` [agent] makes it ``AVAILABLE``.
2. A utilisation: ``request_drawdown`` [borrower] (within the undrawn commitment, on
   or before maturity); ``issue_notices`` [agent] — each lender's part by largest
   remainder over the shares; ``fund`` [each lender, for its own notice];
   ``confirm_funding`` [agent, once every notice is funded] — the positions are the
   notices and the facility is ``DRAWN``.
3. Interest, per utilisation and period: ``set_rate`` [agent only] opens the next
   period at base + margin; ``accrue`` [agent] to a date no later than today; the
   agent posts the borrower's payment (``post_payment``) — interest only of a period
   accrued to its end and equal to its accrual, principal only between periods — with
   its allocations fixed as of the record date (each lender's accrual; principal pro
   rata to the funded positions); ``distribute`` [agent] pays them out.
4. An assignment between lenders: ``trade_assignment`` [the seller], ``consent``
   [agent; the borrower too where the facility requires it], ``settle_assignment``
   [the buyer, once consents are complete] — accrues every open period to the
   settlement date first, so the accrual to then stays with the seller unless the trade
   was "with accrued"; the share and funded positions move in proportion.
5. An amendment: ``propose_amendment`` [agent or a lender], ``vote`` [each lender],
   ``close_vote`` [agent] — approved when yes-votes carry two thirds of the shares
   (majority lenders), or all of them for a sacred right (amount, margin, maturity);
   an approved acceleration makes the facility ``ACCELERATED``.
6. ``mature`` [agent] once nothing is outstanding; ``cancel`` [agent] before any
   drawing.

Whole-facility invariants, checked on every step: the shares sum to 100 %; each
utilisation's notices sum to its amount and its funded positions to its outstanding;
the utilisations' outstanding sums to the facility's, within the commitment; the
lenders' accruals sum to the period's; a payment's allocations sum to its gross;
nothing is negative.

Deviation from §8: the syndicate's membership is fixed at signing (a confidential
object's party set is), so assignments are between its lenders — a lender that sells
all it holds stays a party with a share of zero; a new lender joins by a new
facility. Each lender holds the whole book, its peers' positions included, as a
syndicate's register of lenders is shared among them; outsiders hold nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ledger import ContractError
from scenarios.kit import (
    NEW,
    TWO_THIRDS,
    Bool,
    Confidential,
    Date,
    DayCount,
    Enum,
    Int,
    Invariant,
    Machine,
    MapOf,
    Member,
    Money,
    PartySet,
    Post,
    Ppm,
    Primitive,
    Schema,
    SetAttr,
    SetParty,
    SetState,
    Str,
    Transition,
    View,
    build_contract,
)
from scenarios.syndicate._book import (
    SHARE_UNITS,
    accrue_to,
    assignment_moves,
    passes,
    pro_rata,
    threshold_of,
)

__all__ = [
    "CONTRACT",
    "CURRENCY",
    "FACILITIES",
    "MAX_AMOUNT",
    "NAME",
    "TERMS",
]

NAME = "syndicate"
CURRENCY = "USD"
MAX_AMOUNT = 10**15
TERMS = frozenset({"commitment", "margin", "maturity", "covenant", "accelerate"})

SIGNED, AVAILABLE, DRAWN = "SIGNED", "AVAILABLE", "DRAWN"
MATURED, CANCELLED, ACCELERATED = "MATURED", "CANCELLED", "ACCELERATED"
_OPEN = frozenset({AVAILABLE, DRAWN})
_LIVE = frozenset({SIGNED, AVAILABLE, DRAWN})


def _attrs(v: View) -> dict[str, Any]:
    return dict(v.before.attrs)


def _loan(v: View, loan_id: str) -> dict[str, Any]:
    loans = v.before.attrs.get("loans", {})
    if loan_id not in loans:
        raise ContractError(f"facility {v.id!r} has no utilisation {loan_id!r}")
    return dict(loans[loan_id])


def _with_loan(v: View, loan_id: str, loan: Mapping[str, Any]) -> SetAttr:
    return SetAttr("loans", {**v.before.attrs.get("loans", {}), loan_id: dict(loan)})


def _daycount(v: View) -> DayCount:
    return DayCount(v.before.attrs["daycount"])


def _not_after_today(v: View, day: str, what: str) -> None:
    # A party may not book the future: accruals, settlements and record dates are
    # facts of days that have passed (the block's time is the consortium's clock).
    if day > v.today.isoformat():
        raise ContractError(f"{what} {day} is after today ({v.today.isoformat()})")


# 1. Signing -----------------------------------------------------------------------------


def _sign(v: View) -> Iterable[Primitive]:
    p = v.payload
    shares = p["shares"]
    if len(shares) < 2:
        raise ContractError("a syndicate has at least two lenders")
    if p["borrower"] in shares or p["borrower"] == v.actor:
        raise ContractError("the borrower is neither a lender nor the agent")
    yield SetParty("agent", v.actor)
    yield SetParty("borrower", p["borrower"])
    yield SetParty("lenders", PartySet.equal(sorted(shares), TWO_THIRDS))
    for key in ("commitment", "maturity", "daycount", "borrower_consent"):
        yield SetAttr(key, p[key])
    yield SetAttr("currency", CURRENCY)
    yield SetAttr("margin_ppm", p["margin"])
    yield SetAttr("shares", dict(shares))
    yield SetAttr("outstanding", 0)
    yield SetAttr("loans", {})
    yield SetAttr("payments", {})
    yield SetAttr("assignments", {})
    yield SetAttr("amendments", {})
    yield SetAttr("covenants", {})
    yield SetAttr("paid", {m: {"interest": 0, "principal": 0} for m in shares})


# 2. Utilisations -------------------------------------------------------------------------


def _request_drawdown(v: View) -> Iterable[Primitive]:
    a, p = _attrs(v), v.payload
    loans = a["loans"]
    if p["loan"] in loans:
        raise ContractError(f"utilisation {p['loan']!r} already exists")
    if not p["start"] < p["maturity"] <= a["maturity"]:
        raise ContractError("a utilisation runs from its start to a date up to final maturity")
    committed = sum(
        x["outstanding"] if x["status"] == "ACTIVE" else x["amount"]
        for x in loans.values()
        if x["status"] not in {"REPAID"}
    )
    if committed + p["amount"] > a["commitment"]:
        raise ContractError(
            f"the drawdown exceeds the undrawn commitment ({a['commitment'] - committed})"
        )
    loan = {
        "amount": p["amount"],
        "start": p["start"],
        "maturity": p["maturity"],
        "status": "REQUESTED",
        "notices": {},
        "funded_by": [],
        "funded": {},
        "outstanding": 0,
        "period": None,
        "next_start": p["start"],
        "accrued_to": p["start"],
        "accrued": {},
        "period_accrued": 0,
    }
    yield _with_loan(v, p["loan"], loan)


def _issue_notices(v: View) -> Iterable[Primitive]:
    loan = _loan(v, v.payload["loan"])
    if loan["status"] != "REQUESTED":
        raise ContractError(
            f"notices go out once, on a REQUESTED utilisation, not {loan['status']}"
        )
    loan["notices"] = pro_rata(loan["amount"], v.before.attrs["shares"])
    loan["status"] = "NOTICED"
    yield _with_loan(v, v.payload["loan"], loan)


def _fund(v: View) -> Iterable[Primitive]:
    loan = _loan(v, v.payload["loan"])
    if loan["status"] != "NOTICED":
        raise ContractError(f"only a NOTICED utilisation is funded, not {loan['status']}")
    if loan["notices"].get(v.actor, 0) == 0:
        raise ContractError(f"{v.actor} has no funding notice for {v.payload['loan']!r}")
    if v.actor in loan["funded_by"]:
        raise ContractError(f"{v.actor} has already funded {v.payload['loan']!r}")
    loan["funded_by"] = sorted([*loan["funded_by"], v.actor])
    yield _with_loan(v, v.payload["loan"], loan)


def _confirm_funding(v: View) -> Iterable[Primitive]:
    loan = _loan(v, v.payload["loan"])
    due = sorted(m for m, n in loan["notices"].items() if n > 0)
    if loan["status"] != "NOTICED" or loan["funded_by"] != due:
        unfunded = sorted(set(due) - set(loan["funded_by"]))
        raise ContractError(f"not every lender has funded: waiting for {unfunded}")
    loan["funded"] = {m: n for m, n in loan["notices"].items() if n > 0}
    loan["outstanding"] = loan["amount"]
    loan["status"] = "ACTIVE"
    yield _with_loan(v, v.payload["loan"], loan)
    yield SetAttr("outstanding", v.before.attrs["outstanding"] + loan["amount"])
    yield SetState(DRAWN)


# 3. Interest and payments ----------------------------------------------------------------


def _set_rate(v: View) -> Iterable[Primitive]:
    p = v.payload
    loan = _loan(v, p["loan"])
    if loan["status"] != "ACTIVE" or loan["period"] is not None:
        raise ContractError("a rate is set for the next period of an ACTIVE utilisation only")
    if not loan["next_start"] < p["end"] <= loan["maturity"]:
        raise ContractError(
            f"the period runs from {loan['next_start']} to a date up to {loan['maturity']}"
        )
    rate = p["base"] + v.before.attrs["margin_ppm"]
    loan["period"] = {"start": loan["next_start"], "end": p["end"], "rate_ppm": rate}
    loan["accrued_to"], loan["accrued"], loan["period_accrued"] = loan["next_start"], {}, 0
    yield _with_loan(v, p["loan"], loan)


def _accrue(v: View) -> Iterable[Primitive]:
    p = v.payload
    _not_after_today(v, p["to"], "an accrual to")
    loan = accrue_to(_loan(v, p["loan"]), p["to"], _daycount(v))
    yield _with_loan(v, p["loan"], loan)


def _post_payment(v: View) -> Iterable[Primitive]:
    a, p = _attrs(v), v.payload
    if p["payment"] in a["payments"]:
        raise ContractError(f"payment {p['payment']!r} already posted")
    _not_after_today(v, p["record_date"], "the record date")
    loan = _loan(v, p["loan"])
    if loan["status"] != "ACTIVE":
        raise ContractError(f"utilisation {p['loan']!r} is {loan['status']}")
    if any(x["status"] == "POSTED" and x["loan"] == p["loan"] for x in a["payments"].values()):
        raise ContractError(f"a payment on {p['loan']!r} awaits distribution")
    period = loan["period"]
    if p["type"] == "interest":
        if period is None or loan["accrued_to"] != period["end"]:
            raise ContractError("interest is paid on a period accrued to its end")
        if p["record_date"] < period["end"]:
            raise ContractError("the record date of interest is on or after the period end")
        if p["gross"] != loan["period_accrued"]:
            raise ContractError(
                f"interest of the period is {loan['period_accrued']}, not {p['gross']}"
            )
        allocations = {m: n for m, n in sorted(loan["accrued"].items()) if n > 0}
    else:
        if period is not None:
            raise ContractError("principal is repaid between interest periods")
        if not 0 < p["gross"] <= loan["outstanding"]:
            raise ContractError(f"principal outstanding is {loan['outstanding']}")
        allocations = pro_rata(p["gross"], loan["funded"])
    payment = {
        "loan": p["loan"],
        "type": p["type"],
        "gross": p["gross"],
        "record_date": p["record_date"],
        "allocations": allocations,
        "status": "POSTED",
    }
    yield SetAttr("payments", {**a["payments"], p["payment"]: payment})


def _distribute(v: View) -> Iterable[Primitive]:
    a = _attrs(v)
    pid = v.payload["payment"]
    payment = dict(a["payments"].get(pid) or {})
    if payment.get("status") != "POSTED":
        raise ContractError(f"no posted payment {pid!r} to distribute")
    loan = _loan(v, payment["loan"])
    paid = {m: dict(x) for m, x in a["paid"].items()}
    for lender, part in payment["allocations"].items():
        paid[lender][payment["type"]] += part
    if payment["type"] == "interest":
        loan["next_start"] = loan["period"]["end"]
        loan["period"], loan["accrued"], loan["period_accrued"] = None, {}, 0
    else:
        funded = dict(loan["funded"])
        for lender, part in payment["allocations"].items():
            funded[lender] -= part
        loan["funded"] = {m: n for m, n in funded.items() if n > 0}
        loan["outstanding"] -= payment["gross"]
        yield SetAttr("outstanding", a["outstanding"] - payment["gross"])
        if loan["outstanding"] == 0:
            loan["status"] = "REPAID"
    payment["status"] = "DISTRIBUTED"
    yield _with_loan(v, payment["loan"], loan)
    yield SetAttr("payments", {**a["payments"], pid: payment})
    yield SetAttr("paid", paid)


# 4. Assignments --------------------------------------------------------------------------


def _assignment(v: View, assignment_id: str) -> dict[str, Any]:
    found = v.before.attrs["assignments"].get(assignment_id)
    if found is None:
        raise ContractError(f"facility {v.id!r} has no assignment {assignment_id!r}")
    return dict(found)


def _trade_assignment(v: View) -> Iterable[Primitive]:
    a, p = _attrs(v), v.payload
    if p["assignment"] in a["assignments"]:
        raise ContractError(f"assignment {p['assignment']!r} already traded")
    if p["buyer"] not in a["shares"] or p["buyer"] == v.actor:
        raise ContractError(f"the buyer is another lender of the syndicate, not {p['buyer']!r}")
    if a["shares"][v.actor] < p["share"]:
        raise ContractError(f"{v.actor} holds a share of {a['shares'][v.actor]}, not {p['share']}")
    trade = {
        "seller": v.actor,
        "buyer": p["buyer"],
        "share": p["share"],
        "trade_date": v.today.isoformat(),
        "settle_date": p["settle_date"],
        "with_accrued": p["with_accrued"],
        "consents": [],
        "status": "TRADED",
    }
    yield SetAttr("assignments", {**a["assignments"], p["assignment"]: trade})


def _required_consents(a: Mapping[str, Any]) -> list[str]:
    return ["agent", "borrower"] if a["borrower_consent"] else ["agent"]


def _consent(v: View) -> Iterable[Primitive]:
    a = _attrs(v)
    aid = v.payload["assignment"]
    trade = _assignment(v, aid)
    role = "agent" if v.actor == v.before.parties.get("agent") else "borrower"
    if role not in _required_consents(a):
        raise ContractError("this facility needs no borrower consent to assign")
    if trade["status"] not in {"TRADED", "CONSENTS"} or role in trade["consents"]:
        raise ContractError(f"the {role} has already consented, or the trade is settled")
    trade["consents"] = sorted([*trade["consents"], role])
    trade["status"] = "CONSENTS"
    yield SetAttr("assignments", {**a["assignments"], aid: trade})


def _settle_assignment(v: View) -> Iterable[Primitive]:
    a = _attrs(v)
    aid = v.payload["assignment"]
    trade = _assignment(v, aid)
    if v.actor != trade["buyer"]:
        raise ContractError(f"only the buyer {trade['buyer']!r} settles assignment {aid!r}")
    missing = sorted(set(_required_consents(a)) - set(trade["consents"]))
    if trade["status"] != "CONSENTS" or missing:
        raise ContractError(f"assignment {aid!r} lacks the consent of the {', '.join(missing)}")
    _not_after_today(v, trade["settle_date"], "the settlement date")
    seller, buyer, share = trade["seller"], trade["buyer"], trade["share"]
    seller_share = a["shares"][seller]
    if seller_share < share:
        raise ContractError(f"{seller} now holds a share of {seller_share}, not {share}")
    loans = {}
    for loan_id, loan in sorted(a["loans"].items()):
        if loan["status"] == "ACTIVE" and loan["period"] is not None:
            # The seller keeps what accrued while it held the loan: cut the segment here.
            loan = accrue_to(loan, trade["settle_date"], DayCount(a["daycount"]))
        loan = dict(loan)
        for key in ("funded", "accrued") if trade["with_accrued"] else ("funded",):
            parts = dict(loan[key])
            moved = assignment_moves(seller_share, share, parts.get(seller, 0))
            if moved:
                parts[seller] -= moved
                parts[buyer] = parts.get(buyer, 0) + moved
            loan[key] = {m: n for m, n in sorted(parts.items()) if n > 0}
        loans[loan_id] = loan
    shares = dict(a["shares"])
    shares[seller] -= share
    shares[buyer] += share
    trade["status"] = "SETTLED"
    yield SetAttr("loans", loans)
    yield SetAttr("shares", shares)
    yield SetAttr("assignments", {**a["assignments"], aid: trade})


# 5. Amendments ---------------------------------------------------------------------------


def _propose_amendment(v: View) -> Iterable[Primitive]:
    a, p = _attrs(v), v.payload
    if p["amendment"] in a["amendments"]:
        raise ContractError(f"amendment {p['amendment']!r} already proposed")
    term = p["term"]
    needs = {
        "commitment": "amount",
        "margin": "margin",
        "maturity": "maturity",
        "covenant": "limit",
    }.get(term)
    if needs is not None and needs not in p:
        raise ContractError(f"an amendment of the {term} names its new {needs}")
    if term == "covenant" and "covenant" not in p:
        raise ContractError("a covenant amendment names the covenant")
    if term == "commitment" and p["amount"] < a["outstanding"]:
        raise ContractError("the commitment cannot fall below what is outstanding")
    value = {k: p[k] for k in ("amount", "margin", "maturity", "covenant", "limit") if k in p}
    num, den = threshold_of(term)
    proposal = {
        "term": term,
        "value": value,
        "threshold": [num, den],
        "votes": {},
        "status": "VOTING",
    }
    yield SetAttr("amendments", {**a["amendments"], p["amendment"]: proposal})


def _amendment(v: View) -> dict[str, Any]:
    aid = v.payload["amendment"]
    found = v.before.attrs["amendments"].get(aid)
    if found is None or found["status"] != "VOTING":
        raise ContractError(f"no amendment {aid!r} open for votes")
    return dict(found)


def _vote(v: View) -> Iterable[Primitive]:
    a = _attrs(v)
    proposal = _amendment(v)
    proposal["votes"] = {**proposal["votes"], v.actor: v.payload["yes"]}
    yield SetAttr("amendments", {**a["amendments"], v.payload["amendment"]: proposal})


def _close_vote(v: View) -> Iterable[Primitive]:
    a = _attrs(v)
    proposal = _amendment(v)
    approved = passes(proposal["votes"], a["shares"], proposal["term"])
    yes = sum(a["shares"][m] for m, x in proposal["votes"].items() if x)
    proposal["status"] = "APPROVED" if approved else "REJECTED"
    proposal["yes_share"] = yes
    yield SetAttr("amendments", {**a["amendments"], v.payload["amendment"]: proposal})
    if not approved:
        return
    value, term = proposal["value"], proposal["term"]
    if term == "commitment":
        yield SetAttr("commitment", value["amount"])
    elif term == "margin":
        yield SetAttr("margin_ppm", value["margin"])
    elif term == "maturity":
        yield SetAttr("maturity", value["maturity"])
    elif term == "covenant":
        yield SetAttr("covenants", {**a["covenants"], value["covenant"]: value["limit"]})
    else:
        yield SetState(ACCELERATED)


# 6. The end ------------------------------------------------------------------------------


def _mature(v: View) -> Iterable[Primitive]:
    if v.before.attrs["outstanding"] != 0:
        raise ContractError(f"{v.before.attrs['outstanding']} is still outstanding")
    if any(x["status"] != "REPAID" for x in v.before.attrs["loans"].values()):
        raise ContractError("a utilisation is not repaid")
    return ()


def _cancel(v: View) -> Iterable[Primitive]:
    if v.before.attrs["loans"]:
        raise ContractError("a facility that has been drawn is not cancelled")
    return ()


# Invariants --------------------------------------------------------------------------


def _shares_whole(p: Post) -> bool:
    shares = p.after.attrs["shares"]
    return sum(shares.values()) == SHARE_UNITS and all(n >= 0 for n in shares.values())


def _book_balances(p: Post) -> bool:
    a = p.after.attrs
    total = 0
    for loan in a["loans"].values():
        if loan["notices"] and sum(loan["notices"].values()) != loan["amount"]:
            return False
        if sum(loan["funded"].values()) != loan["outstanding"]:
            return False
        if sum(loan["accrued"].values()) != loan["period_accrued"]:
            return False
        parts = [*loan["funded"].values(), *loan["accrued"].values()]
        if any(n < 0 for n in parts):
            return False
        total += loan["outstanding"]
    return bool(total == a["outstanding"] <= a["commitment"])


def _payments_balance(p: Post) -> bool:
    return all(
        sum(x["allocations"].values()) == x["gross"] for x in p.after.attrs["payments"].values()
    )


_INVARIANTS = (
    Invariant("shares_whole", _shares_whole, "the lenders' shares must sum to 100%"),
    Invariant(
        "book_balances",
        _book_balances,
        "notices, funded positions and accruals must sum to the utilisation's figures",
    ),
    Invariant("payments_balance", _payments_balance, "allocations must sum to the gross"),
)


# The machine -------------------------------------------------------------------------

_AGENT = frozenset({"agent"})
_LENDERS = frozenset({"lenders"})
_LOAN = Str(help="The utilisation's id.")


def _t(
    name: str,
    from_states: frozenset[str],
    roles: frozenset[str],
    schema: dict[str, Any],
    effect: Any,
    help_: str,
    to_states: frozenset[str] | None = None,
) -> Transition:
    return Transition(
        name,
        from_states,
        to_states or from_states,
        roles,
        Schema(schema),
        effect,
        help=help_,
    )


FACILITIES = Machine(
    NAME,
    "facility",
    [
        _t(
            "sign",
            frozenset({NEW}),
            _AGENT,
            {
                "borrower": Member(help="The borrower's member id."),
                "shares": MapOf(
                    Int(1, SHARE_UNITS),
                    help="lender:share in millionths (100% = 1000000), e.g. bank-a:600000;...",
                ),
                "commitment": Money(CURRENCY, 1, MAX_AMOUNT, help="Total commitment."),
                "maturity": Date(help="Final maturity."),
                "daycount": Enum(
                    frozenset({DayCount.ACT_360.value, DayCount.ACT_365F.value}),
                    help="ACT/360 or ACT/365F.",
                ),
                "margin": Ppm(help="Margin over the base rate, e.g. 1.50%."),
                "borrower_consent": Bool(help="Whether assignments need the borrower's consent."),
            },
            _sign,
            "Sign a facility with its borrower and lenders (every party endorses).",
            frozenset({SIGNED}),
        ),
        _t(
            "satisfy_conditions",
            frozenset({SIGNED}),
            _AGENT,
            {},
            lambda v: (),
            "Record the conditions precedent met: the facility is available.",
            frozenset({AVAILABLE}),
        ),
        _t(
            "request_drawdown",
            _OPEN,
            frozenset({"borrower"}),
            {
                "loan": _LOAN,
                "amount": Money(CURRENCY, 1, MAX_AMOUNT, help="Amount to draw."),
                "start": Date(help="Value date: the first interest period starts here."),
                "maturity": Date(help="The utilisation's repayment date."),
            },
            _request_drawdown,
            "Request a drawdown (borrower).",
        ),
        _t(
            "issue_notices",
            _OPEN,
            _AGENT,
            {"loan": _LOAN},
            _issue_notices,
            "Send each lender its funding notice (largest remainder over shares).",
        ),
        _t(
            "fund",
            _OPEN,
            _LENDERS,
            {"loan": _LOAN},
            _fund,
            "Fund your notice of a utilisation (each lender).",
        ),
        _t(
            "confirm_funding",
            _OPEN,
            _AGENT,
            {"loan": _LOAN},
            _confirm_funding,
            "Confirm every lender funded: the utilisation is active.",
            frozenset({DRAWN}),
        ),
        _t(
            "set_rate",
            frozenset({DRAWN}),
            _AGENT,
            {
                "loan": _LOAN,
                "end": Date(help="End of the next interest period."),
                "base": Ppm(help="The period's base rate, e.g. 3.25% (the margin is added)."),
            },
            _set_rate,
            "Open the next interest period at base + margin (agent only).",
        ),
        _t(
            "accrue",
            frozenset({DRAWN, ACCELERATED}),
            _AGENT,
            {"loan": _LOAN, "to": Date(help="Accrue to this date (not after today).")},
            _accrue,
            "Accrue interest per lender to a date.",
        ),
        _t(
            "post_payment",
            frozenset({DRAWN, ACCELERATED}),
            _AGENT,
            {
                "payment": Str(help="The payment's id."),
                "loan": _LOAN,
                "type": Enum(frozenset({"interest", "principal"}), help="interest or principal."),
                "gross": Money(CURRENCY, 1, MAX_AMOUNT, help="Gross amount received."),
                "record_date": Date(help="Lenders of record as of this date are paid."),
            },
            _post_payment,
            "Post the borrower's payment with its allocations as of the record date.",
        ),
        _t(
            "distribute",
            frozenset({DRAWN, ACCELERATED}),
            _AGENT,
            {"payment": Str(help="The posted payment's id.")},
            _distribute,
            "Distribute a posted payment to the lenders.",
        ),
        _t(
            "trade_assignment",
            _LIVE,
            _LENDERS,
            {
                "assignment": Str(help="The assignment's id."),
                "buyer": Member(help="The lender buying."),
                "share": Int(1, SHARE_UNITS, help="Share sold, in millionths."),
                "settle_date": Date(help="Settlement date: accrual is cut here."),
                "with_accrued": Bool(help="Whether the accrued interest goes to the buyer."),
            },
            _trade_assignment,
            "Sell part of your share to another lender (the seller).",
        ),
        _t(
            "consent",
            _LIVE,
            frozenset({"agent", "borrower"}),
            {"assignment": Str(help="The assignment's id.")},
            _consent,
            "Consent to an assignment (agent; the borrower where required).",
        ),
        _t(
            "settle_assignment",
            _LIVE,
            _LENDERS,
            {"assignment": Str(help="The assignment's id.")},
            _settle_assignment,
            "Settle an assignment once consented (the buyer).",
        ),
        _t(
            "propose_amendment",
            _LIVE,
            frozenset({"agent", "lenders"}),
            {
                "amendment": Str(help="The amendment's id."),
                "term": Enum(TERMS, help="commitment, margin, maturity, covenant or accelerate."),
                "amount": Money(CURRENCY, 1, MAX_AMOUNT, required=False, help="New commitment."),
                "margin": Ppm(required=False, help="New margin."),
                "maturity": Date(required=False, help="New maturity."),
                "covenant": Str(required=False, help="The covenant's name."),
                "limit": Int(0, 10**12, required=False, help="The covenant's new limit."),
            },
            _propose_amendment,
            "Propose an amendment; sacred rights need every lender.",
        ),
        _t(
            "vote",
            _LIVE,
            _LENDERS,
            {"amendment": Str(help="The amendment's id."), "yes": Bool(help="Your vote.")},
            _vote,
            "Vote on an amendment (each lender, weighted by share).",
        ),
        _t(
            "close_vote",
            _LIVE,
            _AGENT,
            {"amendment": Str(help="The amendment's id.")},
            _close_vote,
            "Close the vote: approved at the threshold of shares, else rejected.",
            _LIVE | {ACCELERATED},
        ),
        _t(
            "mature",
            frozenset({DRAWN}),
            _AGENT,
            {},
            _mature,
            "Close the facility once nothing is outstanding.",
            frozenset({MATURED}),
        ),
        _t(
            "cancel",
            frozenset({SIGNED, AVAILABLE}),
            _AGENT,
            {},
            _cancel,
            "Cancel an undrawn facility.",
            frozenset({CANCELLED}),
        ),
    ],
    invariants=_INVARIANTS,
    confidential=Confidential(retention_days=3650, quorum=TWO_THIRDS),
)

CONTRACT = build_contract(NAME, [FACILITIES])
