"""``riskshare ledger``: inspect and verify the local ledger replica.

Every command reads ``<data-dir>/ledger.sqlite`` (the gateway keeps its replica there)
and is a thin wrapper over a public function of :mod:`ledger`. ``--data-dir`` defaults
to ``$RISKSHARE_MEMBER_DATA_DIR`` (the variable that overrides the gateway's
``[member] data_dir``, and ``riskshare lists``' data directory), else the deprecated
``$RISKSHARE_DATA_DIR``, else ``./riskshare-data``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ledger import ContractRegistry, Store

__all__ = ["contract_registry", "ledger_path", "open_ledger", "register"]

app = typer.Typer(help="Inspect and verify the local ledger replica.", no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The node's data directory [default: $RISKSHARE_MEMBER_DATA_DIR or ./riskshare-data].",
        show_default=False,
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Member = Annotated[str | None, typer.Option("--member", help="Only transactions it submitted.")]
Kind = Annotated[str | None, typer.Option("--kind", help="Only transactions of this kind.")]
Party = Annotated[
    str | None, typer.Option("--party", help="Only transactions naming this member as a party.")
]


def ledger_path(data_dir: Path | None) -> Path:
    """``<data-dir>/ledger.sqlite``, with the data directory's default applied."""
    # RISKSHARE_DATA_DIR is the old name, kept as a deprecated alias.
    env = os.environ.get("RISKSHARE_MEMBER_DATA_DIR") or os.environ.get("RISKSHARE_DATA_DIR")
    base = data_dir or Path(env or "riskshare-data")
    return base / "ledger.sqlite"


def open_ledger(data_dir: Path | None) -> Store:
    """Open an existing replica (never creates one)."""
    from ledger import Store

    return Store(ledger_path(data_dir), create=False)


def contract_registry() -> ContractRegistry:
    """The contracts a replica runs: the consortium's registry, as the gateway runs it.

    The set of contracts is a consensus rule, so ``verify`` replays with exactly the one
    the gateway assembles (gov, pub, credits, every scenario).
    """
    from gateway.setup import consortium_registry

    return consortium_registry()


def _print(value: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))
        return
    for key, item in value.items():
        if isinstance(item, list | dict):
            item = json.dumps(item, sort_keys=True, ensure_ascii=False)
        typer.echo(f"{key:<14} {item}")


def _tx_line(tx: dict[str, Any]) -> str:
    status = "ok" if tx["ok"] else f"REFUSED: {tx['reason']}"
    return (
        f"{tx['height']:>8}.{tx['index']:<4} {tx['tx_id'][:16]}  {tx['member'] or '?':<12}"
        f" {tx['kind'] or '?':<24} seq {tx['seq']}  {status}"
    )


@app.command("show")
def show_cmd(
    data_dir: DataDir = None,
    height: Annotated[int | None, typer.Option("--height", help="Show this block.")] = None,
    tx: Annotated[str | None, typer.Option("--tx", help="Show this transaction (hex id).")] = None,
    as_json: AsJson = False,
) -> None:
    """Show the replica's head and members, one block, or one transaction.

    Example: riskshare ledger show --data-dir ./node1 --height 12
    """
    from ledger import block_summary, ledger_summary, tx_summary

    with open_ledger(data_dir) as store:
        if tx is not None:
            _print(tx_summary(store, bytes.fromhex(tx)), as_json)
        elif height is not None:
            block = block_summary(store, height)
            if as_json:
                _print(block, True)
                return
            _print({k: v for k, v in block.items() if k != "txs"}, False)
            for line in block["txs"]:
                typer.echo(_tx_line(line))
        else:
            _print(ledger_summary(store), as_json)


@app.command("tail")
def tail_cmd(
    data_dir: DataDir = None,
    count: Annotated[int, typer.Option("-n", "--count", help="How many transactions.")] = 10,
    member: Member = None,
    kind: Kind = None,
    party: Party = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new ones.")] = False,
    as_json: AsJson = False,
) -> None:
    """Print the latest transactions, oldest first; --follow keeps watching.

    Example: riskshare ledger tail -n 20 --kind credits.receipt --member bank-a
    """
    from ledger import tx_summary

    with open_ledger(data_dir) as store:
        records = store.txs(member=member, kind=kind, party=party, limit=count, newest_first=True)
        records.reverse()
        last = records[-1].height if records else -1
        while True:
            for record in records:
                line = tx_summary(store, record.tx_id) | {"index": record.index}
                line["height"] = record.height
                typer.echo(json.dumps(line, sort_keys=True) if as_json else _tx_line(line))
            if not follow:
                return
            time.sleep(0.5)
            records = store.txs(member=member, kind=kind, party=party, from_height=last + 1)
            if records:
                last = records[-1].height


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="RISKSHARE_CONFIG",
        help="The member's gateway config: its data directory, and its genesis file to"
        " anchor on (ledger.genesis).",
        show_default=False,
    ),
]


def _checkpoint(text: str | None) -> tuple[int, bytes] | None:
    if text is None:
        return None
    height, sep, digest = text.partition(":")
    try:
        if not sep:
            raise ValueError
        value = (int(height), bytes.fromhex(digest))
        if value[0] < 0 or len(value[1]) != 32:
            raise ValueError
    except ValueError:
        raise typer.BadParameter(
            "expected HEIGHT:HASH, the header hash in hex", param_hint="--checkpoint"
        ) from None
    return value


def _genesis_file_hash(path: Path) -> bytes:
    from ledger import EncodingError, LedgerError, decode_block

    try:
        block = decode_block(path.read_bytes())
    except OSError as exc:
        raise LedgerError(f"cannot read the genesis block {path} ({exc.strerror})") from None
    except EncodingError as exc:
        raise LedgerError(f"{path} is not a genesis block: {exc}") from None
    if block.height != 0:
        raise LedgerError(f"{path} is not a genesis block (height {block.height})")
    return block.hash


@app.command("verify")
def verify_cmd(
    data_dir: DataDir = None,
    config: ConfigOpt = None,
    genesis: Annotated[
        Path | None,
        typer.Option("--genesis", help="Anchor on this genesis block file.", show_default=False),
    ] = None,
    genesis_hash: Annotated[
        str | None,
        typer.Option(
            "--genesis-hash", help="Anchor on this genesis block hash (hex).", show_default=False
        ),
    ] = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            help="Also trust this header hash at this height: HEIGHT:HASH (hex).",
            show_default=False,
        ),
    ] = None,
    unanchored: Annotated[
        bool,
        typer.Option(
            "--unanchored",
            help="Check the store against its own genesis only (a rebuilt store passes too).",
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Re-verify the whole chain: hashes, Merkle roots, signatures, state by replay,
    anchored on the consortium's genesis block, and no block time ahead of this clock.

    The anchor is the genesis block hash you trust: --genesis-hash, else the hash of the
    --genesis file, else of the genesis file the member's --config names (the gateway
    applied that file when the replica was created). Without one, verification would
    only show that the store agrees with itself, so it refuses unless --unanchored is
    given. --checkpoint adds a header hash you trust at some height (from another
    member, say). A block stamped more than the consortium's clock skew ahead of this
    machine's clock is reported: no replica would have applied it.

    Fails (exit 2) naming the first height that is wrong and what is wrong with it.

    Example: riskshare ledger verify --config member.toml --checkpoint 1200:9f3a...e1
    """
    from ledger import LedgerError, now_ms, verify_chain

    if config is not None:
        from gateway.setup import load_config

        loaded = load_config(config)
        data_dir = data_dir or loaded.member.data_dir
        genesis = genesis or loaded.ledger.genesis
    anchor: bytes | None = None
    if genesis_hash is not None:
        try:
            anchor = bytes.fromhex(genesis_hash)
        except ValueError:
            anchor = b""
        if len(anchor) != 32:
            raise typer.BadParameter("expected 32 bytes in hex", param_hint="--genesis-hash")
    elif genesis is not None:
        anchor = _genesis_file_hash(genesis)
    trusted = _checkpoint(checkpoint)
    if anchor is None and not unanchored:
        raise LedgerError(
            "nothing to anchor on: give --config (or $RISKSHARE_CONFIG), --genesis or"
            " --genesis-hash, or --unanchored to check the store against its own genesis"
        )
    with open_ledger(data_dir) as store:
        report = verify_chain(
            store,
            contract_registry(),
            genesis_hash=anchor,
            checkpoint=trusted,
            now=now_ms(),
        )
    anchored = (
        f"anchored on genesis {report.genesis_hash.hex()}"
        if report.anchored_genesis
        else "NOT anchored (--unanchored): a rebuilt store would pass too"
    )
    if report.anchored_height is not None:
        anchored += f" and the checkpoint at height {report.anchored_height}"
    summary = {
        "ok": True,
        "blocks": report.blocks,
        "transactions": report.txs,
        "refused": report.refused,
        "head": report.height,
        "head_hash": report.head_hash.hex(),
        "state_digest": report.state_digest.hex(),
        "genesis_hash": report.genesis_hash.hex(),
        "anchored": report.anchored_genesis,
        "checkpoint_height": report.anchored_height,
    }
    if as_json:
        _print(summary, True)
    else:
        typer.echo(
            f"ok: {report.blocks} blocks, {report.txs} transactions ({report.refused} refused);"
            f" head {report.height} {report.head_hash.hex()}, state {report.state_digest.hex()};"
            f" {anchored}"
        )


@app.command("proof")
def proof_cmd(
    tx_id: Annotated[str, typer.Argument(help="The transaction id (hex).")],
    data_dir: DataDir = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the proof here.")] = None,
) -> None:
    """Print (or write) an inclusion proof for a transaction, checkable offline.

    Example: riskshare ledger proof 3f2a...e1 --out receipt-proof.json
    """
    from ledger import proof_document

    with open_ledger(data_dir) as store:
        document = proof_document(store, bytes.fromhex(tx_id))
    text = json.dumps(document, indent=2, sort_keys=True)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n")
        typer.echo(f"proof for {tx_id} at height {document['height']} written to {out}")


@app.command("check-proof")
def check_proof_cmd(
    proof_file: Annotated[Path, typer.Argument(help="A proof written by `ledger proof`.")],
    proposer_key: Annotated[
        str | None, typer.Option(help="Trust headers signed by this Ed25519 key (hex).")
    ] = None,
    header_hash: Annotated[
        str | None, typer.Option(help="Trust exactly this block header hash (hex).")
    ] = None,
) -> None:
    """Check an inclusion proof offline, against a key or header hash you trust.

    Example: riskshare ledger check-proof receipt-proof.json --proposer-key 9c1e...07
    """
    from ledger import decode_tx_proof, verify_tx_proof

    document = json.loads(proof_file.read_text())
    stx = verify_tx_proof(
        decode_tx_proof(bytes.fromhex(document["proof"])),
        proposer_key=None if proposer_key is None else bytes.fromhex(proposer_key),
        header_hash=None if header_hash is None else bytes.fromhex(header_hash),
    )
    typer.echo(
        f"ok: {stx.tx_id.hex()} ({stx.tx.kind} by {stx.tx.member}, seq {stx.tx.seq}) is in the"
        f" block at height {document['height']}"
    )


@app.command("export")
def export_cmd(
    data_dir: DataDir = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
    member: Member = None,
    kind: Kind = None,
    party: Party = None,
    from_height: Annotated[int, typer.Option("--from-height", help="First height.")] = 0,
) -> None:
    """Export blocks and transactions as JSON lines (only transactions when filtered).

    Bytes inside bodies appear as {"hex": ...}.

    Example: riskshare ledger export --kind credits.receipt --party bank-a --out made.jsonl
    """
    from ledger import export_jsonl

    filters: dict[str, Any] = {
        "member": member,
        "kind": kind,
        "party": party,
        "from_height": from_height,
    }
    with open_ledger(data_dir) as store:
        if out is None:
            export_jsonl(store, sys.stdout, **filters)
            return
        with out.open("w", encoding="utf-8") as handle:
            count = export_jsonl(store, handle, **filters)
    typer.echo(f"{count} lines written to {out}", err=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ledger")
