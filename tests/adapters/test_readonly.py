"""The adapter's database connections cannot write: the database itself refuses.

Two walls, tested separately: the read-only session refuses a write even for a
superuser, and a user granted only SELECT is refused a write even when its session is
switched back to read-write.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters import SqlSource


def _count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


def test_read_only_session_refuses_writes_even_for_a_superuser(server, table) -> None:
    url, admin = server
    source = SqlSource.from_url(url)
    with source.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one() == 0
        for sql in (
            f"INSERT INTO {table} (id, kind, ident) VALUES (1, 'phone', '13812345678')",
            f"UPDATE {table} SET kind = 'x'",
            f"DELETE FROM {table}",
            f"DROP TABLE {table}",
        ):
            with pytest.raises(sa.exc.DBAPIError) as info:
                conn.exec_driver_sql(sql)
            message = str(info.value.orig).lower()
            assert "read-only" in message or "read only" in message
            conn.rollback()
    assert _count(admin, table) == 0


def test_select_only_user_is_refused_a_write(server, table, unique_name) -> None:
    url, admin = server
    user = unique_name + "_ro"
    dialect = admin.dialect.name
    with admin.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO {table} (id, kind, ident) VALUES (1, 'phone', '13812345678')"
        )
        if dialect == "postgresql":
            conn.exec_driver_sql(f"CREATE ROLE {user} LOGIN")
            conn.exec_driver_sql(f"GRANT SELECT ON {table} TO {user}")
        else:
            conn.exec_driver_sql(f"CREATE USER '{user}'@'%%' IDENTIFIED BY 'pw'")
            conn.exec_driver_sql(f"GRANT SELECT ON test.{table} TO '{user}'@'%%'")
    try:
        ro_url = sa.make_url(url).set(
            username=user, password=None if dialect == "postgresql" else "pw"
        )
        source = SqlSource.from_url(ro_url)
        with source.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one() == 1
            # Switch this session back to read-write: only the grant stands in the way now.
            if dialect == "postgresql":
                conn.exec_driver_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
                conn.commit()
                assert conn.exec_driver_sql("SHOW transaction_read_only").scalar_one() == "off"
            else:
                conn.exec_driver_sql("SET SESSION TRANSACTION READ WRITE")
            with pytest.raises(sa.exc.DBAPIError) as info:
                conn.exec_driver_sql(
                    f"INSERT INTO {table} (id, kind, ident) VALUES (2, 'phone', '13812345679')"
                )
            message = str(info.value.orig).lower()
            assert "permission denied" in message or "denied" in message
            conn.rollback()
    finally:
        with admin.begin() as conn:
            if dialect == "postgresql":
                conn.exec_driver_sql(f"REVOKE ALL ON {table} FROM {user}")
                conn.exec_driver_sql(f"DROP ROLE {user}")
            else:
                conn.exec_driver_sql(f"DROP USER '{user}'@'%%'")
    assert _count(admin, table) == 1


def test_sqlite_source_is_read_only(tmp_path: Path) -> None:
    path = tmp_path / "core.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x INTEGER)")
        db.execute("INSERT INTO t VALUES (1)")
    source = SqlSource.from_sqlite(path)
    with source.connect() as conn:
        assert conn.exec_driver_sql("SELECT x FROM t").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA query_only").scalar_one() == 1
        with pytest.raises(sa.exc.OperationalError, match=r"readonly|read-only"):
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        conn.rollback()
        # Even with query_only lifted, mode=ro keeps the file unwritable.
        conn.exec_driver_sql("PRAGMA query_only = OFF")
        with pytest.raises(sa.exc.OperationalError, match="readonly"):
            conn.exec_driver_sql("INSERT INTO t VALUES (3)")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM t").fetchone() == (1,)
