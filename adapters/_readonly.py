"""Read-only database sessions, per dialect, checked after they are set.

The gateway never changes a core database (DESIGN §1). We do not rely on only sending
SELECT: every connection the adapter opens is made read-only by the database itself,
and the setting is read back before the connection is used, so a server or proxy that
ignores it is refused rather than trusted.

- PostgreSQL: ``SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY``; every later
  transaction on the session is read-only, and a write fails with SQLSTATE 25006.
- MariaDB / MySQL: ``SET SESSION TRANSACTION READ ONLY``; writes fail with error 1792.
  (Both allow writes to the session's own TEMPORARY tables, which touch no core data.)
- SQLite: opened through a ``mode=ro`` URI, plus ``PRAGMA query_only``.
- Oracle: no session-wide switch exists, so ``SET TRANSACTION READ ONLY`` opens every
  transaction.
- SQL Server and DB2 have no session read-only mode; there the SELECT-only grant in
  docs/ADAPTERS.md is the guarantee, and a warning is logged on every connection.

A setting that was not applied raises :class:`SourceError` on connect.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event

from adapters._errors import SourceError

__all__ = ["install_read_only", "sqlite_read_only_creator"]

_log = logging.getLogger("riskshare.adapters")


def sqlite_read_only_creator(path: str | Path) -> Callable[[], sqlite3.Connection]:
    """A connection factory opening ``path`` read-only (``mode=ro``, ``query_only``)."""
    if str(path) == ":memory:":
        uri = "file::memory:?mode=ro"
    else:
        uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro"

    def create() -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise SourceError(f"cannot open SQLite source read-only: {exc}") from None
        conn.execute("PRAGMA query_only = ON")
        return conn

    return create


def _scalar(dbapi_conn: Any, sql: str) -> Any:
    cur = dbapi_conn.cursor()
    try:
        cur.execute(sql)
        row = cur.fetchone()
    finally:
        cur.close()
    return None if row is None else row[0]


def _run(dbapi_conn: Any, sql: str) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute(sql)
    finally:
        cur.close()
    # The SET is itself inside the driver's implicit transaction; committing makes it
    # outlive that transaction (a rollback would otherwise undo it).
    dbapi_conn.commit()


def _postgresql(dbapi_conn: Any) -> None:
    _run(dbapi_conn, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    if str(_scalar(dbapi_conn, "SHOW default_transaction_read_only")).lower() != "on":
        raise SourceError("PostgreSQL session did not become read-only")
    dbapi_conn.rollback()


def _mysql(dbapi_conn: Any) -> None:
    _run(dbapi_conn, "SET SESSION TRANSACTION READ ONLY")
    # MySQL 8 names it transaction_read_only; MariaDB before 11.1 only tx_read_only.
    try:
        flag = _scalar(dbapi_conn, "SELECT @@session.transaction_read_only")
    except Exception:
        dbapi_conn.rollback()
        flag = _scalar(dbapi_conn, "SELECT @@session.tx_read_only")
    dbapi_conn.rollback()
    if int(flag) != 1:
        raise SourceError("MySQL/MariaDB session did not become read-only")


def _sqlite(dbapi_conn: Any) -> None:
    if int(_scalar(dbapi_conn, "PRAGMA query_only")) != 1:
        raise SourceError("SQLite connection is not query_only")


_ON_CONNECT: dict[str, Callable[[Any], None]] = {
    "mariadb": _mysql,
    "mysql": _mysql,
    "postgresql": _postgresql,
    "sqlite": _sqlite,
}


def install_read_only(engine: sa.Engine) -> None:
    """Make every connection ``engine`` opens read-only for its dialect."""
    name = engine.dialect.name
    setup = _ON_CONNECT.get(name)
    if setup is not None:
        event.listen(engine, "connect", lambda dbapi_conn, _record: setup(dbapi_conn))
    elif name == "oracle":

        def begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")

        event.listen(engine, "begin", begin)
    else:

        def warn(_dbapi_conn: Any, _record: Any) -> None:
            _log.warning("%s has no read-only session mode; relying on the SELECT-only grant", name)

        event.listen(engine, "connect", warn)
