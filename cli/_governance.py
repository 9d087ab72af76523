"""``riskshare governance``: propose and approve consortium changes.

``list``, ``show`` and ``members`` read the local replica. ``propose``, ``approve`` and
``withdraw`` build a governance transaction and hand it to the member's gateway
(``--config``), which signs it with its ledger key and submits it; the command prints
the block height, and the proposal's approvals. With ``--out`` they sign offline with
``--key`` instead (``cli._submit``). Each command wraps public functions of
:mod:`ledger` (``proposals``, ``proposal_status``, ``propose_body``, ``approve_body``,
``withdraw_body``, ``next_seq``, ``sign_transaction``) and
:func:`gateway._client.submit_transaction`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cli._ledger import DataDir, open_ledger
from cli._submit import ConfigOpt, KeyOpt, MemberOpt, OutOpt, PassEnvOpt, Signing, replica_dir, send
from ledger import now_ms

__all__ = ["parse_args", "register", "sign_governance"]

app = typer.Typer(help="Propose and approve consortium changes.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _show(row: dict[str, Any], as_json: bool) -> None:
    from ledger import jsonable

    if as_json:
        typer.echo(json.dumps(jsonable(row), indent=2, sort_keys=True))
        return
    state = "expired" if row["expired"] else row["status"]
    typer.echo(
        f"{row['id'][:16]}  {row['action']:<14} {state:<9} by {row['proposer']:<12}"
        f" approvals {len(row['counted'])}/{row['needed']} of {row['voters']} voters"
        f"  height {row['created_height']}"
    )


@app.command("list")
def list_cmd(
    data_dir: DataDir = None,
    status: Annotated[
        str | None, typer.Option(help="open, executed or withdrawn (default: all).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """List governance proposals and how many approvals each still needs.

    Example: riskshare governance list --status open --data-dir ./node1
    """
    from ledger import proposals

    with open_ledger(data_dir) as store:
        for row in proposals(store.state(), now_ms(), status):
            _show(row, as_json)


@app.command("show")
def show_cmd(
    proposal: Annotated[str, typer.Argument(help="The proposal id (hex).")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Show one proposal: action, arguments, approvals counted and needed.

    Example: riskshare governance show 5e0c...9a --json
    """
    from ledger import jsonable, proposal_status

    with open_ledger(data_dir) as store:
        row = proposal_status(store.state(), proposal, now_ms())
    _show(row, as_json)
    if not as_json:
        typer.echo(f"args     {json.dumps(jsonable(row['args']), sort_keys=True)}")
        typer.echo(f"approved {', '.join(row['approvals'])}")


@app.command("members")
def members_cmd(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """List every member with role, status and keys' fingerprints.

    Example: riskshare governance members --data-dir ./node1
    """
    from ledger import MEMBERS, jsonable

    with open_ledger(data_dir) as store:
        rows = [row for _, row in store.state().scan(MEMBERS)]
    if as_json:
        typer.echo(json.dumps(jsonable(rows), indent=2, sort_keys=True))
        return
    for row in rows:
        assert isinstance(row, dict)
        typer.echo(
            f"{row['id']:<14} {row['role']:<9} {row['status']:<8} since {row['since']:<6}"
            f" key {row['signing_key'].hex()[:16]}  tls {row['tls_fingerprint'].hex()[:16]}"
            f"  {row['address']}"
        )


def parse_args(pairs: list[str], args_json: str | None) -> dict[str, Any]:
    """Proposal arguments from ``key=value`` pairs and/or a JSON object.

    Values ending in ``:hex`` decode as bytes (``signing_key=9c1e...:hex``); JSON values
    may be written as ``{"hex": "..."}`` for bytes.
    """

    def unhex(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"hex"}:
                return bytes.fromhex(value["hex"])
            return {k: unhex(v) for k, v in value.items()}
        if isinstance(value, list):
            return [unhex(v) for v in value]
        return value

    args: dict[str, Any] = unhex(json.loads(args_json)) if args_json else {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"{pair!r} is not key=value")
        if value.endswith(":hex"):
            args[key] = bytes.fromhex(value[: -len(":hex")])
        else:
            try:
                args[key] = json.loads(value)
            except json.JSONDecodeError:
                args[key] = value
    return args


def sign_governance(
    data_dir: Path | None,
    key_file: Path,
    member: str,
    kind: str,
    body: dict[str, Any],
    passphrase: bytes | None = None,
) -> Any:
    """Sign a governance transaction for ``member`` against the local replica's chain."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from gateway import load_private_key
    from ledger import LedgerError, next_seq, sign_transaction

    key = load_private_key(key_file, passphrase)
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerError(f"{key_file} is not an Ed25519 key")
    now = now_ms()
    with open_ledger(data_dir) as store:
        chain = store.chain_id
        if chain is None:
            raise LedgerError("the local ledger has no genesis block")
        seq = next_seq(store.state(), member, now)
    return sign_transaction(
        key, chain=chain, member=member, kind=kind, body=body, seq=seq, time=now
    )


def _after(data_dir: Path | None, config: Path | None, proposal: str, height: int | None) -> None:
    """Show where the proposal stands once the local replica holds the transaction."""
    if height is None:
        return
    from ledger import proposal_status

    with open_ledger(replica_dir(data_dir, config)) as store:
        if store.height < height:
            return
        row = proposal_status(store.state(), proposal, now_ms())
    _show(row, False)


@app.command("propose")
def propose_cmd(
    action: Annotated[
        str, typer.Argument(help="admit, remove, rotate, set_params or set_list_type.")
    ],
    arg: Annotated[list[str] | None, typer.Option("--arg", help="key=value (repeat).")] = None,
    args_json: Annotated[str | None, typer.Option("--args-json", help="Arguments as JSON.")] = None,
    expires_days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
    config: ConfigOpt = None,
    key_file: KeyOpt = None,
    member: MemberOpt = None,
    out: OutOpt = None,
    data_dir: DataDir = None,
    passphrase_env: PassEnvOpt = None,
) -> None:
    """Propose a change (gov.propose) through your gateway; the transaction id is the
    proposal id. With --out, sign offline with --key and --member instead.

    Example: riskshare governance propose remove --arg id=bank-x --config member.toml
    """
    from ledger import propose_body

    expires = None if expires_days is None else now_ms() + expires_days * 86_400_000
    body = propose_body(action, parse_args(arg or [], args_json), expires)
    tx, height = send(
        "gov.propose",
        body,
        what="proposal",
        via=Signing(config, out, key_file, member, data_dir, passphrase_env),
    )
    typer.echo(f"proposal id {tx}")
    _after(data_dir, config, tx, height)


@app.command("approve")
def approve_cmd(
    proposal: Annotated[str, typer.Argument(help="The proposal id (hex).")],
    config: ConfigOpt = None,
    key_file: KeyOpt = None,
    member: MemberOpt = None,
    out: OutOpt = None,
    data_dir: DataDir = None,
    passphrase_env: PassEnvOpt = None,
) -> None:
    """Approve a proposal (gov.approve) through your gateway; it executes in the
    approval that brings more than two thirds of the voting members.

    Example: riskshare governance approve 5e0c...9a --config member.toml
    """
    from ledger import approve_body

    _, height = send(
        "gov.approve",
        approve_body(proposal),
        what=f"approval of {proposal[:16]}",
        via=Signing(config, out, key_file, member, data_dir, passphrase_env),
    )
    _after(data_dir, config, proposal, height)


@app.command("withdraw")
def withdraw_cmd(
    proposal: Annotated[str, typer.Argument(help="The proposal id (hex).")],
    config: ConfigOpt = None,
    key_file: KeyOpt = None,
    member: MemberOpt = None,
    out: OutOpt = None,
    data_dir: DataDir = None,
    passphrase_env: PassEnvOpt = None,
) -> None:
    """Withdraw your own open proposal (gov.withdraw) through your gateway.

    Example: riskshare governance withdraw 5e0c...9a --config member.toml
    """
    from ledger import withdraw_body

    _, height = send(
        "gov.withdraw",
        withdraw_body(proposal),
        what=f"withdrawal of {proposal[:16]}",
        via=Signing(config, out, key_file, member, data_dir, passphrase_env),
    )
    _after(data_dir, config, proposal, height)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="governance")
