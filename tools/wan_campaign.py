"""The consortium over a real network in one command: namespaces, WAN latency, partitions.

Usage (as root: it creates network namespaces):
    .venv/bin/python tools/wan_campaign.py --long        # 6 members, ~10 min
    .venv/bin/python tools/wan_campaign.py               # the short one (as in make test)
    .venv/bin/python tools/wan_campaign.py --long --rtt-ms 60 --json out.json
    .venv/bin/python tools/wan_campaign.py --long --latency-only --rtt-ms 100

Every party in its own Linux network namespace: the orderer, each member and each of
three etcd members, joined by a bridge, each behind a delaying TCP relay so that every
link is one round trip of ``--rtt-ms`` (tests/wan/_relay.py). It measures one-identifier
query latency beside the bare round trip, broadcast latency, commit latency and
throughput, then partitions a member, the orderer and the etcd leader by setting their
links down, and audits every replica after each (tests/wan/_campaign.py). Progress goes
to standard error, one JSON summary to standard output (and to ``--json``); exit
status 0 when every partition was survived with nothing lost, duplicated or charged
without an answer. Namespaces and processes are removed on exit, also on failure.
docs/RELIABILITY.md has the figures of the last long run.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path

# First: the project on the path, TLS 1.3 pinned before gRPC is imported.
from _campaign_tool import report, say

from tests.wan._campaign import LONG, SHORT, run_wan
from tests.wan._netns import Network


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wan_campaign", description=__doc__.split("\n")[0])
    parser.add_argument("--long", action="store_true", help="the long campaign")
    parser.add_argument("--rtt-ms", type=float, help="round trip of every link (default 30)")
    parser.add_argument(
        "--latency-only", action="store_true", help="latency, commit, throughput; no partitions"
    )
    parser.add_argument("--workdir", type=Path, help="keep every file here (default: temporary)")
    parser.add_argument("--json", type=Path, help="also write the summary to this file")
    args = parser.parse_args(argv)
    plan = LONG if args.long else SHORT
    if args.rtt_ms is not None:
        plan = dataclasses.replace(plan, rtt_ms=args.rtt_ms)
    if args.latency_only:
        plan = dataclasses.replace(plan, partitions=False)
    root = args.workdir or Path(tempfile.mkdtemp(prefix="riskshare-wan-"))
    root.mkdir(parents=True, exist_ok=True)

    try:
        with Network() as network:
            summary = run_wan(plan, root, network, say=say)
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return report(summary, args.json)


if __name__ == "__main__":
    sys.exit(main())
