"""The root typer app and the CLI's single error boundary.

Exit codes (grep's convention, so scripts can branch on them):
0 success (for ``query``: at least one hit), 1 ``query`` found no hit, 2 an error or
bad usage. Every package error is turned into a one-line message and exit code 2 here
and nowhere else; commands just let domain errors propagate.
"""

from __future__ import annotations

import sys

import typer

from adapters import AdapterError
from cli import _commands
from gateway import GatewayError
from ledger import LedgerError
from psi import PsiError
from scenarios import ScenarioError
from token_incentive import CreditsError

__all__ = ["EXIT_ERROR", "EXIT_NO_HIT", "EXIT_OK", "app", "main"]

EXIT_OK = 0
EXIT_NO_HIT = 1
EXIT_ERROR = 2

app = typer.Typer(
    name="riskshare",
    help="riskshare: private risk-list sharing between member institutions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """riskshare: private risk-list sharing between member institutions."""


_commands.register(app)

_DOMAIN_ERRORS = (
    PsiError,
    LedgerError,
    CreditsError,
    AdapterError,
    GatewayError,
    ScenarioError,
)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except _DOMAIN_ERRORS as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
