"""``riskshare feedback``: confirm or dispute the hits of one of your receipts.

Both commands build a ``credits.feedback`` transaction and hand it to the member's
gateway (``--config``), which signs and submits it, as ``riskshare governance`` does;
with ``--out`` they sign offline with ``--key`` instead (``cli._submit``). They wrap
:func:`token_incentive.confirm_body` and :func:`token_incentive.dispute_body`; the
receipt may be named by a unique prefix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from cli._ledger import DataDir, open_ledger
from cli._submit import (
    ConfigOpt,
    KeyOpt,
    MemberOpt,
    OutOpt,
    PassEnvOpt,
    Signing,
    acting_member,
    replica_dir,
    send,
)

__all__ = ["register", "sign_credits_tx"]

app = typer.Typer(help="Confirm or dispute a hit.", no_args_is_help=True)

ReceiptArg = Annotated[str, typer.Argument(help="The receipt id (or a unique prefix).")]
Hits = Annotated[
    list[int] | None,
    typer.Option("--hit", help="A hit index within the receipt (repeat; default: all open)."),
]


def sign_credits_tx(
    data_dir: Path | None,
    key_file: Path,
    member: str,
    kind: str,
    body: Mapping[str, Any],
    out: Path,
    passphrase_env: str | None,
) -> str:
    """Sign ``kind``/``body`` for ``member`` against the local chain; write it to ``out``."""
    from cli._governance import sign_governance

    passphrase = None
    if passphrase_env:
        value = os.environ.get(passphrase_env)
        if value is None:
            raise typer.BadParameter(f"${passphrase_env} is not set")
        passphrase = value.encode()
    stx = sign_governance(data_dir, key_file, member, kind, dict(body), passphrase)
    out.write_bytes(stx.raw)
    return str(stx.tx_id.hex())


def _own_receipt(data_dir: Path | None, prefix: str, member: str) -> str:
    from token_incentive import CreditsError, find_receipt

    with open_ledger(data_dir) as store:
        rid, row = find_receipt(store.state(), prefix)
    if row["querier"] != member:
        raise CreditsError(f"receipt {rid[:16]} is {row['querier']}'s, not {member}'s")
    if row["hits"] is None:
        raise CreditsError(f"no hits were reported on receipt {rid[:16]}")
    return rid


@app.command("confirm")
def confirm_cmd(
    receipt: ReceiptArg,
    hit: Hits = None,
    config: ConfigOpt = None,
    key_file: KeyOpt = None,
    member: MemberOpt = None,
    out: OutOpt = None,
    data_dir: DataDir = None,
    passphrase_env: PassEnvOpt = None,
) -> None:
    """Confirm hits as true (final; silence until the window closes confirms too),
    through your gateway; with --out, sign offline with --key and --member.

    Example: riskshare feedback confirm 3fa9c2e1 --config member.toml
    """
    from token_incentive import confirm_body

    who = acting_member(member, config)
    rid = _own_receipt(replica_dir(data_dir, config), receipt, who)
    send(
        "credits.feedback",
        confirm_body(rid, hit or []),
        what=f"confirmation of {rid[:16]}",
        via=Signing(config, out, key_file, member, data_dir, passphrase_env),
    )


@app.command("dispute")
def dispute_cmd(
    receipt: ReceiptArg,
    hit: Hits = None,
    reason: Annotated[str, typer.Option("--reason", help="A reason code.")] = "false_positive",
    config: ConfigOpt = None,
    key_file: KeyOpt = None,
    member: MemberOpt = None,
    out: OutOpt = None,
    data_dir: DataDir = None,
    passphrase_env: PassEnvOpt = None,
) -> None:
    """Dispute hits as false positives: opens the receipt's one dispute, which the
    holder answers with evidence (riskshare dispute evidence) and an observer resolves.
    Tell the holder and the observer, off the ledger, which identifier each disputed
    hit was.

    Example: riskshare feedback dispute 3fa9c2e1 --hit 0 --config member.toml
    """
    from token_incentive import dispute_body

    who = acting_member(member, config)
    rid = _own_receipt(replica_dir(data_dir, config), receipt, who)
    send(
        "credits.feedback",
        dispute_body(rid, hit or [], reason),
        what=f"dispute of {rid[:16]}",
        via=Signing(config, out, key_file, member, data_dir, passphrase_env),
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="feedback")
