"""Starting the dashboard inside a gateway: settings, its own replica connection, probes.

The gateway supervisor calls :func:`start_dashboard` once its node runs, and
:meth:`Dashboard.stop` when it stops. The dashboard reads the ledger through a
connection of its own (SQLite WAL: readers never wait for the node's writes), and
reaches peers only through the node's channels, for health probes. The URL it serves
on is logged and written to ``<data-dir>/dashboard.url`` (mode 0600), since port 0
(the default) picks a free port.

Bound to a loopback address it serves plain HTTP (only local users reach it). Bound to
anything else it serves HTTPS only: TLS 1.3 with the member's own certificate (the one
its peers know from the ledger), so the token and the pages never cross a network in
clear; there is no setting to turn that off.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway._dashboard._access import access_rule, is_loopback
from gateway._dashboard._context import Context
from gateway._dashboard._peers import PeerProbe, query_latency
from gateway._dashboard._server import DashboardServer
from gateway._errors import ConfigError
from gateway._tls import tls13_context
from ledger import Store, active_members

if TYPE_CHECKING:
    from gateway._config import Config
    from gateway._node import Node

__all__ = ["URL_FILE", "Dashboard", "serve_dashboard", "start_dashboard"]

URL_FILE = "dashboard.url"


@dataclass
class Dashboard:
    server: DashboardServer
    store: Store
    probe: PeerProbe | None
    url_file: Path | None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self) -> None:
        if self.probe is not None:
            self.probe.stop()
        self.server.stop()
        self.store.close()
        if self.url_file is not None:
            self.url_file.unlink(missing_ok=True)


def serve_dashboard(
    *,
    member: str,
    ledger_path: Path,
    data_dir: Path,
    bind: str = "127.0.0.1",
    port: int = 0,
    token: str = "",
    probe: PeerProbe | None = None,
    metrics: Any | None = None,
    held: Callable[[], Iterable[tuple[str, str, int]]] | None = None,
    url_file: Path | None = None,
    tls_identity: tuple[bytes, bytes] | None = None,
) -> Dashboard:
    """Serve the dashboard of ``member`` over the replica at ``ledger_path``.

    ``tls_identity`` is the member's TLS key and certificate (PEM): required off
    loopback, where the dashboard serves HTTPS only; unused on loopback. Raises
    :class:`ConfigError` for an unsafe or unusable setting (off-loopback without a token
    or a certificate, a port in use) before anything is served.
    """
    access = access_rule(bind, token)
    tls = None
    if not is_loopback(bind):
        if tls_identity is None:
            raise ConfigError(
                f"dashboard.bind is {bind}, not a loopback address: the dashboard serves"
                " HTTPS there, with the member's certificate, which was not given"
            )
        tls = tls13_context(*tls_identity, None, server=True)
    store = Store(ledger_path, create=False)
    context = Context(
        member=member,
        store=store,
        data_dir=data_dir,
        probes=probe.results if probe is not None else dict,
        latency=lambda: query_latency(metrics),
        held=held if held is not None else list,
    )
    try:
        server = DashboardServer(context, access, bind, port, tls)
    except OSError as exc:
        store.close()
        raise ConfigError(f"dashboard: cannot listen on {bind}:{port} ({exc.strerror})") from None
    dashboard = Dashboard(server, store, probe, url_file)
    server.start()
    if probe is not None:
        probe.start()
    if url_file is not None:
        fd = os.open(url_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(server.url + "\n")
    return dashboard


def _probe_targets(store: Store, me: str) -> Iterable[str]:
    """Peers with a consortium port: members, observers and the orderer."""
    return [m.id for m in active_members(store.state()) if m.id != me]


def start_dashboard(config: Config, node: Node) -> Dashboard | None:
    """The gateway's dashboard per ``[dashboard]``, or ``None`` when it is disabled."""
    section = config.dashboard
    if not section.enabled:
        return None
    probe = PeerProbe(
        node.peers.channel,
        lambda: _probe_targets(node.store, node.member_id),
        interval=section.probe_seconds,
    )

    def held() -> list[tuple[str, str, int]]:
        return [(p, lt, s.epoch) for p, lt, s in node.snapshots.held()]

    return serve_dashboard(
        member=node.member_id,
        ledger_path=config.ledger_path,
        data_dir=config.member.data_dir,
        bind=section.bind,
        port=section.port,
        token=section.token,
        probe=probe,
        metrics=node.metrics,
        held=held,
        url_file=config.member.data_dir / URL_FILE,
        tls_identity=(node.credentials.tls_key_pem, node.credentials.certificate_pem),
    )
