"""A question to the etcd cluster, asked from inside an etcd member's namespace.

The test driver lives in the root namespace and cannot reach the consortium's
addresses, so it runs this module in a member's namespace against that member's
loopback client port (which a partition of the member's link does not cut):

- ``matches --ledger PATH --namespace NS ENDPOINT...``: prints ``true`` when every
  block of the replica at PATH is the block etcd holds at its height.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ledger import EtcdLog, Store

__all__ = ["main"]


def _matches(ledger: Path, namespace: str, endpoints: list[str]) -> bool:
    with Store(ledger, create=False) as store:
        blocks = [store.block(h) for h in range(store.height + 1)]
    with EtcdLog(endpoints, namespace) as log:
        return all(log.get(h) == block for h, block in enumerate(blocks))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="etcdprobe", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    matches = sub.add_parser("matches")
    matches.add_argument("--ledger", type=Path, required=True)
    matches.add_argument("--namespace", required=True)
    matches.add_argument("endpoints", nargs="+")
    args = parser.parse_args(argv)
    print(json.dumps(_matches(args.ledger, args.namespace, args.endpoints)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
