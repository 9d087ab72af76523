"""Read access to consortium membership and parameters, as every contract needs it.

The governance contract (``gov``) is the only writer of these tables; every other
contract reads them through the functions here, so the row layout is defined once.

Tables and rows:

- ``gov.members``: member id → ``{"id", "name", "role", "status", "signing_key",
  "tls_fingerprint", "address", "since"}``. ``role`` is one of :data:`ROLES`;
  ``status`` is ``"active"`` or ``"removed"``; ``signing_key`` is the raw 32-byte
  Ed25519 public key; ``tls_fingerprint`` the SHA-256 of the member's TLS certificate
  (DER); ``address`` the gateway's ``host:port``; ``since`` the height it took effect.
- ``gov.params``: parameter name → value (integers, strings, lists, dicts; no floats).
  Names are namespaced by the contract that reads them (``credits.price``, ...).
- ``gov.list_types``: list type → ``{"id_types": [...], "retention_days": int}``.
- ``gov.id_types``: identifier type → ``{"description": str}``.
- ``gov.consortium``: ``"info"`` → ``{"name", "normaliser_version", "genesis_time",
  "chain_id"}``; ``chain_id`` is the SHA-256 of the genesis configuration bytes, which
  every transaction carries.
- ``gov.proposals``: proposal id → the proposal and its approvals (``ledger._gov``).

Who votes: the active members of role ``member`` (:func:`voters`). Observers read and
audit, orderers order; neither asks or answers queries, so neither decides on the
consortium's rules. A governance change, and a block's finality, need more than two
thirds of the voters.

Who proposes blocks: the ordering service named in consensus state (:func:`proposers`),
never whoever holds a member key. ``gov.params["ledger.proposers"]``, when set, lists
the member ids that may propose (several for ordering on a shared log, etcd); unset,
the active members of role ``orderer`` propose. Either way only active members of role
``orderer`` or ``member`` count; the governance contract keeps the set from ever
becoming empty (:mod:`ledger._gov`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ledger._contract import ContractError, State, Value
from ledger._sig import SignatureError, verify_signature
from ledger._state import table_token

__all__ = [
    "CONSORTIUM",
    "ID_TYPES",
    "LIST_TYPES",
    "MEMBERS",
    "PARAMS",
    "PROPOSALS",
    "PROPOSERS_PARAM",
    "PROPOSER_ROLES",
    "ROLES",
    "Member",
    "active_members",
    "consortium_info",
    "get_member",
    "list_types",
    "param",
    "params",
    "proposers",
    "require_member_signature",
    "supermajority",
    "voters",
]

MEMBERS = "gov.members"
PARAMS = "gov.params"
LIST_TYPES = "gov.list_types"
CONSORTIUM = "gov.consortium"
ID_TYPES = "gov.id_types"
PROPOSALS = "gov.proposals"
ROLES = frozenset({"member", "observer", "orderer"})
# The consensus parameter naming the ordering service; the roles it may name.
PROPOSERS_PARAM = "ledger.proposers"
PROPOSER_ROLES = frozenset({"member", "orderer"})


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    name: str
    role: str
    status: str
    signing_key: bytes
    tls_fingerprint: bytes
    address: str
    since: int

    @property
    def active(self) -> bool:
        return self.status == "active"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Member:
        return cls(
            id=row["id"],
            name=row["name"],
            role=row["role"],
            status=row["status"],
            signing_key=row["signing_key"],
            tls_fingerprint=row["tls_fingerprint"],
            address=row["address"],
            since=row["since"],
        )

    def to_row(self) -> dict[str, Value]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "status": self.status,
            "signing_key": self.signing_key,
            "tls_fingerprint": self.tls_fingerprint,
            "address": self.address,
            "since": self.since,
        }


# Members by (table token, id): a transaction looks its signer, querier and responder
# up several times, and the rows change only through governance.
_MEMO_LIMIT = 4096
_members: dict[tuple[Hashable, str], Member | None] = {}


def get_member(state: State, member_id: str) -> Member | None:
    token = table_token(state, MEMBERS) if type(member_id) is str else None
    if token is not None:
        key = (token, member_id)
        try:
            return _members[key]
        except KeyError:
            pass
    row = state.get(MEMBERS, member_id)
    member = None if row is None else Member.from_row(row)  # type: ignore[arg-type]
    if token is not None:
        if len(_members) >= _MEMO_LIMIT:
            _members.clear()
        _members[key] = member
    return member


def active_members(state: State, role: str | None = None) -> Iterator[Member]:
    """Active members in id order, optionally only those holding ``role``."""
    for _, row in state.scan(MEMBERS):
        member = Member.from_row(row)  # type: ignore[arg-type]
        if member.active and (role is None or member.role == role):
            yield member


def voters(state: State) -> list[Member]:
    """The members whose approvals and checkpoint signatures count: active, role member."""
    return list(active_members(state, "member"))


def proposers(state: State) -> frozenset[str]:
    """The members that may propose the next block (module docstring): those
    ``ledger.proposers`` names, else the active members of role ``orderer``; only active
    members of a role in :data:`PROPOSER_ROLES` count."""
    named = state.get(PARAMS, PROPOSERS_PARAM)
    if named is None:
        return frozenset(m.id for m in active_members(state, "orderer"))
    if not isinstance(named, list):
        return frozenset()
    out = set()
    for member_id in named:
        if type(member_id) is not str:
            continue
        member = get_member(state, member_id)
        if member is not None and member.active and member.role in PROPOSER_ROLES:
            out.add(member_id)
    return frozenset(out)


def supermajority(count: int, total: int) -> bool:
    """More than two thirds: ``count / total > 2/3``, in integers."""
    return total > 0 and 3 * count > 2 * total


def param(state: State, name: str) -> Value | None:
    return state.get(PARAMS, name)


def params(state: State) -> dict[str, Value]:
    return dict(state.scan(PARAMS))


def list_types(state: State) -> dict[str, Mapping[str, Any]]:
    return {name: row for name, row in state.scan(LIST_TYPES)}  # type: ignore[misc]


def list_type_id_types(state: State, list_type: str) -> frozenset[str] | None:
    """The identifier types ``list_type`` admits, or ``None`` if it is not registered."""
    row = state.get(LIST_TYPES, list_type)
    if not isinstance(row, dict):
        return None
    return frozenset(row.get("id_types", ()))


def consortium_info(state: State) -> Mapping[str, Any] | None:
    return state.get(CONSORTIUM, "info")  # type: ignore[return-value]


def require_member_signature(
    state: State, member_id: str, message: bytes, signature: bytes
) -> Member:
    """Check that ``member_id`` is active and signed ``message``; refuse otherwise.

    Used by contracts for co-signatures and for signed payloads carried inside a
    transaction body (a querier's request inside a responder's receipt, say).
    """
    member = get_member(state, member_id)
    if member is None or not member.active:
        raise ContractError(f"{member_id!r} is not an active member")
    try:
        verify_signature(member.signing_key, message, signature)
    except SignatureError:
        raise ContractError(f"bad signature by {member_id!r}") from None
    return member
