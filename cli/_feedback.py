"""``riskshare feedback``: confirm or dispute a hit."""

from __future__ import annotations

import typer

__all__ = ["register"]

app = typer.Typer(help="Confirm or dispute a hit.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="feedback")
