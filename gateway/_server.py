"""Building the gateway's gRPC servers: the consortium port (mTLS) and the admin socket.

The consortium port carries the psi and ledger services plus gRPC health checking,
behind the interceptor chain of `gateway._interceptors`; several worker processes bind
it together with ``SO_REUSEPORT`` so the kernel spreads connections over every core.
The admin server listens on a unix socket (mode 0600) and is never reachable from
other members.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from gateway._auth import MembershipView
from gateway._enroll import MemberCredentials
from gateway._errors import GatewayError
from gateway._interceptors import ErrorInterceptor, ObserveInterceptor, interceptors
from gateway._pb.riskshare.admin.v1 import admin_pb2, admin_pb2_grpc
from gateway._pb.riskshare.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from gateway._pb.riskshare.psi.v1 import psi_pb2, psi_pb2_grpc
from gateway._ratelimit import RateLimiter
from gateway._tls import server_credentials, tls13_pinned

__all__ = [
    "ADMIN_SERVICE",
    "LEDGER_SERVICE",
    "MAX_MESSAGE_BYTES",
    "PSI_SERVICE",
    "QUERY_ROLES",
    "RunningServer",
    "Service",
    "add_admin",
    "add_ledger",
    "add_psi",
    "start_admin_server",
    "start_public_server",
]

PSI_SERVICE = psi_pb2.DESCRIPTOR.services_by_name["Psi"].full_name
LEDGER_SERVICE = ledger_pb2.DESCRIPTOR.services_by_name["Ledger"].full_name
ADMIN_SERVICE = admin_pb2.DESCRIPTOR.services_by_name["Admin"].full_name
# 10^5 elements of 32 bytes plus framing; snapshot chunks are kept well below this.
MAX_MESSAGE_BYTES = 16 << 20
# Members ask queries; an observer may send canary probes in snapshot mode only (the
# responder refuses an observer's request unless its purpose is ``canary``, as the
# ledger would: token_incentive.check_request); orderers read the ledger and nothing else.
QUERY_ROLES: Mapping[str, frozenset[str]] = {
    f"/{PSI_SERVICE}/EvaluateBatch": frozenset({"member", "observer"}),
    f"/{PSI_SERVICE}/BucketQuery": frozenset({"member"}),
}


@dataclass(frozen=True, slots=True)
class Service:
    """A gRPC service to mount: its full name (for health) and how to add it."""

    name: str
    register: Callable[[grpc.Server], None]


def add_psi(servicer: psi_pb2_grpc.PsiServicer) -> Service:
    def register(server: grpc.Server) -> None:
        psi_pb2_grpc.add_PsiServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    return Service(PSI_SERVICE, register)


def add_ledger(servicer: ledger_pb2_grpc.LedgerServicer) -> Service:
    def register(server: grpc.Server) -> None:
        ledger_pb2_grpc.add_LedgerServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    return Service(LEDGER_SERVICE, register)


def add_admin(servicer: admin_pb2_grpc.AdminServicer) -> Service:
    def register(server: grpc.Server) -> None:
        admin_pb2_grpc.add_AdminServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    return Service(ADMIN_SERVICE, register)


@dataclass(slots=True)
class RunningServer:
    server: Any
    port: int
    health: health.HealthServicer

    def stop(self, grace: float) -> None:
        """Report NOT_SERVING, finish calls in flight for ``grace`` seconds, then stop."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


# A silent partition (a link down, a firewall or NAT dropping the connection's state:
# no RST, no FIN) leaves a connection that looks open, and a follower's block stream
# on it waits until keepalive gives up. Clients ping every KEEPALIVE_MS, also on a
# stream with nothing to send (gRPC stops after two pings without data unless told),
# and drop the connection after KEEPALIVE_TIMEOUT_MS without an answer: an idle stream
# across a cut link failed after 11-14 s, against 39 s (idle 2 s) and 66 s (idle 65 s)
# with the former 30 s + 10 s (docs/RELIABILITY.md, "Over a network"). The server
# accepts pings twice as often, so that a ping arriving a little early is never held
# against the client (two strikes close the connection).
KEEPALIVE_MS = 10_000
KEEPALIVE_TIMEOUT_MS = 5_000
MIN_PING_INTERVAL_MS = KEEPALIVE_MS // 2


def _options(reuse_port: bool) -> list[tuple[str, Any]]:
    return [
        ("grpc.so_reuseport", 1 if reuse_port else 0),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        # Peers keep long-lived channels; let them ping to keep NAT state alive.
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", MIN_PING_INTERVAL_MS),
    ]


def _health(server: grpc.Server, services: Iterable[Service]) -> health.HealthServicer:
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    for service in services:
        servicer.set(service.name, health_pb2.HealthCheckResponse.SERVING)
    return servicer


def start_public_server(
    credentials: MemberCredentials,
    listen: str,
    view: MembershipView,
    services: Iterable[Service],
    *,
    requests_per_second: float,
    burst_seconds: float,
    threads: int = 8,
    reuse_port: bool = True,
    metrics: Any | None = None,
    limiter: RateLimiter | None = None,
) -> RunningServer:
    """Start the mutual-TLS consortium server; refuses to start unless TLS 1.3 is pinned.

    ``limiter`` holds the per-peer request buckets; by default they are this process's
    own, built from ``requests_per_second`` and ``burst_seconds`` (workers sharing a
    port pass one whose buckets they share: `gateway._ratelimit`).
    """
    if not tls13_pinned():
        raise GatewayError(
            "gRPC was loaded before the TLS 1.3 pin was set; import gateway before grpc "
            "(or start workers through riskshare gateway serve)"
        )
    services = list(services)
    if limiter is None:
        limiter = RateLimiter(
            requests_per_second, requests_per_second * burst_seconds, unit="requests"
        )
    server = grpc.server(
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rpc"),
        interceptors=interceptors(view, limiter, metrics=metrics, roles=QUERY_ROLES),
        options=_options(reuse_port),
    )
    for service in services:
        service.register(server)
    servicer = _health(server, services)
    creds = server_credentials(
        credentials.tls_key_pem, credentials.certificate_pem, credentials.ca_pem
    )
    try:
        port = server.add_secure_port(listen, creds)
    except RuntimeError as exc:
        raise GatewayError(f"cannot listen on {listen}: {exc}") from None
    if not port:
        raise GatewayError(f"cannot listen on {listen}")
    server.start()
    return RunningServer(server, port, servicer)


def start_admin_server(
    socket_path: Path,
    services: Iterable[Service],
    *,
    threads: int = 4,
    metrics: Any | None = None,
) -> RunningServer:
    """Start the local admin server on a unix socket only its owner can open."""
    services = list(services)
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    if socket_path.exists() or socket_path.is_symlink():
        socket_path.unlink()
    server = grpc.server(
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix="admin"),
        interceptors=[ObserveInterceptor(metrics), ErrorInterceptor()],
        options=_options(False),
    )
    for service in services:
        service.register(server)
    servicer = _health(server, services)
    # The socket inherits the umask; tighten it before the server accepts anything.
    old = os.umask(0o177)
    try:
        port = server.add_insecure_port(f"unix:{socket_path}")
    finally:
        os.umask(old)
    if not port:
        raise GatewayError(f"cannot listen on {socket_path}")
    os.chmod(socket_path, 0o600)
    server.start()
    return RunningServer(server, port, servicer)
