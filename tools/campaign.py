"""The reliability campaign in one command: faults under load, then an audit of every replica.

Usage:
    .venv/bin/python tools/campaign.py --long          # 12 000 queries, 6 min idle, ~15 min loaded
    .venv/bin/python tools/campaign.py                 # the short one (as in make test)
    .venv/bin/python tools/campaign.py --long --workdir /tmp/c --json out.json

Two local consortia (three members and an ordering gateway each, every gateway its own
``riskshare gateway serve`` process on loopback): one ordered by the embedded orderer,
one by a real 3-member etcd cluster. Under a bounded query load it kills a member
gateway, the ordering gateway and the etcd leader with SIGKILL and restarts them, fills
a replica's storage and frees it, and rotates a responder's OPRF key; after each fault
it audits every replica (tests/reliability/_audit.py). Progress goes to standard
error; one JSON summary to standard output (and to ``--json``). Exit status 0 when
every fault was survived with nothing lost, duplicated or charged without an answer.
docs/RELIABILITY.md has the figures of the last long run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# First: the project on the path, TLS 1.3 pinned before gRPC is imported.
from _campaign_tool import report, say

from tests.reliability._campaign import LONG, SHORT, run_campaign


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="campaign", description=__doc__.split("\n")[0])
    parser.add_argument("--long", action="store_true", help="the long campaign")
    parser.add_argument("--workdir", type=Path, help="keep every file here (default: temporary)")
    parser.add_argument("--json", type=Path, help="also write the summary to this file")
    args = parser.parse_args(argv)
    plan = LONG if args.long else SHORT
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)

    summary = run_campaign(plan, args.workdir, say=say)
    return report(summary, args.json)


if __name__ == "__main__":
    sys.exit(main())
