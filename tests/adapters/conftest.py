"""Fixtures for adapter tests: the real PostgreSQL and MariaDB servers, uniquely named tables.

The servers must be running (``make test`` finds or starts them; CI provides them). A
missing server fails the test that needs it; nothing is skipped. Other engineers share
these servers, so every table and user made here has a unique name and is dropped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

PG_URL = os.environ.get(
    "RISKSHARE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MYSQL_URL = os.environ.get("RISKSHARE_TEST_MYSQL_URL", "mysql+pymysql://root:@127.0.0.1:3306/test")


def _admin(url: str) -> sa.Engine:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        pytest.fail(
            f"database server at {engine.url.render_as_string()} is not reachable: {exc.orig}"
        )
    return engine


@pytest.fixture(params=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, sa.Engine]]:
    """``(url, admin_engine)`` for each real server in turn."""
    url = PG_URL if request.param == "postgresql" else MYSQL_URL
    engine = _admin(url)
    yield url, engine
    engine.dispose()


@pytest.fixture
def unique_name() -> str:
    return f"rs_adapt_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def table(server: tuple[str, sa.Engine], unique_name: str) -> Iterator[str]:
    """A fresh blacklist table on the server, dropped afterwards."""
    _, engine = server
    ts = "TIMESTAMP NULL" if engine.dialect.name != "postgresql" else "TIMESTAMP"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE {unique_name} (id INTEGER PRIMARY KEY, kind VARCHAR(16),"
            f" ident VARCHAR(64), reason INTEGER, listed {ts}, expires {ts},"
            f" case_no VARCHAR(64), removed INTEGER DEFAULT 0, updated_at {ts})"
        )
    yield unique_name
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {unique_name}")
