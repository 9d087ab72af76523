"""Fuzz every decoder family with atheris and print one JSON summary.

Usage::

    python tools/fuzz.py --runs 100000            # N executions per family
    python tools/fuzz.py --seconds 600 --jobs 2   # T seconds per family
    python tools/fuzz.py --family config --family services --runs 5000

Each family is a libFuzzer process (``python -m tests.fuzz.run FAMILY``; see
docs/FUZZING.md for what each covers and its contract). The summary gives, per family,
the executions libFuzzer reported, the seconds taken and the crashes (with the
traceback and the input, copied to ``--crashes``); hits of known, reported defects
are listed separately. ``--corpus DIR`` keeps one growing corpus per family across
runs. Exit code 1 if any family crashed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fuzz._harness import FAMILIES  # noqa: E402
from tests.fuzz._runner import run_families  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--runs", type=int, help="executions per family")
    budget.add_argument("--seconds", type=int, help="seconds per family")
    parser.add_argument("--family", action="append", choices=FAMILIES, help="repeatable")
    parser.add_argument("--jobs", type=int, default=2, help="families fuzzed at once")
    parser.add_argument("--seed", type=int, default=None, help="libFuzzer seed")
    parser.add_argument("--corpus", type=Path, default=None, help="keep corpora here")
    parser.add_argument(
        "--crashes", type=Path, default=ROOT / "artifacts" / "fuzz", help="crash inputs go here"
    )
    args = parser.parse_args(argv)
    families = args.family or list(FAMILIES)
    started = time.monotonic()
    results = run_families(
        families,
        jobs=args.jobs,
        runs=args.runs,
        seconds=args.seconds,
        seed=args.seed,
        corpus=args.corpus,
        keep_crashes=args.crashes,
    )
    summary = {
        "command": " ".join(
            ["python tools/fuzz.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "families": {r.family: r.summary() for r in results},
        "executions": sum(r.executions for r in results),
        "crashes": sum(int(r.crashed) for r in results),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary, indent=2))
    return 1 if summary["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
