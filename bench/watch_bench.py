"""Watchlist benchmark (issue 19): a watched book against a published list, in one run.

Three gateways as separate ``riskshare gateway serve`` processes over mutual TLS (the
embedded orderer, the holder with one worker per core, the watcher). The holder
imports a list of ``--list`` entries before start (``lists import``); the watcher
registers a book of ``--book`` phone numbers (``gateway.add_watch_book``, what
``riskshare watch add`` calls). Measured:

- **evaluation**: wall time from registering the book until its outputs are stored
  (every batch blinded, evaluated with a DLEQ proof, verified, finalized; receipts
  signed), which is what a key rotation's re-evaluation costs; and the same work as
  raw libsodium on every core in the same run: per identifier one ``from_hash`` and
  six ``scalarmult`` (blind; evaluate; the proof's two on each side; unblind, counting
  the inversion as one), divided by the cores. Reported as ``limit / ours``;
- **listing to alert**: a ``lists`` import at the holder of a new source holding one
  book identifier (normalise, stage, OPRF, index epoch) until the alert is in the
  watcher's store (recorder publishes, ledger orders and replicates, the watcher's
  poll sees the epoch, fetches and verifies the delta, matches it);
- **CPU per delta entry** at the watcher: process CPU of matching a delta of
  ``--delta`` random tags against the book's stored outputs
  (``WatchStore.matching``, what every delta costs), per entry.

Usage: .venv/bin/python bench/watch_bench.py [--quick] [--book N] [--list N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pysodium

import gateway  # noqa: F401  (pins the TLS 1.2 cipher list before grpc loads)
from gateway.devnet import create_local_consortium, load_list, start_gateways, stop_gateways
from gateway.watch import WatchStore, add_watch_book
from psi import hazmat as g
from psi import hazmat as o
from psi import prf_input

LT = "transaction_fraud"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _listed(i: int) -> str:
    return f"13{i:09d}"


def _book(i: int) -> str:
    return f"15{i:09d}"


def raw_limit(n: int, cores: int) -> dict[str, float]:
    """Per identifier, the verifiable protocol's group work as raw libsodium calls."""
    k = pysodium.crypto_core_ristretto255_scalar_random()
    dst = o.suite(o.Mode.VOPRF).hash_to_group_dst
    inputs = [prf_input(LT, "phone", _book(i)) for i in range(n)]
    started = time.perf_counter()
    for x in inputs:
        p = pysodium.crypto_core_ristretto255_from_hash(g.expand_message_xmd(x, dst, 64))
        for _ in range(6):
            p = pysodium.crypto_scalarmult_ristretto255(k, p)
    per = (time.perf_counter() - started) / n
    return {"raw_identifier_one_core_us": per * 1e6, "limit_us_per_identifier": per / cores * 1e6}


def _wait(predicate: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out: {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10^4 book, 10^5 list")
    parser.add_argument("--book", type=int, default=1_000_000)
    parser.add_argument("--list", type=int, default=1_000_000, dest="list_n")
    parser.add_argument("--delta", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    book_n, list_n = (10_000, 100_000) if args.quick else (args.book, args.list_n)
    cores = os.cpu_count() or 1
    out: dict[str, Any] = {"book": book_n, "list": list_n, "cores": cores}
    log(f"raw libsodium limit on {min(book_n, 20_000)} identifiers ...")
    out.update(raw_limit(min(book_n, 20_000), cores))
    root = Path(tempfile.mkdtemp(prefix="watch-bench-"))
    gateways: dict[str, Any] = {}
    try:
        net = create_local_consortium(
            root,
            ["bank-a", "bank-b"],
            workers=0,
            params={"credits.overdraft": 2 * 1020 * book_n + 10_000_000},
        )
        config = net.members["bank-a"].config_path
        config.write_text(config.read_text() + "\n[watch]\npoll_seconds = 0.2\n")
        log(f"holder's list of {list_n} (lists import) ...")
        started = time.monotonic()
        load_list(net.members["bank-b"], [(LT, "phone", _listed(i), 1) for i in range(list_n)])
        out["list_import_s"] = time.monotonic() - started
        load_list(net.members["bank-a"], [(LT, "phone", "18600001111", 1)])
        gateways = start_gateways(net, timeout=600)
        data = net.members["bank-a"].data_dir
        store = WatchStore(data / "watch.sqlite")

        def evaluated() -> bool:
            return any(e.responder == "bank-b" for e in store.evaluations())

        log(f"registering a book of {book_n} ...")
        started = time.monotonic()
        rows = [(_book(i), f"c{i}") for i in range(book_n)]
        add_watch_book(data, "book", LT, "phone", rows, time.time_ns() // 1_000_000)
        out["book_add_s"] = time.monotonic() - started
        # Evaluation starts at the watcher's next poll (0.2 s) after the book is stored.
        out["evaluation_s"] = _wait(evaluated, 7200, "evaluation")
        after = raw_limit(min(book_n, 20_000), cores)["limit_us_per_identifier"]
        out["limit_us_per_identifier"] = min(out["limit_us_per_identifier"], after)
        ours_us = out["evaluation_s"] / book_n * 1e6
        out["evaluation_us_per_identifier"] = ours_us
        out["evaluation_ratio_to_raw_limit"] = out["limit_us_per_identifier"] / ours_us
        log("listing one book identifier at the holder ...")
        target = _book(book_n // 2)
        started = time.monotonic()
        load_list(net.members["bank-b"], [(LT, "phone", target, 1)], source="late-listing")
        out["listing_import_s"] = time.monotonic() - started
        out["listing_to_alert_s"] = out["listing_import_s"] + _wait(
            lambda: len(store.alerts()) == 1, 600, "alert"
        )
        (evaluation,) = store.evaluations()
        tags = [
            int.from_bytes(os.urandom(8), "big", signed=True) for _ in range(args.delta - 1)
        ] + [store.outputs("book", "bank-b")[book_n // 2][1]]
        cpu = time.process_time()
        found = store.matching("bank-b", evaluation.key_id, tags)
        out["delta_cpu_us_per_entry"] = (time.process_time() - cpu) / len(tags) * 1e6
        if [line for _, line, _ in found] != [book_n // 2 + 1]:
            raise SystemExit(f"delta matching found {found}")
        store.close()
    finally:
        if gateways:
            stop_gateways(gateways)
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True))
    else:
        for key, value in sorted(out.items()):
            print(f"{key:36} {value:.4g}" if isinstance(value, float) else f"{key:36} {value}")


if __name__ == "__main__":
    main()
