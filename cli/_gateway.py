"""``riskshare gateway``: run the member gateway daemon, ask it for its status, and hand
it transactions signed offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

app = typer.Typer(help="Run the member gateway daemon.", no_args_is_help=True)

ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config",
        "-c",
        envvar="RISKSHARE_CONFIG",
        help="The gateway's TOML config (RISKSHARE_<SECTION>_<KEY> overrides any key).",
    ),
]


@app.command("serve")
def serve_cmd(config: ConfigOption = Path("member.toml")) -> None:
    """Serve the consortium port (mutual TLS 1.3) with worker processes, the ledger
    replica, the admin socket and metrics, until SIGTERM.

    Example: riskshare gateway serve --config member.toml
    """
    from gateway.daemon import ServeInfo, serve

    def ready(info: ServeInfo) -> None:
        line = {
            "member": info.member_id,
            "listen": info.listen,
            "workers": info.workers,
            "admin_socket": str(info.admin_socket),
            "orderer_listen": info.orderer_listen,
            "metrics_listen": info.metrics_listen,
            "dashboard_url": info.dashboard_url,
        }
        typer.echo("serving " + json.dumps(line))
        sys.stdout.flush()

    code = serve(config, on_ready=ready)
    raise typer.Exit(code)


@app.command("status")
def status_cmd(
    config: ConfigOption = Path("member.toml"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Ask the running gateway (over its admin socket) for its status: ledger head, lists,
    peers' snapshots, the backlog of answers not yet recorded, the dashboard's URL.

    Example: riskshare gateway status --config member.toml --json
    """
    from gateway.admin import gateway_status
    from ledger import now_ms

    status = gateway_status(config)
    if as_json:
        typer.echo(json.dumps(status, indent=2))
        return
    typer.echo(f"member     {status['member_id']} ({status['role'] or 'unknown role'})")
    typer.echo(f"ledger     height {status['ledger_height']}  head {status['ledger_head'][:16]}")
    typer.echo(f"workers    {status['workers']}  normaliser {status['normaliser_version']}")
    typer.echo(f"dashboard  {status['dashboard_url'] or 'off'}")
    backlog = status["backlog"]
    waiting = backlog["pending"] + backlog["submitted"]
    since = (
        ""
        if backlog["oldest_ms"] is None
        else f", oldest {max(0, now_ms() - backlog['oldest_ms']) // 1000} s ago"
    )
    typer.echo(
        f"backlog    {waiting} answer(s) not yet recorded ({backlog['pending']} pending,"
        f" {backlog['submitted']} submitted{since}); {backlog['refused']} refused,"
        f" {backlog['committed']} recorded; {backlog['hit_reports']} hit report(s) waiting"
    )
    for row in status["own_lists"]:
        mark = "published" if row["verified"] else "not yet on the ledger"
        typer.echo(f"own list   {row['list_type']}: epoch {row['epoch']}, {row['size']} ({mark})")
    for peer in status["peers"]:
        for snap in peer["snapshots"]:
            typer.echo(
                f"snapshot   {peer['member_id']}/{snap['list_type']}: epoch {snap['epoch']}, "
                f"{snap['size']} entries, verified"
            )


@app.command("submit")
def submit_cmd(
    transaction: Annotated[
        Path, typer.Argument(help="A signed transaction file (what --out of a command wrote).")
    ],
    config: ConfigOption = Path("member.toml"),
) -> None:
    """Hand a transaction signed offline (governance, feedback, dispute or canary
    commands with --out) to the orderer through the running gateway; print its block.

    Example: riskshare gateway submit approve.tx --config member.toml
    """
    from gateway.admin import submit_signed_file

    done = submit_signed_file(config, transaction)
    typer.echo(f"transaction {done.tx_id} committed at height {done.height}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="gateway")
