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
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# gRPC reads its TLS cipher list when first imported: pin TLS 1.3 before anything does.
from gateway.daemon import pin_tls13_environment  # noqa: E402

pin_tls13_environment()

from tests.reliability._campaign import LONG, SHORT, run_campaign  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="campaign", description=__doc__.split("\n")[0])
    parser.add_argument("--long", action="store_true", help="the long campaign")
    parser.add_argument("--workdir", type=Path, help="keep every file here (default: temporary)")
    parser.add_argument("--json", type=Path, help="also write the summary to this file")
    args = parser.parse_args(argv)
    plan = LONG if args.long else SHORT
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    summary = run_campaign(plan, args.workdir, say=say)
    text = json.dumps(summary, indent=2, sort_keys=False, default=str)
    if args.json is not None:
        args.json.write_text(text + "\n")
    print(text)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
