"""Mapping files: what parses, and what is refused with a clear message."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters import MappingError, load_mapping, parse_mapping

GOOD = """
name = "core-fraud"
version = 1

[source]
table = "risk.blacklist"
key = "id"
watermark = "updated_at"
delisted = { column = "status", values = ["closed", "removed"] }
timezone = "Asia/Shanghai"

[columns]
list_type = { const = "transaction_fraud" }
id_type = { column = "kind", map = { "01" = "cn_id", "02" = "phone" } }
value = "id_no"
reason_code = { const = 7 }
listed_at = "created_at"
expires_at = "expire_at"
evidence_ref = "case_no"

[sync]
max_reject_share = 0.2
"""


def test_good_mapping() -> None:
    m = parse_mapping(GOOD)
    assert m.name == "core-fraud"
    assert m.table == "risk.blacklist" and m.query is None
    assert m.delisted == "status" and m.delisted_values == frozenset({"closed", "removed"})
    assert m.fields["list_type"].const == "transaction_fraud"
    assert m.fields["id_type"].recode == {"01": "cn_id", "02": "phone"}
    assert m.fields["reason_code"].const == 7
    assert m.max_reject_share == 0.2
    assert m.columns() == (
        "id",
        "updated_at",
        "status",
        "kind",
        "id_no",
        "created_at",
        "expire_at",
        "case_no",
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('name = "core-fraud"', 'name = "Core Fraud!"'), "name must"),
        (lambda t: t.replace("version = 1", "version = 2"), "version"),
        (lambda t: t.replace('value = "id_no"', ""), "lacks required"),
        (lambda t: t.replace('value = "id_no"', 'value = { const = "x" }'), "cannot be a constant"),
        (lambda t: t.replace('key = "id"', 'key = "id"\nquery = "SELECT 1"'), "not both"),
        (lambda t: t.replace("Asia/Shanghai", "Mars/Olympus"), "time zone"),
        (lambda t: t.replace("0.2", "1.5"), "max_reject_share"),
        (lambda t: t.replace("[sync]", "[sync]\nfoo = 1"), "unknown key"),
        (lambda t: t.replace('values = ["closed", "removed"]', "values = []"), "non-empty values"),
        (lambda t: t + "\n[[oops", "not valid TOML"),
        (lambda t: t.replace("{ const = 7 }", '{ const = 7, column = "r" }'), "exactly one"),
    ],
)
def test_bad_mappings(edit, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mapping(edit(GOOD))


def test_mapping_examples_in_the_docs_parse() -> None:
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "ADAPTERS.md"
    blocks = re.findall(r"```toml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert blocks
    for block in blocks:
        assert parse_mapping(block).name


def test_a_mapping_file_that_is_not_utf8_is_a_mapping_error(tmp_path: Path) -> None:
    # Found by the config fuzzer: it raised UnicodeDecodeError.
    path = tmp_path / "source.mapping.toml"
    path.write_bytes(b'name = "core"\nversion = 1\n# \xff\n')
    with pytest.raises(MappingError, match=r"not UTF-8 text \(byte 28\)"):
        load_mapping(path)
    with pytest.raises(MappingError, match="cannot read"):
        load_mapping(tmp_path / "missing.toml")


@given(st.binary(max_size=300))
def test_arbitrary_mapping_bytes_load_or_raise_mapping_error(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.toml"
        path.write_bytes(GOOD.encode() + data)
        with contextlib.suppress(MappingError):
            assert load_mapping(path).name == "core-fraud"
