"""Peer health and latency: probes over the gateway's own mutual-TLS channels.

- Health: every ``interval`` seconds a background thread asks each peer gateway (and
  the orderer) for its gRPC health status over the very channel queries use, and keeps
  the answer and the round-trip time. Pages only read the last results, so loading a
  page never sends anything to a peer.
- Query latency: the querier's ``riskshare_query_seconds`` histogram (per peer) and
  ``riskshare_queries_made_total`` (per outcome) from this process's metrics; the
  percentiles are bucket upper bounds ("at most"), which is all a histogram can say.
- Snapshots: which epoch of each peer's index this gateway holds, against the epoch
  the peer has committed on the ledger.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ledger import INDEX, Store, active_members, now_ms

__all__ = ["Latency", "PeerProbe", "PeerRow", "Probe", "peer_rows", "query_latency"]

_log = logging.getLogger("riskshare.gateway.dashboard")


@dataclass(frozen=True, slots=True)
class Probe:
    status: str  # "serving", "not serving", "unreachable", "refused"
    rtt_ms: float | None
    at_ms: int
    detail: str = ""


def _check(channel: Any, timeout: float) -> Probe:
    stub = health_pb2_grpc.HealthStub(channel)
    started = time.perf_counter()
    at = now_ms()
    try:
        reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
    except grpc.RpcError as exc:
        code = exc.code()
        status = "unreachable" if code == grpc.StatusCode.UNAVAILABLE else "refused"
        return Probe(status, None, at, code.name)
    rtt = (time.perf_counter() - started) * 1000
    serving = reply.status == health_pb2.HealthCheckResponse.SERVING
    return Probe("serving" if serving else "not serving", round(rtt, 2), at)


class PeerProbe:
    """Probes ``targets()`` every ``interval`` seconds on channels from ``channel``."""

    def __init__(
        self,
        channel: Callable[[str], Any],
        targets: Callable[[], Iterable[str]],
        *,
        interval: float = 10.0,
        timeout: float = 2.0,
    ) -> None:
        self._channel = channel
        self._targets = targets
        self._interval = interval
        self._timeout = timeout
        self._results: dict[str, Probe] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dashboard-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._timeout + 5)

    def results(self) -> dict[str, Probe]:
        with self._lock:
            return dict(self._results)

    def probe_once(self) -> None:
        for member in list(self._targets()):
            if self._stop.is_set():
                return
            try:
                result = _check(self._channel(member), self._timeout)
            except Exception as exc:  # a peer we cannot even open a channel to
                result = Probe("unreachable", None, now_ms(), type(exc).__name__)
            with self._lock:
                self._results[member] = result

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.probe_once()
            except Exception:
                _log.warning("peer probe failed", exc_info=True)
            self._stop.wait(self._interval)


@dataclass(frozen=True, slots=True)
class Latency:
    count: int
    mean_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    outcomes: dict[str, int]


def _quantile(buckets: list[tuple[float, float]], count: float, q: float) -> float | None:
    if count <= 0:
        return None
    for bound, cumulative in sorted(buckets):
        if cumulative >= q * count:
            return bound * 1000
    return None


def query_latency(metrics: Any | None) -> dict[str, Latency]:
    """Per peer, from this process's querier metrics (empty without metrics)."""
    if metrics is None:
        return {}
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    buckets: dict[str, list[tuple[float, float]]] = {}
    outcomes: dict[str, dict[str, int]] = {}
    for family in metrics.query_seconds.collect():
        for sample in family.samples:
            peer = sample.labels.get("peer", "")
            if sample.name.endswith("_sum"):
                sums[peer] = sample.value
            elif sample.name.endswith("_count"):
                counts[peer] = sample.value
            elif sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets.setdefault(peer, []).append((bound, sample.value))
    for family in metrics.queries_made.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                per = outcomes.setdefault(sample.labels.get("peer", ""), {})
                outcome = sample.labels.get("outcome", "")
                per[outcome] = per.get(outcome, 0) + int(sample.value)
    out = {}
    for peer in set(counts) | set(outcomes):
        n = counts.get(peer, 0.0)
        out[peer] = Latency(
            count=int(n),
            mean_ms=round(sums.get(peer, 0.0) / n * 1000, 2) if n else None,
            p50_ms=_quantile(buckets.get(peer, []), n, 0.5),
            p95_ms=_quantile(buckets.get(peer, []), n, 0.95),
            outcomes=outcomes.get(peer, {}),
        )
    return out


@dataclass
class PeerRow:
    member: str
    name: str
    role: str
    address: str
    probe: Probe | None = None
    latency: Latency | None = None
    # list type → (epoch this gateway holds or None, epoch the peer published)
    snapshots: dict[str, tuple[int | None, int]] = field(default_factory=dict)


def peer_rows(
    store: Store,
    me: str,
    probes: dict[str, Probe],
    latency: dict[str, Latency],
    held: Iterable[tuple[str, str, int]],
) -> list[PeerRow]:
    """Every other active member, with what is known of it."""
    state = store.state()
    holding: dict[tuple[str, str], int] = {(p, lt): epoch for p, lt, epoch in held}
    rows = []
    for member in active_members(state):
        if member.id == me:
            continue
        row = PeerRow(member.id, member.name, member.role, member.address)
        row.probe = probes.get(member.id)
        row.latency = latency.get(member.id)
        for key, value in state.scan(INDEX, member.id + "/"):
            v: Any = value
            list_type = key.split("/", 1)[1]
            row.snapshots[list_type] = (holding.get((member.id, list_type)), int(v["epoch"]))
        rows.append(row)
    return rows
