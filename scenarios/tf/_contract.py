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
from typing import Any

from ledger import ContractError, State, get_member
from scenarios.kit import (
    ANYONE,
    FINANCING,
    NEW,
    ClaimFp,
    Date,
    Documents,
    Enum,
    FingerprintRegistry,
    Fingerprints,
    Machine,
    Member,
    Money,
    Obj,
    Post,
    Primitive,
    ReleaseFp,
    Rule,
    Schema,
    SetAttr,
    SetParty,
    SetState,
    Severity,
    SimilarityIndex,
    Spawn,
    Str,
    Transition,
    View,
    add_months,
    build_contract,
    parse_date,
)

__all__ = [
    "ACTIVE",
    "ALERTS",
    "ARCHIVED",
    "CLEARED",
    "CONTRACT",
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
REGISTERED = "REGISTERED"
DUPLICATE_FLAGGED = "DUPLICATE_FLAGGED"
FINANCED = "FINANCED"
SETTLED = "SETTLED"
ARCHIVED = "ARCHIVED"
LAPSED = "LAPSED"
WITHDRAWN = "WITHDRAWN"
ACTIVE = frozenset({REGISTERED, FINANCED})
OPEN = "OPEN"
CLEARED = "CLEARED"

MAX_AMOUNT = 10**15
_MEMBERS = frozenset({"member"})
_CURRENCY = re.compile(r"[A-Z]{3}")
# An alert's id is ``<new>~<existing>``, the existing one possibly ``<contract>:<id>``.
_REF = Str(re.compile(r"[A-Za-z0-9_.:~-]{1,200}"))


def _alert_id(new: str, existing: str) -> str:
    # "~" never appears in a registration id, so alert ids cannot collide with them.
    return f"{new}~{existing}"


def alerts_of(state: Any, reg_id: str) -> list[Obj]:
    """The alerts raised by registration ``reg_id`` (it is the newer side of each)."""
    return list(ALERTS.scan(state, reg_id + "~"))


def _claim(reg: Obj) -> ClaimFp:
    a = reg.attrs
    return ClaimFp(EXACT, tuple(a["fps"]), reg.id, tuple(a["sim_fps"]), SIMILAR)


def _release(reg: Obj) -> ReleaseFp:
    a = reg.attrs
    return ReleaseFp(EXACT, tuple(a["fps"]), reg.id, tuple(a["sim_fps"]), SIMILAR)


def _moot(state: State, reg_id: str) -> Iterable[Primitive]:
    """A registration that leaves for good takes its open alerts with it."""
    for alert in alerts_of(state, reg_id):
        if alert.state == OPEN:
            yield Spawn(ALERTS, alert.id, "moot")


# Registration effects -----------------------------------------------------------------


def _register(v: View) -> Iterable[Primitive]:
    p = v.payload
    fps, sim_fps = p["invoice"]["exact"], p["invoice"]["similar"]
    claim = EXACT.conflicts(v.state, fps, v.id)
    yield SetState(REGISTERED if claim.first else DUPLICATE_FLAGGED)
    yield SetParty("financier", v.actor)
    attrs = {
        "fps": fps,
        "sim_fps": sim_fps,
        "amount": p["amount"],
        "currency": p["currency"],
        "registered_on": v.today.isoformat(),
        "registered_at": v.ctx.block_time,
        "expires_on": p["expires_on"],
    }
    for key, value in attrs.items():
        yield SetAttr(key, value)
    if claim.first:
        yield ClaimFp(EXACT, tuple(fps), v.id, tuple(sim_fps), SIMILAR)
    similar = [r for r in SIMILAR.matches(v.state, sim_fps, v.id) if r not in claim.holders]
    for match, others in (("exact", claim.holders), ("similar", tuple(similar))):
        for other_ref in others:
            # An exact holder may be another scenario's (``scf:C1``, a certificate the
            # invoice backs): its registering member is told, like any first financier.
            other = EXACT.describe(v.state, other_ref)
            yield Spawn(
                ALERTS,
                _alert_id(v.id, other_ref),
                "raise",
                {
                    "new": v.id,
                    "existing": other_ref,
                    "match": match,
                    "existing_status": other.status,
                    "first": other.member,
                    "second": v.actor,
                },
            )


def _disburse(v: View) -> Iterable[Primitive]:
    yield SetAttr("disbursed_on", v.payload["disbursed_on"])
    yield SetAttr("disbursement_ref", v.payload["bank_ref"])


def _settle(v: View) -> Iterable[Primitive]:
    yield _release(v.before)
    yield SetAttr("settled_on", v.payload["settled_on"])
    yield SetAttr("settlement_ref", v.payload["bank_ref"])


def _leave(v: View) -> Iterable[Primitive]:
    """Withdraw or lapse: release what an active registration holds, close its alerts."""
    if v.before.state in ACTIVE:
        yield _release(v.before)
    yield from _moot(v.state, v.id)


def _reinstate(v: View) -> Iterable[Primitive]:
    conflicts = EXACT.conflicts(v.state, v.before.attrs["fps"], v.id)
    if not conflicts.first:
        held = ", ".join(repr(h) for h in conflicts.holders)
        raise ContractError(
            f"fingerprints still held by active registration {held}: it must settle, lapse "
            "or be withdrawn before this duplicate can be cleared"
        )
    yield _claim(v.before)


# Alert effects ------------------------------------------------------------------------


def _raise(v: View) -> Iterable[Primitive]:
    p = v.payload
    yield SetParty("first", p["first"])
    yield SetParty("second", p["second"])
    for key in ("new", "existing", "match", "existing_status"):
        yield SetAttr(key, p[key])


def _moot_alert(v: View) -> Iterable[Primitive]:
    yield SetAttr("outcome", "moot")


def _resolve(v: View) -> Iterable[Primitive]:
    alert = v.before
    new = v.load(REGISTRATIONS, alert.attrs["new"])
    arbiter = v.payload.get("arbiter")
    if arbiter is not None:
        member = get_member(v.state, arbiter)
        if member is None or member.role != "observer":
            raise ContractError("an arbiter must be an observer member")
        if arbiter in alert.parties.values():
            raise ContractError("an arbiter cannot be one of the two financiers")
        yield SetParty("arbiter", arbiter)
    outcome = v.payload["outcome"]
    yield SetAttr("outcome", outcome)
    yield SetAttr("resolved_on", v.today.isoformat())
    if outcome == "withdraw":
        if new.state not in {REGISTERED, DUPLICATE_FLAGGED}:
            raise ContractError(f"registration {new.id!r} is {new.state} and cannot be withdrawn")
        yield SetState(WITHDRAWN)
        yield Spawn(REGISTRATIONS, new.id, "withdraw")
        return
    yield SetState(CLEARED)
    if alert.attrs["match"] != "exact" or new.state != DUPLICATE_FLAGGED:
        return
    pending = [
        a.id
        for a in alerts_of(v.state, new.id)
        if a.id != alert.id and a.state == OPEN and a.attrs["match"] == "exact"
    ]
    if not pending:  # Reinstated when the last exact alert is cleared.
        yield Spawn(REGISTRATIONS, new.id, "reinstate")


# Rules ----------------------------------------------------------------------------------


def _no_alert(match: str) -> Any:
    def holds(p: Post) -> bool:
        return not any(a.attrs["match"] == match for a in alerts_of(p.state, p.after.id))

    return holds


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
        _no_alert("exact"),
        "duplicate of an active registration",
        Severity.REVIEW,
    ),
    Rule("no_similar_registration", _no_alert("similar"), "partial match", Severity.REVIEW),
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
        effect=_leave,
        consortium_roles=_MEMBERS,
        help="Withdraw a registration of yours that was not disbursed.",
    ),
    Transition(
        "lapse",
        frozenset({REGISTERED, DUPLICATE_FLAGGED}),
        frozenset({LAPSED}),
        frozenset({ANYONE}),
        effect=_leave,
        rules=_LAPSE_RULES,
        consortium_roles=frozenset({"member", "observer"}),
        help="Lapse a registration past its expiry that was never disbursed (anyone may).",
    ),
    Transition(
        "reinstate",
        frozenset({DUPLICATE_FLAGGED}),
        frozenset({REGISTERED}),
        frozenset({"financier"}),
        effect=_reinstate,
        internal=True,
    ),
)

_ALERT_TRANSITIONS = (
    Transition(
        "raise",
        frozenset({NEW}),
        frozenset({OPEN}),
        frozenset({"second"}),
        Schema(
            {
                "new": Str(),
                "existing": _REF,
                "match": Enum(frozenset({"exact", "similar"})),
                "existing_status": Str(re.compile(r"[A-Z_]{1,32}")),
                "first": Member(),
                "second": Member(),
            }
        ),
        _raise,
        internal=True,
    ),
    Transition(
        "moot",
        frozenset({OPEN}),
        frozenset({WITHDRAWN}),
        frozenset({"first", "second"}),
        effect=_moot_alert,
        internal=True,
    ),
    Transition(
        "resolve_alert",
        frozenset({OPEN}),
        frozenset({CLEARED, WITHDRAWN}),
        frozenset({"first", "second"}),
        Schema(
            {
                "outcome": Enum(frozenset({"clear", "withdraw"}), help="clear or withdraw."),
                "arbiter": Member(required=False, help="An observer who co-signs."),
            }
        ),
        _resolve,
        required_signers=frozenset({"first", "second"}),
        signers_if_present=frozenset({"arbiter"}),
        consortium_roles=_MEMBERS,
        command="resolve",
        help="Resolve an alert; the other bank (and the arbiter, if named) co-sign.",
    ),
)

REGISTRATIONS = Machine(NAME, "registration", _REG_TRANSITIONS)
ALERTS = Machine(NAME, "alert", _ALERT_TRANSITIONS)


def _registered_by(state: Any, reg_id: str) -> tuple[str, str]:
    reg = REGISTRATIONS.load(state, reg_id)
    return reg.parties["financier"], reg.state


# One registry with supply-chain finance's (the FINANCING pool): an invoice that backs a
# receivable certificate is an exact duplicate here, and the reverse.
EXACT = FingerprintRegistry(f"{NAME}.fps", pool=FINANCING, describe=_registered_by)
SIMILAR = SimilarityIndex(f"{NAME}.sim_fps")
CONTRACT = build_contract(NAME, [REGISTRATIONS, ALERTS], EXACT.tables | SIMILAR.tables)
