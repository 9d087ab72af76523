"""The claim-fingerprint registry (SCENARIOS.md §2a): duplicate claims across insurers.

An insurer registers a claim before it pays it, as fingerprints of the loss
(``scenarios.kit.Loss``): the exact one is the object (a VIN, a normalised address,
the insured person's id), the loss day and the loss type; the similar ones are the
object on each day within seven days either side. Fingerprints are the registry's
VOPRF outputs, each evaluation metered and recorded like a list answer and consumed by
the registration (the kit's ``Fingerprints`` field), so nobody can test a VIN against
the ledger offline. The rules, each enforced here:

- At most one active (``REGISTERED`` or ``PAID``) registration per exact fingerprint:
  the first wins, a later one sharing it is ``DUPLICATE_FLAGGED`` and raises an alert
  naming both insurers (member ids only) and the first one's status. A ``PAID``
  registration keeps its fingerprints for good, so the same loss is never paid twice
  — unless both insurers resolve the alert as co-insurance (each pays its share of
  one loss), which lets the flagged one be paid beside the first.
- A duplicate flag is resolved before payment: only a ``REGISTERED`` registration is
  marked ``PAID``; the policy's payment (``_policy``) needs it ``PAID``.
- A similar match (the same object within ±7 days) raises a review alert and never
  blocks, the UK Insurance Fraud Register principle: a match is for a person to look
  at, not an automated decision.
- Only the registering insurer marks its registration paid, denied or withdrawn.
- Alerts are resolved by both insurers: ``clear`` (a false positive; the flagged
  registration is reinstated once nobody holds its fingerprints), ``withdraw`` (the
  flagged registration is withdrawn) or ``coinsurance``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ledger import ContractError, State
from scenarios.kit import (
    LOSS,
    NEW,
    ClaimFp,
    Enum,
    FingerprintRegistry,
    Fingerprints,
    Machine,
    Member,
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
)

__all__ = [
    "ACTIVE",
    "ALERTS",
    "CLAIMS_POOL",
    "CLEARED",
    "DENIED",
    "DUPLICATE_FLAGGED",
    "EXACT",
    "OPEN",
    "PAID",
    "REGISTERED",
    "REGISTRATIONS",
    "SIMILAR",
    "WITHDRAWN",
    "alerts_of",
    "open_registration",
]

NAME = "ins"
REGISTERED = "REGISTERED"
DUPLICATE_FLAGGED = "DUPLICATE_FLAGGED"
PAID = "PAID"
DENIED = "DENIED"
WITHDRAWN = "WITHDRAWN"
ACTIVE = frozenset({REGISTERED, PAID})
OPEN = "OPEN"
CLEARED = "CLEARED"
# The pool of claim registries: another insurance scenario's registry would join it.
CLAIMS_POOL = "claims"
_MEMBERS = frozenset({"member"})
_REF = Str(re.compile(r"[A-Za-z0-9_.:~-]{1,200}"))


def alerts_of(state: Any, reg_id: str) -> list[Obj]:
    """The alerts registration ``reg_id`` raised (it is the newer side of each)."""
    return list(ALERTS.scan(state, reg_id + "~"))


def open_registration(reg: Obj | None, claim: str, insurer: str) -> Obj:
    """The live registration of ``claim`` by ``insurer``, or a refusal naming why."""
    if reg is None:
        raise ContractError(f"claim {claim!r} is not on the claim registry; register it first")
    if reg.parties.get("insurer") != insurer:
        raise ContractError(f"claim {claim!r} is registered by another insurer")
    if reg.state in {DENIED, WITHDRAWN}:
        raise ContractError(f"claim {claim!r} is {reg.state} on the claim registry")
    return reg


def _kept(reg: Obj) -> tuple[bytes, ...]:
    # A registration keeps only its loss day's similar fingerprint (the first); it looks
    # the others up (Loss.fingerprint_inputs).
    return tuple(reg.attrs["sim_fps"][:1])


def _claim(reg: Obj) -> ClaimFp:
    return ClaimFp(EXACT, tuple(reg.attrs["fps"]), reg.id, _kept(reg), SIMILAR)


def _release(reg: Obj) -> ReleaseFp:
    return ReleaseFp(EXACT, tuple(reg.attrs["fps"]), reg.id, _kept(reg), SIMILAR)


def _moot(state: State, reg_id: str) -> Iterable[Primitive]:
    for alert in alerts_of(state, reg_id):
        if alert.state == OPEN:
            yield Spawn(ALERTS, alert.id, "moot")


# Registration effects -------------------------------------------------------------------


def _register(v: View) -> Iterable[Primitive]:
    loss = v.payload["loss"]
    fps, sim_fps = loss["exact"], loss["similar"]
    if not sim_fps:
        raise ContractError("a loss is registered with its similar fingerprints")
    claim = EXACT.conflicts(v.state, fps, v.id)
    yield SetState(REGISTERED if claim.first else DUPLICATE_FLAGGED)
    yield SetParty("insurer", v.actor)
    yield SetAttr("fps", fps)
    yield SetAttr("sim_fps", sim_fps)
    yield SetAttr("registered_at", v.ctx.block_time)
    yield SetAttr("coinsurance_with", [])
    if claim.first:
        yield ClaimFp(EXACT, tuple(fps), v.id, tuple(sim_fps[:1]), SIMILAR)
    similar = [r for r in SIMILAR.matches(v.state, sim_fps, v.id) if r not in claim.holders]
    for match, others in (("exact", claim.holders), ("similar", tuple(similar))):
        for other_ref in others:
            other = EXACT.describe(v.state, other_ref)
            yield Spawn(
                ALERTS,
                f"{v.id}~{other_ref}",
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


def _leave(v: View) -> Iterable[Primitive]:
    if v.before.state in ACTIVE:
        yield _release(v.before)
    yield from _moot(v.state, v.id)


def _reinstate(v: View) -> Iterable[Primitive]:
    conflicts = EXACT.conflicts(v.state, v.before.attrs["fps"], v.id)
    if not conflicts.first:
        held = ", ".join(repr(h) for h in conflicts.holders)
        raise ContractError(
            f"the loss is still held by registration {held}: it must be denied or withdrawn "
            "before this duplicate can be cleared (or resolve it as co-insurance)"
        )
    yield _claim(v.before)


def _coinsure(v: View) -> Iterable[Primitive]:
    # Reinstated beside the first holder, which keeps the fingerprints.
    with_ = [*v.before.attrs["coinsurance_with"], v.payload["with"]]
    yield SetAttr("coinsurance_with", with_)


def _mark_paid(v: View) -> Iterable[Primitive]:
    yield SetAttr("paid_at", v.ctx.block_time)


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
        if outcome == "coinsurance":
            raise ContractError("co-insurance resolves an exact duplicate that is flagged")
        return
    pending = [
        a.id
        for a in alerts_of(v.state, new.id)
        if a.id != alert.id and a.state == OPEN and a.attrs["match"] == "exact"
    ]
    if outcome == "coinsurance":
        yield Spawn(REGISTRATIONS, new.id, "coinsure", {"with": alert.attrs["existing"]})
    elif not pending:
        yield Spawn(REGISTRATIONS, new.id, "reinstate")


# Rules ----------------------------------------------------------------------------------


def _no_alert(match: str) -> Any:
    def holds(p: Post) -> bool:
        return not any(a.attrs["match"] == match for a in alerts_of(p.state, p.after.id))

    return holds


_REGISTER_RULES = (
    Rule(
        "first_registration", _no_alert("exact"), "duplicate of a registered claim", Severity.REVIEW
    ),
    Rule(
        "no_similar_claim", _no_alert("similar"), "the same object within ±7 days", Severity.REVIEW
    ),
)

_LOSS = Fingerprints(
    "claim",
    similar=True,
    document=LOSS,
    options={
        "object_kind": "object",
        "object_id": "object-id",
        "loss_date": "loss-date",
        "loss_type": "loss-type",
    },
)

_REG_TRANSITIONS = (
    Transition(
        "register",
        frozenset({NEW}),
        frozenset({REGISTERED, DUPLICATE_FLAGGED}),
        frozenset({"insurer"}),
        Schema({"loss": _LOSS}),
        _register,
        _REGISTER_RULES,
        consortium_roles=_MEMBERS,
        help="Register a claim's loss before paying it (fingerprints only). An exact "
        "duplicate of a registered claim is flagged to both insurers; the same object within "
        "±7 days raises a review alert and never blocks.",
    ),
    Transition(
        "mark_paid",
        frozenset({REGISTERED}),
        frozenset({PAID}),
        frozenset({"insurer"}),
        effect=_mark_paid,
        consortium_roles=_MEMBERS,
        help="Mark your registered claim paid (refused while a duplicate flag stands).",
    ),
    Transition(
        "mark_denied",
        frozenset({REGISTERED, DUPLICATE_FLAGGED}),
        frozenset({DENIED}),
        frozenset({"insurer"}),
        effect=_leave,
        consortium_roles=_MEMBERS,
        help="Mark your registered claim denied; its fingerprints are released.",
    ),
    Transition(
        "withdraw",
        frozenset({REGISTERED, DUPLICATE_FLAGGED}),
        frozenset({WITHDRAWN}),
        frozenset({"insurer"}),
        effect=_leave,
        consortium_roles=_MEMBERS,
        help="Withdraw a registration of yours that was not paid.",
    ),
    Transition(
        "reinstate",
        frozenset({DUPLICATE_FLAGGED}),
        frozenset({REGISTERED}),
        frozenset({"insurer"}),
        effect=_reinstate,
        internal=True,
    ),
    Transition(
        "coinsure",
        frozenset({DUPLICATE_FLAGGED}),
        frozenset({REGISTERED}),
        frozenset({"insurer"}),
        Schema({"with": _REF}),
        _coinsure,
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
                "outcome": Enum(
                    frozenset({"clear", "withdraw", "coinsurance"}),
                    help="clear, withdraw or coinsurance.",
                ),
            }
        ),
        _resolve,
        required_signers=frozenset({"first", "second"}),
        consortium_roles=_MEMBERS,
        command="resolve",
        help="Resolve a duplicate alert; the other insurer co-signs.",
    ),
)

REGISTRATIONS = Machine(NAME, "registration", _REG_TRANSITIONS)
ALERTS = Machine(NAME, "alert", _ALERT_TRANSITIONS)


def _registered_by(state: Any, reg_id: str) -> tuple[str, str]:
    reg = REGISTRATIONS.load(state, reg_id)
    return reg.parties["insurer"], reg.state


EXACT = FingerprintRegistry(f"{NAME}.claim_fps", pool=CLAIMS_POOL, describe=_registered_by)
SIMILAR = SimilarityIndex(f"{NAME}.claim_sim_fps")
