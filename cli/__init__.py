"""The ``riskshare`` command line: one typer app, one place that turns errors into exit codes."""

from cli._main import app, main

__all__ = ["app", "main"]
