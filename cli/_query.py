"""``riskshare query``: ask other members whether identifiers are on their lists.

The command talks to the member's own running gateway (its admin socket); the gateway
normalises, blinds, asks each responder over mutual TLS, verifies every proof and
receipt, and looks the answers up in verified snapshots. Exit code: 0 when at least
one identifier is listed by at least one member, 1 when none is, 2 on any error
(including a responder that could not answer, when nothing was found elsewhere).

Every request is signed with a purpose code, a legal basis and, when consent is the
basis, a consent reference (docs/COMPLIANCE.md): from ``--purpose``, ``--legal-basis``
and ``--consent-ref``, or per row from the ``purpose``, ``legal_basis`` and
``consent_ref`` columns of a ``--file`` (a blank cell takes the option's value); the
gateway's ``[query]`` settings fill in what neither gives. Rows with different values
are sent as separate requests.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from cli._files import write_private

__all__ = ["register"]

# Optional per-row columns of a --file, signed into that row's request.
FIELD_COLUMNS = ("purpose", "legal_basis", "consent_ref")

# (purpose, legal basis, consent reference); "" means "the default" (as
# gateway.admin.Fields, spelled here so that --help does not import the gateway).
Fields = tuple[str, str, str]
# A progress bar only for more than one request's worth (gateway.admin.BATCH).
_BATCH = 1000


def _values_from_file(path: Path, column: str) -> tuple[list[str], list[Fields] | None]:
    """The identifiers in a CSV file (the named column if a header names it, else the
    first), and each row's purpose, legal basis and consent reference when the header
    has those columns."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return [], None
    header = [cell.strip() for cell in rows[0]]
    if column not in header:
        return [row[0] if row else "" for row in rows], None

    def cell(row: list[str], name: str) -> str:
        if name not in header:
            return ""
        position = header.index(name)
        return row[position].strip() if position < len(row) else ""

    body = rows[1:]
    position = header.index(column)
    values = [row[position] if position < len(row) else "" for row in body]
    if not any(name in header for name in FIELD_COLUMNS):
        return values, None
    fields = [(cell(r, "purpose"), cell(r, "legal_basis"), cell(r, "consent_ref")) for r in body]
    return values, fields


def _values_from_stdin() -> list[str]:
    """Identifiers on standard input, one per line (blank lines skipped)."""
    values = [line.strip() for line in sys.stdin if line.strip()]
    if not values:
        raise typer.BadParameter("no identifier on standard input")
    return values


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Any]:
    if not enabled or total <= _BATCH or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        yield bar, bar.add_task("querying", total=total)


def run_query(
    config: Path,
    list_type: str,
    id_type: str,
    values: Sequence[str],
    *,
    members: Sequence[str] = (),
    purpose: str = "",
    deadline_ms: int = 0,
    bucket_mode: bool = False,
    progress: bool = True,
    legal_basis: str = "",
    consent_ref: str = "",
    fields: Sequence[Fields] | None = None,
) -> dict[str, Any]:
    """``gateway.admin.screen`` with a progress bar on a terminal."""
    from gateway.admin import screen

    with _progress(len(values), progress) as bar:
        return screen(
            config,
            list_type,
            id_type,
            values,
            members=members,
            purpose=purpose,
            deadline_ms=deadline_ms,
            bucket_mode=bucket_mode,
            legal_basis=legal_basis,
            consent_ref=consent_ref,
            fields=fields,
            progress=None if bar is None else (lambda n: bar[0].advance(bar[1], n)),
        )


def _print_human(result: dict[str, Any], limit: int = 50) -> None:
    typer.echo(
        f"{result['accepted']} of {result['queried']} identifiers queried on "
        f"{result['list_type']} ({result['id_type']}); {result['hits']} listed"
    )
    for answer in result["answers"]:
        state = (
            "error " + "; ".join(f"{e['code']}: {e['message']}" for e in answer["errors"])
            if answer["errors"]
            else f"{answer['hits']} hit(s), {len(answer['receipts'])} receipt(s)"
        )
        typer.echo(f"  {answer['member']:<16} {state}")
    shown = [r for r in result["results"] if r["hit"]][:limit]
    for row in shown:
        who = ", ".join(
            m["member"] + (f" (reason {m['reason']})" if "reason" in m else "")
            for m in row["members"]
        )
        typer.echo(f"  HIT  #{row['index']}: listed by {who}")
    for row in result["rejected"][:limit]:
        typer.echo(f"  SKIP #{row['index']}: {row['reason']}")


def _exit_code(result: dict[str, Any]) -> int:
    from cli._main import EXIT_ERROR, EXIT_NO_HIT, EXIT_OK

    if result["hits"]:
        return EXIT_OK
    if any(a["errors"] for a in result["answers"]) or not result["answers"]:
        return EXIT_ERROR
    return EXIT_NO_HIT


def register(root: typer.Typer) -> None:
    @root.command("query")
    def query_cmd(
        value: Annotated[
            str | None,
            typer.Argument(
                help="One identifier to screen; - (or nothing, with standard input not a"
                " terminal) reads identifiers from standard input, one per line."
            ),
        ] = None,
        id_type: Annotated[
            str, typer.Option("--id-type", help="cn_id, phone, bank_card, account or device.")
        ] = "phone",
        list_type: Annotated[
            str, typer.Option("--list", help="The list type, e.g. transaction_fraud.")
        ] = "transaction_fraud",
        member: Annotated[
            list[str] | None, typer.Option("--member", help="Ask only this member (repeatable).")
        ] = None,
        ask_all: Annotated[
            bool, typer.Option("--all", help="Ask every member holding the list (default).")
        ] = False,
        file: Annotated[
            Path | None, typer.Option("--file", help="CSV file of identifiers to screen.")
        ] = None,
        column: Annotated[
            str, typer.Option(help="The CSV column holding identifiers (else the first).")
        ] = "value",
        out: Annotated[
            Path | None,
            typer.Option(
                "--out",
                help="Write one CSV row per identifier here (identifiers in clear: a new file"
                " of mode 0600).",
            ),
        ] = None,
        purpose: Annotated[
            str,
            typer.Option(help="Purpose code signed into the request [default: config's]."),
        ] = "",
        legal_basis: Annotated[
            str,
            typer.Option(
                "--legal-basis",
                help="The legal basis for screening these identifiers [default: config's"
                " query.legal_basis].",
            ),
        ] = "",
        consent_ref: Annotated[
            str,
            typer.Option(
                "--consent-ref",
                help="A reference to the consent record, when consent is the basis (the"
                " reference only, never the consent).",
            ),
        ] = "",
        deadline_ms: Annotated[int, typer.Option(help="Per-member deadline.")] = 0,
        bucket: Annotated[
            bool,
            typer.Option(
                "--bucket",
                help="Bucket mode: no local snapshot needed, but each query reveals a hash"
                " prefix of the identifier to the responder, the same for every query of it"
                " (so queries of one identifier are linkable): at most 16 bits unless the"
                " consortium sets pub.bucket_max_bits, which leaves about 150,000 candidates"
                " of a 10^10 phone space; an answer whose bucket holds fewer than 4096"
                " entries is refused.",
            ),
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        config: Annotated[
            Path,
            typer.Option("--config", "-c", envvar="RISKSHARE_CONFIG", help="Gateway config."),
        ] = Path("member.toml"),
    ) -> None:
        """Screen identifiers against other members' lists (privately: responders see
        only blinded elements; every query is a receipt on the ledger).

        Each request is signed with a purpose, a legal basis and an optional consent
        reference; a --file may give them per row in columns purpose, legal_basis and
        consent_ref.

        An identifier given as an argument stays in the shell's history:
        give "-" and pipe identifiers in on standard input, one per line
        (with no VALUE and no --file, standard input is read when it is not
        a terminal).

        Exit code 0: at least one hit; 1: no hit; 2: error.

        Example: riskshare query 13800138000 --id-type phone --list transaction_fraud --all

        Example: printf '%s\\n' "$PHONE" | riskshare query - --id-type phone
        """
        from_stdin = value == "-" or (value is None and file is None and not sys.stdin.isatty())
        if file is not None and value is not None:
            raise typer.BadParameter("give one VALUE (or -) or --file, not both")
        if file is None and value is None and not from_stdin:
            raise typer.BadParameter("give one VALUE, - to read standard input, or --file")
        if member and ask_all:
            raise typer.BadParameter("--member and --all exclude each other")
        fields: list[Fields] | None = None
        if from_stdin:
            values = _values_from_stdin()
        elif value is not None:
            values = [value]
        else:
            assert file is not None
            values, fields = _values_from_file(file, column)
        result = run_query(
            config,
            list_type,
            id_type,
            values,
            members=member or (),
            purpose=purpose,
            deadline_ms=deadline_ms,
            bucket_mode=bucket,
            progress=not as_json,
            legal_basis=legal_basis,
            consent_ref=consent_ref,
            fields=fields,
        )
        if out is not None:
            _write_csv(out, values, result)
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False))
        else:
            _print_human(result)
        raise typer.Exit(_exit_code(result))


def _write_csv(path: Path, values: Sequence[str], result: dict[str, Any]) -> None:
    by_index = {row["index"]: row for row in result["results"]}
    reasons = {row["index"]: row["reason"] for row in result["rejected"]}
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(["index", "value", "status", "members"])
    for index, value in enumerate(values):
        if index in reasons:
            writer.writerow([index, value, f"rejected:{reasons[index]}", ""])
            continue
        row = by_index.get(index)
        members = ";".join(m["member"] for m in row["members"]) if row else ""
        writer.writerow([index, value, "hit" if members else "no_hit", members])
    write_private(path, handle.getvalue())
