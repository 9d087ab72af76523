"""Prometheus metrics, aggregated across the gateway's worker processes.

prometheus_client's multiprocess mode keeps each process's samples in files under
``PROMETHEUS_MULTIPROC_DIR``; the variable must be set before prometheus_client is
first imported, so the supervisor sets it in every worker's environment and imports
this module lazily. The supervisor serves the aggregate on ``gateway.metrics_listen``.
Labels are method names, status codes, member ids, list types and which process served
a call (``worker``: the worker's index, or ``supervisor`` for the admin socket and the
orderer port): never identifiers. The ``worker`` label shows whether the kernel spreads
peers' connections over every worker; a restarted worker keeps its index, so its
counts go on from its predecessor's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["MULTIPROC_ENV", "SUPERVISOR", "Metrics", "metrics", "serve_metrics"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The ``worker`` label of calls the supervisor serves itself.
SUPERVISOR = "supervisor"


class _ForProcess:
    """A labelled family with its last label (``worker``) fixed to this process's.

    Callers pass the other labels as before (``rpcs.labels(method, code)``), so the
    interceptors need not know which process they run in.
    """

    def __init__(self, family: Any, worker: str) -> None:
        self._family = family
        self._worker = worker

    def labels(self, *values: str) -> Any:
        return self._family.labels(*values, self._worker)


class Metrics:
    """The gateway's metric families (one instance per process)."""

    def __init__(self, worker: str = SUPERVISOR) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.worker = worker
        self.rpcs = _ForProcess(
            Counter(
                "riskshare_rpc_total",
                "gRPC calls served, by method, status and serving process",
                ["method", "code", "worker"],
            ),
            worker,
        )
        self.rpc_seconds = Histogram(
            "riskshare_rpc_seconds",
            "gRPC call latency as served",
            ["method"],
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.elements_evaluated = Counter(
            "riskshare_elements_evaluated_total",
            "Blinded elements evaluated",
            ["peer", "list_type"],
        )
        self.queries_made = Counter(
            "riskshare_queries_made_total",
            "Query batches sent to peers, by outcome",
            ["peer", "list_type", "outcome"],
        )
        self.query_seconds = Histogram(
            "riskshare_query_seconds",
            "Querier-side latency of one batch to one peer",
            ["peer"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.receipts_submitted = Counter(
            "riskshare_receipts_submitted_total", "Query receipts handed to the ledger"
        )
        self.ledger_height = Gauge(
            "riskshare_ledger_height", "Height of the local ledger replica", multiprocess_mode="max"
        )
        self.snapshot_entries = Gauge(
            "riskshare_snapshot_entries",
            "Entries in the verified snapshot of a peer's index",
            ["peer", "list_type"],
            multiprocess_mode="max",
        )

        # Watchlists (gateway._watcher): alerts by the responder whose list raised them.
        self.watch_alerts = Counter(
            "riskshare_watch_alerts_total",
            "Watchlist alerts raised: a watched book line newly listed by a peer",
            ["peer", "list_type"],
        )
        self.watch_alerts_cleared = Counter(
            "riskshare_watch_alerts_cleared_total",
            "Watchlist alerts cleared: the peer delisted the watched book line",
            ["peer", "list_type"],
        )


_metrics: Metrics | None = None


def metrics(worker: str = SUPERVISOR) -> Metrics:
    """This process's metrics; ``worker`` (the worker's index) is fixed by the first call."""
    global _metrics
    if _metrics is None:
        _metrics = Metrics(worker)
    return _metrics


def serve_metrics(address: str) -> Any:
    """Serve the aggregate of every worker's metrics over HTTP; returns the server."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    directory = os.environ.get(MULTIPROC_ENV)
    if directory and Path(directory).is_dir():
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    host, _, port = address.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host, registry=registry)
    return server
