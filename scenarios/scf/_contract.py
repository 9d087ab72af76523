"""Supply-chain finance: receivable certificates (SCENARIOS.md §3), as kit declarations.

A core enterprise (the issuer) turns a payable into a certificate held by its
supplier. The certificate can be split and transferred down the supply chain, financed
once (non-recourse factoring: the financier becomes the holder), and is redeemed by the
issuer for its face amount at maturity. The rules, each enforced here or by the kit:

- Conservation (the kit's holdings): issuing mints the face, as the root's instrument,
  into the certificate's account; a split or transfer moves all of a parent's face to
  its children (each at least one minor unit, summing to the parent); redemption and
  cancellation of a draft burn it (``redeemed``, ``voided``). Per root, the face of
  every live certificate plus everything burned is the root's face, audited on every
  step.
- Chain of title: every certificate records its root and parent and inherits the
  root's issuer; there is exactly one holder at a time (a transfer consumes the parent;
  each child is a leg of the same transaction, judged by this machine).
- A certificate in ``FINANCING_PENDING`` is locked: no split, no transfer, no second
  application. A financed certificate is never split or financed again, so each unit
  of face value is financed at most once. Nothing happens after ``REDEEMED``.
- Maturity is after the issue day and at most one calendar year after it; more than
  six months is allowed but flagged for review (the 2025 notice's "in principle").
  Splits, transfers and financing happen strictly before maturity; redemption and
  ``DUE`` from maturity on; ``OVERDUE`` from the day after maturity.
- Only the issuer redeems, for exactly the face amount, and the paying bank co-signs.
- An invoice fingerprint can back one root only (first registration wins), which stops
  the same invoice being turned into two certificates and financed twice; the registry
  is one with trade finance's, so an invoice a bank registered for financing cannot
  back a certificate, nor a certificate's invoice be registered without a duplicate
  alert. The fingerprints come from one of the issuer's recorded evaluations by the
  registry (``fpreg``), which the kit consumes: they were computed online, not guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from ledger import ContractError, State
from scenarios.kit import (
    ANYONE,
    FINANCING,
    NEW,
    Burn,
    ClaimFp,
    Date,
    Documents,
    FingerprintRegistry,
    Fingerprints,
    ListOf,
    Machine,
    Member,
    Mint,
    Money,
    Move,
    Obj,
    Post,
    Ppm,
    Primitive,
    ReleaseFp,
    Rule,
    Schema,
    SetAttr,
    SetParty,
    SetState,
    Severity,
    Spawn,
    Str,
    Supplies,
    Transition,
    View,
    account,
    add_months,
    build_contract,
    days_between,
    parse_date,
    registered_by,
)
from scenarios.scf._pricing import price

__all__ = [
    "ACTIVE",
    "CANCELLED",
    "CERTIFICATES",
    "CONTRACT",
    "DRAFT",
    "DUE",
    "FINANCED",
    "FINANCING_PENDING",
    "INVOICES",
    "LIVE",
    "MAX_FACE",
    "OVERDUE",
    "REDEEMED",
    "SPLIT",
    "SUPPLY",
]

NAME = "scf"
DRAFT = "DRAFT"
ACTIVE = "ACTIVE"
SPLIT = "SPLIT"
FINANCING_PENDING = "FINANCING_PENDING"
FINANCED = "FINANCED"
DUE = "DUE"
OVERDUE = "OVERDUE"
REDEEMED = "REDEEMED"
CANCELLED = "CANCELLED"
LIVE = frozenset({DRAFT, ACTIVE, FINANCING_PENDING, FINANCED, DUE, OVERDUE})

# 10^15 minor units (ten trillion yuan in fen) bounds every product below 2^127.
MAX_FACE = 10**15
_MEMBERS = frozenset({"member"})
_ANY_ROLE = frozenset({"member", "observer"})
# A child certificate's id is ``<root>.<n>``: the dot is reserved for that.
_CHILD_ID = Str(re.compile(r"[A-Za-z0-9_.-]{1,200}"))


def _maturity(obj: Obj) -> date:
    return parse_date(obj.attrs["maturity"])


# Rules on the post-state ---------------------------------------------------------------

_BEFORE_MATURITY = Rule(
    "before_maturity",
    lambda p: p.today < _maturity(p.after),
    "the certificate is at or past maturity",
)
_AT_MATURITY = Rule(
    "at_or_after_maturity",
    lambda p: p.today >= _maturity(p.after),
    "the certificate has not reached maturity",
)
_PAST_MATURITY = Rule(
    "unpaid_after_maturity",
    lambda p: days_between(_maturity(p.after), p.today) >= 1,
    "a certificate is overdue only from the day after maturity",
)
_ISSUE_RULES = (
    Rule(
        "maturity_after_issue",
        lambda p: _maturity(p.after) > p.today,
        "maturity must be after the issue day",
    ),
    Rule(
        "term_at_most_one_year",
        lambda p: _maturity(p.after) <= add_months(p.today, 12),
        "maturity may be at most one year after issue",
    ),
    Rule(
        "holder_is_not_issuer",
        lambda p: p.after.parties["holder"] != p.after.parties["issuer"],
        "the first holder must be a supplier, not the issuer",
    ),
    Rule(
        "term_at_most_six_months",
        lambda p: _maturity(p.after) <= add_months(p.today, 6),
        "terms over six months are allowed only in exceptional cases",
        Severity.REVIEW,
    ),
)


# Effects --------------------------------------------------------------------------------


def _issue(v: View) -> Iterable[Primitive]:
    p = v.payload
    fps = tuple(p["invoice"]["exact"])
    conflicts = INVOICES.conflicts(v.state, fps, v.id)
    if not conflicts.first:
        raise ContractError(f"the invoice {_held(v.state, conflicts.holders)} (first wins)")
    yield SetState(DRAFT)
    yield SetParty("issuer", v.actor)
    yield SetParty("holder", p["holder"])
    yield SetAttr("root", v.id)
    yield SetAttr("face", p["face"])
    yield SetAttr("issued_on", v.today.isoformat())
    yield SetAttr("maturity", p["maturity"])
    yield SetAttr("invoice_fps", list(fps))
    yield Mint(p["face"], v.id, account(v.before))
    yield ClaimFp(INVOICES, fps, v.id)


def _held(state: State, holders: tuple[str, ...]) -> str:
    # A holder in another scenario's registry of the pool is "<contract>:<id>": name it
    # with its registering member and status, as that scenario's own alerts would.
    parts = []
    for ref in holders:
        if ":" not in ref:
            parts.append(f"already backs certificate {ref!r}")
            continue
        held = INVOICES.describe(state, ref)
        parts.append(f"is already registered as {ref!r} by {held.member} ({held.status})")
    return " and ".join(parts)


def _cancel(v: View) -> Iterable[Primitive]:
    cert = v.before
    yield Burn(cert.attrs["face"], cert.attrs["root"], account(cert), "voided")
    yield ReleaseFp(INVOICES, tuple(cert.attrs["invoice_fps"]), cert.id)


def _accept(v: View) -> Iterable[Primitive]:
    yield SetAttr("accepted_on", v.today.isoformat())


def _split_into(v: View, parts: list[tuple[str, int]]) -> Iterable[Primitive]:
    face = v.before.attrs["face"]
    amounts = [amount for _, amount in parts]
    if any(a < 1 for a in amounts):
        raise ContractError("every part must be at least 1 minor unit")
    if sum(amounts) != face:
        raise ContractError(f"parts sum to {sum(amounts)}, not the face amount {face}")
    children = v.next_ids(v.before.attrs["root"], len(parts))
    yield SetState(SPLIT)
    yield SetAttr("children", children)
    for child, (holder, amount) in zip(children, parts, strict=True):
        yield Spawn(CERTIFICATES, child, "part", {"parent": v.id, "holder": holder, "face": amount})


def _split(v: View) -> Iterable[Primitive]:
    holder = v.before.parties["holder"]
    return _split_into(v, [(holder, amount) for amount in v.payload["amounts"]])


def _transfer(v: View) -> Iterable[Primitive]:
    face = v.before.attrs["face"]
    amount, to = v.payload["amount"], v.payload["to"]
    holder = v.before.parties["holder"]
    if to == holder:
        raise ContractError("a transfer must go to another member; use split to divide")
    if amount > face:
        raise ContractError(f"amount {amount} exceeds the face amount {face}")
    parts = [(to, amount)] + ([(holder, face - amount)] if amount < face else [])
    return _split_into(v, parts)


def _part(v: View) -> Iterable[Primitive]:
    """A child of a split or transfer: the parent's title and terms, part of its face."""
    parent = v.load(CERTIFICATES, v.payload["parent"])
    yield SetState(ACTIVE)
    yield SetParty("issuer", parent.parties["issuer"])
    yield SetParty("holder", v.payload["holder"])
    yield SetAttr("data_hash", parent.data_hash)
    for key in ("root", "issued_on", "maturity", "accepted_on"):
        if key in parent.attrs:
            yield SetAttr(key, parent.attrs[key])
    yield SetAttr("face", v.payload["face"])
    yield SetAttr("parent", parent.id)
    yield Move(v.payload["face"], parent.attrs["root"], account(parent), account(v.before))


def _apply_financing(v: View) -> Iterable[Primitive]:
    p = v.payload
    if p["financier"] == v.before.parties["holder"]:
        raise ContractError("a holder cannot finance its own certificate")
    yield SetParty("financier", p["financier"])
    yield SetAttr("terms", {"rate_ppm": p["rate_ppm"], "fee": p.get("fee", 0)})


def _approve_financing(v: View) -> Iterable[Primitive]:
    cert = v.before
    terms = cert.attrs["terms"]
    days = max(0, days_between(v.today, _maturity(cert)))
    pricing = price(cert.attrs["face"], terms["rate_ppm"], days, terms["fee"])
    yield SetParty("holder", cert.parties["financier"])
    yield SetParty("financier", None)
    yield SetAttr("terms", None)
    yield SetAttr(
        "financing",
        {
            "financier": cert.parties["financier"],
            "seller": cert.parties["holder"],
            "on": v.today.isoformat(),
            "rate_ppm": pricing.rate_ppm,
            "fee": pricing.fee,
            "days": pricing.days,
            "discount": pricing.discount,
            "proceeds": pricing.proceeds,
            "recourse": False,
            "bank_ref": v.payload["bank_ref"],
        },
    )


def _release_lock(v: View) -> Iterable[Primitive]:
    yield SetParty("financier", None)
    yield SetAttr("terms", None)


def _redeem(v: View) -> Iterable[Primitive]:
    cert = v.before
    yield Burn(cert.attrs["face"], cert.attrs["root"], account(cert), "redeemed")
    yield SetParty("paying_bank", v.payload["paying_bank"])
    yield SetAttr(
        "redemption",
        {
            "paid": v.payload["amount"],
            "paid_to": cert.parties["holder"],
            "on": v.today.isoformat(),
            "bank_ref": v.payload["bank_ref"],
        },
    )


def _financing_positive(p: Post) -> bool:
    financing = p.after.attrs["financing"]
    return bool(financing["days"] >= 1 and financing["proceeds"] >= 1)


_FACE = Money("CNY", 1, MAX_FACE)
_TRANSITIONS = (
    Transition(
        "issue",
        frozenset({NEW}),
        frozenset({DRAFT}),
        frozenset({"issuer"}),
        Schema(
            {
                "holder": Member(help="The supplier the certificate is issued to."),
                "face": Money("CNY", 1, MAX_FACE, help="Face amount, e.g. 1,000,000.00."),
                "maturity": Date(help="Maturity date YYYY-MM-DD (at most a year)."),
                "invoice": Fingerprints("invoice", defaults={"amount": "face"}),
                "doc_hash": Documents(option="doc", help="A trade document to hash."),
            }
        ),
        _issue,
        _ISSUE_RULES,
        consortium_roles=_MEMBERS,
        help="Issue a receivable certificate (DRAFT until the supplier accepts); the "
        "invoice is fingerprinted by the registry, so it cannot back a second certificate.",
    ),
    Transition(
        "cancel",
        frozenset({DRAFT}),
        frozenset({CANCELLED}),
        frozenset({"issuer"}),
        effect=_cancel,
        consortium_roles=_MEMBERS,
        help="Cancel a certificate you issued that was not accepted yet.",
    ),
    Transition(
        "accept",
        frozenset({DRAFT}),
        frozenset({ACTIVE}),
        frozenset({"holder"}),
        effect=_accept,
        consortium_roles=_MEMBERS,
        help="Accept a certificate issued to you (DRAFT → ACTIVE).",
    ),
    Transition(
        "split",
        frozenset({ACTIVE}),
        frozenset({SPLIT}),
        frozenset({"holder"}),
        Schema({"amounts": ListOf(_FACE, 2, 16, help="Parts summing to the face.")}),
        _split,
        (_BEFORE_MATURITY,),
        consortium_roles=_MEMBERS,
        help="Split a certificate you hold into parts (all yours).",
    ),
    Transition(
        "transfer",
        frozenset({ACTIVE}),
        frozenset({SPLIT}),
        frozenset({"holder"}),
        Schema(
            {
                "to": Member(help="The member receiving the part."),
                "amount": Money("CNY", 1, MAX_FACE, help="Amount to transfer (≤ face)."),
            }
        ),
        _transfer,
        (_BEFORE_MATURITY,),
        consortium_roles=_MEMBERS,
        help="Transfer part or all of a certificate you hold; the remainder stays yours.",
    ),
    Transition(
        "part",
        frozenset({NEW}),
        frozenset({ACTIVE}),
        frozenset({"holder"}),
        Schema({"parent": _CHILD_ID, "holder": Member(), "face": _FACE}),
        _part,
        internal=True,
    ),
    Transition(
        "apply_financing",
        frozenset({ACTIVE}),
        frozenset({FINANCING_PENDING}),
        frozenset({"holder"}),
        Schema(
            {
                "financier": Member(help="The bank or factor asked to finance."),
                "rate_ppm": Ppm(option="rate", help="Annual discount rate, e.g. 4.35%."),
                "fee": Money("CNY", 0, MAX_FACE, required=False, help="Fee (default 0)."),
            }
        ),
        _apply_financing,
        (_BEFORE_MATURITY,),
        consortium_roles=_MEMBERS,
        help="Apply for non-recourse financing; the certificate is locked until decided.",
    ),
    Transition(
        "approve_financing",
        frozenset({FINANCING_PENDING}),
        frozenset({FINANCED}),
        frozenset({"financier"}),
        Schema({"bank_ref": Str(help="Reference of the proceeds payment.")}),
        _approve_financing,
        (
            _BEFORE_MATURITY,
            Rule("positive_proceeds", _financing_positive, "the proceeds would not be positive"),
        ),
        consortium_roles=_MEMBERS,
        help="Approve a financing you were asked for: you become the holder; proceeds are "
        "face × (1 − r × days/360) − fee, exact in minor units.",
    ),
    Transition(
        "reject_financing",
        frozenset({FINANCING_PENDING}),
        frozenset({ACTIVE}),
        frozenset({"financier"}),
        effect=_release_lock,
        consortium_roles=_MEMBERS,
        help="Reject a financing you were asked for (the certificate is unlocked).",
    ),
    Transition(
        "mark_due",
        frozenset({ACTIVE, FINANCING_PENDING, FINANCED}),
        frozenset({DUE}),
        frozenset({ANYONE}),
        effect=_release_lock,
        rules=(_AT_MATURITY,),
        consortium_roles=_ANY_ROLE,
        help="Mark a certificate due (from its maturity day; anyone may).",
    ),
    Transition(
        "mark_overdue",
        frozenset({ACTIVE, FINANCING_PENDING, FINANCED, DUE}),
        frozenset({OVERDUE}),
        frozenset({ANYONE}),
        effect=_release_lock,
        rules=(_PAST_MATURITY,),
        consortium_roles=_ANY_ROLE,
        help="Mark an unpaid certificate overdue (from the day after maturity; anyone may).",
    ),
    Transition(
        "redeem",
        frozenset({ACTIVE, FINANCED, DUE, OVERDUE}),
        frozenset({REDEEMED}),
        frozenset({"issuer"}),
        Schema(
            {
                "paying_bank": Member(help="The bank paying the holder; it co-signs."),
                "amount": Money(
                    "CNY", 1, MAX_FACE, default_attr="face", help="Amount paid (the face)."
                ),
                "bank_ref": Str(help="Reference of the payment."),
            }
        ),
        _redeem,
        (
            _AT_MATURITY,
            Rule(
                "pays_face",
                lambda p: p.payload["amount"] == p.after.attrs["face"],
                "redemption pays exactly the face amount",
            ),
        ),
        required_signers=frozenset({"paying_bank"}),
        consortium_roles=_MEMBERS,
        help="Redeem a certificate you issued for its face amount, at or after maturity; "
        "the paying bank's gateway co-signs once its operator authorised it.",
    ),
)

CERTIFICATES = Machine(NAME, "certificate", _TRANSITIONS)


# One registry with trade finance's (the FINANCING pool): an invoice that backs a
# certificate is a duplicate when a bank registers it for financing, and the reverse.
INVOICES = FingerprintRegistry(
    f"{NAME}.invoice_fps", pool=FINANCING, describe=registered_by(CERTIFICATES, "issuer")
)
CONTRACT = build_contract(NAME, [CERTIFICATES], INVOICES.tables)
# Each root is an instrument; ``show`` reports its supply as ``root_supply``.
SUPPLY = Supplies(CERTIFICATES, "root", ("redeemed", "voided"), amount_attr="face")
