"""Supply-chain finance: receivable certificates (SCENARIOS.md §3), as a contract.

A core enterprise (the issuer) turns a payable into a certificate held by its
supplier. The certificate can be split and transferred down the supply chain, financed
once (non-recourse factoring: the financier becomes the holder), and is redeemed by the
issuer for its face amount at maturity. The rules, each enforced here:

- Conservation: a split's children sum to the parent; per root, the face of every live
  certificate plus everything redeemed (plus a cancelled draft) is the root's face.
- Chain of title: every certificate records its root and parent and inherits the
  root's issuer; there is exactly one holder at a time (a transfer consumes the parent).
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
  alert. Issuing
  consumes one of the issuer's recorded evaluations by the registry (``fpreg``) that
  covers the invoice fingerprints: they were computed online, not guessed.
"""

from __future__ import annotations

import re
from datetime import date

from ledger import ContractError, State
from scenarios.kit import (
    ANYONE,
    FINANCING,
    FP_SIZE,
    NEW,
    Bytes,
    Conserved,
    Date,
    FingerprintRegistry,
    Int,
    ListOf,
    Machine,
    Obj,
    Post,
    Rule,
    Schema,
    Severity,
    Step,
    Str,
    Transition,
    add_months,
    build_contract,
    day_of,
    days_between,
    parse_date,
    use_receipt,
)
from scenarios.scf._pricing import PPM, price

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


def _today(post_or_step: Post | Step) -> date:
    return day_of(post_or_step.ctx.block_time)


def _maturity(obj: Obj) -> date:
    return parse_date(obj.attrs["maturity"])


# Rules on the post-state ---------------------------------------------------------------

_BEFORE_MATURITY = Rule(
    "before_maturity",
    lambda p: _today(p) < _maturity(p.after),
    "the certificate is at or past maturity",
)
_AT_MATURITY = Rule(
    "at_or_after_maturity",
    lambda p: _today(p) >= _maturity(p.after),
    "the certificate has not reached maturity",
)
_PAST_MATURITY = Rule(
    "unpaid_after_maturity",
    lambda p: days_between(_maturity(p.after), _today(p)) >= 1,
    "a certificate is overdue only from the day after maturity",
)
_ISSUE_RULES = (
    Rule(
        "maturity_after_issue",
        lambda p: _maturity(p.after) > _today(p),
        "maturity must be after the issue day",
    ),
    Rule(
        "term_at_most_one_year",
        lambda p: _maturity(p.after) <= add_months(_today(p), 12),
        "maturity may be at most one year after issue",
    ),
    Rule(
        "holder_is_not_issuer",
        lambda p: p.after.parties["holder"] != p.after.parties["issuer"],
        "the first holder must be a supplier, not the issuer",
    ),
    Rule(
        "term_at_most_six_months",
        lambda p: _maturity(p.after) <= add_months(_today(p), 6),
        "terms over six months are allowed only in exceptional cases",
        Severity.REVIEW,
    ),
)


# Pieces --------------------------------------------------------------------------------


def _issue(step: Step) -> Obj:
    p = step.payload
    cert_id = step.before.id
    obj = Obj(
        cert_id,
        step.before.type,
        DRAFT,
        0,
        {"issuer": step.ctx.member, "holder": p["holder"]},
        p["doc_hash"],
        {
            "root": cert_id,
            "face": p["face"],
            "issued_on": _today(step).isoformat(),
            "maturity": p["maturity"],
            "invoice_fps": p["invoice_fps"],
        },
    )
    use_receipt(
        step.state,
        USED_RECEIPTS,
        p["fp_receipt"],
        step.ctx.member,
        len(p["invoice_fps"]),
        step.ctx.block_time,
    )
    SUPPLY.issue(step.state, cert_id, p["face"])
    claim = INVOICES.claim(step.state, p["invoice_fps"], cert_id)
    if not claim.first:
        raise ContractError(f"the invoice {_held(step, claim.holders)} (first wins)")
    return obj


def _held(step: Step, holders: tuple[str, ...]) -> str:
    # A holder in another scenario's registry of the pool is "<contract>:<id>": name it
    # with its registering member and status, as that scenario's own alerts would.
    parts = []
    for ref in holders:
        if ":" not in ref:
            parts.append(f"already backs certificate {ref!r}")
            continue
        held = INVOICES.describe(step.state, ref)
        parts.append(f"is already registered as {ref!r} by {held.member} ({held.status})")
    return " and ".join(parts)


def _cancel(step: Step) -> Obj:
    SUPPLY.void(step.state, step.before)
    INVOICES.release(step.state, step.before.attrs["invoice_fps"], step.before.id)
    return step.before


def _accept(step: Step) -> Obj:
    return step.before.evolve(attrs={"accepted_on": _today(step).isoformat()})


def _split_into(step: Step, parts: list[tuple[dict[str, str], int]]) -> Obj:
    children = SUPPLY.split(
        step, step.before, parts, child_state=ACTIVE, drop_attrs=("invoice_fps", "children")
    )
    return step.before.evolve(state=SPLIT, attrs={"children": [c.id for c in children]})


def _split(step: Step) -> Obj:
    holder = step.before.parties["holder"]
    return _split_into(step, [({"holder": holder}, amount) for amount in step.payload["amounts"]])


def _transfer(step: Step) -> Obj:
    face = step.before.attrs["face"]
    amount = step.payload["amount"]
    holder = step.before.parties["holder"]
    if step.payload["to"] == holder:
        raise ContractError("a transfer must go to another member; use split to divide")
    if amount > face:
        raise ContractError(f"amount {amount} exceeds the face amount {face}")
    parts = [({"holder": step.payload["to"]}, amount)]
    if amount < face:
        parts.append(({"holder": holder}, face - amount))
    return _split_into(step, parts)


def _apply_financing(step: Step) -> Obj:
    p = step.payload
    if p["financier"] == step.before.parties["holder"]:
        raise ContractError("a holder cannot finance its own certificate")
    return step.before.evolve(
        parties={"financier": p["financier"]},
        attrs={"terms": {"rate_ppm": p["rate_ppm"], "fee": p["fee"]}},
    )


def _approve_financing(step: Step) -> Obj:
    cert = step.before
    terms = cert.attrs["terms"]
    days = max(0, days_between(_today(step), _maturity(cert)))
    pricing = price(cert.attrs["face"], terms["rate_ppm"], days, terms["fee"])
    financing = {
        "financier": cert.parties["financier"],
        "seller": cert.parties["holder"],
        "on": _today(step).isoformat(),
        "rate_ppm": pricing.rate_ppm,
        "fee": pricing.fee,
        "days": pricing.days,
        "discount": pricing.discount,
        "proceeds": pricing.proceeds,
        "recourse": False,
        "bank_ref": step.payload["bank_ref"],
    }
    return cert.evolve(
        parties={"holder": cert.parties["financier"], "financier": None},
        attrs={"terms": None, "financing": financing},
    )


def _release_lock(step: Step) -> Obj:
    return step.before.evolve(parties={"financier": None}, attrs={"terms": None})


def _redeem(step: Step) -> Obj:
    cert = step.before
    SUPPLY.retire(step.state, cert)
    return cert.evolve(
        parties={"paying_bank": step.payload["paying_bank"]},
        attrs={
            "redemption": {
                "paid": step.payload["amount"],
                "paid_to": cert.parties["holder"],
                "on": _today(step).isoformat(),
                "bank_ref": step.payload["bank_ref"],
            }
        },
    )


def _financing_positive(p: Post) -> bool:
    financing = p.after.attrs["financing"]
    return bool(financing["days"] >= 1 and financing["proceeds"] >= 1)


_FP = Bytes(size=FP_SIZE, max_size=FP_SIZE)
RECEIPT_ID = re.compile(r"[0-9a-f]{64}")
_TRANSITIONS = (
    Transition(
        "issue",
        frozenset({NEW}),
        frozenset({DRAFT}),
        frozenset({"issuer"}),
        Schema(
            {
                "holder": Str(),
                "face": Int(1, MAX_FACE),
                "maturity": Date(),
                "invoice_fps": ListOf(_FP, 1, 16, unique=True),
                "doc_hash": Bytes(size=32, max_size=32),
                "fp_receipt": Str(RECEIPT_ID),
            }
        ),
        _issue,
        _ISSUE_RULES,
        consortium_roles=_MEMBERS,
        member_fields=("holder",),
    ),
    Transition(
        "cancel",
        frozenset({DRAFT}),
        frozenset({CANCELLED}),
        frozenset({"issuer"}),
        effect=_cancel,
        consortium_roles=_MEMBERS,
    ),
    Transition(
        "accept",
        frozenset({DRAFT}),
        frozenset({ACTIVE}),
        frozenset({"holder"}),
        effect=_accept,
        consortium_roles=_MEMBERS,
    ),
    Transition(
        "split",
        frozenset({ACTIVE}),
        frozenset({SPLIT}),
        frozenset({"holder"}),
        Schema({"amounts": ListOf(Int(1, MAX_FACE), 2, 16)}),
        _split,
        (_BEFORE_MATURITY,),
        consortium_roles=_MEMBERS,
    ),
    Transition(
        "transfer",
        frozenset({ACTIVE}),
        frozenset({SPLIT}),
        frozenset({"holder"}),
        Schema({"to": Str(), "amount": Int(1, MAX_FACE)}),
        _transfer,
        (_BEFORE_MATURITY,),
        consortium_roles=_MEMBERS,
        member_fields=("to",),
    ),
    Transition(
        "apply_financing",
        frozenset({ACTIVE}),
        frozenset({FINANCING_PENDING}),
        frozenset({"holder"}),
        Schema({"financier": Str(), "rate_ppm": Int(0, PPM), "fee": Int(0, MAX_FACE)}),
        _apply_financing,
        (_BEFORE_MATURITY,),
        consortium_roles=_MEMBERS,
        member_fields=("financier",),
    ),
    Transition(
        "approve_financing",
        frozenset({FINANCING_PENDING}),
        frozenset({FINANCED}),
        frozenset({"financier"}),
        Schema({"bank_ref": Str()}),
        _approve_financing,
        (
            _BEFORE_MATURITY,
            Rule("positive_proceeds", _financing_positive, "the proceeds would not be positive"),
        ),
        consortium_roles=_MEMBERS,
    ),
    Transition(
        "reject_financing",
        frozenset({FINANCING_PENDING}),
        frozenset({ACTIVE}),
        frozenset({"financier"}),
        effect=_release_lock,
        consortium_roles=_MEMBERS,
    ),
    Transition(
        "mark_due",
        frozenset({ACTIVE, FINANCING_PENDING, FINANCED}),
        frozenset({DUE}),
        frozenset({ANYONE}),
        effect=_release_lock,
        rules=(_AT_MATURITY,),
        consortium_roles=_ANY_ROLE,
    ),
    Transition(
        "mark_overdue",
        frozenset({ACTIVE, FINANCING_PENDING, FINANCED, DUE}),
        frozenset({OVERDUE}),
        frozenset({ANYONE}),
        effect=_release_lock,
        rules=(_PAST_MATURITY,),
        consortium_roles=_ANY_ROLE,
    ),
    Transition(
        "redeem",
        frozenset({ACTIVE, FINANCED, DUE, OVERDUE}),
        frozenset({REDEEMED}),
        frozenset({"issuer"}),
        Schema({"paying_bank": Str(), "amount": Int(1, MAX_FACE), "bank_ref": Str()}),
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
        member_fields=("paying_bank",),
    ),
)

CERTIFICATES = Machine(NAME, "certificate", _TRANSITIONS)
SUPPLY = Conserved(CERTIFICATES, LIVE, amount_attr="face", asset_attr="root")


def _registered_by(state: State, cert_id: str) -> tuple[str, str]:
    cert = CERTIFICATES.load(state, cert_id)
    return cert.parties["issuer"], cert.state


# One registry with trade finance's (the FINANCING pool): an invoice that backs a
# certificate is a duplicate when a bank registers it for financing, and the reverse.
INVOICES = FingerprintRegistry(f"{NAME}.invoice_fps", pool=FINANCING, describe=_registered_by)
USED_RECEIPTS = f"{NAME}.fp_receipts"
CONTRACT = build_contract(NAME, [CERTIFICATES], SUPPLY.tables | INVOICES.tables | {USED_RECEIPTS})
