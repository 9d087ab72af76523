"""Syncs from real PostgreSQL and MariaDB servers into the real psi index.

Between syncs the core table gets an update, a delisting (flag), an addition and a
hard delete, and time passes an expiry; after every sync the index must hold exactly
the ground truth, checked with real VOPRF queries against a verified snapshot.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from adapters import INDEX_FILE, import_source, lists_status, sync_sources
from psi import IndexStore

from ._truth import assert_index_matches

T0 = datetime(2025, 1, 1)
DAY = 86_400


def unix(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def _mapping(path: Path, name: str, table: str, dialect: str) -> Path:
    # PostgreSQL reads the table by schema-qualified name; MariaDB through a query.
    where = (
        f'table = "public.{table}"'
        if dialect == "postgresql"
        else f"query = \"SELECT * FROM {table} WHERE kind <> '99'\""
    )
    path.write_text(
        f"""
name = "{name}"
[source]
{where}
key = "id"
watermark = "updated_at"
delisted = "removed"
[columns]
list_type = {{ const = "transaction_fraud" }}
id_type = {{ column = "kind", map = {{ "01" = "cn_id", "02" = "phone", "03" = "bank_card" }} }}
value = "ident"
reason_code = "reason"
listed_at = "listed"
expires_at = "expires"
evidence_ref = "case_no"
[sync]
max_reject_share = 0.25
""",
        encoding="utf-8",
    )
    return path


_INSERT = sa.text(
    "INSERT INTO {t} (id, kind, ident, reason, listed, expires, case_no, removed, updated_at)"
    " VALUES (:id, :kind, :ident, :reason, :listed, :expires, :case_no, 0, :updated_at)"
)


def _rows(conn: sa.Connection, table: str, rows: list[dict[str, object]]) -> None:
    conn.execute(sa.text(_INSERT.text.format(t=table)), rows)


def test_incremental_and_full_syncs_track_the_core_table(server, table, tmp_path: Path) -> None:
    url, admin = server
    data_dir = tmp_path / "member"
    mapping = _mapping(tmp_path / "m.toml", table.replace("_", "-"), table, admin.dialect.name)
    listed = datetime(2024, 6, 1)
    before = T0 - timedelta(days=1)
    with admin.begin() as conn:
        _rows(
            conn,
            table,
            [
                dict(
                    id=1,
                    kind="02",
                    ident="13800000001",
                    reason=1,
                    listed=listed,
                    expires=None,
                    case_no="C1",
                    updated_at=before,
                ),
                dict(
                    id=2,
                    kind="02",
                    ident="+86 138 0000 0002",
                    reason=1,
                    listed=listed,
                    expires=datetime(2025, 3, 1),
                    case_no="C2",
                    updated_at=before,
                ),
                dict(
                    id=3,
                    kind="01",
                    ident="11010519491231002x",
                    reason=2,
                    listed=listed,
                    expires=None,
                    case_no="C3",
                    updated_at=before,
                ),
                dict(
                    id=4,
                    kind="03",
                    ident="4111 1111 1111 1111",
                    reason=3,
                    listed=listed,
                    expires=datetime(2026, 1, 1),
                    case_no="C4",
                    updated_at=before,
                ),
                dict(
                    id=5,
                    kind="02",
                    ident="bad phone 123",
                    reason=1,
                    listed=listed,
                    expires=None,
                    case_no="C5",
                    updated_at=before,
                ),
            ],
        )
    first = import_source(data_dir, url, mapping, now=unix(T0))
    assert (first.mode, first.rows_read, first.accepted, first.rejected) == ("full", 5, 4, 1)
    default = unix(listed) + 1826 * DAY
    truth = {
        ("phone", "13800000001"): (1, unix(listed), default),
        ("phone", "13800000002"): (1, unix(listed), unix(datetime(2025, 3, 1))),
        ("cn_id", "11010519491231002X"): (2, unix(listed), default),
        ("bank_card", "4111111111111111"): (3, unix(listed), unix(datetime(2026, 1, 1))),
    }
    absent = [("phone", "13900000006")]
    with IndexStore(data_dir / INDEX_FILE) as store:
        assert_index_matches(store, "transaction_fraud", truth, absent)

    # An update, a delisting and an addition; the expiry of row 2 passes by the next sync.
    changed = T0 + timedelta(days=1)
    with admin.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE {table} SET reason = 5, updated_at = :u WHERE id = 1"), {"u": changed}
        )
        conn.execute(
            sa.text(f"UPDATE {table} SET removed = 1, updated_at = :u WHERE id = 3"), {"u": changed}
        )
        _rows(
            conn,
            table,
            [
                dict(
                    id=6,
                    kind="02",
                    ident="13900000006",
                    reason=1,
                    listed=datetime(2025, 1, 2),
                    expires=None,
                    case_no="C6",
                    updated_at=changed,
                )
            ],
        )
    now = unix(datetime(2025, 3, 2))
    second = sync_sources(data_dir, now=now)[0]
    # Three changed rows, plus the three still at the last watermark: rows are read from
    # the watermark inclusive, so one committed late with an equal timestamp is not lost.
    assert (second.mode, second.rows_read) == ("incremental", 6)
    assert (second.added, second.updated, second.removed) == (1, 1, 2)
    assert second.removed_by_cause == {"delisted": 1, "expired": 1}
    truth = {
        ("phone", "13800000001"): (5, unix(listed), default),
        ("bank_card", "4111111111111111"): (3, unix(listed), unix(datetime(2026, 1, 1))),
        ("phone", "13900000006"): (
            1,
            unix(datetime(2025, 1, 2)),
            unix(datetime(2025, 1, 2)) + 1826 * DAY,
        ),
    }
    gone = [("phone", "13800000002"), ("cn_id", "11010519491231002X")]
    with IndexStore(data_dir / INDEX_FILE) as store:
        assert_index_matches(store, "transaction_fraud", truth, gone)

    # A hard delete is invisible to an incremental sync and found by a full comparison.
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE id = 4")
    third = sync_sources(data_dir, now=now + DAY)[0]
    assert (third.mode, third.added, third.updated, third.removed) == ("incremental", 0, 0, 0)
    fourth = sync_sources(data_dir, now=now + DAY, full=True)[0]
    assert (fourth.mode, fourth.removed, fourth.removed_by_cause) == ("full", 1, {"gone": 1})
    del truth[("bank_card", "4111111111111111")]
    with IndexStore(data_dir / INDEX_FILE) as store:
        assert_index_matches(
            store, "transaction_fraud", truth, [*gone, ("bank_card", "4111111111111111")]
        )

    status = lists_status(data_dir)
    (fraud,) = status.lists
    assert (fraud.entries, fraud.index_entries) == (2, 2)
    assert fraud.epoch is not None and fraud.epoch.epoch == 3
    assert fraud.last_sync is not None and fraud.last_sync.id == fourth.sync_id
    # Nothing was written to the core table by any sync.
    with admin.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one() == 5
