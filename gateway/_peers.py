"""Mutual-TLS channels to other members' gateways, addressed from the ledger.

A peer's address is the one its member row on the ledger names, so an admitted member
is reachable as soon as its admission is in a block and a changed address takes effect
with the change. One channel per peer, reused by every query and snapshot sync.
"""

from __future__ import annotations

import threading
from typing import Any

import grpc

from gateway._enroll import MemberCredentials
from gateway._errors import UnavailableError
from gateway._server import MAX_MESSAGE_BYTES
from gateway._tls import channel_credentials
from ledger import Store, get_member

__all__ = ["PeerChannels", "open_channel"]


def open_channel(credentials: MemberCredentials, address: str) -> Any:
    creds = channel_credentials(
        credentials.tls_key_pem, credentials.certificate_pem, credentials.ca_pem
    )
    return grpc.secure_channel(
        address,
        creds,
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            # A peer that was down must be usable again within a second or two of
            # coming back, not after gRPC's default backoff of up to two minutes.
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.min_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 2_000),
        ],
    )


class PeerChannels:
    def __init__(self, credentials: MemberCredentials, store: Store) -> None:
        self._credentials = credentials
        self._store = store
        self._channels: dict[str, tuple[str, Any]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def channel(self, member_id: str) -> Any:
        member = get_member(self._store.state(), member_id)
        if member is None or not member.active:
            raise UnavailableError(f"{member_id} is not an active member")
        with self._lock:
            if self._closed:
                raise UnavailableError("the gateway is stopping")
            held = self._channels.get(member_id)
            if held is not None and held[0] == member.address:
                return held[1]
            if held is not None:
                held[1].close()
            channel = open_channel(self._credentials, member.address)
            self._channels[member_id] = (member.address, channel)
            return channel

    def close(self) -> None:
        """Close every channel, cancelling the calls in flight on them; open no more."""
        with self._lock:
            self._closed = True
            for _, channel in self._channels.values():
                channel.close()
            self._channels.clear()
