"""Sources: file encodings, SQLite files, env: URLs, and what is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters import (
    CsvSource,
    MappingError,
    Reject,
    SourceError,
    SqlSource,
    import_source,
    open_source,
    parse_mapping,
)

MAPPING = """
name = "s"
[source]
{source}
[columns]
list_type = {{ const = "transaction_fraud" }}
id_type = "kind"
value = "ident"
"""


def _records(source, mapping) -> list[object]:
    return list(source.records(mapping))


def test_gb18030_csv_and_tsv(tmp_path: Path) -> None:
    mapping = parse_mapping(MAPPING.format(source='encoding = "gb18030"'))
    path = tmp_path / "l.csv"
    path.write_bytes("kind,ident,备注\nphone,１３８００００００００,黑名单\n".encode("gb18030"))
    assert _records(open_source(str(path)), mapping) == [
        (1, 2, ["phone", "１３８００００００００"])
    ]
    tsv = tmp_path / "l.tsv"
    tsv.write_text("kind\tident\nphone\t13800000000\n", encoding="utf-8")
    plain = parse_mapping(MAPPING.format(source=""))
    assert _records(open_source(str(tsv)), plain) == [(1, 2, ["phone", "13800000000"])]
    wrong = tmp_path / "w.csv"
    wrong.write_bytes("kind,ident\nphone,黑\n".encode("gb18030"))
    with pytest.raises(SourceError, match="not utf-8"):
        _records(CsvSource(wrong), plain)


def test_missing_columns_and_unknown_sources(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("kind,number\nphone,1\n", encoding="utf-8")
    mapping = parse_mapping(MAPPING.format(source=""))
    with pytest.raises(MappingError, match="ident"):
        _records(open_source(str(path)), mapping)
    with pytest.raises(SourceError):
        open_source(str(tmp_path / "list.xlsx"))
    with pytest.raises(SourceError):
        open_source(str(tmp_path / "absent.sqlite"))
    with pytest.raises(SourceError, match="not set"):
        open_source("env:RISKSHARE_TEST_SURELY_UNSET")


def test_csv_quoting_errors_are_rejects_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text('kind,ident\nphone,"13800000000\nphone,1"x"\nphone,13800000001\n')
    records = _records(CsvSource(path), parse_mapping(MAPPING.format(source="")))
    assert len(records) == 2
    bad, good = records
    assert isinstance(bad, Reject) and (bad.row, bad.line, bad.reason) == (1, 2, "bad_record")
    assert good == (2, 4, ["phone", "13800000001"])


def test_sqlite_file_with_query_and_env_url(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "core.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE bl (kind TEXT, ident TEXT, active INTEGER)")
        db.executemany(
            "INSERT INTO bl VALUES (?, ?, ?)",
            [("phone", "13800000000", 1), ("phone", "13800000001", 0)],
        )
    mapping = parse_mapping(
        MAPPING.format(source='query = "SELECT kind, ident FROM bl WHERE active = 1"')
    )
    assert [r[2] and list(r[2]) for r in _records(open_source(str(path)), mapping)] == [  # type: ignore[index]
        ["phone", "13800000000"]
    ]
    monkeypatch.setenv("RISKSHARE_TEST_CORE_URL", f"sqlite:///{path}")
    source = open_source("env:RISKSHARE_TEST_CORE_URL")
    assert isinstance(source, SqlSource)
    assert len(_records(source, mapping)) == 1
    with pytest.raises(MappingError, match=r"table or \.query"):
        _records(source, parse_mapping(MAPPING.format(source="")))


def test_urls_with_passwords_are_not_stored(tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text(MAPPING.format(source='table = "bl"'), encoding="utf-8")
    with pytest.raises(SourceError, match="env:NAME"):
        import_source(
            tmp_path / "d", "postgresql+psycopg://u:secret@127.0.0.1/test", mapping, now=0
        )
    assert not (tmp_path / "d").exists()


def test_a_watermark_column_of_mixed_types_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "core.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE bl (kind TEXT, ident TEXT, wm)")
        db.executemany(
            "INSERT INTO bl VALUES (?, ?, ?)",
            [("phone", "13800000000", 5), ("phone", "13800000001", "2024-01-01")],
        )
    mapping = tmp_path / "m.toml"
    mapping.write_text(MAPPING.format(source='table = "bl"\nwatermark = "wm"'), encoding="utf-8")
    with pytest.raises(SourceError, match="mixes types"):
        import_source(tmp_path / "d", str(path), mapping, now=0)


def test_streamed_reads_stop_cleanly_and_translate_errors() -> None:
    import threading

    from .conftest import PG_URL

    source = SqlSource.from_url(PG_URL)
    mapping = parse_mapping(
        'name = "g"\n[source]\nquery = "SELECT g AS ident, \'phone\' AS kind'
        ' FROM generate_series(1, 20000) g"\n'
        '[columns]\nlist_type = { const = "transaction_fraud" }\nid_type = "kind"\n'
        'value = "ident"\n'
    )
    records = source.records(mapping)
    assert next(records) == (1, None, ("phone", 1))
    records.close()  # the reader thread and its connection go away
    assert [t for t in threading.enumerate() if t.name == "riskshare-source-reader"] == []
    assert sum(1 for _ in source.records(mapping)) == 20000
    missing = parse_mapping(MAPPING.format(source='table = "rs_adapt_no_such_table"'))
    with pytest.raises(SourceError, match="does not exist"):
        list(source.records(missing))
