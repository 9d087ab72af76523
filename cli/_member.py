"""``riskshare member``: enrol members: TLS certificate and signing key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cli._consortium import PassEnv, passphrase_from_env

__all__ = ["register"]

app = typer.Typer(help="Enrol members: TLS certificate and signing key.", no_args_is_help=True)


@app.command("enroll")
def enroll_cmd(
    member_id: Annotated[str, typer.Option("--id", help="Member id: a-z 0-9 . _ -")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    address: Annotated[str, typer.Option("--address", help="Gateway host:port peers dial.")],
    consortium: Annotated[
        Path, typer.Option("--consortium", help="The consortium directory holding the CA.")
    ] = Path("consortium"),
    out: Annotated[
        Path | None, typer.Option("--out", help="Member directory (default: members/ID).")
    ] = None,
    role: Annotated[str, typer.Option(help="member, observer or orderer.")] = "member",
    host: Annotated[
        list[str] | None, typer.Option("--host", help="Extra DNS name or IP for the cert.")
    ] = None,
    founder: Annotated[
        bool, typer.Option(help="Register as a founder in the genesis being prepared.")
    ] = True,
    passphrase_env: PassEnv = None,
    ca_passphrase_env: Annotated[
        str | None,
        typer.Option(help="Environment variable holding the CA key's passphrase, if any."),
    ] = None,
) -> None:
    """Make a member's TLS key and certificate and its Ed25519 ledger signing key.

    The certificate names the member in a SAN URI (riskshare://member/ID) and lists the
    address's host; private keys are written 0600, encrypted when --passphrase-env is
    given. The public enrolment record (enrolment.json) is what genesis or a governance
    admission puts on the ledger.

    Example: riskshare member enroll --id bank-a --name "Bank A" --address 127.0.0.1:7401
    """
    from gateway import enroll_member, load_ca
    from gateway.setup import add_founder

    now = dt.datetime.now(dt.UTC)
    ca = load_ca(consortium / "ca", passphrase_from_env(ca_passphrase_env))
    directory = out or Path("members") / member_id
    extra = tuple(host or ())
    record = enroll_member(
        ca,
        directory,
        member_id=member_id,
        name=name,
        address=address,
        role=role,
        hosts=("localhost", "127.0.0.1", "::1", *extra),
        now=now,
        passphrase=passphrase_from_env(passphrase_env),
    )
    typer.echo(f"enrolled {member_id} in {directory}")
    typer.echo(f"  TLS fingerprint {record.tls_fingerprint.hex()}")
    typer.echo(f"  signing key     {record.signing_key.hex()}")
    if founder:
        path = add_founder(consortium, record, now=now)
        typer.echo(f"  founder record  {path}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="member")
