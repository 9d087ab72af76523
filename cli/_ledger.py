"""``riskshare ledger``: inspect and verify the local ledger replica."""

from __future__ import annotations

import typer

__all__ = ["register"]

app = typer.Typer(help="Inspect and verify the local ledger replica.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ledger")
