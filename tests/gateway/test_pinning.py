"""A channel to a member trusts the certificate the ledger registers for it, and no other.

The property `gateway._peers` rests on: gRPC given one leaf certificate as its only root
accepts that certificate and refuses any other, the consortium CA's own included (gRPC
core verifies with OpenSSL's partial-chain flag). If a gRPC upgrade changed that, these
tests fail before anything else does. Then `PeerChannels` end to end over a ledger
state: the registered certificate is reached; another one the consortium CA issued for
the same member is named and refused; a member nobody answers for gets a sealed
channel, and the one answering later is checked then.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import HealthServicer

from gateway import PeerIdentityError, UnavailableError
from gateway._localnet import free_ports
from gateway._peers import PeerChannels, open_channel
from gateway._pki import generate_tls_key, issue_member_certificate, private_key_pem
from gateway._tls import server_credentials
from ledger import MEMBERS, MemoryState
from tests.gateway.conftest import Consortium


class _Replica:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def state(self) -> MemoryState:
        return self._state


@contextmanager
def _serving(address: str, key_pem: bytes, certificate_pem: bytes, ca_pem: bytes) -> Iterator[None]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(HealthServicer(), server)
    server.add_secure_port(address, server_credentials(key_pem, certificate_pem, ca_pem))
    server.start()
    try:
        yield
    finally:
        server.stop(0).wait()


def _answers(channel: Any) -> bool:
    try:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    except grpc.RpcError:
        return False
    return True


@pytest.fixture()
def impostor(consortium: Consortium) -> tuple[bytes, bytes]:
    """bank-b's name in a certificate the consortium CA issued, but not bank-b's own."""
    key = generate_tls_key()
    certificate = issue_member_certificate(
        consortium.ca, "bank-b", key.public_key(), now=dt.datetime.now(dt.UTC)
    )
    return private_key_pem(key), certificate.public_bytes(serialization.Encoding.PEM)


def test_grpc_trusts_a_pinned_leaf_and_nothing_else(
    consortium: Consortium, impostor: tuple[bytes, bytes]
) -> None:
    a, b = consortium.credentials("bank-a"), consortium.credentials("bank-b")
    address = f"127.0.0.1:{free_ports(1)[0]}"
    with _serving(address, b.tls_key_pem, b.certificate_pem, b.ca_pem):
        for trusted, expected in ((b.certificate_pem, True), (impostor[1], False), (None, True)):
            channel = open_channel(a, address, trusted_pem=trusted)
            try:
                assert _answers(channel) is expected
            finally:
                channel.close()
    with _serving(address, *impostor, b.ca_pem):
        for trusted, expected in ((b.certificate_pem, False), (None, True)):
            channel = open_channel(a, address, trusted_pem=trusted)
            try:
                # The consortium CA alone (None) lets the impostor in: what pinning stops.
                assert _answers(channel) is expected
            finally:
                channel.close()


def test_peer_channels_reach_the_registered_certificate_only(
    consortium: Consortium, impostor: tuple[bytes, bytes]
) -> None:
    state = consortium.state()
    row: Any = dict(state.get(MEMBERS, "bank-b"))  # type: ignore[arg-type]
    address = row["address"] = f"127.0.0.1:{free_ports(1)[0]}"
    state.put(MEMBERS, "bank-b", row)
    b = consortium.credentials("bank-b")
    peers = PeerChannels(consortium.credentials("bank-a"), _Replica(state))  # type: ignore[arg-type]
    try:
        # Nobody there: told so when asked to wait, else a sealed channel.
        with pytest.raises(UnavailableError, match="cannot reach bank-b"):
            peers.channel("bank-b", wait=0.3)
        assert not _answers(peers.channel("bank-b"))
        with _serving(address, *impostor, b.ca_pem):
            with pytest.raises(PeerIdentityError) as refused:
                peers.channel("bank-b", wait=5)
            presented = hashlib.sha256(_der(impostor[1])).hexdigest()
            assert f"presented certificate sha256:{presented[:16]}" in str(refused.value)
            assert "not the one the ledger registers for bank-b" in str(refused.value)
        with _serving(address, b.tls_key_pem, b.certificate_pem, b.ca_pem):
            channel = peers.channel("bank-b", wait=5)
            assert _answers(channel)
            assert peers.channel("bank-b") is channel  # checked once, then reused
        # The same channel, pinned, refuses the impostor that takes the address over.
        with _serving(address, *impostor, b.ca_pem):
            assert not _answers(channel)
            peers.forget("bank-b", channel)
            with pytest.raises(PeerIdentityError):
                peers.channel("bank-b")
    finally:
        peers.close()


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
