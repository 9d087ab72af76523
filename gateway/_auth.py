"""Who is calling: the peer certificate's SAN member id, checked against the ledger.

Rules (DESIGN §3):

- The TLS layer has already checked the chain to the consortium root and that the
  peer holds the certificate's key. Here the call must have come over TLS 1.3
  (`gateway._tls` explains why the check is repeated per call).
- The identity is the one ``riskshare://member/<id>`` SAN URI of the peer certificate;
  the common name is never read.
- The member must exist on the ledger at the current height, be ``active``, and have
  registered exactly this certificate (SHA-256 of its DER). A removed member, or one
  whose key was rotated away, is refused from the height the change took effect.
- The method may further require a role (observers read, they do not query).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway._errors import PermissionDeniedError, PkiError, UnauthenticatedError
from gateway._pki import peer_identity
from ledger import Member, State, Store, get_member

__all__ = ["MembershipView", "StateMembership", "StoreMembership", "authenticate"]

AuthContext = Mapping[str, Sequence[bytes]]


class MembershipView(Protocol):
    """Membership at the replica's current height."""

    def member(self, member_id: str) -> Member | None: ...


@dataclass(frozen=True, slots=True)
class StateMembership:
    """A :class:`MembershipView` over any ledger state (a replica's, or a test's)."""

    state: State

    def member(self, member_id: str) -> Member | None:
        return get_member(self.state, member_id)


class StoreMembership:
    """Membership at the head of a ledger store, re-read on every call.

    The store may be written by another process (the supervisor applies blocks while
    workers serve), so each lookup takes a fresh view of the committed state.
    """

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        self._store = store

    def member(self, member_id: str) -> Member | None:
        return get_member(self._store.state(), member_id)


def _one(context: AuthContext, key: str) -> bytes | None:
    values = context.get(key) or ()
    return values[0] if len(values) == 1 else None


def authenticate(
    context: AuthContext, view: MembershipView, roles: frozenset[str] | None = None
) -> Member:
    """The active member behind this call, or :class:`UnauthenticatedError`."""
    if _one(context, "transport_security_type") != b"ssl":
        raise UnauthenticatedError("not a TLS connection")
    if _one(context, "ssl_tls_version") != b"TLSv1.3":
        raise UnauthenticatedError("TLS 1.3 is required")
    pem = _one(context, "x509_pem_cert")
    if pem is None:
        raise UnauthenticatedError("no client certificate")
    try:
        identity = peer_identity(pem)
    except PkiError as exc:
        raise UnauthenticatedError(f"unusable client certificate: {exc}") from None
    member = view.member(identity.member_id)
    if member is None:
        raise UnauthenticatedError(f"{identity.member_id} is not a member")
    if not member.active:
        raise UnauthenticatedError(f"{identity.member_id} is {member.status}")
    if not hmac.compare_digest(member.tls_fingerprint, identity.fingerprint):
        raise UnauthenticatedError(f"certificate is not the one registered for {member.id}")
    if roles is not None and member.role not in roles:
        raise PermissionDeniedError(f"role {member.role} may not call this method")
    return member
