"""``riskshare demo`` runs a real query end to end and reports correct hits and misses."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli import app
from psi import membership_demo


def test_membership_demo_finds_exactly_the_listed() -> None:
    report = membership_demo(listed=400, queried=9)
    assert report.listed == 400 and len(report.queries) == 9
    assert sum(q.listed for q in report.queries) == 4
    assert report.correct and report.hits == 4
    assert all(q.reason is not None and q.listed_month for q in report.queries if q.hit)
    # Identifiers are masked in everything the demo prints.
    assert all("*" in q.masked for q in report.queries)


def test_demo_command_json() -> None:
    result = CliRunner().invoke(app, ["demo", "--json", "--listed", "300", "--queried", "6"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["correct"] is True and out["hits"] == 3 and out["listed"] == 300
    assert len(out["queries"]) == 6


def test_demo_command_text() -> None:
    result = CliRunner().invoke(app, ["demo", "--listed", "200", "--queried", "4"])
    assert result.exit_code == 0, result.output
    assert result.output.count("HIT") == 2 and result.output.count("miss") == 2
    assert "DLEQ proof verified" in result.output
