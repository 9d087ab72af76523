"""Prometheus metrics, aggregated across the gateway's worker processes.

prometheus_client's multiprocess mode keeps each process's samples in files under
``PROMETHEUS_MULTIPROC_DIR``; the variable must be set before prometheus_client is
first imported, so the supervisor sets it in every worker's environment and imports
this module lazily. The supervisor serves the aggregate on ``gateway.metrics_listen``.
Labels are method names, status codes, member ids and list types: never identifiers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["MULTIPROC_ENV", "Metrics", "metrics", "serve_metrics"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The gateway's metric families (one instance per process)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.rpcs = Counter(
            "riskshare_rpc_total", "gRPC calls served, by method and status", ["method", "code"]
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


_metrics: Metrics | None = None


def metrics() -> Metrics:
    global _metrics
    if _metrics is None:
        _metrics = Metrics()
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
