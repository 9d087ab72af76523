"""``riskshare consortium``: create a consortium: root CA and genesis."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["passphrase_from_env", "register"]

app = typer.Typer(help="Create a consortium: root CA and genesis.", no_args_is_help=True)


def passphrase_from_env(name: str | None) -> bytes | None:
    """Read a key passphrase from the named environment variable (never from argv)."""
    if not name:
        return None
    value = os.environ.get(name)
    if value is None:
        from gateway import ConfigError

        raise ConfigError(f"--passphrase-env names ${name}, which is not set")
    return value.encode()


DirOption = Annotated[
    Path, typer.Option("--dir", help="The consortium directory (CA, genesis, founders).")
]
PassEnv = Annotated[
    str | None,
    typer.Option(
        "--passphrase-env",
        help="Encrypt the CA key with the passphrase in this environment variable.",
    ),
]


@app.command("init")
def init_cmd(
    name: Annotated[str, typer.Option("--name", help="The consortium's name.")],
    directory: DirOption = Path("consortium"),
    passphrase_env: PassEnv = None,
    normaliser_version: Annotated[
        str, typer.Option(help="Identifier normaliser version all members use.")
    ] = "v1",
) -> None:
    """Create the consortium root CA and the genesis specification.

    Writes DIR/ca/ca.key (0600), DIR/ca/ca.crt and DIR/genesis.toml; enrol the founders
    next with `riskshare member enroll --consortium DIR`, then seal genesis.

    Example: riskshare consortium init --name "Demo consortium" --dir ./consortium
    """
    from gateway.setup import init_consortium

    init_consortium(
        directory,
        name,
        now=dt.datetime.now(dt.UTC),
        passphrase=passphrase_from_env(passphrase_env),
        normaliser_version=normaliser_version,
    )
    typer.echo(f"consortium {name!r} created in {directory}")
    typer.echo(f"  root CA      {directory / 'ca' / 'ca.crt'}")
    typer.echo(f"  genesis spec {directory / 'genesis.toml'}")


genesis_app = typer.Typer(
    help="Seal genesis: draft it, have every founder sign it, seal it.", no_args_is_help=True
)
app.add_typer(genesis_app, name="genesis")


@genesis_app.command("draft")
def genesis_draft_cmd(directory: DirOption = Path("consortium")) -> None:
    """Fix the genesis bytes every founder signs (spec, founders, parameters, time).

    Writes DIR/genesis.config; signatures over an earlier draft are discarded.

    Example: riskshare consortium genesis draft --dir ./consortium
    """
    import hashlib

    from gateway.setup import draft_genesis
    from ledger import now_ms

    config = draft_genesis(directory, time_ms=now_ms())
    typer.echo(
        f"genesis drafted: {len(config)} bytes, chain id {hashlib.sha256(config).hexdigest()}"
    )


@genesis_app.command("sign")
def genesis_sign_cmd(
    member_dir: Annotated[Path, typer.Option("--member-dir", help="The founder's directory.")],
    directory: DirOption = Path("consortium"),
    passphrase_env: PassEnv = None,
) -> None:
    """Sign the genesis draft with one founder's ledger key.

    Example: riskshare consortium genesis sign --member-dir members/bank-a
    """
    from gateway.setup import sign_genesis_draft

    path = sign_genesis_draft(directory, member_dir, passphrase_from_env(passphrase_env))
    typer.echo(f"signed: {path}")


@genesis_app.command("seal")
def genesis_seal_cmd(
    member_dir: Annotated[
        Path, typer.Option("--member-dir", help="The founder who proposes the block.")
    ],
    directory: DirOption = Path("consortium"),
    passphrase_env: PassEnv = None,
) -> None:
    """Build the height-0 block once every founder has signed; gateways start from it.

    Example: riskshare consortium genesis seal --member-dir members/bank-a
    """
    from gateway.setup import seal_genesis

    raw = seal_genesis(directory, member_dir, passphrase_from_env(passphrase_env))
    typer.echo(f"genesis sealed: {directory / 'genesis.block'} ({len(raw)} bytes)")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="consortium")
