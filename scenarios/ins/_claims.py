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

from collections.abc import Iterable

from ledger import ContractError
from scenarios.kit import (
    CLEARED,
    DUPLICATE_FLAGGED,
    LOSS,
    NEW,
    OPEN,
    REGISTERED,
    REGISTRATION_REF,
    WITHDRAWN,
    DuplicateAlerts,
    FingerprintRegistry,
    Fingerprints,
    Machine,
    Obj,
    Primitive,
    Rule,
    Schema,
    SetAttr,
    Severity,
    SimilarityIndex,
    TakeOver,
    Transition,
    View,
    registered_by,
)

__all__ = [
    "ACTIVE",
    "ALERTS",
    "CLAIMS_POOL",
    "CLEARED",
    "DENIED",
    "DUPLICATES",
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
PAID = "PAID"
DENIED = "DENIED"
ACTIVE = frozenset({REGISTERED, PAID})
# The pool of claim registries: another insurance scenario's registry would join it.
CLAIMS_POOL = "claims"
_MEMBERS = frozenset({"member"})


def open_registration(reg: Obj | None, claim: str, insurer: str) -> Obj:
    """The live registration of ``claim`` by ``insurer``, or a refusal naming why."""
    if reg is None:
        raise ContractError(f"claim {claim!r} is not on the claim registry; register it first")
    if reg.parties.get("insurer") != insurer:
        raise ContractError(f"claim {claim!r} is registered by another insurer")
    if reg.state in {DENIED, WITHDRAWN}:
        raise ContractError(f"claim {claim!r} is {reg.state} on the claim registry")
    return reg


# Registration effects -------------------------------------------------------------------


def _register(v: View) -> Iterable[Primitive]:
    loss = v.payload["loss"]
    fps, sim_fps = loss["exact"], loss["similar"]
    if not sim_fps:
        raise ContractError("a loss is registered with its similar fingerprints")
    attrs = {
        "fps": fps,
        "sim_fps": sim_fps,
        "registered_at": v.ctx.block_time,
        "coinsurance_with": [],
    }
    return DUPLICATES.register(v, attrs)


def _coinsure(v: View) -> Iterable[Primitive]:
    # Reinstated beside the first holder, which keeps the fingerprints.
    with_ = [*v.before.attrs["coinsurance_with"], v.payload["with"]]
    yield SetAttr("coinsurance_with", with_)


def _mark_paid(v: View) -> Iterable[Primitive]:
    yield SetAttr("paid_at", v.ctx.block_time)


# Rules ----------------------------------------------------------------------------------

_REGISTER_RULES = (
    Rule(
        "first_registration",
        lambda p: DUPLICATES.raised_none(p, "exact"),
        "duplicate of a registered claim",
        Severity.REVIEW,
    ),
    Rule(
        "no_similar_claim",
        lambda p: DUPLICATES.raised_none(p, "similar"),
        "the same object within ±7 days",
        Severity.REVIEW,
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

# The duplicate alerts (``DUPLICATES``) are declared over this machine, below; the
# effects and rules that need them look them up when they run.
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
        effect=lambda v: DUPLICATES.leave(v),
        consortium_roles=_MEMBERS,
        help="Mark your registered claim denied; its fingerprints are released.",
    ),
    Transition(
        "withdraw",
        frozenset({REGISTERED, DUPLICATE_FLAGGED}),
        frozenset({WITHDRAWN}),
        frozenset({"insurer"}),
        effect=lambda v: DUPLICATES.leave(v),
        consortium_roles=_MEMBERS,
        help="Withdraw a registration of yours that was not paid.",
    ),
    Transition(
        "reinstate",
        frozenset({DUPLICATE_FLAGGED}),
        frozenset({REGISTERED}),
        frozenset({"insurer"}),
        effect=lambda v: DUPLICATES.reinstate(v),
        internal=True,
    ),
    Transition(
        "coinsure",
        frozenset({DUPLICATE_FLAGGED}),
        frozenset({REGISTERED}),
        frozenset({"insurer"}),
        Schema({"with": REGISTRATION_REF}),
        _coinsure,
        internal=True,
    ),
)

REGISTRATIONS = Machine(NAME, "registration", _REG_TRANSITIONS)
EXACT = FingerprintRegistry(
    f"{NAME}.claim_fps", pool=CLAIMS_POOL, describe=registered_by(REGISTRATIONS, "insurer")
)
SIMILAR = SimilarityIndex(f"{NAME}.claim_sim_fps")
DUPLICATES: DuplicateAlerts = DuplicateAlerts(
    REGISTRATIONS,
    EXACT,
    SIMILAR,
    owner="insurer",
    active=ACTIVE,
    still_held="the loss is still held by registration {held}: it must be denied or withdrawn "
    "before this duplicate can be cleared (or resolve it as co-insurance)",
    outcome_help="clear, withdraw or coinsurance.",
    resolve_help="Resolve a duplicate alert; the other insurer co-signs.",
    take_overs={
        "coinsurance": TakeOver(
            "coinsure", "co-insurance resolves an exact duplicate that is flagged"
        )
    },
    # A registration keeps only its loss day's similar fingerprint (the first); it looks
    # the others up (Loss.fingerprint_inputs).
    kept=lambda sim_fps: sim_fps[:1],
)
ALERTS = DUPLICATES.machine
alerts_of = DUPLICATES.alerts_of
