"""``riskshare version``: the versions of the formats this build speaks."""

from __future__ import annotations

from importlib.metadata import version

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("version")
    def version_cmd() -> None:
        """Print the riskshare version.

        Example: riskshare version
        """
        typer.echo(f"riskshare {version('riskshare')}")
