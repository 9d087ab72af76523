"""Adapter throughput: rows per second from PostgreSQL into staging, and end to end.

One run, one machine, ratios against a reference measured in the same run:

- ``raw_read``: the reference: the same rows pulled through a plain psycopg server-side
  cursor with no processing at all (the ceiling for anything that reads them);
- ``stage`` (DESIGN §10: normalise + stage, OPRF excluded; target >= 50,000 rows/s):
  read through the read-only SQLAlchemy connection, convert and normalise every row,
  dedupe, plan, and write the staged rows;
- ``staging_with_evidence``: everything but the index update, i.e. ``stage`` plus the
  entry versions with fresh salts, evidence commitments and the evidence root;
- ``end_to_end``: the whole import including psi's index update (OPRF evaluation of
  every entry on all cores, sealed labels, commitment);
- ``incremental``: a watermark sync after 1 % of the rows changed.

All figures come from one ``riskshare lists import`` of the same rows, split by the
phase timings the sync reports (``SyncSummary.timings``), in wall seconds and in this
process's CPU seconds. The machine's load average is printed with them: these 2-core
machines are shared, and wall-clock rates fall with the load; ``*_per_cpu_s`` says what
the same work costs in CPU (the PostgreSQL server's own work runs in its process).

Usage: python bench/adapter_bench.py [--quick] [--json] [--rows N] [--url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters import cn_id_check_char, import_source, luhn_valid, sync_sources

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789"}


def _identifier(rng: random.Random, i: int) -> tuple[str, str]:
    kind = rng.random()
    if kind < 0.4:
        value = f"1{rng.choice('3456789')}{i % 10**9:09d}"
        style = rng.random()
        if style < 0.1:
            value = "+86 " + value[:3] + " " + value[3:7] + " " + value[7:]
        elif style < 0.15:
            value = value.translate(FULLWIDTH)
        return "02", value
    if kind < 0.7:
        area, year = rng.randint(110000, 659999), rng.randint(1950, 2005)
        body = f"{area}{year}0{rng.randint(1, 9)}1{rng.randint(0, 8)}{i % 1000:03d}"
        value = body + cn_id_check_char(body)
        if value.endswith("X") and rng.random() < 0.5:
            value = value[:-1] + "x"
        return "01", value
    if kind < 0.9:
        body = f"62{i:013d}"
        card = next(body + d for d in "0123456789" if luhn_valid(body + d))
        return "03", card if rng.random() < 0.8 else " ".join(
            card[j : j + 4] for j in range(0, 16, 4)
        )
    return "04", f"{rng.getrandbits(64):016x}"


def make_table(url: str, table: str, rows: int) -> None:
    rng = random.Random(7)
    base = datetime(2024, 1, 1)
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, kind TEXT, ident TEXT, reason INTEGER,"
            " listed TIMESTAMP, expires TIMESTAMP, case_no TEXT, removed INTEGER,"
            " updated_at TIMESTAMP)"
        )
        with (
            conn.cursor() as cur,
            cur.copy(
                f"COPY {table} (id, kind, ident, reason, listed, expires, case_no, removed,"
                " updated_at) FROM STDIN"
            ) as copy,
        ):
            for i in range(rows):
                kind, ident = _identifier(rng, i)
                if i % 100 == 99:
                    ident = "garbage-" + ident  # 1 % invalid rows, reported not indexed
                listed = base + timedelta(seconds=i)
                copy.write_row((i, kind, ident, i % 7, listed, None, f"CASE-{i}", 0, listed))
        conn.execute(f"ANALYZE {table}")


def raw_read(url: str, table: str) -> float:
    start = time.perf_counter()
    n = 0
    with psycopg.connect(url.replace("+psycopg", "")) as conn, conn.cursor(name="bench") as cur:
        cur.itersize = 5000
        cur.execute(
            f"SELECT id, updated_at, removed, kind, ident, reason, listed, expires, case_no"
            f" FROM {table} ORDER BY updated_at"
        )
        for _ in cur:
            n += 1
    return n / (time.perf_counter() - start)


MAPPING = """
name = "bench"
[source]
table = "{table}"
key = "id"
watermark = "updated_at"
delisted = "removed"
[columns]
list_type = {{ const = "transaction_fraud" }}
value = "ident"
reason_code = "reason"
listed_at = "listed"
expires_at = "expires"
evidence_ref = "case_no"
[columns.id_type]
column = "kind"
map = {{ "01" = "cn_id", "02" = "phone", "03" = "bank_card", "04" = "device" }}
[sync]
max_reject_share = 0.05
"""


def run(url: str, rows: int) -> dict[str, object]:
    table = f"rs_bench_{uuid.uuid4().hex[:10]}"
    now = int(datetime(2025, 1, 1).timestamp())
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mapping = root / "m.toml"
        mapping.write_text(MAPPING.format(table=table), encoding="utf-8")
        try:
            started = time.perf_counter()
            make_table(url, table, rows)
            setup_s = time.perf_counter() - started
            raw = raw_read(url, table)
            start = time.perf_counter()
            summary = import_source(root / "d", url, mapping, now=now)
            total = time.perf_counter() - start
            with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(
                    f"UPDATE {table} SET reason = reason + 1, updated_at = now() WHERE id % 100 = 0"
                )
            start = time.perf_counter()
            inc = sync_sources(root / "d", now=now + 60)[0]
            inc_s = time.perf_counter() - start
        finally:
            with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
    t = summary.timings
    read_s = t["read"]
    stage_s = t["read"] + t["plan"] + t["rows"]
    stage_cpu_s = t["cpu_read"] + t["cpu_plan"] + t["cpu_rows"]
    staging_s = total - t.get("index", 0.0)
    staging_cpu_s = sum(v for k, v in t.items() if k.startswith("cpu_") and k != "cpu_index")
    return {
        "rows": rows,
        "accepted": summary.accepted,
        "rejected": summary.rejected,
        "setup_s": round(setup_s, 2),
        "raw_read_rows_per_s": round(raw),
        "read_normalise_rows_per_s": round(rows / read_s),
        "stage_rows_per_s": round(rows / stage_s),
        "stage_ratio_to_raw_read": round(rows / stage_s / raw, 3),
        "stage_target_rows_per_s": 50_000,
        "stage_meets_target": rows / stage_s >= 50_000,
        "stage_rows_per_cpu_s": round(rows / stage_cpu_s),
        "staging_with_evidence_rows_per_s": round(rows / staging_s),
        "staging_with_evidence_rows_per_cpu_s": round(rows / staging_cpu_s),
        "index_update_s": round(t.get("index", 0.0), 2),
        "end_to_end_s": round(total, 2),
        "end_to_end_rows_per_s": round(rows / total),
        "phases_s": {k: round(v, 3) for k, v in t.items() if not k.startswith("cpu_")},
        "phases_cpu_s": {k[4:]: round(v, 3) for k, v in t.items() if k.startswith("cpu_")},
        "incremental_changed_rows": inc.updated,
        "incremental_rows_read": inc.rows_read,
        "incremental_s": round(inc_s, 2),
        "cpus": os.cpu_count(),
        "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60,000 rows (< 60 s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--url", default=os.environ.get("RISKSHARE_BENCH_PG_URL", DEFAULT_URL))
    args = parser.parse_args()
    rows = args.rows or (60_000 if args.quick else 1_000_000)
    result = run(args.url, rows)
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return
    for key, value in result.items():
        print(f"{key:>28}: {value}")


if __name__ == "__main__":
    main()
