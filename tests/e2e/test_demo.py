"""`riskshare demo --json`: the consortium demo runs and every answer is right."""

from __future__ import annotations

import json
import subprocess
import sys


def test_demo_json() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "demo", "--json", "--listed", "30"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["correct"] is True and report["heads_equal"] is True
    assert report["members"] == ["bank-a", "bank-b", "bank-c"]
    kinds = {q["kind"] for q in report["queries"]}
    assert kinds == {"single", "file", "broadcast", "one member"}
    hits = [any(any(v) for v in q["actual"].values()) for q in report["queries"]]
    assert any(hits) and not all(hits)  # known hits and known misses
    assert all(q["expected"] == q["actual"] for q in report["queries"])
    assert report["receipts"] > 0
    assert set(report["receipts_per_replica"].values()) == {report["receipts"]}
    assert len(set(report["heads"].values())) == 1 and len(report["heads"]) == 4
    # Identifiers are printed masked only.
    for query in report["queries"]:
        assert all("*" in value for value in query["values"])
    for view in report["views"].values():
        assert view["queries_made"] + view["queries_served"] > 0
