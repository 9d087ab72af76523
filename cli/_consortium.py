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
    from gateway._consortium import init_consortium

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


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="consortium")
