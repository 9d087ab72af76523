"""Watchlist commands as library functions: what ``riskshare watch`` wraps.

They work on a member's data directory (``watch.sqlite``, and ``ledger.sqlite`` for the
list-type registry); the running gateway notices a new book at its next watch poll and
evaluates it (``gateway._watcher``). A book is all or nothing: if the normaliser
rejects any row, :class:`BookRejected` carries the report (line and reason code, never
the value) and nothing is stored.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from adapters import Rejected, normalise
from gateway._errors import InvalidRequestError
from gateway._watch_store import Alert, Book, WatchStore
from ledger import Store, list_types

__all__ = [
    "BookRejected",
    "WatchedBook",
    "add_watch_book",
    "read_book_file",
    "remove_watch_book",
    "watch_alerts",
    "watch_books",
]


class BookRejected(InvalidRequestError):
    """Rows the normaliser refused: ``(line, reason code)``; the book was not stored."""

    def __init__(self, rejects: list[tuple[int, str]], total: int) -> None:
        shown = ", ".join(f"line {line}: {reason}" for line, reason in rejects[:20])
        more = f" and {len(rejects) - 20} more" if len(rejects) > 20 else ""
        super().__init__(
            f"{len(rejects)} of {total} identifiers rejected by the normaliser ({shown}{more});"
            " nothing was stored"
        )
        self.rejects = rejects
        self.total = total


@dataclass(frozen=True, slots=True)
class WatchedBook:
    book: Book
    evaluated_by: tuple[str, ...]  # responders whose key the book is evaluated under


def read_book_file(
    path: Path, column: str = "value", ref_column: str = "ref"
) -> list[tuple[str, str]]:
    """``(identifier, reference)`` rows of a CSV book: the named columns if the header
    names them, else the first column and no reference."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return []
    header = [cell.strip() for cell in rows[0]]
    if column not in header:
        return [(row[0] if row else "", "") for row in rows]
    at = header.index(column)
    ref_at = header.index(ref_column) if ref_column in header else None
    return [
        (
            row[at] if at < len(row) else "",
            row[ref_at].strip() if ref_at is not None and ref_at < len(row) else "",
        )
        for row in rows[1:]
    ]


def _check_types(data_dir: Path, list_type: str, id_type: str) -> None:
    path = data_dir / "ledger.sqlite"
    if not path.exists():
        raise InvalidRequestError(f"{data_dir} holds no ledger replica: start the gateway first")
    with Store(path, create=False) as store:
        registry = list_types(store.state())
    if list_type not in registry:
        raise InvalidRequestError(
            f"{list_type!r} is not a list type of this consortium ({', '.join(sorted(registry))})"
        )
    id_types = tuple(registry[list_type].get("id_types", ()))
    if id_type not in id_types:
        raise InvalidRequestError(
            f"{id_type!r} is not an identifier type of {list_type} ({', '.join(id_types)})"
        )


def add_watch_book(
    data_dir: Path,
    name: str,
    list_type: str,
    id_type: str,
    rows: list[tuple[str, str]],
    now_ms: int,
) -> Book:
    """Normalise every row and store the book, or store nothing (:class:`BookRejected`)."""
    _check_types(data_dir, list_type, id_type)
    entries: list[tuple[str, str]] = []
    rejects: list[tuple[int, str]] = []
    for line, (value, ref) in enumerate(rows, 1):
        try:
            entries.append((normalise(id_type, value), ref))
        except Rejected as exc:
            rejects.append((line, exc.reason))
    if rejects:
        raise BookRejected(rejects, len(rows))
    store = WatchStore(data_dir / "watch.sqlite")
    try:
        return store.add_book(name, list_type, id_type, entries, now_ms)
    finally:
        store.close()


def remove_watch_book(data_dir: Path, name: str) -> None:
    store = WatchStore(data_dir / "watch.sqlite")
    try:
        store.remove_book(name)
    finally:
        store.close()


def watch_books(data_dir: Path) -> list[WatchedBook]:
    store = WatchStore(data_dir / "watch.sqlite")
    try:
        by_book: dict[str, list[str]] = {}
        for ev in store.evaluations():
            by_book.setdefault(ev.book, []).append(ev.responder)
        return [WatchedBook(b, tuple(by_book.get(b.name, ()))) for b in store.books()]
    finally:
        store.close()


def watch_alerts(
    data_dir: Path, *, include_cleared: bool = False, with_values: bool = False
) -> list[tuple[Alert, str | None]]:
    """Alerts, each with its identifier when ``with_values`` (the member's own terminal)."""
    store = WatchStore(data_dir / "watch.sqlite")
    try:
        return [
            (a, store.value(a.book, a.line) if with_values else None)
            for a in store.alerts(include_cleared=include_cleared)
        ]
    finally:
        store.close()
