"""``riskshare demo``: one real membership query, responder and querier in one process.

A thin wrapper over ``psi.membership_demo``; the consortium demo (gateways over mTLS,
the embedded ledger) replaces it once the gateway exists.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import typer

from psi import membership_demo

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        listed: int = typer.Option(3000, min=1, help="Identifiers the responder lists."),
        queried: int = typer.Option(8, min=1, max=1000, help="Identifiers the querier asks."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Run a private membership query end to end and print hits and misses.

        The responder builds its VOPRF index and commits it; the querier verifies the
        snapshot, blinds its identifiers, verifies the responder's DLEQ proof and looks
        its tags up. Identifiers are printed masked.

        Example: riskshare demo --listed 5000 --queried 10
        """
        report = membership_demo(listed, queried)
        if as_json:
            out = asdict(report)
            out["hits"] = report.hits
            out["correct"] = report.correct
            typer.echo(json.dumps(out, sort_keys=True))
            return
        typer.echo(
            f"responder: {report.listed} identifiers on {report.list_type}, epoch "
            f"{report.epoch}, key {report.key_id[:16]}…, index built in {report.build_s:.2f} s"
        )
        typer.echo(
            f"querier: snapshot of {report.snapshot_bytes} bytes verified against the "
            f"commitment (tags root {report.tags_root[:16]}…)"
        )
        for q in report.queries:
            answer = f"HIT   reason: {q.reason}, listed {q.listed_month}" if q.hit else "miss"
            typer.echo(f"  {q.id_type:<9} {q.masked:<20} {answer}")
        typer.echo(
            f"{report.hits} hits of {len(report.queries)} in {report.query_s * 1000:.0f} ms, "
            "DLEQ proof verified; "
            + ("every answer correct" if report.correct else "ANSWERS WRONG")
        )
        if not report.correct:
            raise typer.Exit(2)
