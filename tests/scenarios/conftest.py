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
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    doc = json.loads(proc.stdout)
    assert doc["correct"] is True
    return {r["scenario"]: r for r in doc["scenarios"]}
