"""A documentary letter of credit (SCENARIOS.md §6), confidential to its parties.

The applicant (the buyer), the beneficiary (the seller), the issuing bank, the advising
bank and, when named, the confirming bank hold the credit; every one of them endorses
every step on the state it holds (``scenarios.kit.Confidential``); nobody else sees
more than a keyed hash, a version and their endorsements. The rules, each enforced
here:

- **Lifecycle.** The applicant drafts the credit and its terms; the beneficiary agrees
  the draft (co-drafting: both have signed the same terms) → ``SUBMITTED``; the issuing
  bank issues it → ``ISSUED``; the advising bank advises it → ``ADVISED``; the
  confirming bank, if one is named, confirms it → ``CONFIRMED``; the issuing bank makes
  it ``OPERATIVE`` (not before a named confirming bank has confirmed).
- **Terms are rules as data** on the credit (the kit's rule parameters): amount,
  currency, tolerance, goods, quantity and its tolerance, ports, latest shipment,
  expiry, presentation period, the documents required and the banking calendar. The
  document matching (``_match``) reads them.
- **Amendments** (irrevocability): the issuing bank proposes; the terms change only when
  the beneficiary accepts (every party signs the new rule parameters); until then the
  presentation is examined under the terms in force; the beneficiary may refuse.
- **Presentations**, entries of the credit: the beneficiary presents documents (each a
  hash and its extracted fields) → ``PRESENTED``; the issuing bank examines them →
  ``COMPLIANT`` or ``DISCREPANT``, the discrepancies computed by the matching rule, not
  chosen, plus one more when the documents are not registered by the issuing bank on
  the financing registry or are flagged there (each document set is presented under
  at most one credit: the registry pool every financed document shares); a discrepancy
  notice → ``REFUSED``; the applicant's waiver → ``WAIVED``; acceptance (only of a
  compliant or waived presentation) → ``ACCEPTED``; release of the documents, once the
  electronic bill of lading is endorsed to the applicant (``_bill``) → ``RELEASED``;
  payment → ``PAID``.
- **Drawings**: paid only after acceptance; Σ drawings ≤ amount × (1 + tolerance); a
  credit drawn to its amount is ``FULLY_DRAWN``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ledger import ContractError
from scenarios.kit import (
    ALL,
    NEW,
    Bytes,
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
    Rule,
    Schema,
    SetAttr,
    SetParty,
    SetRules,
    SetState,
    Str,
    Transition,
    View,
    documents_digest,
    parse_date,
)
from scenarios.lc._bill import BILLS
from scenarios.lc._match import DOCUMENT_TYPES, cap, discrepancies
from scenarios.tf import REGISTERED as TF_REGISTERED
from scenarios.tf import REGISTRATIONS as TF_REGISTRATIONS

__all__ = ["CREDITS", "TERMS", "drawn_total"]

NAME = "lc"
_MAX = 10**13
_TEXT = re.compile(r"[A-Za-z0-9 ,.()/-]{1,120}")
_ROLES = ("applicant", "beneficiary", "issuing", "advising", "confirming")
_OPERATIVE = frozenset({"OPERATIVE"})

TERMS = Schema(
    {
        "amount": Money(None, 1, _MAX, help="The credit amount."),
        "currency": Str(re.compile(r"[A-Z]{3}"), help="ISO 4217 currency."),
        "tolerance": Ppm(300_000, help="Amount tolerance, e.g. 10%."),
        "goods": Str(_TEXT, help="The goods, as every document must state them."),
        "quantity": Int(1, 10**12, help="The quantity, in the credit's unit (e.g. t)."),
        "quantity_tolerance": Ppm(300_000, help="Quantity tolerance, e.g. 10%."),
        "port_loading": Str(_TEXT, help="Port of loading."),
        "port_discharge": Str(_TEXT, help="Port of discharge."),
        "latest_shipment": Date(help="Latest shipment date."),
        "expiry": Date(help="Expiry date."),
        "presentation_days": Int(1, 60, help="Presentation period in banking days (21)."),
        "required": ListOf(Enum(frozenset(DOCUMENT_TYPES)), 1, 5, unique=True),
        "weekend": ListOf(Int(0, 6), 0, 3, unique=True, help="Weekend days, Monday 0."),
        "holidays": ListOf(Date(), 0, 64, unique=True, help="Bank holidays."),
    }
)
_CHANGES = Schema(
    {
        "amount": Money(None, 1, _MAX, required=False),
        "tolerance": Ppm(300_000, required=False),
        "quantity": Int(1, 10**12, required=False),
        "latest_shipment": Date(required=False),
        "expiry": Date(required=False),
        "presentation_days": Int(1, 60, required=False),
    }
)
_DOC = Record(
    Schema(
        {
            "type": Enum(frozenset(DOCUMENT_TYPES)),
            "hash": Bytes(size=32, max_size=32),
            "goods": Str(_TEXT, required=False),
            "quantity": Int(0, 10**12, required=False),
            "port_loading": Str(_TEXT, required=False),
            "port_discharge": Str(_TEXT, required=False),
            "shipped_on": Date(required=False),
            "bl_no": Str(required=False),
            "amount": Money(None, 0, _MAX, required=False),
            "seller": Member(required=False),
            "buyer": Member(required=False),
        }
    )
)


def drawn_total(credit: Mapping[str, Any]) -> int:
    return sum(int(p.get("paid", 0)) for p in credit.get("presentations", {}).values())


def _terms(obj: Any) -> dict[str, Any]:
    return dict(obj.attrs["rules"]["params"])


def _parties(obj: Any) -> dict[str, str]:
    return {r: m for r in _ROLES if (m := obj.parties.get(r)) is not None}


def _presentation(v: View, *states: str) -> tuple[dict[str, Any], dict[str, Any]]:
    entries = {k: dict(p) for k, p in v.before.attrs["presentations"].items()}
    pid = v.payload["presentation"]
    if pid not in entries:
        raise ContractError(f"credit {v.id!r} has no presentation {pid!r}")
    if entries[pid]["state"] not in states:
        raise ContractError(
            f"presentation {pid!r} is {entries[pid]['state']}, not {' or '.join(states)}"
        )
    return entries, entries[pid]


# Effects ------------------------------------------------------------------------------


def _draft(v: View) -> Iterable[Primitive]:
    p = v.payload
    named = [v.actor, p["beneficiary"], p["issuing"], p["advising"]]
    named += [p["confirming"]] if "confirming" in p else []
    if len(set(named)) != len(named):
        raise ContractError("applicant, beneficiary and the banks are different members")
    yield SetParty("applicant", v.actor)
    for role in ("beneficiary", "issuing", "advising", "confirming"):
        if role in p:
            yield SetParty(role, p[role])
    yield SetRules(p["terms"])
    yield SetAttr("presentations", {})
    yield SetAttr("amendments", [])


def _operate(v: View) -> Iterable[Primitive]:
    if "confirming" in v.before.parties and v.before.state != "CONFIRMED":
        raise ContractError("the confirming bank has not confirmed the credit")
    return ()


def _propose(v: View) -> Iterable[Primitive]:
    if v.before.attrs.get("pending") is not None:
        raise ContractError("an amendment is already pending the beneficiary's answer")
    if not v.payload["changes"]:
        raise ContractError("an amendment changes at least one term")
    yield SetAttr("pending", dict(v.payload["changes"]))


def _answer(accept: bool) -> Any:
    def effect(v: View) -> Iterable[Primitive]:
        pending = v.before.attrs.get("pending")
        if pending is None:
            raise ContractError("no amendment is pending")
        outcome = "accepted" if accept else "refused"
        log = [*v.before.attrs["amendments"], {"changes": pending, "outcome": outcome}]
        yield SetAttr("amendments", log)
        yield SetAttr("pending", None)
        if accept:
            yield SetRules(_terms(v.before) | dict(pending))

    return effect


def _present(v: View) -> Iterable[Primitive]:
    entries = {k: dict(p) for k, p in v.before.attrs["presentations"].items()}
    pid = v.payload["presentation"]
    if pid in entries:
        raise ContractError(f"presentation {pid!r} is made already")
    types = [d["type"] for d in v.payload["docs"]]
    if len(set(types)) != len(types):
        raise ContractError("each document type is presented once")
    entries[pid] = {
        "state": "PRESENTED",
        "docs": v.payload["docs"],
        "presented_on": v.today.isoformat(),
    }
    yield SetAttr("presentations", entries)


def _examine(v: View) -> Iterable[Primitive]:
    entries, entry = _presentation(v, "PRESENTED")
    found = discrepancies(
        _terms(v.before),
        _parties(v.before),
        entry["docs"],
        parse_date(entry["presented_on"]),
        drawn_total(v.before.attrs),
    )
    reg_id = v.payload["registration"]
    reg = v.get(TF_REGISTRATIONS, reg_id)
    digest = documents_digest([d["hash"] for d in entry["docs"]])
    if reg is None or reg.parties.get("financier") != v.actor or reg.data_hash != digest:
        found.append(
            f"registry: {reg_id!r} is not the issuing bank's registration of these documents"
        )
    elif reg.state != TF_REGISTERED:
        found.append(
            f"registry: the documents are {reg.state} on the financing registry (presented "
            "under another credit)"
        )
    entry.update(
        state="DISCREPANT" if found else "COMPLIANT",
        discrepancies=found,
        registration=reg_id,
        examined_on=v.today.isoformat(),
    )
    yield SetAttr("presentations", entries)


def _move(states: tuple[str, ...], to: str) -> Any:
    def effect(v: View) -> Iterable[Primitive]:
        entries, entry = _presentation(v, *states)
        entry["state"] = to
        yield SetAttr("presentations", entries)

    return effect


def _release(v: View) -> Iterable[Primitive]:
    entries, entry = _presentation(v, "ACCEPTED")
    for doc in entry["docs"]:
        if doc["type"] == "bill_of_lading" and "bl_no" in doc:
            bill = v.get(BILLS, doc["bl_no"])
            holder = None if bill is None else bill.parties.get("holder")
            if holder != v.before.parties["applicant"]:
                raise ContractError(
                    f"the bill of lading {doc['bl_no']!r} is not endorsed to the applicant"
                )
    entry["state"] = "RELEASED"
    yield SetAttr("presentations", entries)


def _pay(v: View) -> Iterable[Primitive]:
    entries, entry = _presentation(v, "RELEASED")
    amount = sum(d.get("amount", 0) for d in entry["docs"] if d["type"] == "invoice")
    entry.update(state="PAID", paid=amount, paid_on=v.today.isoformat())
    yield SetAttr("presentations", entries)
    if drawn_total(v.before.attrs) + amount >= _terms(v.before)["amount"]:
        yield SetState("FULLY_DRAWN")


# Rules --------------------------------------------------------------------------------


def _drawings_capped(p: Post) -> bool:
    if "rules" not in p.after.attrs:
        return True
    terms = _terms(p.after)
    return drawn_total(p.after.attrs) <= cap(terms["amount"], terms["tolerance"])


_INVARIANTS = (
    Invariant(
        "drawings_within_tolerance",
        _drawings_capped,
        "total drawings would exceed amount × (1 + tolerance)",
    ),
)
_TERMS_RULES = (
    Rule(
        "dates",
        lambda p: (
            parse_date(_terms(p.after)["latest_shipment"]) <= parse_date(_terms(p.after)["expiry"])
        ),
        "the latest shipment date is after expiry",
    ),
)
_PRESENTATION = Schema({"presentation": Str(help="The presentation's id.")})


def _t(
    name: str,
    from_: Iterable[str],
    to: Iterable[str],
    role: str,
    schema: Schema | None = None,
    effect: Any = None,
    help: str = "",
    **more: Any,
) -> Transition:
    extra: dict[str, Any] = {"effect": effect} if effect is not None else {}
    return Transition(
        name,
        frozenset(from_),
        frozenset(to),
        frozenset({role}),
        schema or Schema(),
        help=help,
        **extra,
        **more,
    )


_ALL_ROLES = frozenset(_ROLES)
_TRANSITIONS = (
    _t(
        "draft",
        {NEW},
        {"DRAFT"},
        "applicant",
        Schema(
            {
                "beneficiary": Member(help="The seller."),
                "issuing": Member(help="The issuing bank."),
                "advising": Member(help="The advising bank."),
                "confirming": Member(required=False, help="The confirming bank, if any."),
                "terms": Record(TERMS, help="The credit's terms (JSON)."),
            }
        ),
        _draft,
        "Draft a letter of credit and its terms with the beneficiary and the banks.",
        rules=_TERMS_RULES,
    ),
    _t("agree", {"DRAFT"}, {"SUBMITTED"}, "beneficiary", help="Agree the draft (co-drafting)."),
    _t("issue", {"SUBMITTED"}, {"ISSUED"}, "issuing", help="Issue the credit."),
    _t("advise", {"ISSUED"}, {"ADVISED"}, "advising", help="Advise the credit."),
    _t("confirm", {"ADVISED"}, {"CONFIRMED"}, "confirming", help="Add your confirmation."),
    _t(
        "operate",
        {"ADVISED", "CONFIRMED"},
        {"OPERATIVE"},
        "issuing",
        effect=_operate,
        help="Make the credit operative (after a named confirming bank confirmed).",
    ),
    _t(
        "propose_amendment",
        _OPERATIVE,
        _OPERATIVE,
        "issuing",
        Schema({"changes": Record(_CHANGES, help="The changed terms (JSON).")}),
        _propose,
        "Propose an amendment; it binds the beneficiary only once accepted.",
    ),
    _t(
        "accept_amendment",
        _OPERATIVE,
        _OPERATIVE,
        "beneficiary",
        effect=_answer(True),
        help="Accept the pending amendment; every party signs the new terms.",
        required_signers=_ALL_ROLES - {"confirming"},
        signers_if_present=frozenset({"confirming"}),
    ),
    _t(
        "refuse_amendment",
        _OPERATIVE,
        _OPERATIVE,
        "beneficiary",
        effect=_answer(False),
        help="Refuse the pending amendment; the terms stand.",
    ),
    _t(
        "present",
        _OPERATIVE,
        _OPERATIVE,
        "beneficiary",
        Schema(
            {
                "presentation": Str(help="The presentation's id."),
                "docs": ListOf(_DOC, 1, 5, help="The documents (JSON)."),
            }
        ),
        _present,
        "Present documents: each a hash and its extracted fields.",
    ),
    _t(
        "examine",
        _OPERATIVE,
        _OPERATIVE,
        "issuing",
        Schema(
            {
                "presentation": Str(help="The presentation's id."),
                "registration": Str(help="Your financing-registry registration of them."),
            }
        ),
        _examine,
        "Examine a presentation: the matching rule finds the discrepancies.",
    ),
    _t(
        "notify_discrepancies",
        _OPERATIVE,
        _OPERATIVE,
        "issuing",
        _PRESENTATION,
        _move(("DISCREPANT",), "REFUSED"),
        "Send the discrepancy notice (refuse the presentation).",
    ),
    _t(
        "waive",
        _OPERATIVE,
        _OPERATIVE,
        "applicant",
        _PRESENTATION,
        _move(("REFUSED",), "WAIVED"),
        "Waive the discrepancies of a refused presentation.",
    ),
    _t(
        "accept_presentation",
        _OPERATIVE,
        _OPERATIVE,
        "issuing",
        _PRESENTATION,
        _move(("COMPLIANT", "WAIVED"), "ACCEPTED"),
        "Accept a compliant or waived presentation.",
    ),
    _t(
        "release_docs",
        _OPERATIVE,
        _OPERATIVE,
        "issuing",
        _PRESENTATION,
        _release,
        "Release the documents (the eB/L endorsed to the applicant).",
    ),
    _t(
        "pay",
        _OPERATIVE,
        {"OPERATIVE", "FULLY_DRAWN"},
        "issuing",
        _PRESENTATION,
        _pay,
        "Pay an accepted, released presentation its invoice amount.",
    ),
    _t(
        "expire",
        _OPERATIVE,
        {"EXPIRED"},
        "issuing",
        rules=(
            Rule(
                "expired",
                lambda p: p.today > parse_date(_terms(p.after)["expiry"]),
                "the credit has not expired",
            ),
        ),
        help="Expire the credit after its expiry date.",
    ),
    _t(
        "cancel",
        {"DRAFT", "SUBMITTED", "ISSUED", "ADVISED", "CONFIRMED", "OPERATIVE"},
        {"CANCELLED"},
        "applicant",
        help="Cancel the credit; every party signs.",
        required_signers=_ALL_ROLES - {"confirming"},
        signers_if_present=frozenset({"confirming"}),
    ),
)

CREDITS = Machine(
    NAME,
    "credit",
    _TRANSITIONS,
    invariants=_INVARIANTS,
    rules_schema=TERMS,
    confidential=Confidential(retention_days=10 * 365, quorum=ALL),
)
