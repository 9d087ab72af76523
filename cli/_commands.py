"""Where each command group joins the root app. One module per group, one line here."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Attach every command group; each group's module owns its own commands."""
    from cli import (
        _canary,
        _consortium,
        _credits,
        _demo,
        _dispute,
        _feedback,
        _gateway,
        _governance,
        _ledger,
        _lists,
        _member,
        _query,
        _regulator,
        _scenario,
        _version,
        _watch,
    )

    _version.register(app)
    _demo.register(app)
    _consortium.register(app)
    _member.register(app)
    _query.register(app)
    _gateway.register(app)
    _ledger.register(app)
    _governance.register(app)
    _lists.register(app)
    _credits.register(app)
    _feedback.register(app)
    _dispute.register(app)
    _canary.register(app)
    _watch.register(app)
    _regulator.register(app)
    _scenario.register(app)  # one group per registered scenario (scenarios.SCENARIO_MODULES)
