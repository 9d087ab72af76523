"""``riskshare dispute``: list, show, answer with evidence, and resolve disputes.

A dispute runs: filed by the querier (``riskshare feedback dispute``), opened by the
holder (``evidence``: the entries' salted evidence hashes and inclusion proofs in the
evidence root the holder published, ``credits.evidence``), resolved by an observer
(``resolve``, ``credits.resolve``). ``list`` and ``show`` read the local replica;
``evidence`` and ``resolve`` submit through the member's gateway (``--config``), or
sign offline with ``--out`` (``cli._submit``). Each wraps a public function of
:mod:`token_incentive` or :mod:`gateway._evidence`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli._files import write_private
from cli._ledger import DataDir, ledger_path, open_ledger
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
    from gateway.credits import published_size
    from token_incentive import dispute_of, recorded_receipt

    with open_ledger(data_dir) as store:
        d = dispute_of(store.state(), dispute)
        receipt = recorded_receipt(store.state(), d["id"])
        epoch = None if receipt is None else receipt.index_epoch
        size = None if epoch is None else published_size(store, d["holder"], d["list_type"], epoch)
    d["index_epoch"], d["index_size"] = epoch, size
    d["evidence_root"] = None if receipt is None else receipt.evidence_root
    if as_json:
        typer.echo(json.dumps(_jsonable(d), indent=2, sort_keys=True))
        return
    typer.echo(_line(d))
    typer.echo(f"  filed at {d['filed_at']} (height {d['filed_height']}), reason {d['reason']}")
    root = d["evidence_root"].hex() if isinstance(d["evidence_root"], bytes) else "none"
    typer.echo(f"  answered from index epoch {d['index_epoch']} ({size} entries), evidence {root}")
    for o in d["openings"] or []:
        # An audit path alone does not pin the tree size: check it against the epoch's.
        check = "size matches the epoch" if o["size"] == size else "SIZE DIFFERS FROM THE EPOCH"
        typer.echo(
            f"  evidence leaf {o['leaf'].hex()[:16]} at {o['index']} of {o['size']} ({check})"
        )
    if d["resolver"]:
        typer.echo(f"  {d['status']} by {d['resolver']} at {d['resolved_at']}: {d['note']}")
    if d["obligation"]:
        typer.echo(f"  obligation to delist: {d['obligation']['status']}")


@app.command("resolve")
def resolve_cmd(
    dispute: DisputeArg,
    verdict: Annotated[str, typer.Option("--verdict", help="upheld or rejected.")],
    note: Annotated[str, typer.Option("--note", help="Why, for the record.")] = "",
    config: ConfigOpt = None,
    key_file: KeyOpt = None,
    member: MemberOpt = None,
    out: OutOpt = None,
    data_dir: DataDir = None,
    passphrase_env: PassEnvOpt = None,
) -> None:
    """Give an observer's verdict on a dispute (upheld = a false positive), through the
    observer's gateway; with --out, sign offline with --key and --member.

    Example: riskshare dispute resolve 3fa9c2e1 --verdict upheld --config observer.toml
    """
    from token_incentive import dispute_of, resolve_body

    with open_ledger(replica_dir(data_dir, config)) as store:
        d = dispute_of(store.state(), dispute)
    send(
        "credits.resolve",
        resolve_body(d["id"], verdict, note),
        what=f"verdict on {d['id'][:16]}",
        via=Signing(config, out, key_file, member, data_dir, passphrase_env),
    )


@app.command("delisted")
def delisted_cmd(
    dispute: DisputeArg,
    config: ConfigOpt = None,
    key_file: KeyOpt = None,
    member: MemberOpt = None,
    out: OutOpt = None,
    data_dir: DataDir = None,
    passphrase_env: PassEnvOpt = None,
) -> None:
    """Discharge the obligation to delist an upheld dispute's entries (credits.delisted),
    once your gateway has published a newer index epoch without them.

    Example: riskshare dispute delisted 3fa9c2e1 --config member.toml
    """
    from token_incentive import delisted_body, dispute_of

    with open_ledger(replica_dir(data_dir, config)) as store:
        d = dispute_of(store.state(), dispute)
    send(
        "credits.delisted",
        delisted_body(d["id"]),
        what=f"delisting for {d['id'][:16]}",
        via=Signing(config, out, key_file, member, data_dir, passphrase_env),
    )


@app.command("evidence")
def evidence_cmd(
    dispute: DisputeArg,
    value: Annotated[
        list[str] | None,
        typer.Option(
            "--value",
            help="The identifier of each disputed hit, in order (repeat); default: read one"
            " per line from standard input, which keeps them out of shell history.",
        ),
    ] = None,
    openings_out: Annotated[
        Path | None,
        typer.Option(
            "--openings-out",
            help="Also write the openings (identifier, evidence reference, salt, proof) as"
            " JSON lines here, a new file of mode 0600, to give the arbitrator off the ledger.",
        ),
    ] = None,
    config: ConfigOpt = None,
    key_file: KeyOpt = None,
    member: MemberOpt = None,
    out: OutOpt = None,
    data_dir: DataDir = None,
    passphrase_env: PassEnvOpt = None,
) -> None:
    """Answer a dispute against your list: open the evidence you committed for each
    disputed entry (credits.evidence), from the list epoch the receipt was answered from.

    The querier names the disputed identifiers off the ledger; each opening reveals that
    one entry's salted evidence hash and inclusion proof on the ledger, and nothing else.

    Example: riskshare dispute evidence 3fa9c2e1 --config member.toml < disputed.txt
    """
    from gateway.credits import dispute_openings

    who = acting_member(member, config)
    directory = replica_dir(data_dir, config)
    values = list(value or [])
    if not values and not sys.stdin.isatty():
        values = [line.strip() for line in sys.stdin if line.strip()]
    with open_ledger(directory) as store:
        opened = dispute_openings(ledger_path(directory).parent, store, dispute, who, values)
    if openings_out is not None:
        write_private(openings_out, "".join(o.to_json() + "\n" for o in opened.openings))
        typer.echo(f"{len(opened.openings)} opening(s) for the arbitrator in {openings_out}")
    send(
        "credits.evidence",
        opened.body,
        what=f"evidence for {opened.dispute_id[:16]}",
        via=Signing(config, out, key_file, member, data_dir, passphrase_env),
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dispute")
