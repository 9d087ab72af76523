"""``riskshare dispute``: list, show and resolve disputes.

``list`` and ``show`` read the local replica; ``resolve`` (an observer's verdict) signs
a ``credits.resolve`` transaction to a file (``--out``) for the observer's gateway to
submit. Each wraps a public function of :mod:`token_incentive`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cli._feedback import KeyFile, MemberId, Out, PassEnv, sign_credits_tx
from cli._ledger import DataDir, open_ledger

__all__ = ["register"]

app = typer.Typer(help="List, show and resolve disputes.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
DisputeArg = Annotated[str, typer.Argument(help="The dispute id: its receipt id, or a prefix.")]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.hex() if isinstance(value, bytes) else value


def _line(d: dict[str, Any]) -> str:
    hits = ",".join(str(h) for h in d["hits"])
    return (
        f"{d['id'][:16]}  {d['kind']:<6} {d['status']:<8} {d['list_type']:<18}"
        f" holder {d['holder']:<12} filer {d['filer']:<12} hits {hits}"
    )


@app.command("list")
def list_cmd(
    data_dir: DataDir = None,
    status: Annotated[
        str | None, typer.Option(help="filed, opened, upheld or rejected (default: all).")
    ] = None,
    member: Annotated[
        str | None, typer.Option("--member", help="Only disputes it filed or holds.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """List disputes on hits and on canaries.

    Example: riskshare dispute list --status filed --member bank-b --data-dir ./node1
    """
    from token_incentive import disputes

    with open_ledger(data_dir) as store:
        rows = disputes(store.state(), status, member)
    if as_json:
        typer.echo(json.dumps(_jsonable(rows), indent=2, sort_keys=True))
        return
    for d in rows:
        typer.echo(_line(d))


@app.command("show")
def show_cmd(dispute: DisputeArg, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Show one dispute: its hits, evidence openings, verdict and delisting obligation.

    Example: riskshare dispute show 3fa9c2e1 --data-dir ./node1
    """
    from token_incentive import dispute_of

    with open_ledger(data_dir) as store:
        d = dispute_of(store.state(), dispute)
    if as_json:
        typer.echo(json.dumps(_jsonable(d), indent=2, sort_keys=True))
        return
    typer.echo(_line(d))
    typer.echo(f"  filed at {d['filed_at']} (height {d['filed_height']}), reason {d['reason']}")
    for o in d["openings"] or []:
        typer.echo(f"  evidence leaf {o['leaf'].hex()[:16]} at {o['index']} of {o['size']}")
    if d["resolver"]:
        typer.echo(f"  {d['status']} by {d['resolver']} at {d['resolved_at']}: {d['note']}")
    if d["obligation"]:
        typer.echo(f"  obligation to delist: {d['obligation']['status']}")


@app.command("resolve")
def resolve_cmd(
    dispute: DisputeArg,
    verdict: Annotated[str, typer.Option("--verdict", help="upheld or rejected.")],
    key_file: KeyFile,
    member: MemberId,
    out: Out,
    note: Annotated[str, typer.Option("--note", help="Why, for the record.")] = "",
    data_dir: DataDir = None,
    passphrase_env: PassEnv = None,
) -> None:
    """Give an observer's verdict on a dispute (upheld = a false positive).

    Example: riskshare dispute resolve 3fa9c2e1 --verdict upheld --key k.pem --member reg --out v.tx
    """
    from token_incentive import dispute_of, resolve_body

    with open_ledger(data_dir) as store:
        d = dispute_of(store.state(), dispute)
    body = resolve_body(d["id"], verdict, note)
    tx = sign_credits_tx(data_dir, key_file, member, "credits.resolve", body, out, passphrase_env)
    typer.echo(f"verdict on {d['id'][:16]} written to {out} (transaction {tx})")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dispute")
