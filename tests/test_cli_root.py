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


def test_help_text_is_not_broken_where_the_source_wrapped_it() -> None:
    from cli._commands import unwrap

    text = """Serve the consortium port with worker processes, each its
    own process.

    Example: riskshare gateway serve

    Steps:
      - one
      - two
    """
    assert unwrap(text) == (
        "Serve the consortium port with worker processes, each its own process."
        "\n\nExample: riskshare gateway serve\n\nSteps:\n  - one\n  - two"
    )
