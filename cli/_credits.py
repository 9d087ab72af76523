"""``riskshare credits``: query credits: balances, statements, ranking, parameters."""

from __future__ import annotations

import typer

__all__ = ["register"]

app = typer.Typer(
    help="Query credits: balances, statements, ranking, parameters.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="credits")
