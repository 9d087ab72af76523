"""Where each command group joins the root app. One module per group, one line here."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Attach every command group; each group's module owns its own commands."""
    from cli import _version

    _version.register(app)
