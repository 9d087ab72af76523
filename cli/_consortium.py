"""``riskshare consortium``: create a consortium: root CA and genesis."""

from __future__ import annotations

import typer

__all__ = ["register"]

app = typer.Typer(help="Create a consortium: root CA and genesis.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="consortium")
