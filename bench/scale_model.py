"""The 100-member model: unit costs measured on this machine, projected to a consortium.

Measures, in one run (single thread, process CPU time, so other people's load on the
shared machine stretches wall time but hardly the figures):

- **signatures**: Ed25519 sign and verify (libsodium, the ledger's and the gateway's);
- **query crypto**, one identifier, per (querier, responder) pair: the responder's
  evaluation with its DLEQ proof (``psi.evaluate_batch``), the querier's hash, blind,
  proof check and finalize (``psi.prepare_query`` + ``PendingQuery.finish``), and the
  request and receipt signatures each side makes and checks; the same per identifier
  in a batch of 100, to show what batching buys;
- **snapshots**: bytes per entry of a snapshot and per changed entry of a delta, and
  the CPU to apply a delta to a 10^6-entry snapshot (it re-encodes and re-hashes the
  whole snapshot to check it against the ledger, so it grows with the list);
- **ledger**: a receipt's CPU on the orderer (``bench.ledger_bench``'s embedded run:
  decode, three verifications, the credits rules, blocks, SQLite) and on a replica
  (verify and replay), and the replica's bytes on disk per receipt;
- **etcd**: appends per second and bytes per second of 1 MiB blocks into a real
  3-member cluster on 127.0.0.1 (``EtcdLog.append``, a compare-and-put each).

It then projects a consortium of ``--members`` members, each with ``--entries``-entry
lists and ``--qps`` one-identifier queries per second, each query asking one member
(``--fanout 1``) or broadcast to every other member, per member: CPU cores (query
crypto, ledger replica), snapshot storage and sync bandwidth, ledger transactions per
second with and without aggregated receipts, etcd load, replica storage growth; and it
names the first resource to saturate on one commodity server (``--server-cores``,
``--server-disk-tb``, ``--server-gbit``). docs/SCALING.md holds the figures.

The projection counts only what was measured here plus the gateway's overhead per
answer when ``--gateway-ms`` is given (bench/query_bench.py measures it); an
aggregated receipt transaction is costed as one receipt (one signature and a Merkle
root over the answers, checked and applied like one receipt): an assumption until
issue 20's part 2 lands and can be measured.

Usage: .venv/bin/python bench/scale_model.py [--quick] [--json] [--members 100]
       [--qps 1000] [--entries 10000000] [--fanout 1 99] [--interval 1 10]
       [--gateway-ms MS]

Each pair of ``--fanout`` and ``--interval`` values is one projection.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pysodium

from bench.ledger_bench import Workload, _fresh, bench_embedded, bench_replica
from ledger.etcd import EtcdLog, LocalEtcdCluster
from psi import (
    Entry,
    IndexStore,
    Snapshot,
    derive_key_pair,
    evaluate_batch,
    generate_key_pair,
    prepare_query,
)

LIST = "transaction_fraud"
MIB = 1024 * 1024


def _cpu_us(fn: Callable[[], object], n: int) -> float:
    """Process CPU µs per call of ``fn`` (best of three rounds of ``n`` calls)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - started) / n * 1e6)
    return best


def signatures(n: int) -> dict[str, float]:
    public, secret = pysodium.crypto_sign_keypair()
    message = os.urandom(200)
    signature = pysodium.crypto_sign_detached(message, secret)
    return {
        "sign_us": _cpu_us(lambda: pysodium.crypto_sign_detached(message, secret), n),
        "verify_us": _cpu_us(
            lambda: pysodium.crypto_sign_verify_detached(signature, message, public), n
        ),
    }


def query_crypto(n: int, sig: dict[str, float]) -> dict[str, float]:
    """CPU µs per identifier of each side's cryptography, alone and in a batch of 100."""
    key = derive_key_pair(b"s" * 32, b"riskshare scale model")
    rng = os.urandom

    def phone(i: int) -> str:
        return _phone(i)

    # Matching answers, made once, to time the querier's proof check and finalize.
    answers: dict[int, tuple[list[bytes], bytes]] = {}
    fixed: dict[int, Any] = {}
    for items in (1, 100):
        pending = prepare_query(LIST, [("phone", phone(i)) for i in range(items)], rng, pool=None)
        answers[items] = evaluate_batch(key, list(pending.blinded), rng, pool=None)
        fixed[items] = pending
    out: dict[str, float] = {}
    for items in (1, 100):
        rounds = max(1, n // items)
        values = [("phone", phone(i)) for i in range(items)]
        blinded = list(fixed[items].blinded)
        pending, answer = fixed[items], answers[items]

        def prepare(values: list[tuple[str, str]] = values) -> object:
            return prepare_query(LIST, values, rng, pool=None)

        def evaluate(blinded: list[bytes] = blinded) -> object:
            return evaluate_batch(key, blinded, rng, pool=None)

        def finish(pending: Any = pending, answer: tuple[list[bytes], bytes] = answer) -> object:
            return pending.finish(*answer, key.public, pool=None)

        prepare_us = _cpu_us(prepare, rounds)
        evaluate_us = _cpu_us(evaluate, rounds)
        finish_us = _cpu_us(finish, rounds)
        out[f"responder_evaluate_us_per_item_batch_{items}"] = evaluate_us / items
        out[f"querier_prepare_us_per_item_batch_{items}"] = prepare_us / items
        out[f"querier_finish_us_per_item_batch_{items}"] = finish_us / items
    # A one-identifier answer: the responder checks the signed request and signs the
    # receipt; the querier signs the request and checks the receipt.
    out["responder_us_per_answer"] = (
        out["responder_evaluate_us_per_item_batch_1"] + sig["verify_us"] + sig["sign_us"]
    )
    out["querier_us_per_answer"] = (
        out["querier_prepare_us_per_item_batch_1"]
        + out["querier_finish_us_per_item_batch_1"]
        + sig["sign_us"]
        + sig["verify_us"]
    )
    return out


def _phone(i: int) -> str:
    return f"13{i:09d}"


def snapshots(entries: int, changes: int, root: Path) -> dict[str, float]:
    """Bytes per entry and per delta change; CPU to apply a delta to ``entries``.

    A real index (``psi.IndexStore``, tags without labels) exports the snapshot and the
    delta a querier fetches; the querier's ``Snapshot.apply_delta`` checks the result
    against the new epoch's commitment, as the gateway's snapshot book does.
    """
    now = int(time.time())
    with IndexStore(root / "index.sqlite") as store:
        store.create_list(LIST, generate_key_pair(os.urandom), labels=False)
        store.apply(LIST, [Entry("phone", _phone(i)) for i in range(entries)], now=now)
        first = store.commitment(LIST)
        data = store.export_snapshot(LIST)
        base = Snapshot.load(data, first)
        store.apply(
            LIST,
            [Entry("phone", _phone(entries + i)) for i in range(changes)],
            [("phone", _phone(i)) for i in range(changes)],
            now=now,
        )
        second = store.commitment(LIST)
        delta = store.export_delta(LIST, first.epoch)
    started = time.process_time()
    applied = base.apply_delta(delta, second)
    apply_s = time.process_time() - started
    assert len(applied) == entries
    return {
        "snapshot_entries": entries,
        "snapshot_bytes_per_entry": len(data) / entries,
        "delta_changes": 2 * changes,
        "delta_bytes_per_change": len(delta) / (2 * changes),
        "delta_apply_ms": apply_s * 1000,
        "delta_apply_us_per_snapshot_entry": apply_s * 1e6 / entries,
    }


def ledger_costs(receipts: int, root: Path) -> dict[str, float]:
    work = Workload.make(receipts)
    source = root / "orderer.sqlite"
    # Each in a fresh process, as ledger_bench does: a replica in the orderer's process
    # would find every signature already checked.
    embedded = _fresh(bench_embedded, work, source)
    replica_path = root / "replica.sqlite"
    replica = _fresh(bench_replica, work, source, replica_path)
    size = sum(
        p.stat().st_size for p in root.glob("replica.sqlite*") if p.is_file()
    )  # the WAL checkpointed or not, what the replica holds
    return {
        "receipts": receipts,
        "orderer_cpu_us_per_receipt": embedded["cpu_us"],
        # The part on the orderer's one applying thread: the sequential bound.
        "orderer_thread_us_per_receipt": embedded["main_us"],
        "replica_cpu_us_per_receipt": replica["cpu_us"],
        "replica_bytes_per_receipt": size / receipts,
        "receipt_tx_bytes": sum(len(r) for r in work.receipts) / receipts,
    }


def etcd_costs(root: Path, seconds: float) -> dict[str, float]:
    block = os.urandom(MIB)
    with (
        LocalEtcdCluster(root / "etcd", size=3) as cluster,
        EtcdLog(cluster.endpoints, "scale-model") as log,
    ):
        log.seed(0, block)
        height = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            height += 1
            log.append(height, block)
        elapsed = time.perf_counter() - started
    return {
        "block_bytes": MIB,
        "appends_per_s": height / elapsed,
        "mib_per_s": height / elapsed,
    }


def project(
    units: dict[str, Any], args: argparse.Namespace, fanout: int, interval: float
) -> dict[str, Any]:
    """Per member of the consortium described by ``args``, asking ``fanout`` members per
    query, its responders aggregating receipts over ``interval`` seconds."""
    m, q, n = args.members, args.qps, args.entries
    fanout = min(fanout, m - 1)
    crypto, snap, led, etcd = units["query"], units["snapshot"], units["ledger"], units["etcd"]
    gateway_us = args.gateway_ms * 1000
    # Uniform traffic: each member asks ``fanout`` others per query, so it also
    # answers ``q × fanout`` requests per second.
    answers_out = q * fanout
    answers_in = q * fanout
    querier_cores = answers_out * (crypto["querier_us_per_answer"] + gateway_us / 2) / 1e6
    responder_cores = answers_in * (crypto["responder_us_per_answer"] + gateway_us / 2) / 1e6
    batched_cores = (
        answers_out
        * (
            crypto["querier_prepare_us_per_item_batch_100"]
            + crypto["querier_finish_us_per_item_batch_100"]
            + crypto["responder_evaluate_us_per_item_batch_100"]
        )
        / 1e6
    )
    # Ledger transactions for the whole consortium: every replica applies all of them.
    tx_plain = m * answers_out
    # Within one interval a member asks q × fanout × interval others at random: the
    # pairs that need a transaction are at most every ordered pair of members.
    pairs = m * min(m - 1, answers_out * interval)
    tx_aggregated = pairs / interval
    replica_cores = {
        "per_receipt": tx_plain * led["replica_cpu_us_per_receipt"] / 1e6,
        "aggregated": tx_aggregated * led["replica_cpu_us_per_receipt"] / 1e6,
    }
    orderer_cores = {
        "per_receipt": tx_plain * led["orderer_cpu_us_per_receipt"] / 1e6,
        "aggregated": tx_aggregated * led["orderer_cpu_us_per_receipt"] / 1e6,
    }
    # One orderer applies transactions one after another on one thread.
    orderer_thread = {
        "per_receipt": tx_plain * led["orderer_thread_us_per_receipt"] / 1e6,
        "aggregated": tx_aggregated * led["orderer_thread_us_per_receipt"] / 1e6,
    }
    tx_bytes = led["receipt_tx_bytes"]
    etcd_mib_s = {
        "per_receipt": tx_plain * tx_bytes / MIB,
        "aggregated": tx_aggregated * tx_bytes / MIB,
    }
    day = 86_400
    growth_gb_day = {
        "per_receipt": tx_plain * led["replica_bytes_per_receipt"] * day / 1e9,
        "aggregated": tx_aggregated * led["replica_bytes_per_receipt"] * day / 1e9,
    }
    others = m - 1
    snapshot_gb = others * n * snap["snapshot_bytes_per_entry"] / 1e9
    changes_day = others * n * args.churn
    delta_mbit = changes_day * snap["delta_bytes_per_change"] * 8 / day / 1e6
    rotation_mbit = snapshot_gb * 8e3 / (args.rotation_days * day)
    # Each delta is checked by re-encoding and hashing the whole snapshot.
    deltas_day = others * args.deltas_per_day
    delta_apply_cores = deltas_day * snap["delta_apply_us_per_snapshot_entry"] * n / 1e6 / day
    # Query traffic: 32-byte elements each way, a 64-byte proof, the signed request
    # and receipt (about the receipt transaction's size between them).
    query_mbit = 2 * answers_out * (64 + 64 + tx_bytes) * 8 / 1e6
    cores_total = {
        mode: querier_cores + responder_cores + replica_cores[mode] + delta_apply_cores
        for mode in ("per_receipt", "aggregated")
    }
    # Rates against one server's capacity (1.0 = full); storage apart, as time to fill.
    verdicts = {
        "ordering thread, per receipt": orderer_thread["per_receipt"],
        "ordering thread, aggregated": orderer_thread["aggregated"],
        "replica CPU, per receipt": replica_cores["per_receipt"] / args.server_cores,
        "replica CPU, aggregated": replica_cores["aggregated"] / args.server_cores,
        "query CPU (both sides)": (querier_cores + responder_cores) / args.server_cores,
        "etcd append bandwidth, per receipt": etcd_mib_s["per_receipt"] / etcd["mib_per_s"],
        "etcd append bandwidth, aggregated": etcd_mib_s["aggregated"] / etcd["mib_per_s"],
        "network": (query_mbit + delta_mbit + rotation_mbit) / (args.server_gbit * 1e3),
    }
    disk_days = {mode: args.server_disk_tb * 1e3 / growth for mode, growth in growth_gb_day.items()}
    return {
        "members": m,
        "queries_per_s_per_member": q,
        "entries_per_list": n,
        "fanout": fanout,
        "aggregation_interval_s": interval,
        "answers_per_s_per_member": {"asked": answers_out, "answered": answers_in},
        "cores_per_member": {
            "querier": round(querier_cores, 2),
            "responder": round(responder_cores, 2),
            "querier_and_responder_batched_100": round(batched_cores, 2),
            "replica_per_receipt": round(replica_cores["per_receipt"], 1),
            "replica_aggregated": round(replica_cores["aggregated"], 2),
            "delta_apply": round(delta_apply_cores, 3),
            "total_per_receipt": round(cores_total["per_receipt"], 1),
            "total_aggregated": round(cores_total["aggregated"], 1),
        },
        "orderer_cores": {k: round(v, 2) for k, v in orderer_cores.items()},
        "orderer_thread_load": {k: round(v, 2) for k, v in orderer_thread.items()},
        "ledger_tx_per_s": {"per_receipt": tx_plain, "aggregated": round(tx_aggregated)},
        "etcd_mib_per_s": {k: round(v, 2) for k, v in etcd_mib_s.items()},
        "replica_growth_gb_per_day": {k: round(v, 1) for k, v in growth_gb_day.items()},
        "replica_disk_full_in_days": {k: round(v, 1) for k, v in disk_days.items()},
        "snapshot_storage_gb": round(snapshot_gb, 1),
        "sync_mbit_per_s": {
            "deltas": round(delta_mbit, 2),
            "key_rotations": round(rotation_mbit, 2),
        },
        "query_traffic_mbit_per_s": round(query_mbit, 1),
        "fraction_of_one_server": {k: round(v, 3) for k, v in verdicts.items()},
        "saturates_first": max(verdicts, key=lambda k: verdicts[k]),
        "saturates_first_aggregated": max(
            (k for k in verdicts if "per receipt" not in k), key=lambda k: verdicts[k]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (< 60 s)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--qps", type=float, default=1000.0, help="queries/s per member")
    parser.add_argument("--entries", type=int, default=10**7, help="entries per list")
    parser.add_argument(
        "--fanout", type=int, nargs="+", default=[1, 99], help="members asked per query"
    )
    parser.add_argument(
        "--interval", type=float, nargs="+", default=[1.0, 10.0], help="aggregation interval, s"
    )
    parser.add_argument("--churn", type=float, default=0.01, help="list share changed a day")
    parser.add_argument("--deltas-per-day", type=float, default=24.0, help="per list")
    parser.add_argument("--rotation-days", type=float, default=30.0, help="OPRF key rotation")
    parser.add_argument("--gateway-ms", type=float, default=0.0, help="gateway CPU per answer")
    parser.add_argument("--server-cores", type=float, default=64.0)
    parser.add_argument("--server-disk-tb", type=float, default=16.0)
    parser.add_argument("--server-gbit", type=float, default=10.0)
    args = parser.parse_args()
    n = 200 if args.quick else 1000
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    units: dict[str, Any] = {}
    units["signatures"] = signatures(n * 5)
    units["query"] = query_crypto(n, units["signatures"])
    with tempfile.TemporaryDirectory(prefix="scale-model-") as tmp:
        units["snapshot"] = snapshots(20_000 if args.quick else 200_000, 1000, Path(tmp))
        units["ledger"] = ledger_costs(2000 if args.quick else 10_000, Path(tmp))
        units["etcd"] = etcd_costs(Path(tmp), 3.0 if args.quick else 10.0)
    result: dict[str, Any] = {
        "command": "bench/scale_model.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "load_before_after": [load_before, os.getloadavg()[0]]},
        "units": {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in units.items()},
        "projections": [
            project(units, args, fanout, interval)
            for fanout in args.fanout
            for interval in args.interval
        ],
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(json.dumps(result["units"], indent=2))
    for projection in result["projections"]:
        print(json.dumps(projection, indent=2))


if __name__ == "__main__":
    main()
