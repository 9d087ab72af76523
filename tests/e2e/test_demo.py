"""`riskshare demo --members N --json`: the consortium demo runs and every answer is right."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.parametrize("members", [3, 4])
def test_demo_json(members: int) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from cli import main; main()",
            "demo",
            "--members",
            str(members),
            "--json",
            "--listed",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    ids = [f"bank-{chr(ord('a') + i)}" for i in range(members)]
    assert report["correct"] is True and report["heads_equal"] is True
    assert report["members"] == ids
    kinds = {q["kind"] for q in report["queries"]}
    assert kinds == {"single", "file", "broadcast", "one member"}
    hits = [any(any(v) for v in q["actual"].values()) for q in report["queries"]]
    assert any(hits) and not all(hits)  # known hits and known misses
    for query in report["queries"]:
        assert query["expected"] == query["actual"] and query["errors"] == {}
        # Asking everyone means every other member, the N-th too.
        others = sorted(query["asked"] or (m for m in ids if m != query["querier"]))
        assert sorted(query["actual"]) == others
    # One receipt per member answering a query, on every replica.
    assert report["receipts"] == sum(len(q["actual"]) for q in report["queries"])
    assert report["receipts"] == sum(len(q["receipts"]) for q in report["queries"])
    assert report["receipts_per_replica"] == dict.fromkeys(["orderer", *ids], report["receipts"])
    assert sorted(report["heads"]) == sorted(["orderer", *ids])
    assert len(set(report["heads"].values())) == 1 and all(report["heads"].values())
    assert report["exit_codes"] and set(report["exit_codes"].values()) == {0}
    # Identifiers are printed masked only.
    for query in report["queries"]:
        assert all("*" in value for value in query["values"])
    assert sorted(report["views"]) == ids
    for view in report["views"].values():
        assert view["queries_made"] + view["queries_served"] > 0
