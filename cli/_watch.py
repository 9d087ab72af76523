"""``riskshare watch``: watchlists of the member's own book, and their alerts.

A book (customers, payees of pending payments) is stored only in the member's data
directory (``watch.sqlite``). The running gateway evaluates it under every publisher's
OPRF key (metered at the watch price, docs/CREDITS.md) and alerts when a publisher
lists one of its identifiers (gateway._watcher). Alerts name the book, line and the
member's own reference; ``--show-values`` prints the identifier too, on this terminal
only.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from cli._ledger import DataDir, ledger_path

__all__ = ["register"]

app = typer.Typer(
    help="Watchlists: monitor the member's own book against every member's lists.",
    no_args_is_help=True,
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _data_dir(data_dir: Path | None) -> Path:
    return ledger_path(data_dir).parent


@app.command("add")
def add_cmd(
    file: Annotated[Path, typer.Option("--file", help="CSV book: a value column (or the first)")],
    list_type: Annotated[str, typer.Option("--list-type", help="The list type to watch.")],
    id_type: Annotated[str, typer.Option("--id-type", help="The identifier type of the book.")],
    name: Annotated[
        str | None, typer.Option("--name", help="The book's name [default: the file's stem].")
    ] = None,
    column: Annotated[str, typer.Option("--column", help="The identifier column.")] = "value",
    ref_column: Annotated[
        str, typer.Option("--ref-column", help="The member's own reference column, if any.")
    ] = "ref",
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Register a book to watch; every row must pass the normaliser or nothing is stored.

    Rejected rows are reported by line and reason, never by value. Watching is charged
    per identifier at the watch price (riskshare credits params).

    Example: riskshare watch add --file customers.csv --list-type transaction_fraud --id-type phone
    """
    from gateway.watch import add_watch_book, read_book_file

    rows = read_book_file(file, column, ref_column)
    book = add_watch_book(
        _data_dir(data_dir), name or file.stem, list_type, id_type, rows, time.time_ns() // 10**6
    )
    if as_json:
        typer.echo(json.dumps({"book": book.name, "size": book.size, "list_type": list_type}))
    else:
        typer.echo(f"watching {book.name}: {book.size} {id_type} identifiers on {list_type}")


@app.command("remove")
def remove_cmd(
    name: Annotated[str, typer.Argument(help="The book's name.")],
    data_dir: DataDir = None,
) -> None:
    """Stop watching a book and delete it, its outputs and its alerts.

    Example: riskshare watch remove customers
    """
    from gateway.watch import remove_watch_book

    remove_watch_book(_data_dir(data_dir), name)
    typer.echo(f"removed {name}")


@app.command("list")
def list_cmd(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """The watched books, their sizes and the members they are evaluated against.

    Example: riskshare watch list --json
    """
    from gateway.watch import watch_books

    books = watch_books(_data_dir(data_dir))
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "book": w.book.name,
                        "list_type": w.book.list_type,
                        "id_type": w.book.id_type,
                        "size": w.book.size,
                        "evaluated_by": list(w.evaluated_by),
                    }
                    for w in books
                ]
            )
        )
        return
    for w in books:
        by = ", ".join(w.evaluated_by) or "not evaluated yet"
        typer.echo(f"{w.book.name}: {w.book.size} {w.book.id_type} on {w.book.list_type} ({by})")


@app.command("alerts")
def alerts_cmd(
    include_cleared: Annotated[
        bool, typer.Option("--all", help="Include alerts cleared by a delisting.")
    ] = False,
    show_values: Annotated[
        bool, typer.Option("--show-values", help="Print each alert's identifier (in clear).")
    ] = False,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Alerts: watched identifiers another member lists (open ones, or --all).

    Example: riskshare watch alerts --json
    """
    from gateway.watch import watch_alerts

    found = watch_alerts(
        _data_dir(data_dir), include_cleared=include_cleared, with_values=show_values
    )
    if as_json:
        out: list[dict[str, Any]] = []
        for alert, value in found:
            row: dict[str, Any] = {
                "book": alert.book,
                "line": alert.line,
                "ref": alert.ref,
                "responder": alert.responder,
                "list_type": alert.list_type,
                "epoch": alert.epoch,
                "raised_ms": alert.raised_ms,
                "cleared_ms": alert.cleared_ms,
            }
            if value is not None:
                row["value"] = value
            out.append(row)
        typer.echo(json.dumps(out))
        return
    if not found:
        typer.echo("no alerts")
    for alert, value in found:
        state = "open" if alert.open else "cleared"
        shown = f" {value}" if value is not None else ""
        typer.echo(
            f"{alert.book} line {alert.line}{' (' + alert.ref + ')' if alert.ref else ''}{shown}:"
            f" listed by {alert.responder} on {alert.list_type} (epoch {alert.epoch}), {state}"
        )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="watch")
