"""``riskshare feedback``: confirm or dispute the hits of one of your receipts.

Both commands sign a ``credits.feedback`` transaction with the member's ledger key and
write it to a file (``--out``) for the member's gateway to submit, as ``riskshare
governance`` does. They wrap :func:`token_incentive.confirm_body` and
:func:`token_incentive.dispute_body`; the receipt may be named by a unique prefix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from cli._ledger import DataDir, open_ledger

__all__ = ["register", "sign_credits_tx"]

app = typer.Typer(help="Confirm or dispute a hit.", no_args_is_help=True)

ReceiptArg = Annotated[str, typer.Argument(help="The receipt id (or a unique prefix).")]
KeyFile = Annotated[Path, typer.Option("--key", help="The member's ledger signing key (PEM).")]
MemberId = Annotated[str, typer.Option("--member", help="The member id that signs.")]
Out = Annotated[Path, typer.Option("--out", help="Where to write the signed transaction.")]
Hits = Annotated[
    list[int] | None,
    typer.Option("--hit", help="A hit index within the receipt (repeat; default: all open)."),
]
PassEnv = Annotated[
    str | None,
    typer.Option("--passphrase-env", help="The key's passphrase is in this environment variable."),
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
    key_file: KeyFile,
    member: MemberId,
    out: Out,
    hit: Hits = None,
    data_dir: DataDir = None,
    passphrase_env: PassEnv = None,
) -> None:
    """Confirm hits as true (final; silence until the window closes confirms too).

    Example: riskshare feedback confirm 3fa9c2e1 --key k.pem --member bank-a --out c.tx
    """
    from token_incentive import confirm_body

    rid = _own_receipt(data_dir, receipt, member)
    body = confirm_body(rid, hit or [])
    tx = sign_credits_tx(data_dir, key_file, member, "credits.feedback", body, out, passphrase_env)
    typer.echo(f"confirmation of {rid[:16]} written to {out} (transaction {tx})")


@app.command("dispute")
def dispute_cmd(
    receipt: ReceiptArg,
    key_file: KeyFile,
    member: MemberId,
    out: Out,
    hit: Hits = None,
    reason: Annotated[str, typer.Option("--reason", help="A reason code.")] = "false_positive",
    data_dir: DataDir = None,
    passphrase_env: PassEnv = None,
) -> None:
    """Dispute hits as false positives: opens the receipt's one dispute.

    Example: riskshare feedback dispute 3fa9c2e1 --hit 0 --key k.pem --member bank-a --out d.tx
    """
    from token_incentive import dispute_body

    rid = _own_receipt(data_dir, receipt, member)
    body = dispute_body(rid, hit or [], reason)
    tx = sign_credits_tx(data_dir, key_file, member, "credits.feedback", body, out, passphrase_env)
    typer.echo(f"dispute of {rid[:16]} written to {out} (transaction {tx})")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="feedback")
