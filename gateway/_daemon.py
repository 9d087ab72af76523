"""``riskshare gateway serve``: the supervisor process and its workers.

The supervisor loads and checks the configuration and keys (a bad config is a clear
message and exit code 2, before anything starts), runs the :class:`gateway._node.Node`
(ledger replica or embedded orderer, recorder, querier, admin socket), serves the
Prometheus aggregate, and starts ``gateway.workers`` worker processes that share the
consortium port (and share their per-peer rate-limit buckets, emptied here at start:
`gateway._ratelimit`). Workers are fresh interpreters (``python -m gateway._worker``) whose
environment carries the TLS 1.2 cipher pin and the metrics directory from their first
instruction, which is why they are not forked.

A worker that dies is restarted (at most five times a minute; more means something is
wrong, and the supervisor stops with exit code 1). SIGTERM or SIGINT stops the workers
gracefully (they finish calls in flight for ``gateway.grace_seconds``), then the node
(pending receipts are handed to the ledger first), and exits 0.
"""

from __future__ import annotations

import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway._config import Config, load_config
from gateway._enroll import load_member_credentials
from gateway._errors import GatewayError
from gateway._log import log_event, setup_logging
from gateway._metrics import MULTIPROC_ENV
from gateway._ratelimit import shared_dir
from gateway._tls import CIPHER_SUITES_ENV, TLS12_SUITES
from ledger import get_member

__all__ = ["ServeInfo", "serve"]

_log = logging.getLogger("riskshare.gateway.daemon")
_MAX_RESTARTS_PER_MINUTE = 5


@dataclass(frozen=True, slots=True)
class ServeInfo:
    member_id: str
    listen: str
    workers: int
    admin_socket: Path
    orderer_listen: str
    metrics_listen: str
    # The dashboard's URL (loopback by default), empty when it is off.
    dashboard_url: str = ""


class _Worker:
    def __init__(self, config: Config, index: int, listen: str, env: dict[str, str]) -> None:
        self.index = index
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway._worker",
                "--config",
                str(config.source),
                "--listen",
                listen,
                "--index",
                str(index),
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.started = time.monotonic()

    def wait_ready(self, timeout: float) -> int:
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    continue
                line = self.process.stdout.readline()
                if not line:
                    break
                if line.startswith("READY "):
                    return int(line.split()[1])
        finally:
            selector.close()
        code = self.process.poll()
        raise GatewayError(
            f"worker {self.index} did not start (exit code {code}); see the gateway log"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def drain_output(self) -> None:
        # After READY a worker prints one more line; read it so the pipe never fills.
        if self.process.stdout is not None:
            threading.Thread(target=self.process.stdout.read, daemon=True).start()


def _worker_env(config: Config, metrics_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env[CIPHER_SUITES_ENV] = TLS12_SUITES
    env[MULTIPROC_ENV] = str(metrics_dir)
    env.setdefault("GRPC_VERBOSITY", "ERROR")
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def _prepare_metrics(config: Config) -> Path:
    directory = config.member.data_dir / "metrics"
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    if "prometheus_client" not in sys.modules:
        os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def _prepare_limits(config: Config) -> None:
    # Workers share per-peer buckets here; a new gateway starts with full ones, and a
    # bucket from before a reboot must not outlive the clock it was counted on.
    directory = shared_dir(config.member.data_dir)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(mode=0o700, parents=True)


def serve(
    config_path: Path,
    *,
    on_ready: Callable[[ServeInfo], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run the gateway until SIGTERM/SIGINT (or ``stop``); the process exit code."""
    config = load_config(config_path)
    credentials = load_member_credentials(config.member.dir, config.passphrase)
    setup_logging(config.log.level, config.log.file)
    metrics_dir = _prepare_metrics(config)
    _prepare_limits(config)
    from gateway._dashboard import start_dashboard
    from gateway._metrics import metrics, serve_metrics
    from gateway._node import Node

    node = Node(config, credentials, metrics=metrics())
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    workers: list[_Worker] = []
    metrics_server = None
    dashboard = None
    code = 0
    try:
        node.start()
        dashboard = start_dashboard(config, node)
        member = get_member(node.store.state(), node.member_id)
        # Members answer queries there; observers serve it too, for the ledger's read side
        # (peers catch up from them) and the fingerprint registry, whose key is an
        # observer's by default. They publish no list, so every query to one is refused.
        answers = member is not None and member.role in ("member", "observer")
        listen = config.gateway.listen
        env = _worker_env(config, metrics_dir)
        if answers:
            for index in range(config.worker_count()):
                worker = _Worker(config, index, listen, env)
                workers.append(worker)
                port = worker.wait_ready(timeout=60)
                worker.drain_output()
                # With port 0 the first worker picks one; the others join it.
                listen = f"{listen.rpartition(':')[0]}:{port}"
        if config.gateway.metrics_listen:
            metrics_server = serve_metrics(config.gateway.metrics_listen)
        info = ServeInfo(
            member_id=node.member_id,
            listen=listen if answers else "",
            workers=len(workers),
            admin_socket=config.admin_socket,
            orderer_listen=config.ledger.orderer_listen if node.orderer is not None else "",
            metrics_listen=config.gateway.metrics_listen,
            dashboard_url=dashboard.url if dashboard is not None else "",
        )
        log_event(
            _log,
            "gateway serving",
            member=info.member_id,
            listen=info.listen,
            workers=info.workers,
            orderer=info.orderer_listen,
            dashboard=info.dashboard_url,
        )
        if on_ready is not None:
            on_ready(info)
        restarts: list[float] = []
        while not stop.wait(0.5):
            if node.follower is not None and node.follower.halted:
                log_event(_log, "replica halted; stopping", logging.CRITICAL)
                code = 1
                break
            for position, worker in enumerate(workers):
                if worker.process.poll() is None:
                    continue
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < 60] + [now]
                log_event(
                    _log,
                    "worker exited; restarting",
                    logging.ERROR,
                    worker=worker.index,
                    exit_code=worker.process.returncode,
                )
                _mark_dead(worker.process.pid)
                if len(restarts) > _MAX_RESTARTS_PER_MINUTE:
                    raise GatewayError("workers keep dying; stopping the gateway")
                replacement = _Worker(config, worker.index, listen, env)
                replacement.wait_ready(timeout=60)
                replacement.drain_output()
                workers[position] = replacement
    finally:
        for worker in workers:
            worker.stop()
        deadline = time.monotonic() + config.gateway.grace_seconds + 5
        for worker in workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            _mark_dead(worker.process.pid)
        if dashboard is not None:
            dashboard.stop()
        node.stop(config.gateway.grace_seconds)
        if metrics_server is not None:
            metrics_server.shutdown()
        log_event(_log, "gateway stopped", member=config.member.id, exit_code=code)
    return code


def _mark_dead(pid: int) -> None:
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
