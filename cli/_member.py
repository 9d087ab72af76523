"""``riskshare member``: enrol members: TLS certificate and signing key."""

from __future__ import annotations

import typer

__all__ = ["register"]

app = typer.Typer(help="Enrol members: TLS certificate and signing key.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="member")
