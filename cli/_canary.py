"""``riskshare canary``: an observer's canary identifiers: commit, probe, reveal.

``commit`` makes salted commitments to canary identifiers (``credits.canary_commit``)
and keeps their openings in a secrets file; ``probe`` asks responders about the
committed canaries through the observer's gateway (canary probes: recorded, never
charged); ``reveal`` opens a canary a responder said yes to, with the probe's receipt
(``credits.canary_reveal``), which files a canary dispute against it. Each wraps
:mod:`gateway._canary` and submits like the other writing commands (``cli._submit``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from cli._ledger import DataDir, open_ledger
from cli._submit import ConfigOpt, KeyOpt, MemberOpt, OutOpt, PassEnvOpt, Signing, replica_dir, send

__all__ = ["register"]

app = typer.Typer(help="An observer's canaries: commit, probe, reveal.", no_args_is_help=True)

Secrets = Annotated[
    Path,
    typer.Option("--secrets", help="The observer's canary secrets file (JSON lines, 0600)."),
]


def _committed(store: Any) -> Any:
    from token_incentive import canary_committed

    state = store.state()

    def check(commitment: bytes) -> bool:
        return canary_committed(state, commitment)

    return check


@app.command("commit")
def commit_cmd(
    secrets: Secrets,
    list_type: Annotated[str, typer.Option("--list", help="The list type.")] = "transaction_fraud",
    id_type: Annotated[str, typer.Option("--id-type", help="The identifier type.")] = "phone",
    value: Annotated[
        list[str] | None,
        typer.Option("--value", help="A canary identifier (repeat); default: one per stdin line."),
    ] = None,
    config: ConfigOpt = None,
    key_file: KeyOpt = None,
    member: MemberOpt = None,
    out: OutOpt = None,
    data_dir: DataDir = None,
    passphrase_env: PassEnvOpt = None,
) -> None:
    """Commit to synthetic canary identifiers before planting them (credits.canary_commit);
    their salts and values go to the secrets file, nothing identifying to the ledger.

    Example: riskshare canary commit --secrets canaries.jsonl --config observer.toml < values.txt
    """
    from gateway.credits import append_secrets, make_canaries
    from ledger import consortium_info
    from token_incentive import canary_commit_body

    values = list(value or [])
    if not values and not sys.stdin.isatty():
        values = [line.strip() for line in sys.stdin if line.strip()]
    if not values:
        raise typer.BadParameter("give canary identifiers with --value or on standard input")
    with open_ledger(replica_dir(data_dir, config)) as store:
        info = consortium_info(store.state())
    version = str(info["normaliser_version"]) if info else "v1"
    canaries = make_canaries(list_type, id_type, values, version, os.urandom)
    # Kept before submitting: a commitment on the ledger without its opening is useless.
    append_secrets(secrets, canaries)
    send(
        "credits.canary_commit",
        canary_commit_body([c.commitment for c in canaries]),
        what=f"{len(canaries)} canary commitment(s)",
        via=Signing(config, out, key_file, member, data_dir, passphrase_env),
    )


def _reveal(
    receipt: str,
    secrets: Path,
    value: str | None,
    *,
    via: Signing,
) -> None:
    from gateway.credits import load_secrets, pick_canary
    from token_incentive import canary_reveal_body, find_receipt

    with open_ledger(replica_dir(via.data_dir, via.config)) as store:
        rid, row = find_receipt(store.state(), receipt)
        canary = pick_canary(load_secrets(secrets), row, value, _committed(store))
    send(
        "credits.canary_reveal",
        canary_reveal_body(canary.commitment, canary.salt, canary.record, rid),
        what=f"canary revealed on {rid[:16]} against {row['responder']}",
        via=via,
    )


@app.command("probe")
def probe_cmd(
    secrets: Secrets,
    member_id: Annotated[
        list[str] | None,
        typer.Option("--ask", help="Probe only this member (repeat; default: every publisher)."),
    ] = None,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Reveal every canary found listed at once.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Ask responders about every committed canary through your gateway (canary probes:
    recorded, never charged). A yes means the responder lists a canary.

    Example: riskshare canary probe --secrets canaries.jsonl --config observer.toml --reveal
    """
    from gateway.admin import AdminClient
    from gateway.credits import load_secrets
    from token_incentive import CANARY_PURPOSE

    if config is None:
        raise typer.BadParameter("probing needs your gateway: give --config")
    directory = replica_dir(data_dir, config)
    with open_ledger(directory) as store:
        committed = _committed(store)
        canaries = [c for c in load_secrets(secrets) if committed(c.commitment)]
    groups: dict[tuple[str, str], list[Any]] = {}
    for canary in canaries:
        groups.setdefault((canary.list_type, canary.id_type), []).append(canary)
    found: list[dict[str, Any]] = []
    with AdminClient.from_config(config) as client:
        for (list_type, id_type), group in groups.items():
            reply = client.query(
                list_type,
                id_type,
                [c.value for c in group],
                members=member_id or (),
                purpose=CANARY_PURPOSE,
            )
            for answer in reply.answers:
                if answer.error_code:
                    typer.echo(f"{answer.member_id}: {answer.error_code} {answer.error}", err=True)
                    continue
                for canary, hit in zip(group, answer.hits, strict=True):
                    if hit:
                        found.append(
                            {
                                "member": answer.member_id,
                                "receipt": answer.receipt.decode(),
                                "commitment": canary.commitment.hex(),
                                "value": canary.value,
                            }
                        )
    if as_json:
        typer.echo(json.dumps({"probed": len(canaries), "listed": found}))
    else:
        typer.echo(f"{len(canaries)} canaries probed; {len(found)} listed")
        for row in found:
            typer.echo(
                f"  {row['member']} lists canary {row['commitment'][:16]} ({row['receipt']})"
            )
    if reveal:
        for row in found:
            # The responder records the probe's receipt; the reveal needs it on the ledger.
            _await_receipt(directory, row["receipt"])
            _reveal(
                row["receipt"],
                secrets,
                row["value"],
                via=Signing(config, None, None, None, data_dir, None),
            )


def _await_receipt(data_dir: Path | None, receipt: str, timeout: float = 60.0) -> None:
    from token_incentive import recorded_receipt

    deadline = time.monotonic() + timeout
    while True:
        with open_ledger(data_dir) as store:
            if recorded_receipt(store.state(), receipt) is not None:
                return
        if time.monotonic() > deadline:
            raise typer.BadParameter(f"receipt {receipt[:16]} is not recorded yet; reveal later")
        time.sleep(0.2)


@app.command("reveal")
def reveal_cmd(
    receipt: Annotated[str, typer.Argument(help="The probe's receipt id (or a unique prefix).")],
    secrets: Secrets,
    value: Annotated[
        str | None, typer.Option("--value", help="The canary that hit, when several fit.")
    ] = None,
    config: ConfigOpt = None,
    key_file: KeyOpt = None,
    member: MemberOpt = None,
    out: OutOpt = None,
    data_dir: DataDir = None,
    passphrase_env: PassEnvOpt = None,
) -> None:
    """Reveal a canary a responder said yes to (credits.canary_reveal): the opening and
    the probe's receipt; files a canary dispute against the responder.

    Example: riskshare canary reveal 3fa9c2e1 --secrets canaries.jsonl --config observer.toml
    """
    _reveal(
        receipt,
        secrets,
        value,
        via=Signing(config, out, key_file, member, data_dir, passphrase_env),
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="canary")
