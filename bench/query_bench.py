"""Gateway query benchmark: two gateway processes over mutual TLS, in one run.

Measures (DESIGN §10, issue 4 item 7), with the querier's and the responder's gateways
as separate ``riskshare gateway serve`` processes (the responder with one worker per
core) and the embedded orderer recording every receipt:

- one-identifier query latency, p50 and p99, as a member's tools see it: admin socket
  → querier gateway (normalise, blind, sign) → responder gateway over mTLS (verify the
  request, admission, VOPRF evaluation with DLEQ proof, signed receipt) → querier
  (verify receipt and proof, finalize, look up in the verified snapshot of a
  10^6-entry index; ``--quick``: 10^5);
- concurrent one-identifier queries per second (several clients at once);
- screening 10^4 identifiers in one query, proofs verified, against openmined.psi
  2.0.6's request + process + intersect on the same data in the same run (the median
  of three runs each; ours once the ledger has recorded the throughput phase);
- the verified snapshot's size per entry on the querier.

Every answer is checked against the list (a wrong answer stops the bench). The machine
is shared and noisy: compare ratios. APSI is not installed here; its online figure
(0.12 s for one item against 10^6, DESIGN §10) is quoted, not measured.

Usage: .venv/bin/python bench/query_bench.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gateway  # noqa: F401  (pins the TLS 1.2 cipher list before grpc loads)
from gateway.admin import AdminClient
from gateway.devnet import LocalConsortium, create_local_consortium, start_gateways, stop_gateways
from psi import Entry, IndexStore, generate_key_pair

LT = "transaction_fraud"
APSI_ONLINE_1_IN_1M_S = 0.12  # DESIGN §10, published figure (not run here)
SCREEN_RUNS = 3  # ours and openmined.psi's screening: the median of this many


def _phone(i: int) -> str:
    return f"1{3 + i % 7}{i:09d}"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _build_index(data_dir: Path, values: list[str]) -> float:
    started = time.perf_counter()
    store = IndexStore(data_dir / "index.sqlite")
    try:
        store.create_list(LT, generate_key_pair(os.urandom), labels=False)
        chunk = 200_000
        now = int(time.time())
        for start in range(0, len(values), chunk):
            store.apply(LT, [Entry("phone", v) for v in values[start : start + chunk]], now=now)
    finally:
        store.close()
    return time.perf_counter() - started


def _wait_ready(net: LocalConsortium, querier: str, responder: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with AdminClient(net.members[querier].data_dir / "admin.sock") as client:
            status = client.status()
            ours = status.own_lists and all(r.verified for r in status.own_lists)
            if ours:
                client.sync([responder])
                status = client.status()
                if any(p.member_id == responder and p.snapshots for p in status.peers):
                    return
        time.sleep(0.5)
    raise SystemExit("gateways did not become ready")


def _query(client: AdminClient, values: list[str], responder: str) -> list[bool]:
    reply = client.query(LT, "phone", values, members=[responder], deadline_ms=60_000)
    (answer,) = reply.answers
    if answer.error_code:
        raise SystemExit(f"query failed: {answer.error_code} {answer.error}")
    return list(answer.hits)


def _latency(socket: Path, responder: str, index_n: int, count: int) -> dict[str, float]:
    samples = []
    with AdminClient(socket) as client:
        for i in range(count):
            listed = i % 2 == 0
            value = _phone((i * 7919) % index_n) if listed else _phone(index_n + i)
            started = time.perf_counter()
            hits = _query(client, [value], responder)
            samples.append(time.perf_counter() - started)
            if hits != [listed]:
                raise SystemExit(f"wrong answer for query {i}")
    samples.sort()
    return {
        "latency_p50_ms": statistics.median(samples) * 1000,
        "latency_p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000,
        "latency_mean_ms": statistics.fmean(samples) * 1000,
    }


def _throughput(
    socket: Path, responder: str, index_n: int, clients: int, seconds: float
) -> dict[str, float]:
    done = [0] * clients
    stop = time.monotonic() + seconds

    def worker(k: int) -> None:
        with AdminClient(socket) as client:
            i = 0
            while time.monotonic() < stop:
                value = _phone((k * 100_003 + i * 7919) % index_n)
                if _query(client, [value], responder) != [True]:
                    raise SystemExit("wrong answer under load")
                i += 1
            done[k] = i

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"throughput_qps": sum(done) / elapsed, "throughput_clients": clients}


def _settle(net: LocalConsortium, timeout: float = 300.0) -> float:
    """Wait until every answer served is on the ledger and no block has come for 1 s.

    Screening right after the throughput phase would otherwise share the cores with
    the thousands of receipts still being recorded and applied on every replica.
    """
    started = time.monotonic()
    last: tuple[int, ...] = ()
    still_since = started
    while time.monotonic() - started < timeout:
        heights = []
        busy = False
        for member in net.members.values():
            with AdminClient(member.data_dir / "admin.sock") as client:
                status = client.status()
            heights.append(status.ledger_height)
            busy |= bool(status.backlog.pending or status.backlog.submitted)
        now = time.monotonic()
        if busy or tuple(heights) != last or len(set(heights)) != 1:
            last, still_since = tuple(heights), now
        elif now - still_since >= 1.0:
            return now - started
        time.sleep(0.2)
    raise SystemExit("the ledger did not settle")


def _screen_values(index_n: int, q: int) -> tuple[list[str], int]:
    listed = max(1, q // 100)
    values = [_phone(i * (index_n // listed)) for i in range(listed)]
    return values + [_phone(index_n + i) for i in range(q - listed)], listed


def _timed_runs(runs: int, screen: Callable[[], None]) -> list[float]:
    """Wall seconds of each of ``runs`` screenings (each checks its own answer)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        screen()
        times.append(time.perf_counter() - started)
    return times


def _screen(socket: Path, responder: str, index_n: int, q: int, runs: int) -> dict[str, Any]:
    values, listed = _screen_values(index_n, q)
    with AdminClient(socket, timeout=600) as client:

        def screen() -> None:
            hits = _query(client, values, responder)
            if sum(hits) != listed or not all(hits[:listed]):
                raise SystemExit(f"screening found {sum(hits)}, expected {listed}")

        times = _timed_runs(runs, screen)
    return {
        "screen_s": statistics.median(times),
        "screen_runs_s": times,
        "screen_items": q,
        "screen_hits": listed,
    }


def _openmined(index_n: int, q: int, runs: int) -> dict[str, Any]:
    import private_set_intersection.python as om

    server_items = [_phone(i) for i in range(index_n)]
    client_items, listed = _screen_values(index_n, q)
    server = om.server.CreateWithNewKey(True)
    started = time.perf_counter()
    setup = server.CreateSetupMessage(1e-9, q, server_items)
    setup_s = time.perf_counter() - started

    def screen() -> None:
        client = om.client.CreateWithNewKey(True)
        request = client.CreateRequest(client_items)
        response = server.ProcessRequest(request)
        found = len(client.GetIntersection(setup, response))
        if found != listed:
            raise SystemExit(f"openmined found {found}, expected {listed}")

    times = _timed_runs(runs, screen)
    return {
        "openmined_setup_s": setup_s,
        "openmined_screen_s": statistics.median(times),
        "openmined_screen_runs_s": times,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10^5 entries, under a minute")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()
    index_n = 100_000 if args.quick else 1_000_000
    latency_n = 200 if args.quick else 1000
    screen_q = 10_000
    root = args.keep or Path(tempfile.mkdtemp(prefix="riskshare-qbench-"))
    out: dict[str, Any] = {"index_entries": index_n, "cores": os.cpu_count()}
    net = create_local_consortium(
        root,
        ["bank-a", "bank-b"],
        workers=os.cpu_count() or 1,
        name="query bench",
        params={"credits.overdraft": 10**15, "credits.max_items": 100_000},
        overrides={
            "limits": {
                "requests_per_second": 1_000_000.0,
                "elements_per_second": 100_000_000.0,
            },
            "log": {"level": "warning"},
            "query": {"snapshot_sync_seconds": 3600.0},
        },
    )
    log(f"building bank-b's index of {index_n} entries ...")
    out["index_build_s"] = _build_index(
        net.members["bank-b"].data_dir, [_phone(i) for i in range(index_n)]
    )
    _build_index(net.members["bank-a"].data_dir, [_phone(10**9 - 1 - i) for i in range(100)])
    log("starting the orderer and two gateways ...")
    running = start_gateways(net)
    try:
        started = time.perf_counter()
        _wait_ready(net, "bank-a", "bank-b", timeout=900)
        out["snapshot_sync_s"] = time.perf_counter() - started
        snap = net.members["bank-a"].data_dir / "snapshots" / f"bank-b.{LT}.snap"
        out["snapshot_bytes_per_entry"] = snap.stat().st_size / index_n
        socket = net.members["bank-a"].data_dir / "admin.sock"
        log(f"latency: {latency_n} one-identifier queries ...")
        _latency(socket, "bank-b", index_n, 20)  # warm channels and caches
        out.update(_latency(socket, "bank-b", index_n, latency_n))
        log("throughput ...")
        out.update(_throughput(socket, "bank-b", index_n, 8, 5.0 if args.quick else 15.0))
        log("waiting for the ledger to record the throughput phase ...")
        out["settle_before_screening_s"] = _settle(net)
        log(f"screening 10^4 identifiers, {SCREEN_RUNS} runs ...")
        out.update(_screen(socket, "bank-b", index_n, screen_q, SCREEN_RUNS))
    finally:
        stop_gateways(running)
    log("openmined.psi on the same data ...")
    out.update(_openmined(index_n, screen_q, SCREEN_RUNS))
    out["screen_ratio_to_openmined"] = out["screen_s"] / out["openmined_screen_s"]
    out["apsi_online_published_s"] = APSI_ONLINE_1_IN_1M_S
    out["speedup_vs_apsi_published"] = APSI_ONLINE_1_IN_1M_S / (out["latency_p50_ms"] / 1000)
    out["targets"] = {
        "latency_p50_ms": 5.0,
        "latency_p99_ms": 20.0,
        "screen_ratio_to_openmined": "< 1",
        "snapshot_bytes_per_entry": 9.0,
    }
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        for key, value in sorted(out.items()):
            print(f"{key:32s} {value:.3f}" if isinstance(value, float) else f"{key:32s} {value}")


if __name__ == "__main__":
    main()
