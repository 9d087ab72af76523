"""``riskshare dispute``: list, show and resolve disputes."""

from __future__ import annotations

import typer

__all__ = ["register"]

app = typer.Typer(help="List, show and resolve disputes.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dispute")
