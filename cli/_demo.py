"""``riskshare demo``: a local consortium of real gateways answering real queries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        members: Annotated[
            int, typer.Option("--members", min=3, max=26, help="Member gateways to start.")
        ] = 3,
        listed: Annotated[
            int, typer.Option(min=10, max=1_000_000, help="Identifiers on each member's list.")
        ] = 200,
        workers: Annotated[int, typer.Option(min=1, help="Worker processes per gateway.")] = 1,
        directory: Annotated[
            Path | None,
            typer.Option("--dir", help="Keep the consortium's files here (default: a temp dir)."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        scenario: Annotated[
            str | None,
            typer.Option(
                help="Run a registered scenario's flow instead: scf (receivables), tf "
                "(financing registry), ins, lc, cust, abs (a 100-loan auto ABS), any other "
                "registered scenario with a demo, or all of them one after another (all)."
            ),
        ] = None,
    ) -> None:
        """Start a local consortium — an embedded orderer and N member gateways, each its
        own process, over mutual TLS 1.3 on loopback — load each member's sample list,
        run real queries (single, file, broadcast, one member) with known hits and misses,
        and print every answer against ground truth, the receipts on the ledger, and each
        member's view. Exit code 2 if any answer, receipt or head disagrees.

        With --scenario, run that scenario's demo flow (steps the ledger must refuse
        included) across its own member gateways instead; see riskshare scf demo.

        Example: riskshare demo --members 3 --json
        """
        if scenario is not None:
            from cli._scenario import run_demo as run_scenario

            run_scenario(scenario, as_json)
            return
        from gateway.devnet import run_demo

        say = (lambda _: None) if as_json else (lambda line: typer.echo(f"• {line}"))
        report = run_demo(members, listed=listed, workdir=directory, workers=workers, say=say)
        if as_json:
            typer.echo(json.dumps(report.to_json(), sort_keys=True))
        else:
            _print(report)
        if not report.correct:
            raise typer.Exit(2)


def _print(report: object) -> None:
    from gateway.devnet import DemoReport

    assert isinstance(report, DemoReport)
    typer.echo(f"set-up took {report.setup_s:.1f} s")
    for q in report.queries:
        typer.echo("")
        asked = "all holders" if len(q.asked) > 1 else q.asked[0]
        typer.echo(
            f"{q.kind}: {q.querier} asks {asked} about {len(q.values)} {q.id_type}(s) "
            f"[{q.ms:.0f} ms] — {'correct' if q.correct else 'WRONG'}"
        )
        valid = [v for i, v in enumerate(q.values) if i not in q.rejected]
        for i, value in enumerate(valid[:8]):
            marks = "  ".join(
                f"{m}:{'HIT ' if q.actual.get(m, [None] * (i + 1))[i] else 'miss'}" for m in q.asked
            )
            typer.echo(f"    {value:<20} {marks}")
        if len(valid) > 8:
            typer.echo(f"    … {len(valid) - 8} more, all checked against the lists")
        for index in q.rejected:
            typer.echo(f"    {q.values[index]:<20} rejected by the normaliser (not sent)")
        for member, error in q.errors.items():
            typer.echo(f"    {member}: {error}")
    typer.echo("")
    typer.echo(
        f"receipts on the ledger: {report.receipts} "
        f"(every replica: {sorted(set(report.receipts_per_replica.values()))})"
    )
    typer.echo(f"ledger heads {'all equal' if report.heads_equal else 'DIFFER'}:")
    for member, head in report.heads.items():
        typer.echo(f"    {member:<10} {head[:32]}")
    typer.echo("each member's view (from its own replica):")
    for member, view in report.views.items():
        typer.echo(
            f"    {member:<10} made {view['queries_made']} ({view['items_asked']} items), "
            f"served {view['queries_served']} ({view['items_served']} items), "
            f"balance {view['balance_mcredits'] / 1000:.1f} credits"
        )
    typer.echo("all answers correct" if report.correct else "SOMETHING DISAGREES")
