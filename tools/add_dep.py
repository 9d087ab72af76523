"""Add a dependency to pyproject.toml safely while several people edit the tree.

Usage: python tools/add_dep.py 'package>=1.0' [--extra test]

Takes an exclusive lock so two concurrent edits cannot clobber each other, and appends
the requirement to ``[project] dependencies`` or to the named optional extra.
"""

from __future__ import annotations

import argparse
import fcntl
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def add(requirement: str, extra: str | None) -> bool:
    path = ROOT / "pyproject.toml"
    text = path.read_text()
    header = "dependencies = [\n" if extra is None else f"{extra} = [\n"
    start = text.index("\n" + header) + 1 if extra else text.index(header)
    body_start = start + len(header)
    body_end = text.index("]\n", body_start)
    name = re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower()
    for line in text[body_start:body_end].splitlines():
        existing = line.strip().strip('",')
        if re.split(r"[<>=!~\[ ;]", existing, maxsplit=1)[0].lower() == name:
            return False
    text = text[:body_end] + f'    "{requirement}",\n' + text[body_end:]
    path.write_text(text)
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("requirement")
    parser.add_argument("--extra", default=None)
    args = parser.parse_args()
    with open("/tmp/riskshare-pyproject.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        added = add(args.requirement, args.extra)
    print("added" if added else "already present")


if __name__ == "__main__":
    main()
