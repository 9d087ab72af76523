"""The short campaign (issue 9): real gateway processes on loopback under load, faults
one at a time, every replica audited after each (tests/reliability/_campaign.py).

The long campaign is ``python tools/campaign.py --long`` (docs/RELIABILITY.md). Both
consortia need etcd only for the second test; a missing etcd binary fails it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ledger.etcd import LocalEtcdCluster
from tests.reliability._campaign import SHORT, embedded_phases, etcd_phases, run_consortium

# What a query may run into while its responder or its own gateway is being killed: the
# querier's own gateway not taking or not finishing the call ("querier:..."), or the
# responder unreachable after every retry. Neither may have charged anyone for an
# answer nobody received (the audit checks that).
_KILL_FAILURES = {"UNAVAILABLE", "DEADLINE_EXCEEDED"}


def _allowed(name: str, kind: str) -> bool:
    return name == "gateway" and (kind.startswith("querier:") or kind in _KILL_FAILURES)


def _check(phases: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    by_name = {}
    for phase in phases:
        name = phase["phase"]
        assert phase["audit"]["ok"], (name, phase["audit"]["problems"])
        assert phase["back_in_service"], (name, phase)
        load = phase["load"]
        assert load["queries"] > 0 and load["wrong_verdicts"] == 0, (name, load)
        unexpected = [kind for kind in load["failures"] if not _allowed(name, kind)]
        assert not unexpected, (name, load["failures"])
        audit = phase["audit"]
        assert audit["lost"] == audit["duplicated"] == audit["charged_without_answer"] == 0
        assert audit["heads_equal"] and audit["state_digests_equal"] and audit["chains_verified"]
        assert audit["balances_equal"] and audit["conserved"]
        by_name[name] = phase
    return by_name


def test_embedded_ordering_survives_gateway_orderer_storage_and_rotation(
    tmp_path: Path,
) -> None:
    report = run_consortium(tmp_path / "embedded", SHORT, embedded_phases(SHORT))
    phases = _check(report["phases"])
    assert list(phases) == ["gateway", "orderer", "storage", "rotation"]
    # Each fault really happened.
    assert phases["gateway"]["processes_killed"] >= 3  # supervisor, worker, evaluators
    assert phases["orderer"]["processes_killed"] >= 1
    assert phases["storage"]["blocks_behind_when_freed"] > 0
    rotation = phases["rotation"]
    assert rotation["answers_after_rotation"] > 0
    assert rotation["answers_failed_after_rotation"] == 0
    assert all(code == 0 for code in report["exit_codes"].values()), report["exit_codes"]


def test_etcd_ordering_survives_the_etcd_leader_and_the_ordering_gateway(
    tmp_path: Path,
) -> None:
    with LocalEtcdCluster(tmp_path / "etcd", size=3) as etcd:
        report = run_consortium(tmp_path / "etcd-ordered", SHORT, etcd_phases(SHORT), etcd=etcd)
    phases = _check(report["phases"])
    assert list(phases) == ["etcd", "orderer"]
    assert phases["etcd"]["ordered_while_down"]
    assert phases["etcd"]["etcd_log_matches"]
    assert all(code == 0 for code in report["exit_codes"].values()), report["exit_codes"]
