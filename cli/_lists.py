"""``riskshare lists``: import, sync and inspect the member's own lists.

Each command wraps one library function (``adapters``; ``rotate-key`` wraps
``gateway.rotate_oprf_key``) and only parses and prints; errors propagate to
``cli._main``, which maps them to exit codes.

The list types, the identifier types each admits and their default retention come from
the ledger's ``gov.list_types`` when the data directory holds the member's replica
(``ledger.sqlite``): governance changes them there, and genesis set them. Without a
replica the adapters' built-in table (DESIGN §7) applies.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from adapters import (
    EvidenceOpening,
    SyncSummary,
    import_source,
    lists_status,
    open_entry_evidence,
    sync_sources,
    verify_opening,
)
from cli._files import write_private

__all__ = ["register"]

app = typer.Typer(help="Import, sync and inspect the member's own lists.", no_args_is_help=True)

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        # RISKSHARE_DATA_DIR is the old name of the same directory (deprecated).
        envvar=["RISKSHARE_MEMBER_DATA_DIR", "RISKSHARE_DATA_DIR"],
        help="The member's data directory (lists.sqlite, index.sqlite, reports/).",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
MaxShare = Annotated[
    float | None,
    typer.Option(
        "--max-reject-share",
        min=0.0,
        max=1.0,
        help="Stop before changing the index if more than this share of rows is invalid"
        " (default: the mapping's [sync] max_reject_share, else 0.05).",
    ),
]


def _policies(data_dir: Path) -> dict[str, Any]:
    from gateway.setup import ledger_policies

    policies = ledger_policies(data_dir)
    return {} if policies is None else {"policies": policies}


def _when(ts: int | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A rich progress line on stderr (rows read, entries changed) when it is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:>10,.0f}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def for_source(name: str) -> Any:
        def update(phase: str, count: int) -> None:
            label = f"{name}: {'rows read' if phase == 'read' else 'index changes'}"
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=None)
            bar.update(tasks[label], completed=count)

        return update

    with bar:
        yield for_source


@contextmanager
def _rotation_progress(
    list_type: str, enabled: bool, console: Console | None = None
) -> Iterator[Any]:
    """A bar of the entries re-evaluated under the new key, on stderr if it is a terminal.

    Yields the ``progress(done, total)`` callback ``psi.IndexStore.rotate_key`` calls, or
    None when disabled or there is no terminal to draw on (``console`` overrides that).
    """
    if not enabled:
        yield None
        return
    if console is None:
        if not sys.stderr.isatty():
            yield None
            return
        console = Console(stderr=True)
    bar = Progress(
        TextColumn(f"{list_type}: re-evaluating under the new key"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("rotate", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def _summary_dict(s: SyncSummary) -> dict[str, Any]:
    return {
        "source": s.source,
        "sync_id": s.sync_id,
        "mode": s.mode,
        "rows_read": s.rows_read,
        "accepted": s.accepted,
        "rejected": s.rejected,
        "blank": s.blank,
        "duplicates": s.duplicates,
        "reject_share": round(s.reject_share, 6),
        "rejects_by_reason": dict(s.rejects_by_reason),
        "added": s.added,
        "updated": s.updated,
        "removed": s.removed,
        "removed_by_cause": dict(s.removed_by_cause),
        "report": None if s.report is None else str(s.report),
        "epochs": [
            {
                "list_type": e.list_type,
                "epoch": e.epoch,
                "size": e.size,
                "evidence_root": e.evidence_root.hex(),
                "index_epoch": e.index_epoch,
                "index_root": None if e.index_root is None else e.index_root.hex(),
                "key_id": e.key_id,
            }
            for e in s.epochs
        ],
    }


def _print_summary(s: SyncSummary) -> None:
    typer.echo(
        f"{s.source}: {s.mode} sync #{s.sync_id}: {s.rows_read} rows read, {s.accepted} accepted,"
        f" {s.rejected} rejected ({s.reject_share:.2%}), {s.blank} blank, {s.duplicates} duplicate"
    )
    causes = ", ".join(f"{k} {v}" for k, v in sorted(s.removed_by_cause.items()))
    typer.echo(
        f"  index: +{s.added} added, ~{s.updated} updated, -{s.removed} removed"
        + (f" ({causes})" if causes else "")
    )
    for e in s.epochs:
        typer.echo(
            f"  {e.list_type}: epoch {e.epoch} (index epoch {e.index_epoch}), {e.size} entries,"
            f" evidence root {e.evidence_root.hex()}"
        )
    if s.report is not None:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(s.rejects_by_reason.items()))
        typer.echo(f"  error report: {s.report} ({reasons})")


@app.command("import")
def import_cmd(
    source: Annotated[
        str, typer.Argument(help="A .csv/.tsv/.jsonl/.sqlite file, a SQLAlchemy URL, or env:NAME.")
    ],
    mapping: Annotated[Path, typer.Option("--mapping", "-m", help="The mapping file (TOML).")],
    data_dir: DataDir,
    max_reject_share: MaxShare = None,
    as_json: AsJson = False,
) -> None:
    """Register a source with its mapping and run a full import into the index.

    A URL with a password is refused: put it in an environment variable and pass
    env:NAME. Invalid rows go to an error report (values masked).

    Example: riskshare lists import core.csv --mapping fraud.toml --data-dir /var/lib/riskshare
    """
    with _progress(not as_json) as bar:
        summary = import_source(
            data_dir,
            source,
            mapping,
            now=int(time.time()),
            max_reject_share=max_reject_share,
            progress=None if bar is None else bar(source),
            **_policies(data_dir),
        )
    if as_json:
        typer.echo(json.dumps(_summary_dict(summary), sort_keys=True))
    else:
        _print_summary(summary)


@app.command("sync")
def sync_cmd(
    data_dir: DataDir,
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only this source (repeatable).")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Compare everything, ignoring watermarks.")
    ] = False,
    max_reject_share: MaxShare = None,
    as_json: AsJson = False,
) -> None:
    """Sync every registered source: incremental by watermark, else full comparison.

    Propagates additions, updates, delistings (flag or row gone) and expiry into the
    index, and records a new epoch with its evidence root per changed list type.
    Rows deleted outright are only seen by a full comparison (--full).

    Example: riskshare lists sync --data-dir /var/lib/riskshare
    """
    with _progress(not as_json) as bar:
        summaries = sync_sources(
            data_dir,
            now=int(time.time()),
            names=source or (),
            full=full,
            max_reject_share=max_reject_share,
            progress=bar,
            **_policies(data_dir),
        )
    if as_json:
        typer.echo(json.dumps([_summary_dict(s) for s in summaries], sort_keys=True))
    else:
        for s in summaries:
            _print_summary(s)


@app.command("status")
def status_cmd(data_dir: DataDir, as_json: AsJson = False) -> None:
    """Per list type: entries, index size, epoch, last sync and rejects; then per source.

    Example: riskshare lists status --data-dir /var/lib/riskshare
    """
    st = lists_status(data_dir)
    if as_json:
        doc = {
            "lists": [
                {
                    "list_type": ls.list_type,
                    "entries": ls.entries,
                    "index_entries": ls.index_entries,
                    "epoch": None if ls.epoch is None else ls.epoch.epoch,
                    "index_epoch": None if ls.epoch is None else ls.epoch.index_epoch,
                    "evidence_root": None if ls.epoch is None else ls.epoch.evidence_root.hex(),
                    "last_sync": None if ls.last_sync is None else ls.last_sync.finished_at,
                    "rejects": ls.rejects,
                }
                for ls in st.lists
            ],
            "sources": [
                {
                    "name": name,
                    "location": location,
                    "last_sync": None if last is None else last.finished_at,
                    "status": None if last is None else last.status,
                    "rows_read": None if last is None else last.rows_read,
                    "rejected": None if last is None else last.rejected,
                }
                for name, location, last in st.sources
            ],
        }
        typer.echo(json.dumps(doc, sort_keys=True))
        return
    if not st.lists and not st.sources:
        typer.echo("no lists yet: run `riskshare lists import`")
        return
    typer.echo(
        f"{'list type':<20} {'entries':>9} {'index':>9} {'epoch':>6} {'rejects':>8}  last sync"
    )
    for ls in st.lists:
        epoch = "-" if ls.epoch is None else str(ls.epoch.epoch)
        finished = None if ls.last_sync is None else ls.last_sync.finished_at
        typer.echo(
            f"{ls.list_type:<20} {ls.entries:>9} {ls.index_entries:>9} {epoch:>6}"
            f" {ls.rejects:>8}  {_when(finished)}"
        )
    typer.echo("")
    for name, location, last in st.sources:
        state = (
            "never synced"
            if last is None
            else (
                f"{last.status} {_when(last.finished_at)}: {last.rows_read} rows,"
                f" {last.rejected} rejected" + (f" ({last.report})" if last.report else "")
            )
        )
        typer.echo(f"source {name} <{location}>: {state}")


@app.command("open-evidence")
def open_evidence_cmd(
    list_type: Annotated[str, typer.Argument(help="The list type, e.g. transaction_fraud.")],
    id_type: Annotated[str, typer.Argument(help="cn_id, phone, bank_card, account or device.")],
    data_dir: DataDir,
    epoch: Annotated[
        int | None, typer.Option("--epoch", help="The disputed epoch (default: latest).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write the opening here, a new file of mode 0600 (default: stdout)."
        ),
    ] = None,
) -> None:
    """Open one entry's evidence commitment for an arbitrator (identifier read from stdin).

    The identifier is read from standard input so that it stays out of shell history.
    The opening reveals that entry, its evidence reference and salt, and an inclusion
    proof; no other entry.

    Example: echo 13812345678 | riskshare lists open-evidence transaction_fraud phone -o o.json
    """
    value = sys.stdin.readline().strip()
    opening, record = open_entry_evidence(data_dir, list_type, id_type, value, epoch=epoch)
    text = opening.to_json()
    if out is None:
        typer.echo(text)
    else:
        write_private(out, text + "\n")
        typer.echo(f"opening of {list_type} epoch {opening.epoch} written to {out}")
    typer.echo(
        f"evidence root {record.evidence_root.hex()}, size {record.size}"
        f" (index epoch {record.index_epoch})",
        err=True,
    )


@app.command("verify-evidence")
def verify_evidence_cmd(
    opening: Annotated[Path, typer.Argument(help="An opening written by open-evidence.")],
    root: Annotated[
        str, typer.Option("--root", help="The epoch's evidence root (hex), from the ledger.")
    ],
    size: Annotated[
        int, typer.Option("--size", min=0, help="The epoch's index size, from the same record.")
    ],
) -> None:
    """Check an evidence opening against the evidence root and size recorded on the ledger.

    Example: riskshare lists verify-evidence opening.json --root 9f86d081884c7d65... --size 1200
    """
    parsed = EvidenceOpening.from_json(opening.read_text(encoding="utf-8"))
    try:
        root_bytes = bytes.fromhex(root)
    except ValueError:
        raise typer.BadParameter("--root must be hex") from None
    verify_opening(parsed, root_bytes, size)
    typer.echo(
        f"ok: {parsed.list_type} epoch {parsed.epoch} committed evidence"
        f" {parsed.evidence_ref!r} for this {parsed.id_type} (leaf {parsed.leaf_index}"
        f" of {parsed.tree_size})"
    )


@app.command("rotate-key")
def rotate_key_cmd(
    list_type: Annotated[str, typer.Argument(help="The list type, e.g. transaction_fraud.")],
    data_dir: DataDir,
    as_json: AsJson = False,
) -> None:
    """Rotate a list type's OPRF key: rebuild its index under a fresh key, a new epoch.

    Run it beside the member's running gateway: the old key keeps answering requests
    that name it while the gateway commits the new key and epoch to the ledger, and is
    retired (its secret deleted) once the grace period after that has passed. Queriers
    fetch the new snapshot whole; no query fails.

    Example: riskshare lists rotate-key transaction_fraud --data-dir /var/lib/riskshare
    """
    from gateway import KEY_GRACE_MS, rotate_oprf_key

    with _rotation_progress(list_type, not as_json) as bar:
        rotation = rotate_oprf_key(data_dir, list_type, progress=bar)
    if as_json:
        doc = {
            "list_type": rotation.list_type,
            "old_key_id": rotation.old_key_id,
            "new_key_id": rotation.new_key_id,
            "epoch": rotation.epoch,
            "size": rotation.size,
        }
        typer.echo(json.dumps(doc, sort_keys=True))
        return
    typer.echo(
        f"{rotation.list_type}: OPRF key {rotation.old_key_id} -> {rotation.new_key_id},"
        f" index epoch {rotation.epoch}, {rotation.size}"
        f" {'entry' if rotation.size == 1 else 'entries'} re-evaluated"
    )
    typer.echo(
        "  the gateway commits the new key and epoch to the ledger; the old key answers"
        f" until {KEY_GRACE_MS // 1000} s after that, then is retired"
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="lists")
