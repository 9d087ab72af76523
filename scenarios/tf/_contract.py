"""Trade finance: the financing registry (SCENARIOS.md §7a), as a contract.

A financier registers an invoice or a document set *before* it disburses, as
fingerprints: exact ones (one per document) and partial "similar" ones (the same
seller and number with another amount, the same deal under another number). The rules,
each enforced here:

- At most one active (``REGISTERED`` or ``FINANCED``) registration per exact
  fingerprint, and the first one wins: a later registration that shares any exact
  fingerprint with an active one is ``DUPLICATE_FLAGGED``, holds none of its
  fingerprints, and cannot be disbursed against until the alert is resolved. The
  registry is one with supply-chain finance's: an invoice that backs a receivable
  certificate (``scf:<id>``) is an exact duplicate too, and the certificate's issuer
  is the alert's first party.
- Registering consumes one of the financier's recorded evaluations by the registry
  (``fpreg``) covering all its fingerprints: they were computed online, not guessed
  (the kit does it for every ``Fingerprints`` field).
- A collision raises an alert object naming both financiers (member ids only) and the
  existing registration's status; it is the notice to both parties. The alert is a
  leg of the registering transaction, judged by the alert machine.
- Partial matches never block: they raise ``similar`` review alerts and the new
  registration is ``REGISTERED`` all the same.
- Registration precedes disbursement: a disbursement is confirmed only on a
  ``REGISTERED`` registration, on or after its registration day and on or before its
  expiry; settlement follows disbursement. Only the registering financier confirms,
  settles, archives or withdraws; anyone may lapse a registration past its expiry.
- An alert is resolved by both financiers (and an arbiter, if they name one): "clear"
  reinstates a flagged registration only once no other registration holds its
  fingerprints (re-financing after settlement, a false positive the earlier holder
  withdrew); "withdraw" withdraws the new registration. Either change to the
  registration, and the closing of its other alerts, is a leg of the same transaction
  judged by that object's own machine (the registration's ``withdraw`` is the very
  transition its financier could take alone).

Deviation from the letter of §7a: a cleared registration returns to ``REGISTERED``
(it is then active like any other) rather than resting in a separate ``CLEARED``
state; ``CLEARED`` is the alert's state. The invariant is the same and simpler to keep.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from scenarios.kit import (
    ANYONE,
    CLEARED,
    DUPLICATE_FLAGGED,
    FINANCING,
    NEW,
    OPEN,
    REGISTERED,
    WITHDRAWN,
    Date,
    Documents,
    DuplicateAlerts,
    FingerprintRegistry,
    Fingerprints,
    Machine,
    Money,
    Post,
    Primitive,
    Rule,
    Schema,
    SetAttr,
    Severity,
    SimilarityIndex,
    Str,
    Transition,
    View,
    add_months,
    build_contract,
    parse_date,
    registered_by,
)

__all__ = [
    "ACTIVE",
    "ALERTS",
    "ARCHIVED",
    "CLEARED",
    "CONTRACT",
    "DUPLICATES",
    "DUPLICATE_FLAGGED",
    "EXACT",
    "FINANCED",
    "LAPSED",
    "MAX_AMOUNT",
    "OPEN",
    "REGISTERED",
    "REGISTRATIONS",
    "SETTLED",
    "SIMILAR",
    "WITHDRAWN",
    "alerts_of",
]

NAME = "tf"
FINANCED = "FINANCED"
SETTLED = "SETTLED"
ARCHIVED = "ARCHIVED"
LAPSED = "LAPSED"
ACTIVE = frozenset({REGISTERED, FINANCED})

MAX_AMOUNT = 10**15
_MEMBERS = frozenset({"member"})
_CURRENCY = re.compile(r"[A-Z]{3}")


# Registration effects -----------------------------------------------------------------


def _register(v: View) -> Iterable[Primitive]:
    p = v.payload
    attrs = {
        "fps": p["invoice"]["exact"],
        "sim_fps": p["invoice"]["similar"],
        "amount": p["amount"],
        "currency": p["currency"],
        "registered_on": v.today.isoformat(),
        "registered_at": v.ctx.block_time,
        "expires_on": p["expires_on"],
    }
    return DUPLICATES.register(v, attrs)


def _disburse(v: View) -> Iterable[Primitive]:
    yield SetAttr("disbursed_on", v.payload["disbursed_on"])
    yield SetAttr("disbursement_ref", v.payload["bank_ref"])


def _settle(v: View) -> Iterable[Primitive]:
    yield DUPLICATES.release(v.before)
    yield SetAttr("settled_on", v.payload["settled_on"])
    yield SetAttr("settlement_ref", v.payload["bank_ref"])


# Rules ----------------------------------------------------------------------------------


_REGISTER_RULES = (
    Rule(
        "expiry_not_past",
        lambda p: parse_date(p.after.attrs["expires_on"]) >= p.today,
        "expiry is in the past",
    ),
    Rule(
        "expiry_within_a_year",
        lambda p: parse_date(p.after.attrs["expires_on"]) <= add_months(p.today, 12),
        "a registration may hold its fingerprints for at most a year before disbursement",
    ),
    Rule(
        "first_registration",
        lambda p: DUPLICATES.raised_none(p, "exact"),
        "duplicate of an active registration",
        Severity.REVIEW,
    ),
    Rule(
        "no_similar_registration",
        lambda p: DUPLICATES.raised_none(p, "similar"),
        "partial match",
        Severity.REVIEW,
    ),
)


def _in_date(field: str, after: str, message: str) -> Rule:
    def holds(p: Post) -> bool:
        day = parse_date(p.after.attrs[field])
        return parse_date(p.after.attrs[after]) <= day <= p.today

    return Rule(f"{field}_in_order", holds, message)


_DISBURSE_RULES = (
    _in_date(
        "disbursed_on", "registered_on", "disbursement must fall between registration and today"
    ),
    Rule(
        "not_expired",
        lambda p: p.today <= parse_date(p.after.attrs["expires_on"]),
        "the registration has expired; register again",
    ),
)
_SETTLE_RULES = (
    _in_date("settled_on", "disbursed_on", "settlement must fall between disbursement and today"),
)
_LAPSE_RULES = (
    Rule(
        "expired",
        lambda p: p.today > parse_date(p.after.attrs["expires_on"]),
        "the registration has not expired",
    ),
)

# The invoice typed on the command line gives the registration its amount and currency.
_INVOICE = Fingerprints(
    "invoice",
    similar=True,
    bills=True,
    options={
        "seller": "seller",
        "buyer": "buyer",
        "number": "invoice-number",
        "issued_on": "invoice-date",
        "amount": "amount",
        "currency": "currency",
    },
    fills={"amount": "amount", "currency": "currency"},
)

# The duplicate alerts (``DUPLICATES``) are declared over this machine, below; the
# effects and rules that need them look them up when they run.
_REG_TRANSITIONS = (
    Transition(
        "register",
        frozenset({NEW}),
        frozenset({REGISTERED, DUPLICATE_FLAGGED}),
        frozenset({"financier"}),
        Schema(
            {
                "invoice": _INVOICE,
                "amount": Money(None, 1, MAX_AMOUNT, help="Invoice amount, e.g. 250,000.00."),
                "currency": Str(_CURRENCY, help="ISO 4217 currency."),
                "expires_on": Date(
                    option="expires", help="Expiry YYYY-MM-DD if not disbursed by then."
                ),
                "doc_hash": Documents(option="doc", help="A document of the set to hash."),
            }
        ),
        _register,
        _REGISTER_RULES,
        consortium_roles=_MEMBERS,
        help="Register an invoice (and its bills of lading) before disbursing against it. An "
        "exact duplicate of an active registration is flagged to both banks; a partial match "
        "raises a review alert and never blocks.",
    ),
    Transition(
        "confirm_disbursement",
        frozenset({REGISTERED}),
        frozenset({FINANCED}),
        frozenset({"financier"}),
        Schema(
            {
                "disbursed_on": Date(option="on", help="Disbursement date YYYY-MM-DD."),
                "bank_ref": Str(help="Payment reference."),
            }
        ),
        _disburse,
        _DISBURSE_RULES,
        consortium_roles=_MEMBERS,
        command="disburse",
        help="Confirm the disbursement against a registration of yours (REGISTERED → FINANCED).",
    ),
    Transition(
        "confirm_settlement",
        frozenset({FINANCED}),
        frozenset({SETTLED}),
        frozenset({"financier"}),
        Schema(
            {
                "settled_on": Date(option="on", help="Settlement date YYYY-MM-DD."),
                "bank_ref": Str(help="Repayment reference."),
            }
        ),
        _settle,
        _SETTLE_RULES,
        consortium_roles=_MEMBERS,
        command="settle",
        help="Confirm repayment (FINANCED → SETTLED); the fingerprints are released.",
    ),
    Transition(
        "archive",
        frozenset({SETTLED}),
        frozenset({ARCHIVED}),
        frozenset({"financier"}),
        consortium_roles=_MEMBERS,
        help="Archive a settled registration of yours.",
    ),
    Transition(
        "withdraw",
        frozenset({REGISTERED, DUPLICATE_FLAGGED}),
        frozenset({WITHDRAWN}),
        frozenset({"financier"}),
        effect=lambda v: DUPLICATES.leave(v),
        consortium_roles=_MEMBERS,
        help="Withdraw a registration of yours that was not disbursed.",
    ),
    Transition(
        "lapse",
        frozenset({REGISTERED, DUPLICATE_FLAGGED}),
        frozenset({LAPSED}),
        frozenset({ANYONE}),
        effect=lambda v: DUPLICATES.leave(v),
        rules=_LAPSE_RULES,
        consortium_roles=frozenset({"member", "observer"}),
        help="Lapse a registration past its expiry that was never disbursed (anyone may).",
    ),
    Transition(
        "reinstate",
        frozenset({DUPLICATE_FLAGGED}),
        frozenset({REGISTERED}),
        frozenset({"financier"}),
        effect=lambda v: DUPLICATES.reinstate(v),
        internal=True,
    ),
)

REGISTRATIONS = Machine(NAME, "registration", _REG_TRANSITIONS)
# One registry with supply-chain finance's (the FINANCING pool): an invoice that backs a
# receivable certificate is an exact duplicate here, and the reverse.
EXACT = FingerprintRegistry(
    f"{NAME}.fps", pool=FINANCING, describe=registered_by(REGISTRATIONS, "financier")
)
SIMILAR = SimilarityIndex(f"{NAME}.sim_fps")
DUPLICATES: DuplicateAlerts = DuplicateAlerts(
    REGISTRATIONS,
    EXACT,
    SIMILAR,
    owner="financier",
    active=ACTIVE,
    still_held="fingerprints still held by active registration {held}: it must settle, lapse "
    "or be withdrawn before this duplicate can be cleared",
    outcome_help="clear or withdraw.",
    resolve_help="Resolve an alert; the other bank (and the arbiter, if named) co-sign.",
    arbiter="financiers",
)
ALERTS = DUPLICATES.machine
alerts_of = DUPLICATES.alerts_of
CONTRACT = build_contract(NAME, [REGISTRATIONS, ALERTS], EXACT.tables | SIMILAR.tables)
