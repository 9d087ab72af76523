"""``riskshare scf``: supply-chain finance: receivable certificates."""

from __future__ import annotations

import typer

__all__ = ["register"]

app = typer.Typer(help="Supply-chain finance: receivable certificates.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="scf")
