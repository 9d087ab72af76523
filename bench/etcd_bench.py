"""Compare-and-put appends per second on a real 3-member etcd cluster (DESIGN §10).

Measures, in one run on one cluster:

- `EtcdLog.append` from one client (sequential heights: every append waits for the one
  before, as an orderer does), and from 64 clients at once (each on its own log, as 64
  independent writers; this is the cluster's aggregate compare-and-put capacity);
- three proposers racing for every height of one log (the contended case);
- the reference, at the same concurrency and through the same generated stubs: etcd's
  own compare-and-put, a bare Txn with the one compare `create_revision == 0` and no
  client logic (DESIGN's "~1k/s single client, ~2.3k/s with 64 concurrent"). `ours /
  reference` is the cost of our client and of our two extra compares (the floor and
  the no-gap rule). A bare unconditional `Put` is listed as the cluster's ceiling;
- a replica catching up: heights per second out of `watch` over stored heights.

Usage: .venv/bin/python bench/etcd_bench.py [--quick] [--json] [--endpoints URL,...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.etcd import EtcdClient, EtcdLog, LocalEtcdCluster, rpc_pb2


def _timed(workers: int, seconds: float, work: Callable[[int, float], int]) -> float:
    """Run `work(worker, deadline)` on `workers` threads; operations per second."""
    counts = [0] * workers
    start = time.perf_counter()
    deadline = start + seconds

    def run(i: int) -> None:
        counts[i] = work(i, deadline)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def bench_appends(endpoints: list[str], clients: int, seconds: float, block: bytes) -> float:
    run = uuid.uuid4().hex[:8]
    logs = [EtcdLog(endpoints, f"bench-{run}-{i}") for i in range(clients)]
    for log in logs:  # create each log's floor key outside the timed part
        log.append(0, block)
    try:
        return _timed(clients, seconds, lambda i, d: work_from(logs[i], 1, d, block))
    finally:
        for log in logs:
            log.close()


def work_from(log: EtcdLog, first: int, deadline: float, block: bytes) -> int:
    h = first
    while time.perf_counter() < deadline:
        if not log.append(h, block):
            raise RuntimeError(f"height {h} of a private log was taken")
        h += 1
    return h - first


def bench_contended(endpoints: list[str], proposers: int, seconds: float, block: bytes) -> float:
    """Heights per second when `proposers` race for every height of one log."""
    namespace = "bench-race-" + uuid.uuid4().hex[:8]
    logs = [EtcdLog(endpoints[i:] + endpoints[:i], namespace) for i in range(proposers)]
    logs[0].append(0, block)
    top = [0] * proposers

    def work(i: int, deadline: float) -> int:
        h = 1
        while time.perf_counter() < deadline:
            logs[i].append(h, block)  # won or lost, height h is taken now
            h += 1
        top[i] = h
        return 0

    start = time.perf_counter()
    _timed(proposers, seconds, work)
    elapsed = time.perf_counter() - start
    heights = logs[0].last_height()
    for log in logs:
        log.close()
    return heights / elapsed


def bench_raw(
    endpoints: list[str], clients: int, seconds: float, block: bytes, *, cas: bool
) -> float:
    """The reference: bare compare-and-put Txns (or bare Puts) through the generated stub."""
    prefix = b"/riskshare/bench-raw/" + uuid.uuid4().hex[:8].encode() + b"/"
    handles: list[Any] = []
    for _ in range(clients):
        client = EtcdClient(endpoints)
        client._ensure(0)
        handles.append((client, client._kv[0]))

    def work(i: int, deadline: float) -> int:
        kv, n = handles[i][1], 0
        base = prefix + str(i).encode() + b"/"
        while time.perf_counter() < deadline:
            key = base + b"%020d" % n
            put = rpc_pb2.PutRequest(key=key, value=block)
            if cas:
                same = rpc_pb2.Compare(
                    key=key,
                    target=rpc_pb2.Compare.CREATE,
                    result=rpc_pb2.Compare.EQUAL,
                    create_revision=0,
                )
                request = rpc_pb2.TxnRequest(
                    compare=[same], success=[rpc_pb2.RequestOp(request_put=put)]
                )
                if not kv.Txn(request, timeout=10).succeeded:
                    raise RuntimeError("a fresh key was taken")
            else:
                kv.Put(put, timeout=10)
            n += 1
        return n

    try:
        return _timed(clients, seconds, work)
    finally:
        for client, _ in handles:
            client.close()


def bench_catch_up(endpoints: list[str], heights: int, block: bytes) -> float:
    """Heights per second a replica reads out of `watch` over stored heights."""
    namespace = "bench-watch-" + uuid.uuid4().hex[:8]
    with EtcdLog(endpoints, namespace) as log:
        for h in range(heights):
            log.append(h, block)
        stop = threading.Event()
        start = time.perf_counter()
        for h, _ in log.watch(0, stop):
            if h == heights - 1:
                break
        rate = heights / (time.perf_counter() - start)
        stop.set()
        return rate


def run(endpoints: list[str], quick: bool) -> dict[str, Any]:
    seconds = 2.5 if quick else 10.0
    block = bytes(1024)
    results: dict[str, Any] = {
        "block_bytes": len(block),
        "seconds_per_measurement": seconds,
        "appends_per_s": {},
        "reference_cas_per_s": {},
        "ratio_ours_to_reference": {},
        "bare_put_per_s": {},
    }
    for clients in (1, 64):
        ours = bench_appends(endpoints, clients, seconds, block)
        ref = bench_raw(endpoints, clients, seconds, block, cas=True)
        put = bench_raw(endpoints, clients, seconds, block, cas=False)
        results["appends_per_s"][str(clients)] = round(ours, 1)
        results["reference_cas_per_s"][str(clients)] = round(ref, 1)
        results["ratio_ours_to_reference"][str(clients)] = round(ours / ref, 3)
        results["bare_put_per_s"][str(clients)] = round(put, 1)
    results["contended_3_proposers_heights_per_s"] = round(
        bench_contended(endpoints, 3, seconds, block), 1
    )
    results["catch_up_heights_per_s"] = round(
        bench_catch_up(endpoints, 500 if quick else 2000, block), 1
    )
    if not quick:
        big = bytes(256 * 1024)
        results["appends_per_s_256KiB_1_client"] = round(
            bench_appends(endpoints, 1, seconds, big), 1
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2.5 s per measurement (< 60 s)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--endpoints", help="use this cluster instead of starting one")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.endpoints:
        results = run(args.endpoints.split(","), args.quick)
    else:
        with tempfile.TemporaryDirectory() as d, LocalEtcdCluster(d, size=3) as cluster:
            results = run(cluster.endpoints, args.quick)
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"etcd 3-member cluster on loopback, {results['block_bytes']} B blocks")
    for clients, rate in results["appends_per_s"].items():
        ref = results["reference_cas_per_s"][clients]
        ratio = results["ratio_ours_to_reference"][clients]
        put = results["bare_put_per_s"][clients]
        print(
            f"  {clients:>2} client(s): EtcdLog.append {rate:7.1f}/s   bare CAS Txn {ref:7.1f}/s"
            f"   ours/ref {ratio:.3f}   (bare Put {put:7.1f}/s)"
        )
    print(f"  3 proposers racing: {results['contended_3_proposers_heights_per_s']:.1f} heights/s")
    print(f"  replica catch-up via watch: {results['catch_up_heights_per_s']:.1f} heights/s")
    if "appends_per_s_256KiB_1_client" in results:
        print(f"  256 KiB blocks, 1 client: {results['appends_per_s_256KiB_1_client']:.1f}/s")
    print(f"  wall time {results['wall_seconds']} s")


if __name__ == "__main__":
    main()
