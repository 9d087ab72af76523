"""``riskshare regulator``: the regulator's per-member epoch report, from the ledger alone.

Reads the local replica (an observer's, typically) and wraps
:func:`token_incentive.regulator_report`: per member, queries made and served, hits,
feedback and disputes by outcome, and watched identifiers (counts only). Every figure
comes from the ledger, so it can be reconciled with each member's own statement
(``riskshare credits statement``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from cli._ledger import DataDir, open_ledger

__all__ = ["register"]

app = typer.Typer(help="The regulator's view of the ledger.", no_args_is_help=True)


@app.command("report")
def report_cmd(
    epoch: Annotated[int, typer.Option("--epoch", min=0, help="The credits epoch.")],
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Per member: queries made and served, hits, feedback, disputes, watched identifiers.

    Example: riskshare regulator report --epoch 3 --data-dir /var/lib/riskshare --json
    """
    from token_incentive import regulator_report

    with open_ledger(data_dir) as store:
        rows = regulator_report(store.state(), epoch)
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in rows], sort_keys=True))
        return
    typer.echo(f"epoch {epoch}: {len(rows)} member(s) with activity")
    for r in rows:
        typer.echo(
            f"{r.member}: made {r.made} ({r.items_made} items, charged {r.charged},"
            f" refunded {r.refunded}), served {r.served} ({r.items_served} items),"
            f" hits reported {r.hits_reported}, received {r.hits_received},"
            f" confirmed {r.confirmed}, disputed {r.disputed},"
            f" disputes filed {r.disputes_filed or {}}, against {r.disputes_against or {}},"
            f" watched {r.watched}"
        )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="regulator")
