"""``riskshare lists``: import, sync and inspect the member's own lists."""

from __future__ import annotations

import typer

__all__ = ["register"]

app = typer.Typer(help="Import, sync and inspect the member's own lists.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="lists")
