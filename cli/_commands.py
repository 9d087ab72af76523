"""Where each command group joins the root app. One module per group, one line here."""

from __future__ import annotations

import inspect

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
        _scenario,
        _version,
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
    _scenario.register(app)  # one group per registered scenario (scenarios.SCENARIO_MODULES)
    _unwrap_help(app)


def unwrap(text: str) -> str:
    """Help text with the source's hard wraps undone: each paragraph one line, so the
    terminal wraps it (``--help`` once broke mid-sentence: "each its / own process").

    A paragraph whose later lines are indented or start a list item is kept as written
    (an example block, a list).
    """
    paragraphs = inspect.cleandoc(text).split("\n\n")
    out = []
    for paragraph in paragraphs:
        lines = paragraph.split("\n")
        kept = any(line.startswith((" ", "-", "*", "•")) for line in lines[1:])
        out.append(paragraph if kept else " ".join(line.strip() for line in lines))
    return "\n\n".join(out)


def _unwrap_help(app: typer.Typer) -> None:
    for command in app.registered_commands:
        text = command.help or inspect.getdoc(command.callback) if command.callback else None
        if text:
            command.help = unwrap(text)
    for group in app.registered_groups:
        info = group.typer_instance.info if group.typer_instance else None
        if group.help:
            group.help = unwrap(str(group.help))
        elif info is not None and isinstance(info.help, str):
            info.help = unwrap(info.help)
        if group.typer_instance is not None:
            _unwrap_help(group.typer_instance)
