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
  (``fpreg``) covering all its fingerprints: they were computed online, not guessed.
- A collision raises an alert object naming both financiers (member ids only) and the
  existing registration's status; it is the notice to both parties.
- Partial matches never block: they raise ``similar`` review alerts and the new
  registration is ``REGISTERED`` all the same.
- Registration precedes disbursement: a disbursement is confirmed only on a
  ``REGISTERED`` registration, on or after its registration day and on or before its
  expiry; settlement follows disbursement. Only the registering financier confirms,
  settles, archives or withdraws; anyone may lapse a registration past its expiry.
- An alert is resolved by both financiers (and an arbiter, if they name one): "clear"
  reinstates a flagged registration only once no other registration holds its
  fingerprints (re-financing after settlement, a false positive the earlier holder
  withdrew); "withdraw" withdraws the new registration.

Deviation from the letter of §7a: a cleared registration returns to ``REGISTERED``
(it is then active like any other) rather than resting in a separate ``CLEARED``
state; ``CLEARED`` is the alert's state. The invariant is the same and simpler to keep.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from ledger import ContractError, get_member
from scenarios.kit import (
    ANYONE,
    FINANCING,
    FP_SIZE,
    NEW,
    Bytes,
    Date,
    Enum,
    FingerprintRegistry,
    Int,
    ListOf,
    Machine,
    Obj,
    Post,
    Rule,
    Schema,
    Severity,
    SimilarityIndex,
    Step,
    Str,
    Transition,
    add_months,
    build_contract,
    day_of,
    parse_date,
    use_receipt,
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
_FP = Bytes(size=FP_SIZE, max_size=FP_SIZE)
RECEIPT_ID = re.compile(r"[0-9a-f]{64}")


def _today(x: Post | Step) -> date:
    return day_of(x.ctx.block_time)


def _alert_id(new: str, existing: str) -> str:
    # "~" never appears in a registration id, so alert ids cannot collide with them.
    return f"{new}~{existing}"


def alerts_of(state: Any, reg_id: str) -> list[Obj]:
    """The alerts raised by registration ``reg_id`` (it is the newer side of each)."""
    return list(ALERTS.scan(state, reg_id + "~"))


def _activate(step: Step, reg: Obj) -> None:
    EXACT.claim(step.state, reg.attrs["fps"], reg.id)
    SIMILAR.add(step.state, reg.attrs["sim_fps"], reg.id)


def _deactivate(step: Step, reg: Obj) -> None:
    EXACT.release(step.state, reg.attrs["fps"], reg.id)
    SIMILAR.remove(step.state, reg.attrs["sim_fps"], reg.id)


def _close_alerts(step: Step, reg_id: str, skip: str = "") -> None:
    """A registration that leaves for good takes its open alerts with it."""
    for alert in alerts_of(step.state, reg_id):
        if alert.state == OPEN and alert.id != skip:
            step.update(ALERTS, alert, alert.evolve(state=WITHDRAWN, attrs={"outcome": "moot"}))


# Registration effects -----------------------------------------------------------------


def _register(step: Step) -> Obj:
    p = step.payload
    reg_id = step.before.id
    items = len(p["fps"]) + len(p["sim_fps"])
    use_receipt(
        step.state, USED_RECEIPTS, p["fp_receipt"], step.ctx.member, items, step.ctx.block_time
    )
    claim = EXACT.claim(step.state, p["fps"], reg_id)
    reg = Obj(
        reg_id,
        step.before.type,
        REGISTERED if claim.first else DUPLICATE_FLAGGED,
        0,
        {"financier": step.ctx.member},
        p["doc_hash"],
        {
            "fps": p["fps"],
            "sim_fps": p["sim_fps"],
            "amount": p["amount"],
            "currency": p["currency"],
            "registered_on": _today(step).isoformat(),
            "registered_at": step.ctx.block_time,
            "expires_on": p["expires_on"],
        },
    )
    similar = [
        r for r in SIMILAR.matches(step.state, p["sim_fps"], reg_id) if r not in claim.holders
    ]
    if claim.first:
        SIMILAR.add(step.state, p["sim_fps"], reg_id)
    for match, others in (("exact", claim.holders), ("similar", tuple(similar))):
        for other_ref in others:
            # An exact holder may be another scenario's (``scf:C1``, a certificate the
            # invoice backs): its registering member is told, like any first financier.
            other = EXACT.describe(step.state, other_ref)
            alert = Obj(
                _alert_id(reg_id, other_ref),
                ALERTS.type,
                OPEN,
                0,
                {"first": other.member, "second": step.ctx.member},
                b"",
                {
                    "new": reg_id,
                    "existing": other_ref,
                    "match": match,
                    "existing_status": other.status,
                },
            )
            step.create(ALERTS, alert)
    return reg


def _disburse(step: Step) -> Obj:
    return step.before.evolve(
        attrs={
            "disbursed_on": step.payload["disbursed_on"],
            "disbursement_ref": step.payload["bank_ref"],
        }
    )


def _settle(step: Step) -> Obj:
    _deactivate(step, step.before)
    return step.before.evolve(
        attrs={"settled_on": step.payload["settled_on"], "settlement_ref": step.payload["bank_ref"]}
    )


def _leave(step: Step) -> Obj:
    """Withdraw or lapse: release what an active registration holds, close its alerts."""
    if step.before.state in ACTIVE:
        _deactivate(step, step.before)
    _close_alerts(step, step.before.id)
    return step.before


# Alert effects ------------------------------------------------------------------------


def _resolve(step: Step) -> Obj:
    alert = step.before
    new = REGISTRATIONS.load(step.state, alert.attrs["new"])
    arbiter = step.payload.get("arbiter")
    if arbiter is not None:
        member = get_member(step.state, arbiter)
        if member is None or member.role != "observer":
            raise ContractError("an arbiter must be an observer member")
        if arbiter in alert.parties.values():
            raise ContractError("an arbiter cannot be one of the two financiers")
    outcome = step.payload["outcome"]
    if outcome == "withdraw":
        if new.state not in {REGISTERED, DUPLICATE_FLAGGED}:
            raise ContractError(f"registration {new.id!r} is {new.state} and cannot be withdrawn")
        if new.state in ACTIVE:
            _deactivate(step, new)
        _close_alerts(step, new.id, skip=alert.id)
        step.update(REGISTRATIONS, new, new.evolve(state=WITHDRAWN))
        state = WITHDRAWN
    else:
        state = CLEARED
        if alert.attrs["match"] == "exact" and new.state == DUPLICATE_FLAGGED:
            _reinstate(step, new, alert.id)
    return alert.evolve(
        state=state,
        parties={"arbiter": arbiter} if arbiter else None,
        attrs={"outcome": outcome, "resolved_on": _today(step).isoformat()},
    )


def _reinstate(step: Step, new: Obj, alert_id: str) -> None:
    pending = [
        a.id
        for a in alerts_of(step.state, new.id)
        if a.id != alert_id and a.state == OPEN and a.attrs["match"] == "exact"
    ]
    if pending:
        return  # Reinstated when the last exact alert is cleared.
    conflicts = EXACT.conflicts(step.state, new.attrs["fps"], new.id)
    if not conflicts.first:
        held = ", ".join(repr(h) for h in conflicts.holders)
        raise ContractError(
            f"fingerprints still held by active registration {held}: it must settle, lapse "
            "or be withdrawn before this duplicate can be cleared"
        )
    _activate(step, new)
    step.update(REGISTRATIONS, new, new.evolve(state=REGISTERED))


# Rules ----------------------------------------------------------------------------------


def _no_alert(match: str) -> Any:
    def holds(p: Post) -> bool:
        return not any(a.attrs["match"] == match for a in alerts_of(p.state, p.after.id))

    return holds


_REGISTER_RULES = (
    Rule(
        "currency_code",
        lambda p: _CURRENCY.fullmatch(p.after.attrs["currency"]) is not None,
        "currency must be an ISO 4217 code",
    ),
    Rule(
        "expiry_not_past",
        lambda p: parse_date(p.after.attrs["expires_on"]) >= _today(p),
        "expiry is in the past",
    ),
    Rule(
        "expiry_within_a_year",
        lambda p: parse_date(p.after.attrs["expires_on"]) <= add_months(_today(p), 12),
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
        return parse_date(p.after.attrs[after]) <= day <= _today(p)

    return Rule(f"{field}_in_order", holds, message)


_DISBURSE_RULES = (
    _in_date(
        "disbursed_on", "registered_on", "disbursement must fall between registration and today"
    ),
    Rule(
        "not_expired",
        lambda p: _today(p) <= parse_date(p.after.attrs["expires_on"]),
        "the registration has expired; register again",
    ),
)
_SETTLE_RULES = (
    _in_date("settled_on", "disbursed_on", "settlement must fall between disbursement and today"),
)
_LAPSE_RULES = (
    Rule(
        "expired",
        lambda p: _today(p) > parse_date(p.after.attrs["expires_on"]),
        "the registration has not expired",
    ),
)

_REG_TRANSITIONS = (
    Transition(
        "register",
        frozenset({NEW}),
        frozenset({REGISTERED, DUPLICATE_FLAGGED}),
        frozenset({"financier"}),
        Schema(
            {
                "fps": ListOf(_FP, 1, 16, unique=True),
                "sim_fps": ListOf(_FP, 0, 16, unique=True),
                "amount": Int(1, MAX_AMOUNT),
                "currency": Str(_CURRENCY),
                "expires_on": Date(),
                "doc_hash": Bytes(size=32, max_size=32),
                "fp_receipt": Str(RECEIPT_ID),
            }
        ),
        _register,
        _REGISTER_RULES,
        consortium_roles=_MEMBERS,
    ),
    Transition(
        "confirm_disbursement",
        frozenset({REGISTERED}),
        frozenset({FINANCED}),
        frozenset({"financier"}),
        Schema({"disbursed_on": Date(), "bank_ref": Str()}),
        _disburse,
        _DISBURSE_RULES,
        consortium_roles=_MEMBERS,
    ),
    Transition(
        "confirm_settlement",
        frozenset({FINANCED}),
        frozenset({SETTLED}),
        frozenset({"financier"}),
        Schema({"settled_on": Date(), "bank_ref": Str()}),
        _settle,
        _SETTLE_RULES,
        consortium_roles=_MEMBERS,
    ),
    Transition(
        "archive",
        frozenset({SETTLED}),
        frozenset({ARCHIVED}),
        frozenset({"financier"}),
        consortium_roles=_MEMBERS,
    ),
    Transition(
        "withdraw",
        frozenset({REGISTERED, DUPLICATE_FLAGGED}),
        frozenset({WITHDRAWN}),
        frozenset({"financier"}),
        effect=_leave,
        consortium_roles=_MEMBERS,
    ),
    Transition(
        "lapse",
        frozenset({REGISTERED, DUPLICATE_FLAGGED}),
        frozenset({LAPSED}),
        frozenset({ANYONE}),
        effect=_leave,
        rules=_LAPSE_RULES,
        consortium_roles=frozenset({"member", "observer"}),
    ),
)

_ALERT_TRANSITIONS = (
    Transition(
        "resolve_alert",
        frozenset({OPEN}),
        frozenset({CLEARED, WITHDRAWN}),
        frozenset({"first", "second"}),
        Schema({"outcome": Enum(frozenset({"clear", "withdraw"})), "arbiter": Str(required=False)}),
        _resolve,
        required_signers=frozenset({"first", "second"}),
        signers_if_present=frozenset({"arbiter"}),
        consortium_roles=_MEMBERS,
        member_fields=("arbiter",),
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
USED_RECEIPTS = f"{NAME}.fp_receipts"
CONTRACT = build_contract(
    NAME, [REGISTRATIONS, ALERTS], EXACT.tables | SIMILAR.tables | {USED_RECEIPTS}
)
