"""The ``credits`` contract: receipts (post-hoc charging), refunds, settlement, evaluation.

Rules the handlers keep (the evaluation kinds are in ``_evaluation``):

``credits.receipt`` — submitted by the responder, carrying the querier's signed request
and its own signed receipt. A receipt records a fact: this member answered that
request. The responder judged the request before answering (:func:`check_request`:
freshness, list types, reciprocity, credit admission, canary bounds, the OPRF key), and
the ledger does not judge it again: whatever the querier's standing became between
the answer and its recording (its request aged, its list expired, another answer spent
its balance, it was removed), the answer is recorded and charged. A balance taken
below −OD that way is a debt: it blocks the querier's next admission and is penalised
at settlement (``_settlement``). What the ledger checks is the fact itself: both
signatures verify under the members' registered keys (a removed querier's key still
identifies it), the receipt commits to the request's exact bytes, the request names
the submitter as responder and another member as querier, the item count is positive,
the answer time the responder signed is within ``request_ttl`` of the request's time
and not after the block, and the request was not recorded before (its receipt id is
derived from the querier and its request id). Then, atomically: the querier is debited
c_L·items (burned), the items are added to the responder's served count for the
querier in the current epoch (rewarded at settlement, capped at m), and the receipt is
recorded with the OPRF key the request named (a request naming none stands for the
responder's current ``pub.index`` key), against which a refund is judged. An
observer's canary probe (purpose ``canary``) is free up to its open canary
commitments per responder and epoch (``credits.canary_probes`` counts them) and charges
and rewards nobody; a probe beyond that bound is charged like any query.

Oracle evaluations (list types in :data:`ORACLE_LIST_TYPES`: the scenarios' fingerprint
registry) are metered the same way: the evaluator — a member or an observer — judges
the request (:func:`check_oracle_request`), answers, and records the receipt; the
querier is charged the dearest list price per element, and nobody earns served credit
(no list was published). An observer records nothing else.

``credits.refund`` — the querier proves its answer was bad: it shows the blinded
elements (matching the request's digest) and the response the receipt signed (matching
its response digest). If the element counts disagree, or the consortium's response
verifier (the VOPRF proof check, supplied by the gateway) rejects the proof under the
key the receipt recorded, the charge is returned and the served items withdrawn. The
key is the one both parties signed for, not the one the responder publishes when the
claim (or the receipt) lands: during a key rotation an answer correctly made under the
old key stays unrefundable after the new key is published, and an answer made under
any key but the named one is refundable. Refunds are possible only within the
feedback window and before any hit is reported. A query that was never answered has
no receipt and so was never charged: there is nothing to refund.

``credits.settle`` — see ``_settlement``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger import (
    Contract,
    ContractError,
    IndexRow,
    Member,
    SignatureError,
    State,
    TxContext,
    Value,
    consortium_info,
    get_member,
    index_row,
    index_rows,
    list_type_id_types,
    oprf_key,
    verify_signature,
)
from token_incentive._admission import admit_member, published
from token_incentive._book import (
    CANARY_PROBES,
    RECEIPTS,
    SERVED,
    TABLES,
    add_spent,
    add_totals,
    epoch_at,
    epoch_bounds,
    epoch_key,
    get_account,
    last_settled,
    move,
    probe_key,
    schedule,
    update_schedule,
)
from token_incentive._errors import AdmissionRefused, CreditsError, InvalidResponse, MessageError
from token_incentive._evaluation import (
    EVALUATION_HANDLERS,
    EVALUATION_ROLES,
    canary_probes,
    open_canaries,
)
from token_incentive._messages import (
    QueryRequest,
    SignedReceipt,
    SignedRequest,
    blinded_digest,
    response_digest,
)
from token_incentive._params import CreditParams, check_params, params_from_state
from token_incentive._settlement import apply_settlement, compute_settlement
from token_incentive._util import field, window_open

__all__ = [
    "CANARY_PURPOSE",
    "ORACLE_LIST_TYPES",
    "CheckedRequest",
    "Exposure",
    "ResponseCheck",
    "ResponseVerifier",
    "check_oracle_request",
    "check_request",
    "credits_contract",
]

CANARY_PURPOSE = "canary"
# Evaluations under an OPRF key that no published list is made with; see the docstring.
ORACLE_LIST_TYPES = frozenset({"fingerprint"})
# Written by the ledger's publication contract (``ledger._pub``); read here.
_RECEIPT_FIELDS = frozenset({"request", "request_sig", "receipt", "receipt_sig"})


@dataclass(frozen=True, slots=True)
class ResponseCheck:
    """What a response verifier is asked: does this response verify for this request?"""

    responder: str
    list_type: str
    key_id: Value  # the OPRF key id the receipt recorded: the one the request named
    blinded: tuple[bytes, ...]
    evaluated: tuple[bytes, ...]
    proof: bytes


# Raises InvalidResponse when the proof does not verify; returns when it does. It must be
# deterministic (every replica runs it); the gateway supplies the VOPRF check from `psi`.
ResponseVerifier = Callable[[State, ResponseCheck], None]


@dataclass(frozen=True, slots=True)
class CheckedRequest:
    """A request that passed every rule: what recording it will charge."""

    charge: int
    canary: bool
    index: IndexRow | None  # the responder's pub.index row (None: an oracle evaluation)
    key_id: Value  # the OPRF key the answer is made under (see _answer_key)


@dataclass(frozen=True, slots=True)
class Exposure:
    """What a responder has answered a querier and the ledger has not charged yet.

    The responder counts it under one lock per querier (``gateway._localstate``), so
    concurrent requests, in any of its worker processes, share one balance.
    """

    items: int = 0
    charge: int = 0


def _addressed_and_fresh(req: QueryRequest, responder: str, now: int, p: CreditParams) -> None:
    """Addressed to ``responder`` by another member, and fresh on ``responder``'s clock."""
    if req.responder != responder:
        raise MessageError(f"the request is addressed to {req.responder}, not {responder}")
    if req.querier == responder:
        raise MessageError("a member may not query itself")
    if abs(now - req.time) > p.request_ttl_ms:
        raise AdmissionRefused(
            "stale_request",
            f"the request's time {req.time} is more than {p.request_ttl_ms} ms from {now}",
        )


def check_request(
    state: State,
    signed: SignedRequest,
    responder: str,
    now: int,
    params: CreditParams | None = None,
    *,
    pending: Exposure = Exposure(),
) -> CheckedRequest:
    """Every rule a responder applies before it answers, except signatures and replay.

    ``now`` is the responder's clock and ``pending`` what it answered the querier that
    is not on the ledger yet. The ledger does not apply these rules again when the
    receipt is recorded (see the module docstring): the answer is charged whatever
    changed since. Raises :class:`MessageError` or :class:`AdmissionRefused`.
    """
    p = params if params is not None else params_from_state(state)
    req = signed.request
    _addressed_and_fresh(req, responder, now, p)
    info = consortium_info(state)
    expected = info.get("normaliser_version") if info else None
    if expected is not None and req.normaliser_version != expected:
        raise MessageError(
            f"normaliser version {req.normaliser_version!r} differs from {expected!r}"
        )
    id_types = list_type_id_types(state, req.list_type)
    if id_types is None:
        raise AdmissionRefused("unknown_list_type", f"{req.list_type!r} is not a list type")
    if req.id_type not in id_types:
        raise MessageError(f"{req.id_type!r} is not an identifier type of {req.list_type}")
    me = get_member(state, responder)
    if me is None or not me.active or me.role != "member":
        raise MessageError(f"{responder} is not an active member that answers queries")
    index = published(state, responder, req.list_type, now)
    key_id = _answer_key(state, responder, req, index)
    querier = get_member(state, req.querier)
    if querier is not None and querier.active and querier.role == "observer":
        if req.purpose_code != CANARY_PURPOSE:
            raise AdmissionRefused("not_member", "an observer may only send canary probes")
        if not 1 <= req.item_count <= p.max_items:
            raise AdmissionRefused("bad_items", f"item count must be in [1, {p.max_items}]")
        epoch = epoch_at(schedule(state, now, p.epoch_ms), now)  # read only: no write here
        bound = open_canaries(state, req.querier)
        used = canary_probes(state, epoch, req.querier, responder) + pending.items
        if used + req.item_count > bound:
            raise AdmissionRefused(
                "canary_bound",
                f"{req.querier} has {bound} open canaries and has probed {responder} with"
                f" {used} elements this epoch: {req.item_count} more exceed its canaries",
            )
        return CheckedRequest(0, True, index, key_id)
    admission = admit_member(
        state,
        querier,
        req.querier,
        req.list_type,
        req.item_count,
        now,
        p,
        listed=True,
        pending_charge=pending.charge,
    )
    return CheckedRequest(admission.charge, False, index, key_id)


def _price(p: CreditParams, list_type: str) -> int:
    """Per element: the list's price; an oracle evaluation, or a list type unpriced since
    the answer (a governance change), costs the dearest — an answer is never free."""
    return p.price.get(list_type, max(p.price.values()))


def check_oracle_request(
    state: State,
    signed: SignedRequest,
    oracle: str,
    now: int,
    params: CreditParams | None = None,
    *,
    pending: Exposure = Exposure(),
) -> CheckedRequest:
    """The rules an oracle (the fingerprint registry) applies before it evaluates.

    As :func:`check_request` for what applies: addressed to ``oracle``, fresh on its
    clock, from an active member, a positive item count, and credit admission at the
    oracle price counting ``pending``. There is no list, so no reciprocity and no key
    rule (the oracle evaluates under the one key it holds).
    """
    p = params if params is not None else params_from_state(state)
    req = signed.request
    if req.list_type not in ORACLE_LIST_TYPES:
        raise MessageError(f"{req.list_type!r} is not an oracle evaluation")
    _addressed_and_fresh(req, oracle, now, p)
    querier = get_member(state, req.querier)
    if querier is None or not querier.active or querier.role != "member":
        raise AdmissionRefused("not_member", f"{req.querier} is not an active member")
    if not 1 <= req.item_count <= p.max_items:
        raise AdmissionRefused("bad_items", f"item count must be in [1, {p.max_items}]")
    charge = _price(p, req.list_type) * req.item_count
    balance = get_account(state, req.querier).balance - pending.charge
    if balance - charge < -p.overdraft:
        raise AdmissionRefused(
            "over_overdraft",
            f"{req.querier}'s balance {balance} less the price {charge} would pass the "
            f"overdraft of {p.overdraft} milli-credits",
        )
    return CheckedRequest(charge, False, None, req.key_id)


def _answer_key(state: State, responder: str, req: QueryRequest, index: IndexRow) -> Value:
    """The OPRF key the answer is made under, which a refund claim is judged against.

    The request names it and both parties sign it (the receipt signs the request's
    digest). It must be the responder's (``pub.oprf_keys``) and active: a retired key
    answers nothing. The ledger does not record which list a key was made for, so a
    key other than the list's current one (the previous key, during a rotation) is
    refused only if another of the responder's lists is published under it. A request
    naming no key stands for the list's current key, read now, at recording.
    Raises :class:`AdmissionRefused` (code ``oprf_key``).
    """
    current = index.key_id
    if req.key_id is None:
        return current
    row = oprf_key(state, responder, req.key_id) if isinstance(req.key_id, str) else None
    if row is None:
        raise AdmissionRefused("oprf_key", f"{req.key_id!r} is not an OPRF key of {responder}")
    if not row.active:
        raise AdmissionRefused("oprf_key", f"{responder}'s OPRF key {req.key_id!r} is retired")
    if req.key_id != current:
        for other in index_rows(state, responder):
            if other.key_id == req.key_id:
                raise AdmissionRefused(
                    "oprf_key",
                    f"{responder}'s OPRF key {req.key_id!r} is its {other.list_type} key,"
                    f" not its {req.list_type} key",
                )
    return req.key_id


def _require_signature(member: Member, message: bytes, signature: bytes) -> None:
    """:func:`ledger.require_member_signature` for a member already found active."""
    try:
        verify_signature(member.signing_key, message, signature)
    except SignatureError:
        raise ContractError(f"bad signature by {member.id!r}") from None


def _check_answer(
    state: State,
    signed: SignedRequest,
    sreceipt: SignedReceipt,
    responder: str,
    now: int,
    p: CreditParams,
) -> Member:
    """The checks of a ``credits.receipt`` (the module docstring); the querier's member row."""
    req = signed.request
    if req.responder != responder:
        raise MessageError(f"the request is addressed to {req.responder}, not {responder}")
    if req.querier == responder:
        raise MessageError("a member may not query itself")
    if req.item_count < 1:
        raise MessageError("a request asks for at least one item")
    querier = get_member(state, req.querier)
    me = get_member(state, responder)
    if querier is None or me is None:
        raise MessageError(f"{req.querier} is not a member of this consortium")
    if me.role != "member" and req.list_type not in ORACLE_LIST_TYPES:
        raise MessageError(f"{me.role} {responder} answers no list, only oracle evaluations")
    _require_signature(querier, signed.data, signed.signature)
    _require_signature(me, sreceipt.data, sreceipt.signature)
    if sreceipt.receipt.request_digest != signed.digest:
        raise ContractError("the receipt does not commit to this request")
    answered = sreceipt.receipt.time
    if abs(answered - req.time) > p.request_ttl_ms:
        raise MessageError(
            f"the answer time {answered} is more than {p.request_ttl_ms} ms from the"
            f" request's {req.time}: the responder answered a stale request"
        )
    if answered > now + p.request_ttl_ms:
        raise MessageError(f"the answer time {answered} is after this block's time {now}")
    return querier


def _receipt(state: State, ctx: TxContext) -> None:
    body = ctx.body
    if body.keys() != _RECEIPT_FIELDS:
        raise ContractError("a credits.receipt body has request, request_sig, receipt, receipt_sig")
    signed = SignedRequest.from_parts(
        field(body, "request", bytes), field(body, "request_sig", bytes)
    )
    sreceipt = SignedReceipt.from_parts(
        field(body, "receipt", bytes), field(body, "receipt_sig", bytes)
    )
    p = params_from_state(state)
    now = ctx.block_time
    req = signed.request
    rid = signed.receipt_id
    if state.get(RECEIPTS, rid) is not None:
        raise ContractError(f"request {req.request_id.hex()} of {req.querier} was recorded before")
    querier = _check_answer(state, signed, sreceipt, ctx.member, now, p)
    epoch = epoch_at(update_schedule(state, now, p.epoch_ms), now)
    if epoch <= last_settled(state):
        raise ContractError(f"epoch {epoch} is already settled")
    canary = querier.role == "observer" and req.purpose_code == CANARY_PURPOSE
    if canary:
        used = canary_probes(state, epoch, req.querier, ctx.member)
        canary = used + req.item_count <= open_canaries(state, req.querier)
        if canary:
            state.put(
                CANARY_PROBES, probe_key(epoch, req.querier, ctx.member), used + req.item_count
            )
    charge = 0 if canary else _price(p, req.list_type) * req.item_count
    if charge:
        move(state, req.querier, -charge, kind="charge", ref=rid, ctx=ctx)
        add_spent(state, epoch, req.querier, charge)
        add_totals(state, charges=charge)
    if not canary and req.list_type not in ORACLE_LIST_TYPES:
        key = f"{epoch_key(epoch)}/{ctx.member}/{req.querier}"
        served: Any = state.get(SERVED, key)
        state.put(SERVED, key, (served or 0) + req.item_count)
    ix = index_row(state, ctx.member, req.list_type)
    state.put(
        RECEIPTS,
        rid,
        {
            "querier": req.querier,
            "responder": ctx.member,
            "list_type": req.list_type,
            "id_type": req.id_type,
            "items": req.item_count,
            "charge": charge,
            "purpose": req.purpose_code,
            "epoch": epoch,
            "height": ctx.height,
            "time": now,
            "answered_at": sreceipt.receipt.time,
            "request_digest": signed.digest,
            "blinded_digest": req.blinded_digest,
            "response_digest": sreceipt.receipt.response_digest,
            "index": {
                "epoch": None if ix is None else ix.epoch,
                "root": None if ix is None else ix.root,
                "evidence_root": None if ix is None else ix.evidence_root,
                "key_id": None if ix is None else ix.key_id,
            },
            "key_id": req.key_id if req.key_id is not None else (None if ix is None else ix.key_id),
            "canary": canary,
            "status": "recorded",
            "hits": None,
            "hit_state": None,
        },
    )


def _elements(body: Mapping[str, Any], name: str) -> tuple[bytes, ...]:
    value = field(body, name, list)
    if not all(isinstance(e, bytes) for e in value):
        raise ContractError(f"{name} must be a list of byte strings")
    return tuple(value)


def _refund(verify: ResponseVerifier) -> Callable[[State, TxContext], None]:
    def handler(state: State, ctx: TxContext) -> None:
        body = ctx.body
        rid = field(body, "receipt", str)
        blinded = _elements(body, "blinded")
        evaluated = _elements(body, "evaluated")
        proof = field(body, "proof", bytes)
        p = params_from_state(state)
        r: Any = state.get(RECEIPTS, rid)
        if r is None:
            raise ContractError(f"no receipt {rid}")
        if r["querier"] != ctx.member:
            raise ContractError("only the querier of a receipt may claim its refund")
        if r["status"] != "recorded" or r["canary"]:
            raise ContractError(f"receipt {rid} cannot be refunded (status {r['status']})")
        if r["hits"] is not None:
            raise ContractError("hits were reported on this receipt; its answer was used")
        if not window_open(r, ctx.block_time, p) or r["epoch"] <= last_settled(state):
            raise ContractError("the refund window of this receipt has closed")
        if blinded_digest(blinded) != r["blinded_digest"]:
            raise ContractError("these blinded elements are not the ones the request committed to")
        if response_digest(evaluated, proof) != r["response_digest"]:
            raise ContractError("this response is not the one the receipt signed")
        if len(blinded) != r["items"] or len(evaluated) != len(blinded):
            reason = "count"
        else:
            try:
                verify(
                    state,
                    ResponseCheck(
                        r["responder"],
                        r["list_type"],
                        r["key_id"],
                        blinded,
                        evaluated,
                        proof,
                    ),
                )
            except InvalidResponse:
                reason = "proof"
            else:
                raise ContractError("the response verifies: there is nothing to refund")
        _apply_refund(state, ctx, rid, r, reason)

    return handler


def _apply_refund(
    state: State, ctx: TxContext, rid: str, r: Mapping[str, Any], reason: str
) -> None:
    charge = r["charge"]
    move(
        state,
        r["querier"],
        charge,
        kind="refund",
        ref=rid,
        ctx=ctx,
        detail={"reason": reason},
    )
    add_spent(state, r["epoch"], r["querier"], -charge)
    add_totals(state, refunds=charge)
    key = f"{epoch_key(r['epoch'])}/{r['responder']}/{r['querier']}"
    served: Any = state.get(SERVED, key)
    left = (served or 0) - r["items"]
    if left > 0:
        state.put(SERVED, key, left)
    else:
        state.delete(SERVED, key)
    state.put(
        RECEIPTS,
        rid,
        {
            **r,
            "status": "refunded",
            "refund": {"height": ctx.height, "time": ctx.block_time, "reason": reason},
        },
    )


def _settle(state: State, ctx: TxContext) -> None:
    epoch = field(ctx.body, "epoch", int)
    p = params_from_state(state)
    now = ctx.block_time
    segments = update_schedule(state, now, p.epoch_ms)
    expected = last_settled(state) + 1
    if epoch != expected:
        raise ContractError(f"the next epoch to settle is {expected}, not {epoch}")
    _, end = epoch_bounds(segments, epoch)
    if now < end + p.feedback_window_ms:
        raise ContractError(
            f"epoch {epoch} may be settled from {end + p.feedback_window_ms}, "
            "when its last feedback window closes"
        )
    computed = compute_settlement(state, epoch)
    if dict(ctx.body) != computed:
        diff = sorted(
            k for k in set(computed) | set(ctx.body) if ctx.body.get(k) != computed.get(k)
        )
        raise ContractError(
            f"the settlement differs from the one computed from state (in {', '.join(diff)})"
        )
    apply_settlement(state, computed, ctx)


def _parties(kind: str, body: Mapping[str, Any]) -> list[str]:
    """The querier of a recorded receipt is a party to it (its statement lists it)."""
    if kind != "credits.receipt":
        return []
    try:
        return [SignedRequest.from_parts(body["request"], body["request_sig"]).request.querier]
    except (CreditsError, KeyError, TypeError):
        return []


def _signed_payloads(kind: str, body: Mapping[str, Any]) -> list[tuple[str, bytes, bytes]]:
    """The two signatures a receipt carries, so the validator can check them in parallel."""
    if kind != "credits.receipt":
        return []
    req = SignedRequest.from_parts(body["request"], body["request_sig"]).request
    return [
        (req.querier, body["request"], body["request_sig"]),
        (req.responder, body["receipt"], body["receipt_sig"]),
    ]


def _reads(kind: str, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A receipt's replay check reads its receipt id, which is never there (hint only)."""
    if kind != "credits.receipt":
        return []
    return [(RECEIPTS, SignedRequest.from_parts(body["request"], body["request_sig"]).receipt_id)]


def _refusing(handler: Callable[[State, TxContext], None]) -> Callable[[State, TxContext], None]:
    """The one place where this package's errors become the ledger's refusal."""

    def run(state: State, ctx: TxContext) -> None:
        try:
            handler(state, ctx)
        except CreditsError as exc:
            raise ContractError(str(exc)) from None

    return run


def credits_contract(verify_response: ResponseVerifier) -> Contract:
    """The credits contract, for the consortium's registry.

    ``verify_response`` checks a responder's proof for a refund claim; every replica
    must use the same one (the gateway passes the VOPRF verifier from ``psi``).
    """
    handlers: dict[str, Callable[[State, TxContext], None]] = {
        "credits.receipt": _receipt,
        "credits.refund": _refund(verify_response),
        "credits.settle": _settle,
        **EVALUATION_HANDLERS,
    }
    member = frozenset({"member"})
    roles: dict[str, frozenset[str]] = {
        # An observer may be the fingerprint registry, recording its evaluations.
        "credits.receipt": frozenset({"member", "observer"}),
        "credits.refund": member,
        "credits.settle": frozenset({"member", "observer"}),
        **EVALUATION_ROLES,
    }
    return Contract(
        name="credits",
        tables=TABLES,
        handlers={kind: _refusing(h) for kind, h in sorted(handlers.items())},
        roles=roles,
        param_check=check_params,
        parties=_parties,
        signed_payloads=_signed_payloads,
        reads=_reads,
    )
