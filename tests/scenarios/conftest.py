"""One run of ``riskshare demo --scenario all`` for the whole session.

Every scenario demo starts its own orderer and gateways, so the run takes minutes; the
tests of each demo's report (``test_demo.py``, ``test_abs_demo.py``) share it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.scenarios._entry import riskshare


@pytest.fixture(scope="session")
def demo_reports() -> dict[str, dict[str, Any]]:
    """Each registered demo's report, by scenario name, from one ``--scenario all`` run."""
    proc = riskshare("demo", "--scenario", "all", "--json")
    assert proc.returncode == 0, _what_went_wrong(proc.stdout, proc.stderr)
    doc = json.loads(proc.stdout)
    assert doc["correct"] is True
    return {r["scenario"]: r for r in doc["scenarios"]}


def _what_went_wrong(stdout: str, stderr: str) -> str:
    """The steps, checks and heads that made a demo fail, rather than the tail of a long
    report (which names only the last scenario's steps, all of them right)."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return stdout[-4000:] + stderr[-4000:]
    wrong: list[str] = []
    for report in doc.get("scenarios", []):
        name = report.get("scenario")
        wrong += [f"{name} step: {s}" for s in report.get("steps", []) if not s.get("correct")]
        wrong += [f"{name} check: {c}" for c in report.get("checks", []) if not c.get("correct")]
        if not report.get("heads_equal", True):
            wrong.append(f"{name} heads: {report.get('heads')}")
    return "\n".join(wrong) + "\n" + stderr[-4000:]
