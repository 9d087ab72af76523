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
- ``gov.consortium``: ``"info"`` → ``{"name", "normaliser_version", "genesis_time"}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger._contract import ContractError, State, Value

__all__ = [
    "MEMBERS",
    "PARAMS",
    "ROLES",
    "Member",
    "active_members",
    "consortium_info",
    "get_member",
    "list_types",
    "param",
    "params",
    "require_member_signature",
]

MEMBERS = "gov.members"
PARAMS = "gov.params"
LIST_TYPES = "gov.list_types"
CONSORTIUM = "gov.consortium"
ROLES = frozenset({"member", "observer", "orderer"})


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


def get_member(state: State, member_id: str) -> Member | None:
    row = state.get(MEMBERS, member_id)
    return None if row is None else Member.from_row(row)  # type: ignore[arg-type]


def active_members(state: State, role: str | None = None) -> Iterator[Member]:
    """Active members in id order, optionally only those holding ``role``."""
    for _, row in state.scan(MEMBERS):
        member = Member.from_row(row)  # type: ignore[arg-type]
        if member.active and (role is None or member.role == role):
            yield member


def param(state: State, name: str) -> Value | None:
    return state.get(PARAMS, name)


def params(state: State) -> dict[str, Value]:
    return dict(state.scan(PARAMS))


def list_types(state: State) -> dict[str, Mapping[str, Any]]:
    return {name: row for name, row in state.scan(LIST_TYPES)}  # type: ignore[misc]


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
        Ed25519PublicKey.from_public_bytes(member.signing_key).verify(signature, message)
    except (InvalidSignature, ValueError, TypeError):
        raise ContractError(f"bad signature by {member_id!r}") from None
    return member
