"""The root command line answers and exits cleanly."""

from __future__ import annotations

from typer.testing import CliRunner

from cli import app


def test_version_and_help() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("riskshare ")
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "version" in result.output
