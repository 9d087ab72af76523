"""``riskshare governance``: propose and approve consortium changes."""

from __future__ import annotations

import typer

__all__ = ["register"]

app = typer.Typer(help="Propose and approve consortium changes.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="governance")
