"""``riskshare gateway``: run the member gateway daemon."""

from __future__ import annotations

import typer

__all__ = ["register"]

app = typer.Typer(help="Run the member gateway daemon.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="gateway")
