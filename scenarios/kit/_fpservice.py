"""The fingerprint service: the registry's OPRF key, and the evaluations that back
registrations.

Fingerprints are OPRF outputs under a key only the registry role holds (the member
named by the ``fpreg.registry`` parameter, by default the active observer with the
lowest id). A financier blinds its normalised document fields, the registry evaluates
them with a batched DLEQ proof under the key committed here, and the financier
finalises: it learns the fingerprints, the registry learns only how many there were.

Every evaluation is metered exactly like a risk-list answer, because it is one: the
financier signs a :class:`token_incentive.QueryRequest` (list type ``fingerprint``, id
type the document family, the digest of the blinded elements, the registry key's id),
the registry judges it (``token_incentive.check_oracle_request``, under its gateway's
per-querier lock), answers with a signed :class:`token_incentive.QueryReceipt`, and
records the pair itself as a ``credits.receipt``, which charges the financier. Nothing
is left to the financier's choice: every answer the registry gave is on the ledger. A
scenario that registers fingerprints then *consumes* one recorded evaluation of the
submitter's, large enough for the fingerprints it registers (:func:`use_receipt`), so
every registered fingerprint was paid for by an online, metered, logged evaluation and
none by an offline guess.

Tables:

- ``fpreg.keys``: key id (hex) → ``{"registry", "public_key", "since", "active"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger import Contract as _Contract
from ledger import ContractError, State, TxContext, active_members, param
from psi import key_id
from scenarios.kit._schema import ID_PATTERN
from token_incentive import recorded_receipt

__all__ = [
    "FINGERPRINT_LIST_TYPE",
    "FINGERPRINT_PURPOSE",
    "FPREG",
    "RECEIPT_TTL_MS",
    "active_key",
    "registry_member",
    "use_receipt",
]

FINGERPRINT_LIST_TYPE = "fingerprint"
FINGERPRINT_PURPOSE = "fingerprint"
KEYS = "fpreg.keys"
# A recorded evaluation backs a registration for a week after it was recorded.
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


def use_receipt(
    state: State, used_table: str, receipt: str, member: str, items: int, now: int
) -> None:
    """Consume one of ``member``'s recorded evaluations to back ``items`` fingerprints.

    ``used_table`` belongs to the calling scenario (a contract writes only its own
    tables), so a receipt backs at most one registration per scenario.
    """
    row = recorded_receipt(state, receipt)
    if row is None or row.list_type != FINGERPRINT_LIST_TYPE:
        raise ContractError(f"no recorded fingerprint evaluation {receipt!r}")
    if row.querier != member:
        raise ContractError("the fingerprint evaluation belongs to another member")
    if row.status != "recorded":
        raise ContractError(f"the fingerprint evaluation was {row.status}")
    if row.items < items:
        raise ContractError(f"the evaluation covered {row.items} items, not {items}")
    if now - row.time > RECEIPT_TTL_MS:
        raise ContractError("the fingerprint evaluation is too old; evaluate again")
    if state.get(used_table, receipt) is not None:
        raise ContractError("the fingerprint evaluation already backs a registration")
    kid, _ = active_key(state)
    if row.key_id != kid.hex():
        raise ContractError("the fingerprint key has rotated since; evaluate again")
    state.put(used_table, receipt, {"member": member, "at": now})


def _param_check(params: Mapping[str, Any]) -> None:
    named = params.get("fpreg.registry")
    if named is not None and not (isinstance(named, str) and ID_PATTERN.fullmatch(named)):
        raise ContractError("fpreg.registry must name a member id")


FPREG = _Contract(
    "fpreg",
    frozenset({KEYS}),
    {"fpreg.set_key": _set_key},
    roles={"fpreg.set_key": frozenset({"member", "observer"})},
    param_check=_param_check,
)
