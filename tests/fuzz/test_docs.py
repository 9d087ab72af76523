"""docs/FUZZING.md names every fuzz family, and every test it cites exists."""

from __future__ import annotations

import re
from pathlib import Path

from tests.fuzz._harness import FAMILIES

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "FUZZING.md").read_text(encoding="utf-8")


def test_every_family_is_documented() -> None:
    documented = set(re.findall(r"^\| `(\w+)` \|", PAGE, re.MULTILINE))
    assert set(FAMILIES) <= documented


def test_every_cited_test_exists() -> None:
    cited = re.findall(r"(tests/[\w/]+\.py|test_catalogue)::(\w+)", PAGE)
    assert len(cited) > 20
    missing = []
    for module, name in cited:
        path = ROOT / ("tests/hostile/test_catalogue.py" if module == "test_catalogue" else module)
        if f"def {name}(" not in path.read_text(encoding="utf-8"):
            missing.append(f"{module}::{name}")
    assert missing == []
