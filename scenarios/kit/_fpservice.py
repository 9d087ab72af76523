"""The fingerprint service: the registry's OPRF key and its two-party-signed receipts.

Fingerprints are OPRF outputs under a key only the registry role holds (the member
named by the ``fpreg.registry`` parameter, by default the active observer with the
lowest id). A financier blinds its normalised document fields, the registry evaluates
them with a batched DLEQ proof under the key committed here, and the financier
finalises: it learns the fingerprints, the registry learns only how many there were.

Every evaluation is a cross-member call and leaves the same two-party-signed evidence
as a risk-list query: the financier's :class:`token_incentive.QueryRequest` (list type
``fingerprint``, id type the document family, the digest of the blinded elements) and
the registry's :class:`token_incentive.QueryReceipt` over it, the very objects and
encodings the credits flow uses. Either party records the pair here (``fpreg.receipt``);
a scenario that registers fingerprints then *consumes* one receipt of the submitter's,
large enough for the fingerprints it registers, so every registered fingerprint was
paid for by an online, metered, logged evaluation and none by an offline guess.

Tables:

- ``fpreg.keys``: key id (hex) → ``{"registry", "public_key", "since", "active"}``.
- ``fpreg.receipts``: receipt id → ``{"querier", "registry", "family", "items",
  "key_id", "time", "recorded_at"}``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ledger import Contract as _Contract
from ledger import (
    ContractError,
    State,
    TxContext,
    active_members,
    get_member,
    param,
    require_member_signature,
)
from psi import key_id
from scenarios.kit._schema import ID_PATTERN
from token_incentive import MessageError, SignedReceipt, SignedRequest

__all__ = [
    "FINGERPRINT_LIST_TYPE",
    "FINGERPRINT_PURPOSE",
    "FPREG",
    "RECEIPT_TTL_MS",
    "REQUEST_TTL_MS",
    "active_key",
    "registry_member",
    "use_receipt",
]

FINGERPRINT_LIST_TYPE = "fingerprint"
FINGERPRINT_PURPOSE = "fingerprint"
KEYS = "fpreg.keys"
RECEIPTS = "fpreg.receipts"
# A request is recorded within ten minutes of the querier's clock (replay window), and
# a recorded receipt backs a registration for a week after it was recorded.
REQUEST_TTL_MS = 10 * 60 * 1000
RECEIPT_TTL_MS = 7 * 24 * 3600 * 1000
_FAMILIES = frozenset({"invoice", "document"})


def registry_member(state: State) -> str:
    """The member holding the registry key: ``fpreg.registry``, else the first observer."""
    named = param(state, "fpreg.registry")
    if isinstance(named, str):
        return named
    for member in active_members(state, "observer"):
        return member.id
    raise ContractError("no registry: set fpreg.registry or admit an observer")


def active_key(state: State) -> tuple[bytes, Mapping[str, Any]]:
    """The registry's active key id and row; refuses when none is committed."""
    registry = registry_member(state)
    for kid, row in state.scan(KEYS):
        if isinstance(row, dict) and row["active"] and row["registry"] == registry:
            return bytes.fromhex(kid), row
    raise ContractError(f"registry {registry!r} has committed no fingerprint key")


def _set_key(state: State, ctx: TxContext) -> None:
    if ctx.member != registry_member(state):
        raise ContractError("only the registry member commits the fingerprint key")
    if set(ctx.body) != {"public_key"} or not isinstance(ctx.body["public_key"], bytes):
        raise ContractError("fpreg.set_key takes exactly {public_key: 32 bytes}")
    public = ctx.body["public_key"]
    if len(public) != 32:
        raise ContractError("a ristretto255 public key is 32 bytes")
    kid = key_id(public).hex()
    if state.get(KEYS, kid) is not None:
        raise ContractError("this key was committed before; keys are never reused")
    # One active key: a rotation retires the previous one (it stays, for audit).
    for old, row in list(state.scan(KEYS)):
        if isinstance(row, dict) and row["active"]:
            state.put(KEYS, old, {**row, "active": False})
    state.put(
        KEYS,
        kid,
        {"registry": ctx.member, "public_key": public, "since": ctx.block_time, "active": True},
    )


def _receipt(state: State, ctx: TxContext) -> None:
    if set(ctx.body) != {"request", "receipt"}:
        raise ContractError("fpreg.receipt takes exactly {request, receipt}")
    try:
        signed_request = SignedRequest.from_bytes(ctx.body["request"])
        signed_receipt = SignedReceipt.from_bytes(ctx.body["receipt"])
    except (MessageError, TypeError) as exc:
        raise ContractError(f"malformed fingerprint receipt: {exc}") from None
    req = signed_request.request
    registry = registry_member(state)
    if req.responder != registry:
        raise ContractError(f"fingerprints are evaluated by the registry {registry!r}")
    if ctx.member not in {req.querier, req.responder}:
        raise ContractError("only the querier or the registry records the receipt")
    if req.list_type != FINGERPRINT_LIST_TYPE or req.purpose_code != FINGERPRINT_PURPOSE:
        raise ContractError("not a fingerprint evaluation")
    if req.id_type not in _FAMILIES:
        raise ContractError(f"unknown document family {req.id_type!r}")
    if abs(ctx.block_time - req.time) > REQUEST_TTL_MS:
        raise ContractError("the request is stale")
    querier = get_member(state, req.querier)
    if querier is None or querier.role != "member":
        raise ContractError("only members have fingerprints evaluated")
    require_member_signature(state, req.querier, signed_request.data, signed_request.signature)
    require_member_signature(state, registry, signed_receipt.data, signed_receipt.signature)
    if signed_receipt.receipt.request_digest != hashlib.sha256(signed_request.data).digest():
        raise ContractError("the receipt does not sign this request")
    rid = signed_request.receipt_id
    if state.get(RECEIPTS, rid) is not None:
        raise ContractError("this evaluation is already recorded")
    kid, _ = active_key(state)
    state.put(
        RECEIPTS,
        rid,
        {
            "querier": req.querier,
            "registry": registry,
            "family": req.id_type,
            "items": req.item_count,
            "key_id": kid,
            "time": req.time,
            "recorded_at": ctx.block_time,
        },
    )


def _parties(kind: str, body: Mapping[str, Any]) -> list[str]:
    if kind != "fpreg.receipt":
        return []
    req = SignedRequest.from_bytes(body["request"]).request
    return [req.querier, req.responder]


def _signed_payloads(kind: str, body: Mapping[str, Any]) -> list[tuple[str, bytes, bytes]]:
    if kind != "fpreg.receipt":
        return []
    req = SignedRequest.from_bytes(body["request"])
    rec = SignedReceipt.from_bytes(body["receipt"])
    return [
        (req.request.querier, req.data, req.signature),
        (req.request.responder, rec.data, rec.signature),
    ]


def use_receipt(
    state: State, used_table: str, receipt: str, member: str, items: int, now: int
) -> None:
    """Consume one of ``member``'s recorded evaluations to back ``items`` fingerprints.

    ``used_table`` belongs to the calling scenario (a contract writes only its own
    tables), so a receipt backs at most one registration per scenario.
    """
    row = state.get(RECEIPTS, receipt)
    if not isinstance(row, dict):
        raise ContractError(f"no recorded fingerprint evaluation {receipt!r}")
    if row["querier"] != member:
        raise ContractError("the fingerprint evaluation belongs to another member")
    if row["items"] < items:
        raise ContractError(f"the evaluation covered {row['items']} items, not {items}")
    if now - row["recorded_at"] > RECEIPT_TTL_MS:
        raise ContractError("the fingerprint evaluation is too old; evaluate again")
    if state.get(used_table, receipt) is not None:
        raise ContractError("the fingerprint evaluation already backs a registration")
    kid, _ = active_key(state)
    if row["key_id"] != kid:
        raise ContractError("the fingerprint key has rotated since; evaluate again")
    state.put(used_table, receipt, {"member": member, "at": now})


def _param_check(params: Mapping[str, Any]) -> None:
    named = params.get("fpreg.registry")
    if named is not None and not (isinstance(named, str) and ID_PATTERN.fullmatch(named)):
        raise ContractError("fpreg.registry must name a member id")


FPREG = _Contract(
    "fpreg",
    frozenset({KEYS, RECEIPTS}),
    {"fpreg.set_key": _set_key, "fpreg.receipt": _receipt},
    roles={
        "fpreg.set_key": frozenset({"member", "observer"}),
        "fpreg.receipt": frozenset({"member", "observer"}),
    },
    param_check=_param_check,
    parties=_parties,
    signed_payloads=_signed_payloads,
)
