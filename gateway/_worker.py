"""A worker process: serves the consortium port, sharing it with its siblings.

Started by the supervisor as ``python -m gateway._worker --config member.toml --listen
host:port`` with ``GRPC_SSL_CIPHER_SUITES`` and ``PROMETHEUS_MULTIPROC_DIR`` already in
its environment. It binds the port with ``SO_REUSEPORT`` (the kernel spreads
connections over the workers, so OPRF evaluation runs on every core), checks that a
TLS 1.2 handshake is refused, prints ``READY <port>`` on stdout and serves until
SIGTERM, when it stops accepting calls and lets those in flight finish. Per-peer rate
limits are enforced on buckets every worker shares (``<data_dir>/limits/``), so they
hold for the gateway, not for each worker.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import gateway  # noqa: F401  (pins the TLS 1.2 cipher list before grpc loads)
from gateway._auth import StoreMembership
from gateway._config import Config, load_config
from gateway._enroll import MemberCredentials, load_member_credentials
from gateway._errors import GatewayError
from gateway._ledger_service import LedgerService
from gateway._localstate import LocalState
from gateway._log import setup_logging
from gateway._ratelimit import RateLimiter, shared_dir
from gateway._registry import consortium_registry
from gateway._responder import PsiService
from gateway._rotation import RetainedKeys
from gateway._scenarios import ScenarioPeerService, add_scenarios
from gateway._server import RunningServer, add_ledger, add_psi, start_public_server
from gateway._tls import probe_refuses_tls12
from ledger import Store
from psi import default_pool

__all__ = ["PublicPort", "main", "start_public_port"]


class PublicPort:
    """The consortium port of one process and what it holds open."""

    def __init__(
        self,
        server: RunningServer,
        store: Store,
        local: LocalState,
        ledger: LedgerService,
        limiters: tuple[RateLimiter, ...] = (),
    ) -> None:
        self.server = server
        self.store = store
        self.local = local
        self.ledger = ledger
        self.limiters = limiters

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self, grace: float) -> None:
        self.ledger.close()
        self.server.stop(grace)
        for limiter in self.limiters:
            limiter.close()
        self.local.close()
        self.store.close()


def _limiters(config: Config) -> tuple[RateLimiter, RateLimiter]:
    """Request and element buckets, shared with every process serving this member.

    The configured limits then hold for the gateway as a whole, not for each worker.
    """
    limits = config.limits
    shared = shared_dir(config.member.data_dir)
    requests = RateLimiter(
        limits.requests_per_second,
        limits.requests_per_second * limits.burst_seconds,
        unit="requests",
        shared=shared,
    )
    elements = RateLimiter(
        limits.elements_per_second,
        limits.elements_per_second * limits.burst_seconds,
        unit="elements",
        shared=shared,
    )
    return requests, elements


def start_public_port(
    config: Config,
    credentials: MemberCredentials,
    *,
    listen: str | None = None,
    reuse_port: bool = True,
    metrics: Any | None = None,
) -> PublicPort:
    """Serve Psi, the read side of Ledger, and health on the consortium port."""
    from importlib.metadata import version

    if not config.ledger_path.exists():
        raise GatewayError(f"no ledger replica at {config.ledger_path}; start the supervisor")
    store = Store(config.ledger_path, create=False)
    local = LocalState(config.state_path)
    limits = config.limits
    requests, elements = _limiters(config)
    psi_service = PsiService(
        member_id=credentials.member_id,
        signing_key=credentials.signing_key,
        store=store,
        index_path=config.index_path,
        local=local,
        elements=elements,
        rng=os.urandom,
        max_batch=config.gateway.max_batch,
        software_version=version("riskshare"),
        metrics=metrics,
        retained=RetainedKeys(config.state_path),
    )
    ledger_service = LedgerService(store)
    scenario_service = ScenarioPeerService(
        member_id=credentials.member_id,
        signing_key=credentials.signing_key,
        store=store,
        registry=consortium_registry(),
        data_dir=config.member.data_dir,
        local=local,
        elements=elements,
    )
    try:
        server = start_public_server(
            credentials,
            listen or config.gateway.listen,
            StoreMembership(store),
            [add_psi(psi_service), add_ledger(ledger_service), add_scenarios(scenario_service)],
            requests_per_second=limits.requests_per_second,
            burst_seconds=limits.burst_seconds,
            threads=config.gateway.threads,
            reuse_port=reuse_port,
            metrics=metrics,
            limiter=requests,
        )
    except BaseException:
        requests.close()
        elements.close()
        raise
    return PublicPort(server, store, local, ledger_service, (requests, elements))


def _probe(config: Config, port: int) -> None:
    host = config.gateway.listen.rpartition(":")[0].strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    member_dir = config.member.dir
    if not probe_refuses_tls12(
        host,
        port,
        ca_file=member_dir / "ca.crt",
        cert_file=member_dir / "tls.crt",
        key_file=member_dir / "tls.key",
        passphrase=config.passphrase,
    ):
        raise GatewayError("the consortium port accepted a TLS 1.2 handshake; refusing to serve")


def _warm_pool() -> None:
    pool = default_pool()
    if pool is not None:
        pool.warm()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway-worker")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--listen", default=None)
    parser.add_argument("--index", type=int, default=0)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    setup_logging(config.log.level, config.log.file)
    from gateway._metrics import metrics

    credentials = load_member_credentials(config.member.dir, config.passphrase)
    port = start_public_port(
        config, credentials, listen=args.listen, metrics=metrics(worker=str(args.index))
    )
    try:
        _probe(config, port.port)
    except BaseException:
        port.stop(0)
        raise
    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"READY {port.port}", flush=True)
    # Spawn psi's evaluation processes now, not inside the first large batch's deadline.
    threading.Thread(target=_warm_pool, name="warm-pool", daemon=True).start()
    while not stopping.wait(1.0):
        if os.getppid() == 1:  # the supervisor died without telling us
            break
    started = time.monotonic()
    port.stop(config.gateway.grace_seconds)
    print(f"STOPPED after {time.monotonic() - started:.2f}s", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except GatewayError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
