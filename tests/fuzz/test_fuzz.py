"""Every decoder family under atheris for a bounded number of executions.

The families run as libFuzzer processes, two at a time, with a fixed seed so a
failure here reproduces (``python -m tests.fuzz.run FAMILY -runs=N -seed=1``). The
long campaign is ``python tools/fuzz.py --runs N`` (docs/FUZZING.md). A crash fails
its family's test with atheris' traceback; the control family shows a crash is
reported at all.
"""

from __future__ import annotations

import pytest

from tests.fuzz._harness import FAMILIES
from tests.fuzz._runner import FamilyResult, run_families, run_family

# Executions per family: a few seconds each on these machines (the structured
# families build a real consortium first and run slower per input).
BUDGET = {
    "ledger_codec": 5000,
    "ledger_replica": 2000,
    "genesis": 1000,
    "contracts": 3000,
    "psi_formats": 5000,
    "psi_oprf": 1000,
    "messages": 5000,
    "config": 400,
    "services": 1500,
}


@pytest.fixture(scope="module")
def results() -> dict[str, FamilyResult]:
    assert set(BUDGET) == set(FAMILIES)
    found = run_families(FAMILIES, jobs=2, runs=BUDGET, seed=1)
    return {r.family: r for r in found}


@pytest.mark.parametrize("family", FAMILIES)
def test_family_keeps_its_contract(results: dict[str, FamilyResult], family: str) -> None:
    result = results[family]
    assert not result.crashed, f"{family}: {result.traceback}"
    assert result.executions >= BUDGET[family]


def test_a_contract_breach_is_reported() -> None:
    result = run_family("control", runs=1000, seed=1)
    assert result.crashed and result.returncode != 0
    assert "ValueError: a decoder let a foreign exception escape" in result.traceback
    assert result.artifact.rsplit("/", 1)[-1].startswith("crash-")
