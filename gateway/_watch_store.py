"""The watcher's own store: books, their OPRF outputs per responder, and alerts.

``<data_dir>/watch.sqlite`` (0600, WAL) belongs to the member alone: nothing in it is
sent anywhere. It holds

- ``watch_books``: one row per book (name, list type, identifier type);
- ``watch_entries``: the book's normalised identifiers with the member's own reference
  (a customer number, say), by line;
- ``watch_evaluations``: per book and responder, the OPRF key and credits epoch of the
  last metered evaluation and the first epoch it no longer pays for;
- ``watch_outputs``: per book, responder and line, the first 8 bytes of the OPRF output
  under that key (the snapshot's tag, as a signed 64-bit integer so SQLite indexes it);
- ``watch_alerts``: a book line listed by a responder, raised and (on delisting)
  cleared, by time.

An alert names a book line, its reference and the responder, never the identifier:
callers that show alerts outside the member's terminal (the dashboard, the webhook,
metrics) get only those.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway._errors import GatewayError, InvalidRequestError
from psi import StoreError, open_private_file

__all__ = [
    "WATCH_SCHEMA_VERSION",
    "Alert",
    "Book",
    "Evaluation",
    "WatchStore",
    "WatchView",
    "read_watch",
    "tag_int",
]

WATCH_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS watch_books (
    name TEXT PRIMARY KEY,
    list_type TEXT NOT NULL,
    id_type TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS watch_entries (
    book TEXT NOT NULL,
    line INTEGER NOT NULL,
    value TEXT NOT NULL,
    ref TEXT NOT NULL,
    PRIMARY KEY (book, line)
);
CREATE TABLE IF NOT EXISTS watch_evaluations (
    book TEXT NOT NULL,
    responder TEXT NOT NULL,
    key_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    until INTEGER NOT NULL,
    evaluated_ms INTEGER NOT NULL,
    PRIMARY KEY (book, responder)
);
CREATE TABLE IF NOT EXISTS watch_outputs (
    book TEXT NOT NULL,
    responder TEXT NOT NULL,
    line INTEGER NOT NULL,
    tag INTEGER NOT NULL,
    PRIMARY KEY (book, responder, line)
);
CREATE INDEX IF NOT EXISTS watch_outputs_tag ON watch_outputs(responder, tag);
CREATE TABLE IF NOT EXISTS watch_alerts (
    book TEXT NOT NULL,
    line INTEGER NOT NULL,
    responder TEXT NOT NULL,
    list_type TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    raised_ms INTEGER NOT NULL,
    cleared_ms INTEGER,
    PRIMARY KEY (book, line, responder)
);
"""


def tag_int(tag: bytes) -> int:
    """A snapshot tag (the first 8 bytes of an output) as SQLite's signed integer."""
    return int.from_bytes(tag[:8], "big", signed=True)


@dataclass(frozen=True, slots=True)
class Book:
    name: str
    list_type: str
    id_type: str
    size: int
    created_ms: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    book: str
    responder: str
    key_id: str
    epoch: int  # the credits epoch it was charged in
    until: int  # the first credits epoch it no longer pays for
    evaluated_ms: int


@dataclass(frozen=True, slots=True)
class Alert:
    """A watched book line listed by a responder (no identifier: see the docstring)."""

    book: str
    line: int
    ref: str
    responder: str
    list_type: str
    epoch: int
    raised_ms: int
    cleared_ms: int | None

    @property
    def open(self) -> bool:
        return self.cleared_ms is None


class WatchStore:
    """One connection per process, safe across its threads (the CLI and the gateway
    may both hold one: SQLite's WAL lets them)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            open_private_file(path)
        except StoreError as exc:
            raise GatewayError(str(exc)) from None
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=30.0
        )
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > WATCH_SCHEMA_VERSION:
            self._db.close()
            raise GatewayError(
                f"{path} has schema version {version}; this riskshare knows up to"
                f" {WATCH_SCHEMA_VERSION}: upgrade riskshare"
            )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {WATCH_SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- books -------------------------------------------------------------------------

    def add_book(
        self,
        name: str,
        list_type: str,
        id_type: str,
        entries: Sequence[tuple[str, str]],
        now_ms: int,
    ) -> Book:
        """Store a book of (normalised value, reference) rows; refuse a taken name."""
        if not name or len(name) > 64 or "/" in name:
            raise InvalidRequestError("a book name is 1 to 64 characters without '/'")
        if not entries:
            raise InvalidRequestError("a watch book holds at least one identifier")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if self._db.execute("SELECT 1 FROM watch_books WHERE name=?", (name,)).fetchone():
                    raise InvalidRequestError(f"a watch book named {name!r} exists")
                self._db.execute(
                    "INSERT INTO watch_books VALUES (?,?,?,?)", (name, list_type, id_type, now_ms)
                )
                self._db.executemany(
                    "INSERT INTO watch_entries VALUES (?,?,?,?)",
                    ((name, line, value, ref) for line, (value, ref) in enumerate(entries, 1)),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return Book(name, list_type, id_type, len(entries), now_ms)

    def remove_book(self, name: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if not self._db.execute(
                    "SELECT 1 FROM watch_books WHERE name=?", (name,)
                ).fetchone():
                    raise InvalidRequestError(f"no watch book named {name!r}")
                for table in (
                    "watch_books",
                    "watch_entries",
                    "watch_evaluations",
                    "watch_outputs",
                    "watch_alerts",
                ):
                    column = "name" if table == "watch_books" else "book"
                    self._db.execute(f"DELETE FROM {table} WHERE {column}=?", (name,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def books(self) -> list[Book]:
        with self._lock:
            rows = self._db.execute(
                "SELECT b.name, b.list_type, b.id_type, b.created_ms,"
                " (SELECT COUNT(*) FROM watch_entries e WHERE e.book = b.name)"
                " FROM watch_books b ORDER BY b.name"
            ).fetchall()
        return [Book(name, lt, it, size, created) for name, lt, it, created, size in rows]

    def values(self, book: str) -> list[tuple[int, str]]:
        """The book's (line, normalised identifier) rows, in line order."""
        with self._lock:
            return [
                (int(line), str(value))
                for line, value in self._db.execute(
                    "SELECT line, value FROM watch_entries WHERE book=? ORDER BY line", (book,)
                )
            ]

    # -- evaluations -------------------------------------------------------------------

    def evaluation(self, book: str, responder: str) -> Evaluation | None:
        with self._lock:
            row = self._db.execute(
                "SELECT key_id, epoch, until, evaluated_ms FROM watch_evaluations"
                " WHERE book=? AND responder=?",
                (book, responder),
            ).fetchone()
        return None if row is None else Evaluation(book, responder, *row)

    def evaluations(self) -> list[Evaluation]:
        with self._lock:
            rows = self._db.execute(
                "SELECT book, responder, key_id, epoch, until, evaluated_ms"
                " FROM watch_evaluations ORDER BY book, responder"
            ).fetchall()
        return [Evaluation(*row) for row in rows]

    def save_evaluation(self, evaluation: Evaluation, tags: Iterable[tuple[int, int]]) -> None:
        """Replace a book's outputs under a responder with ``(line, tag)`` pairs."""
        e = evaluation
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "DELETE FROM watch_outputs WHERE book=? AND responder=?", (e.book, e.responder)
                )
                self._db.executemany(
                    "INSERT INTO watch_outputs VALUES (?,?,?,?)",
                    ((e.book, e.responder, line, tag) for line, tag in tags),
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO watch_evaluations VALUES (?,?,?,?,?,?)",
                    (e.book, e.responder, e.key_id, e.epoch, e.until, e.evaluated_ms),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def outputs(self, book: str, responder: str) -> list[tuple[int, int]]:
        """The book's ``(line, tag)`` pairs under ``responder``'s evaluated key."""
        with self._lock:
            return [
                (int(line), int(tag))
                for line, tag in self._db.execute(
                    "SELECT line, tag FROM watch_outputs WHERE book=? AND responder=?",
                    (book, responder),
                )
            ]

    def matching(
        self, responder: str, key_id: str, tags: Sequence[int]
    ) -> list[tuple[str, int, int]]:
        """``(book, line, tag)`` of every output under ``responder``'s key ``key_id``
        whose tag is one of ``tags`` (a delta's entries): one index probe per tag."""
        found: list[tuple[str, int, int]] = []
        with self._lock:
            for start in range(0, len(tags), 500):
                chunk = list(tags[start : start + 500])
                marks = ",".join("?" * len(chunk))
                found.extend(
                    (str(book), int(line), int(tag))
                    for book, line, tag in self._db.execute(
                        "SELECT o.book, o.line, o.tag FROM watch_outputs o"
                        " JOIN watch_evaluations e"
                        " ON e.book = o.book AND e.responder = o.responder"
                        f" WHERE o.responder=? AND e.key_id=? AND o.tag IN ({marks})",
                        (responder, key_id, *chunk),
                    )
                )
        return found

    # -- alerts ------------------------------------------------------------------------

    def raise_alert(
        self, book: str, line: int, responder: str, list_type: str, epoch: int, now_ms: int
    ) -> bool:
        """Open an alert; ``False`` if one is open already (nothing changes)."""
        with self._lock:
            row = self._db.execute(
                "SELECT cleared_ms FROM watch_alerts WHERE book=? AND line=? AND responder=?",
                (book, line, responder),
            ).fetchone()
            if row is not None and row[0] is None:
                return False
            self._db.execute(
                "INSERT OR REPLACE INTO watch_alerts VALUES (?,?,?,?,?,?,NULL)",
                (book, line, responder, list_type, epoch, now_ms),
            )
            return True

    def clear_alert(self, book: str, line: int, responder: str, now_ms: int) -> bool:
        """Close an open alert; ``False`` if none is open."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE watch_alerts SET cleared_ms=? WHERE book=? AND line=? AND responder=?"
                " AND cleared_ms IS NULL",
                (now_ms, book, line, responder),
            )
            return cursor.rowcount > 0

    def open_alerts(self, responder: str, book: str | None = None) -> list[tuple[str, int]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT book, line FROM watch_alerts WHERE responder=? AND cleared_ms IS NULL"
                + (" AND book=?" if book is not None else ""),
                (responder,) if book is None else (responder, book),
            ).fetchall()
        return [(str(b), int(n)) for b, n in rows]

    def alerts(self, *, include_cleared: bool = False) -> list[Alert]:
        with self._lock:
            rows = self._db.execute(
                "SELECT a.book, a.line, COALESCE(e.ref, ''), a.responder, a.list_type,"
                " a.epoch, a.raised_ms, a.cleared_ms FROM watch_alerts a"
                " LEFT JOIN watch_entries e ON e.book = a.book AND e.line = a.line"
                + ("" if include_cleared else " WHERE a.cleared_ms IS NULL")
                + " ORDER BY a.raised_ms, a.book, a.line, a.responder"
            ).fetchall()
        return [Alert(*row) for row in rows]

    def ref(self, book: str, line: int) -> str:
        """The member's own reference for a book line ('' if it gave none)."""
        with self._lock:
            row = self._db.execute(
                "SELECT ref FROM watch_entries WHERE book=? AND line=?", (book, line)
            ).fetchone()
        return "" if row is None else str(row[0])

    def value(self, book: str, line: int) -> str | None:
        """One book line's identifier, for the member's own terminal only."""
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM watch_entries WHERE book=? AND line=?", (book, line)
            ).fetchone()
        return None if row is None else str(row[0])


@dataclass(frozen=True, slots=True)
class WatchView:
    """What the dashboard shows: books, evaluations and alerts (no identifier)."""

    books: tuple[Book, ...]
    evaluations: tuple[Evaluation, ...]
    alerts: tuple[Alert, ...]


def read_watch(path: Path) -> WatchView:
    """Read ``watch.sqlite`` without creating or changing it (a page must leave no
    trace); an absent file is an empty view."""
    if not path.exists():
        return WatchView((), (), ())
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    try:
        books = tuple(
            Book(name, lt, it, size, created)
            for name, lt, it, created, size in db.execute(
                "SELECT b.name, b.list_type, b.id_type, b.created_ms,"
                " (SELECT COUNT(*) FROM watch_entries e WHERE e.book = b.name)"
                " FROM watch_books b ORDER BY b.name"
            )
        )
        evaluations = tuple(
            Evaluation(*row)
            for row in db.execute(
                "SELECT book, responder, key_id, epoch, until, evaluated_ms"
                " FROM watch_evaluations ORDER BY book, responder"
            )
        )
        alerts = tuple(
            Alert(*row)
            for row in db.execute(
                "SELECT a.book, a.line, COALESCE(e.ref, ''), a.responder, a.list_type,"
                " a.epoch, a.raised_ms, a.cleared_ms FROM watch_alerts a"
                " LEFT JOIN watch_entries e ON e.book = a.book AND e.line = a.line"
                " ORDER BY a.cleared_ms IS NOT NULL, a.raised_ms DESC LIMIT 1000"
            )
        )
    except sqlite3.OperationalError:
        return WatchView((), (), ())  # a file the gateway has not set up yet
    finally:
        db.close()
    return WatchView(books, evaluations, alerts)
