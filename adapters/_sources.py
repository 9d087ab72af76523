"""Where rows come from: CSV and JSON-lines files, SQLite, and any SQLAlchemy URL.

Rules:

- Reads are streamed: files line by line; databases through server-side cursors
  (``stream_results`` + ``yield_per``), so memory does not grow with the table.
- Database connections are read-only *at the database*, not merely by our habit of only
  sending SELECT: each new connection is switched to read-only for its dialect and the
  switch is read back; a connection that is not read-only is refused
  (:class:`SourceError`). The member's least-privilege grant (SELECT only, docs/ADAPTERS.md)
  is the second wall. See ``_readonly``.
- Every record is yielded as ``(row, line, values)`` with ``values`` aligned to the
  mapping's columns, or ``None`` for a blank record; a record that cannot be read
  (malformed JSON, a wrong field count) is yielded as a :class:`Reject`, never skipped.
- Files are always read whole (full comparison); a watermark applies to SQL sources.
"""

from __future__ import annotations

import csv
import json
import os
import queue
import threading
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from adapters._errors import MappingError, SourceError
from adapters._mapping import SourceMapping
from adapters._model import Reject
from adapters._readonly import install_read_only, sqlite_read_only_creator

__all__ = [
    "CsvSource",
    "JsonLinesSource",
    "Record",
    "Source",
    "SqlSource",
    "open_source",
]

Record = tuple[int, int | None, Sequence[object] | None] | Reject

_YIELD_PER = 5000
_PREFETCH = 2
_END = object()
_SQLITE_SUFFIXES = frozenset({".sqlite", ".sqlite3", ".db"})


class Source(Protocol):
    """A readable source of records for one mapping."""

    @property
    def incremental(self) -> bool:
        """Whether ``since`` is honoured (SQL sources with a watermark)."""
        ...

    def describe(self) -> str:
        """Where the source is, without secrets (no password)."""
        ...

    def records(self, mapping: SourceMapping, since: object = None) -> Iterator[Record]: ...


def _bad(row: int, line: int | None, detail: str) -> Reject:
    return Reject(row, line, "-", "", "bad_record", detail)


class CsvSource:
    """A CSV file with a header row; cells are text."""

    incremental = False

    def __init__(self, path: str | Path, *, delimiter: str = ",") -> None:
        self.path = Path(path)
        self.delimiter = delimiter

    def describe(self) -> str:
        return str(self.path)

    def records(self, mapping: SourceMapping, since: object = None) -> Iterator[Record]:
        encoding = (
            "utf-8-sig"
            if mapping.encoding.lower().replace("_", "-") in {"utf-8", "utf8"}
            else mapping.encoding
        )
        try:
            with self.path.open(encoding=encoding, newline="") as fh:
                reader = csv.reader(fh, delimiter=self.delimiter, strict=True)
                header: list[str] | None = None
                for fields in reader:
                    if any(f.strip() for f in fields):
                        header = [f.strip() for f in fields]
                        break
                if header is None:
                    raise SourceError(f"{self.path}: no header row")
                where = {name: i for i, name in enumerate(header)}
                wanted = mapping.columns()
                missing = [c for c in wanted if c not in where]
                if missing:
                    raise MappingError(f"{self.path}: no column(s) {', '.join(missing)}")
                picks = [where[c] for c in wanted]
                width = len(header)
                row = 0
                line = reader.line_num
                while True:
                    start = line + 1
                    try:
                        fields = next(reader)
                    except StopIteration:
                        break
                    except csv.Error as exc:
                        row += 1
                        line = reader.line_num
                        yield _bad(row, start, f"unreadable CSV: {exc}")
                        continue
                    line = reader.line_num
                    row += 1
                    if not any(f.strip() for f in fields):
                        yield row, start, None
                    elif len(fields) != width:
                        yield _bad(row, start, f"{len(fields)} fields, the header has {width}")
                    else:
                        yield row, start, [fields[i] for i in picks]
        except UnicodeDecodeError as exc:
            raise SourceError(f"{self.path}: not {mapping.encoding} ({exc.reason})") from None
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc.strerror}") from None


class JsonLinesSource:
    """One JSON object per line; values keep their JSON types."""

    incremental = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return str(self.path)

    def records(self, mapping: SourceMapping, since: object = None) -> Iterator[Record]:
        wanted = mapping.columns()
        try:
            with self.path.open(encoding=mapping.encoding, newline="") as fh:
                for row, text in enumerate(fh, start=1):
                    if not text.strip():
                        yield row, row, None
                        continue
                    try:
                        doc = json.loads(text)
                    except (json.JSONDecodeError, RecursionError):
                        yield _bad(row, row, "not valid JSON")
                        continue
                    if not isinstance(doc, dict):
                        yield _bad(row, row, "not a JSON object")
                        continue
                    yield row, row, [doc.get(c) for c in wanted]
        except UnicodeDecodeError as exc:
            raise SourceError(f"{self.path}: not {mapping.encoding} ({exc.reason})") from None
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc.strerror}") from None


class SqlSource:
    """A table or query behind a SQLAlchemy URL, read through a read-only connection."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        install_read_only(engine)

    @classmethod
    def from_url(cls, url: str | sa.URL) -> SqlSource:
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError:
            raise SourceError("not a database URL") from None
        if parsed.get_backend_name() == "sqlite":
            return cls.from_sqlite(parsed.database or ":memory:")
        try:
            engine = sa.create_engine(parsed, poolclass=NullPool)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
            raise SourceError(f"cannot use {parsed.render_as_string()}: {exc}") from None
        return cls(engine)

    @classmethod
    def from_sqlite(cls, path: str | Path) -> SqlSource:
        engine = sa.create_engine(
            "sqlite://", creator=sqlite_read_only_creator(path), poolclass=NullPool
        )
        return cls(engine)

    @property
    def incremental(self) -> bool:
        return True

    def describe(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A read-only connection (verified); the adapter reads through nothing else."""
        try:
            conn = self.engine.connect()
        except sa.exc.DBAPIError as exc:
            raise SourceError(f"cannot connect to {self.describe()}: {exc.orig}") from None
        try:
            yield conn
        finally:
            conn.close()

    def statement(
        self, mapping: SourceMapping, since: object = None
    ) -> sa.Select[tuple[object, ...]]:
        wanted = mapping.columns()
        cols: list[sa.ColumnClause[object]] = [sa.column(c) for c in wanted]
        if mapping.table is not None:
            schema, _, name = mapping.table.rpartition(".")
            src: sa.TableClause | sa.Subquery = sa.table(name, *cols, schema=schema or None)
        elif mapping.query is not None:
            src = sa.text(mapping.query).columns(*cols).subquery("riskshare_src")
        else:
            raise MappingError(f"mapping {mapping.name!r} needs [source].table or .query for SQL")
        stmt = sa.select(*(src.c[c] for c in wanted))
        if mapping.watermark is not None:
            if since is not None:
                stmt = stmt.where(src.c[mapping.watermark] >= sa.bindparam("wm", since))
            stmt = stmt.order_by(src.c[mapping.watermark])
        elif mapping.key is not None:
            stmt = stmt.order_by(src.c[mapping.key])
        return stmt

    def records(
        self, mapping: SourceMapping, since: object = None
    ) -> Generator[Record, None, None]:
        """Stream the mapped rows; the next batch is fetched while this one is converted.

        A reader thread owns the connection and fetches batches of ``yield_per`` rows
        into a small queue, so the database works on the next batch while the caller
        converts the current one (the driver releases the GIL while it waits).
        """
        stmt = self.statement(mapping, since)
        batches: queue.Queue[object] = queue.Queue(maxsize=_PREFETCH)
        stop = threading.Event()

        def put(item: object) -> bool:
            while not stop.is_set():
                try:
                    batches.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def fetch() -> None:
            try:
                with self.connect() as conn:
                    result = conn.execution_options(
                        stream_results=True, yield_per=_YIELD_PER
                    ).execute(stmt)
                    for part in result.partitions():
                        if not put(part):
                            return
                put(_END)
            except BaseException as exc:  # handed to the consumer, raised there
                put(exc)

        reader = threading.Thread(target=fetch, name="riskshare-source-reader", daemon=True)
        reader.start()
        try:
            row = 0
            while True:
                item = batches.get()
                if item is _END:
                    return
                if isinstance(item, sa.exc.DBAPIError):
                    raise SourceError(f"reading {self.describe()} failed: {item.orig}") from None
                if isinstance(item, BaseException):
                    raise item
                for values in item:  # type: ignore[attr-defined]
                    row += 1
                    yield row, None, values
        finally:
            stop.set()
            reader.join()


def open_source(location: str) -> CsvSource | JsonLinesSource | SqlSource:
    """A source for a file path, a SQLAlchemy URL, or ``env:NAME`` (a URL in a variable).

    ``env:`` keeps database passwords out of the staging store and shell history: the
    store records ``env:NAME`` and the URL is read from the environment at each sync.
    """
    if location.startswith("env:"):
        url = os.environ.get(location[4:])
        if not url:
            raise SourceError(f"environment variable {location[4:]} is not set")
        return SqlSource.from_url(url)
    if "://" in location:
        return SqlSource.from_url(location)
    path = Path(location)
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv", ".txt"}:
        return CsvSource(path, delimiter="\t" if suffix == ".tsv" else ",")
    if suffix in {".jsonl", ".ndjson"}:
        return JsonLinesSource(path)
    if suffix in _SQLITE_SUFFIXES:
        if not path.is_file():
            raise SourceError(f"no SQLite file at {path}")
        return SqlSource.from_sqlite(path)
    raise SourceError(
        f"cannot tell the kind of source {path.name!r}: use .csv, .jsonl, .sqlite or a URL"
    )
