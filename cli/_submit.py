"""How the commands that write to the ledger send their transaction.

``governance propose/approve/withdraw``, ``feedback confirm/dispute``, ``dispute
resolve/evidence`` and ``canary commit/reveal`` build a transaction body and then, by
default, hand it to the member's running gateway (``--config``, or
``$RISKSHARE_CONFIG``), which signs it with its ledger key under its own sequence
numbers and submits it (``gateway._client.submit_transaction``); the command prints the
block height it landed in, or the ledger's reason for refusing it (exit code 2).

With ``--out FILE`` the command signs offline instead, with ``--key`` and ``--member``
against the local replica's chain, and writes the signed transaction to the file;
``riskshare gateway submit FILE`` hands such a file to a gateway later.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = [
    "ConfigOpt",
    "KeyOpt",
    "MemberOpt",
    "OutOpt",
    "PassEnvOpt",
    "Signing",
    "acting_member",
    "await_height",
    "replica_dir",
    "send",
]

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="RISKSHARE_CONFIG",
        help="The member's gateway config: the gateway signs and submits (the default).",
        show_default=False,
    ),
]
KeyOpt = Annotated[
    Path | None,
    typer.Option("--key", help="Offline: the member's ledger signing key (PEM), with --out."),
]
MemberOpt = Annotated[
    str | None, typer.Option("--member", help="Offline: the member id that signs, with --out.")
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Sign offline and write the signed transaction here instead."),
]
PassEnvOpt = Annotated[
    str | None,
    typer.Option("--passphrase-env", help="The key's passphrase is in this environment variable."),
]


def replica_dir(data_dir: Path | None, config: Path | None) -> Path | None:
    """The data directory to read the replica from: ``--data-dir``, else the config's."""
    if data_dir is not None or config is None:
        return data_dir
    from gateway import load_config

    return load_config(config).member.data_dir


def acting_member(member: str | None, config: Path | None) -> str:
    """Who signs: ``--member``, else the member the gateway config names."""
    if member:
        return member
    if config is None:
        raise typer.BadParameter("give --config (submit through the gateway) or --member")
    from gateway import load_config

    return load_config(config).member.id


def await_height(data_dir: Path | None, height: int, timeout: float = 15.0) -> bool:
    """Wait until the local replica holds ``height`` (the gateway's follower applies it)."""
    from cli._ledger import open_ledger

    deadline = time.monotonic() + timeout
    while True:
        with open_ledger(data_dir) as store:
            if store.height >= height:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


@dataclass(frozen=True)
class Signing:
    """Who signs a command's transaction and how: the gateway of ``config``, or offline
    into ``out`` with ``key_file`` as ``member``. One value, because every signing command
    takes the same six options."""

    config: Path | None
    out: Path | None
    key_file: Path | None
    member: str | None
    data_dir: Path | None
    passphrase_env: str | None


def send(kind: str, body: Mapping[str, Any], *, what: str, via: Signing) -> tuple[str, int | None]:
    """Submit through the gateway, or sign offline with ``--out``; (tx id hex, height)."""
    config, out, key_file, member = via.config, via.out, via.key_file, via.member
    if out is not None:
        if key_file is None or not member:
            raise typer.BadParameter("--out signs offline: give --key and --member too")
        from cli._feedback import sign_credits_tx

        tx = sign_credits_tx(
            replica_dir(via.data_dir, config), key_file, member, kind, body, out, via.passphrase_env
        )
        typer.echo(f"{what} written to {out} (transaction {tx})")
        return tx, None
    if config is None:
        raise typer.BadParameter(
            "give --config (or $RISKSHARE_CONFIG) to submit through your gateway,"
            " or --out with --key and --member to sign offline"
        )
    if key_file is not None:
        raise typer.BadParameter("--key signs offline and needs --out; the gateway uses its own")
    if member and member != acting_member(None, config):
        raise typer.BadParameter(f"the gateway of {config} signs as its own member, not {member}")
    from gateway.admin import submit_transaction

    done = submit_transaction(config, kind, body)
    typer.echo(f"{what} committed at height {done.height} (transaction {done.tx_id})")
    await_height(replica_dir(via.data_dir, config), done.height)
    return done.tx_id, done.height
