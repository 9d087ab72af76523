"""Mutual-TLS channels to other members' gateways, addressed from the ledger and pinned
to the certificate the ledger registers.

A peer's address is the one its member row on the ledger names, so an admitted member
is reachable as soon as its admission is in a block and a changed address takes effect
with the change. One channel per peer, reused by every query and snapshot sync.

The server side checks its caller's certificate fingerprint against the ledger
(`gateway._auth`); this is the same check for the side that calls. gRPC Python lets a
client neither verify a server's certificate itself (grpc/grpc#32635) nor see it after
the handshake, but gRPC trusts any certificate it is given as a root, leaf certificates
included (it verifies with OpenSSL's partial-chain flag). So, before a channel to a
member is opened, and again when the ledger changes its address or fingerprint:

1. a TLS 1.3 handshake with Python's ``ssl`` (our client certificate, the consortium CA
   as the only root) fetches the certificate the member's address presents; nothing
   else is sent on that connection;
2. its SHA-256 must be the ``tls_fingerprint`` the ledger registers for the member,
   else :class:`PeerIdentityError` says which certificate was presented and which is
   registered;
3. the gRPC channel then trusts that one certificate as its only root, so every
   connection it makes, reconnections included, reaches only a server holding the
   registered certificate's key.

A member that cannot be reached to be checked gets a sealed channel, which connects
nowhere (calls fail, or wait for their deadline as they would for a peer that is
down); the next request for the member's channel, a second later or more, checks
again, and a pinned channel that replaces a sealed one closes it, which ends the calls
waiting on it (their callers retry). A caller that passes ``wait`` is instead told,
after trying for that long, and the querier does so before anything else, its
snapshot included. :meth:`forget` has a pinned channel checked again, so that a call
that failed on it can learn why.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import grpc

from gateway._enroll import MemberCredentials
from gateway._errors import PeerIdentityError, UnavailableError
from gateway._server import KEEPALIVE_MS, KEEPALIVE_TIMEOUT_MS, MAX_MESSAGE_BYTES
from gateway._tls import channel_credentials, peer_certificate, tls13_context
from ledger import Member, Store, get_member

__all__ = ["PeerChannels", "open_channel"]

# Below a regular file, so no socket can ever be there: a sealed channel connects nowhere.
_SEALED_TARGET = "unix:/dev/null/riskshare-peer-not-checked"
# How soon a member that could not be reached to be checked is tried again.
_RECHECK_SECONDS = 1.0


def open_channel(
    credentials: MemberCredentials, address: str, *, trusted_pem: bytes | None = None
) -> Any:
    """A channel to ``address`` trusting the consortium CA, or only ``trusted_pem``."""
    creds = channel_credentials(
        credentials.tls_key_pem, credentials.certificate_pem, trusted_pem or credentials.ca_pem
    )
    return grpc.secure_channel(address, creds, options=_OPTIONS)


def _sealed_channel(credentials: MemberCredentials) -> Any:
    # It dials a socket path that cannot exist, so it never reaches the member (nor
    # anyone): calls fail at once, or wait for their deadline if they wait for ready.
    creds = channel_credentials(
        credentials.tls_key_pem, credentials.certificate_pem, credentials.ca_pem
    )
    return grpc.secure_channel(_SEALED_TARGET, creds, options=_OPTIONS)


_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Keepalive: a peer or orderer behind a silent partition is noticed within 15 s
    # (gateway/_server.py, KEEPALIVE_MS); pings go on over idle streams and channels.
    ("grpc.keepalive_time_ms", KEEPALIVE_MS),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # A peer that was down must be usable again within a second or two of coming back,
    # not after gRPC's default backoff of up to two minutes.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


@dataclass(slots=True)
class _Held:
    address: str
    fingerprint: bytes
    channel: Any
    pinned: bool  # trusts the registered certificate only; False: sealed
    checked: bool  # no reason to check the peer's certificate again
    recheck_at: float = 0.0  # monotonic; when an unchecked channel is checked again

    def serves(self, member: Member) -> bool:
        return (self.address, self.fingerprint) == (member.address, member.tls_fingerprint)


class _Unreachable(Exception):
    pass


class PeerChannels:
    def __init__(
        self, credentials: MemberCredentials, store: Store, *, check_timeout: float = 5.0
    ) -> None:
        self._credentials = credentials
        self._store = store
        self._check_timeout = check_timeout
        self._channels: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._checking: dict[str, threading.Lock] = {}
        self._context: ssl.SSLContext | None = None
        self._closed = False

    def channel(self, member_id: str, *, wait: float | None = None) -> Any:
        """The channel to ``member_id``, pinned to its registered certificate.

        Raises :class:`PeerIdentityError` if its address presents another certificate.
        If it cannot be reached to be checked: with ``wait`` None, a sealed channel
        (checked again on a later call); else, after trying for ``wait`` seconds,
        :class:`UnavailableError`.
        """
        member = get_member(self._store.state(), member_id)
        if member is None or not member.active:
            raise UnavailableError(f"{member_id} is not an active member")
        held = self._held(member)
        if held is not None and (
            held.checked or (wait is None and time.monotonic() < held.recheck_at)
        ):
            return held.channel
        with self._lock:
            checking = self._checking.setdefault(member_id, threading.Lock())
        with checking:
            # Another caller may have checked it while we waited.
            held = self._held(member)
            if held is not None and held.checked:
                return held.channel
            try:
                der = self._registered_certificate(member, wait)
            except _Unreachable as exc:
                if wait is not None:
                    raise UnavailableError(
                        f"cannot reach {member_id} at {member.address} to check its"
                        f" certificate ({exc})"
                    ) from None
                der = None
            return self._install(member, der)

    def forget(self, member_id: str, channel: Any) -> None:
        """Check ``member_id``'s certificate again before ``channel`` is handed out again
        (a call on it failed: the member may now present another certificate)."""
        with self._lock:
            held = self._channels.get(member_id)
            if held is not None and held.channel is channel:
                held.checked = False
                held.recheck_at = 0.0

    def close(self) -> None:
        """Close every channel, cancelling the calls in flight on them; open no more."""
        with self._lock:
            self._closed = True
            for held in self._channels.values():
                held.channel.close()
            self._channels.clear()

    # -- checking ------------------------------------------------------------------------

    def _held(self, member: Member) -> _Held | None:
        with self._lock:
            if self._closed:
                raise UnavailableError("the gateway is stopping")
            held = self._channels.get(member.id)
            return held if held is not None and held.serves(member) else None

    def _tls_context(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                creds = self._credentials
                self._context = tls13_context(
                    creds.tls_key_pem, creds.certificate_pem, creds.ca_pem, server=False
                )
            return self._context

    def _registered_certificate(self, member: Member, wait: float | None) -> bytes:
        """The certificate ``member``'s address presents, if the ledger registers it."""
        deadline = time.monotonic() + (wait or 0.0)
        while True:
            try:
                der = peer_certificate(member.address, self._tls_context(), self._check_timeout)
                break
            except ssl.SSLCertVerificationError as exc:
                raise PeerIdentityError(
                    f"{member.id}'s gateway at {member.address} presented a certificate the"
                    f" consortium CA does not vouch for ({exc.verify_message})"
                ) from None
            except (OSError, ValueError) as exc:
                if self._closed or time.monotonic() >= deadline:
                    raise _Unreachable(type(exc).__name__) from None
                time.sleep(0.2)
        presented = hashlib.sha256(der).digest()
        if not hmac.compare_digest(presented, member.tls_fingerprint):
            raise PeerIdentityError(
                f"{member.id}'s gateway at {member.address} presented certificate"
                f" sha256:{presented.hex()[:16]}…, not the one the ledger registers for"
                f" {member.id} (sha256:{member.tls_fingerprint.hex()[:16]}…)"
            )
        return der

    def _install(self, member: Member, der: bytes | None) -> Any:
        """Keep a channel to ``member``: pinned to ``der``, or sealed when it is None."""
        with self._lock:
            if self._closed:
                raise UnavailableError("the gateway is stopping")
            held = self._channels.get(member.id)
            if held is not None and held.serves(member) and (held.pinned or der is None):
                # Already pinned to the registered certificate (a check that succeeds
                # can only find that same one), or still unreachable: keep the channel,
                # so calls in flight on it go on.
                held.checked = der is not None
                held.recheck_at = time.monotonic() + _RECHECK_SECONDS
                return held.channel
            if der is None:
                channel = _sealed_channel(self._credentials)
            else:
                pem = ssl.DER_cert_to_PEM_cert(der).encode("ascii")
                channel = open_channel(self._credentials, member.address, trusted_pem=pem)
            if held is not None:
                held.channel.close()
            self._channels[member.id] = _Held(
                member.address,
                member.tls_fingerprint,
                channel,
                pinned=der is not None,
                checked=der is not None,
                recheck_at=time.monotonic() + _RECHECK_SECONDS,
            )
            return channel
