"""Files through the whole pipeline into the real psi index: the messy file, full
comparison, the reject-share stop, and evidence openings."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters import (
    INDEX_FILE,
    STAGING_FILE,
    EvidenceError,
    EvidenceOpening,
    RejectShareExceeded,
    Staging,
    import_source,
    open_entry_evidence,
    sync_sources,
    verify_opening,
)
from psi import IndexStore

from ._truth import assert_index_matches

DAY = 86_400
NOW = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())


def ts(text: str) -> int:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


MAPPING = """
name = "messy"
[source]
[columns]
list_type = "list"
id_type = "kind"
value = "ident"
reason_code = "reason"
listed_at = "listed"
expires_at = "expires"
evidence_ref = "case"
[sync]
max_reject_share = 0.9
"""

FW_ID = "１１０１０５１９４９１２３１００２ｘ"
MESSY_LINES = [
    "list,kind,ident,reason,listed,expires,case",
    f"transaction_fraud,cn_id,{FW_ID},1,2024-01-05,,CASE-1",
    'transaction_fraud,phone," +86 138 1234 5678 ",2,2024/02/01,2030-01-01,CASE-2',
    "transaction_fraud,cn_id,110105194912310021,1,,,CASE-3",
    "transaction_fraud,cn_id,440524800101001,3,20240301,,CASE-4",
    "",
    ",,,,,,",
    "transaction_fraud,phone,13812345678,2,2024-02-01,2030-01-01,CASE-2",
    "transaction_fraud,bank_card,4111 1111 1111 1111,abc,2024-01-01,,CASE-5",
    "transaction_fraud,bank_card,4111111111111112,1,,,CASE-6",
    "marketing_abuse,phone,１３９００００００００,4,not a date,,CASE-7",
    "marketing_abuse,bank_card,4111111111111111,1,,,CASE-8",
    "fraud_list,phone,13900000000,1,,,CASE-9",
    "transaction_fraud,device,6D92078A-8246-4BA4-AE5B-76104861E7DC,0,2024-01-01,2023-01-01,C10",
    "high_risk_account,account,icbc|6222 0212 3456,5,2024-01-01,2031-01-01,CASE-11",
    "transaction_fraud,cn_id,11010519491231002X,9,2024-01-05,,CASE-12",
    "transaction_fraud,phone,1381234567,1,,,CASE-13,extra",
    "marketing_abuse,device,DEADBEEF00,7,2024-05-05T10:00:00+08:00,,",
    "transaction_fraud,bank_card,6222-0212-3456-7890-128,70000,,,",
]

# (row, line, column, masked value, reason) — every record that did not become an entry.
EXPECTED_REPORT = [
    ("3", "4", "ident", "11**************21", "cn_id_check"),
    ("5", "6", "-", "", "blank_row"),
    ("6", "7", "-", "", "blank_row"),
    ("7", "8", "-", "", "duplicate"),
    ("8", "9", "reason", "abc", "bad_reason_code"),
    ("9", "10", "ident", "41************12", "bank_card_luhn"),
    ("10", "11", "listed", "not a date", "bad_time"),
    ("11", "12", "kind", "bank_card", "id_type_not_allowed"),
    ("12", "13", "list", "fraud_list", "unknown_list_type"),
    ("13", "14", "expires", "2023-01-01", "expiry_before_listing"),
    ("15", "16", "-", "", "duplicate"),
    ("16", "17", "-", "", "bad_record"),
    ("18", "19", "reason", "70000", "bad_reason_code"),
]

FRAUD = {
    ("cn_id", "11010519491231002X"): (1, ts("2024-01-05"), ts("2024-01-05") + 1826 * DAY),
    ("phone", "13812345678"): (2, ts("2024-02-01"), ts("2030-01-01")),
    ("cn_id", "440524198001010013"): (3, ts("2024-03-01"), ts("2024-03-01") + 1826 * DAY),
}
HIGH_RISK = {("account", "ICBC|622202123456"): (5, ts("2024-01-01"), ts("2031-01-01"))}
ABUSE = {
    ("device", "deadbeef00"): (7, ts("2024-05-05T02:00:00"), ts("2024-05-05T02:00:00") + 730 * DAY)
}
NEVER = [
    ("cn_id", "110105194912310021"),
    ("bank_card", "4111111111111111"),
    ("phone", "13900000000"),
]


@pytest.fixture
def messy(tmp_path: Path) -> tuple[Path, Path, Path]:
    data = tmp_path / "messy.csv"
    data.write_text("\n".join(MESSY_LINES) + "\n", encoding="utf-8")
    mapping = tmp_path / "messy.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return data, mapping, tmp_path / "data"


def _report(path: Path | None) -> list[tuple[str, ...]]:
    assert path is not None
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["row", "line", "key", "column", "masked_value", "reason", "detail"]
    return [(r[0], r[1], r[3], r[4], r[5]) for r in rows[1:]]


def test_messy_file_gives_exactly_the_expected_entries_and_report(messy) -> None:
    data, mapping, data_dir = messy
    summary = import_source(data_dir, str(data), mapping, now=NOW)
    assert (summary.rows_read, summary.accepted, summary.rejected) == (18, 5, 9)
    assert (summary.blank, summary.duplicates) == (2, 2)
    assert summary.reject_share == pytest.approx(9 / 16)
    assert (summary.added, summary.updated, summary.removed) == (5, 0, 0)
    assert _report(summary.report) == EXPECTED_REPORT
    report_text = summary.report.read_text(encoding="utf-8")  # type: ignore[union-attr]
    for secret in ("110105194912310021", "4111111111111112", "6222021234567890128"):
        assert secret not in report_text
    with IndexStore(data_dir / INDEX_FILE) as store:
        assert_index_matches(store, "transaction_fraud", FRAUD, NEVER)
        assert_index_matches(store, "high_risk_account", HIGH_RISK)
        assert_index_matches(store, "marketing_abuse", ABUSE, [("phone", "13900000000")])
    assert {e.list_type for e in summary.epochs} == {
        "transaction_fraud",
        "high_risk_account",
        "marketing_abuse",
    }


JSONL_LINES = [
    '{"kind": "cn_id", "ident": 110105194912310021}',
    '{"kind": "phone", "ident": 13812345678, "case": 42}',
    '{"kind": "phone", "ident": true}',
    '{"kind": "phone", "ident": 13900000000.0}',
    "not json at all",
    "[1, 2]",
    "",
    '{"kind": "phone", "ident": "139 0000 0001", "listed": true}',
    '{"kind": "phone", "ident": "139 0000 0002", "case": ["a"]}',
    '{"kind": "device", "ident": "ABCDEF12", "reason": "12"}',
]


def test_wrong_types_in_json_lines(tmp_path: Path) -> None:
    data = tmp_path / "list.jsonl"
    data.write_text("\n".join(JSONL_LINES) + "\n", encoding="utf-8")
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        'name = "j"\n[columns]\nlist_type = { const = "transaction_fraud" }\nid_type = "kind"\n'
        'value = "ident"\nreason_code = "reason"\nlisted_at = "listed"\nevidence_ref = "case"\n'
        "[sync]\nmax_reject_share = 1\n",
        encoding="utf-8",
    )
    summary = import_source(tmp_path / "d", str(data), mapping, now=NOW)
    assert [(r[0], r[2], r[4]) for r in _report(summary.report)] == [
        ("1", "ident", "wrong_type"),
        ("3", "ident", "wrong_type"),
        ("4", "ident", "wrong_type"),
        ("5", "-", "bad_record"),
        ("6", "-", "bad_record"),
        ("7", "-", "blank_row"),
        ("8", "listed", "bad_time"),
        ("9", "case", "wrong_type"),
    ]
    with IndexStore(tmp_path / "d" / INDEX_FILE) as store:
        assert_index_matches(
            store,
            "transaction_fraud",
            {
                ("phone", "13812345678"): (0, NOW, NOW + 1826 * DAY),
                ("device", "abcdef12"): (12, NOW, NOW + 1826 * DAY),
            },
            [("phone", "13900000001"), ("phone", "13900000002")],
        )


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_full_comparison_propagates_gone_rows_updates_and_expiry(tmp_path: Path) -> None:
    data, mapping, data_dir = tmp_path / "l.csv", tmp_path / "m.toml", tmp_path / "d"
    mapping.write_text(MAPPING.replace('"messy"', '"plain"'), encoding="utf-8")
    head = "list,kind,ident,reason,listed,expires,case"
    _write(
        data,
        [
            head,
            "transaction_fraud,phone,13800000001,1,2024-01-01,,A",
            "transaction_fraud,phone,13800000002,1,2024-01-01,2025-01-10,B",
            "transaction_fraud,phone,13800000003,1,2024-01-01,,C",
        ],
    )
    first = import_source(data_dir, str(data), mapping, now=NOW)
    assert first.added == 3
    listed = ts("2024-01-01")
    default = listed + 1826 * DAY
    _write(
        data,
        [
            head,
            "transaction_fraud,phone,13800000001,4,2024-01-01,,A",
            "transaction_fraud,phone,13800000002,1,2024-01-01,2025-01-10,B",
        ],
    )
    second = sync_sources(data_dir, now=NOW + DAY)[0]
    assert (second.added, second.updated, second.removed) == (0, 1, 1)
    assert second.removed_by_cause == {"gone": 1}
    with IndexStore(data_dir / INDEX_FILE) as store:
        assert_index_matches(
            store,
            "transaction_fraud",
            {
                ("phone", "13800000001"): (4, listed, default),
                ("phone", "13800000002"): (1, listed, ts("2025-01-10")),
            },
            [("phone", "13800000003")],
        )
    third = sync_sources(data_dir, now=ts("2025-01-10"))[0]
    assert third.removed_by_cause == {"expired": 1}
    with IndexStore(data_dir / INDEX_FILE) as store:
        assert_index_matches(
            store,
            "transaction_fraud",
            {("phone", "13800000001"): (4, listed, default)},
            [("phone", "13800000002"), ("phone", "13800000003")],
        )


def _snapshot(data_dir: Path) -> tuple[object, ...]:
    with Staging(data_dir / STAGING_FILE) as s, IndexStore(data_dir / INDEX_FILE) as store:
        rows = s.db.execute("SELECT * FROM rows ORDER BY 1, 2").fetchall()
        entries = s.db.execute("SELECT * FROM entries ORDER BY id").fetchall()
        epochs = s.db.execute("SELECT * FROM epochs ORDER BY 1, 2").fetchall()
        commitment = store.commitment("transaction_fraud")
        return rows, entries, epochs, commitment, store.export_snapshot("transaction_fraud")


def test_too_many_rejects_stop_before_anything_changes(messy) -> None:
    data, mapping, data_dir = messy
    import_source(data_dir, str(data), mapping, now=NOW)
    before = _snapshot(data_dir)
    lines = (
        [MESSY_LINES[0]]
        + [f"transaction_fraud,phone,1380000000{i},1,,,X" for i in range(5)]
        + ["transaction_fraud,phone,12345,1,,,Y"] * 3
    )
    _write(data, lines)
    with pytest.raises(RejectShareExceeded, match="nothing changed"):
        sync_sources(data_dir, now=NOW + DAY, max_reject_share=0.25)
    assert _snapshot(data_dir) == before
    with Staging(data_dir / STAGING_FILE) as s:
        last = s.syncs("messy", limit=1)[0]
        assert (last.status, last.rejected, last.accepted) == ("failed", 3, 5)
        assert last.report is not None and Path(last.report).is_file()
    # Within the limit the same file goes through: the old entries are gone.
    summary = sync_sources(data_dir, now=NOW + DAY, max_reject_share=0.5)[0]
    assert (summary.added, summary.rejected) == (5, 3)
    assert summary.removed_by_cause == {"gone": 5}


def test_evidence_openings_verify_and_reveal_one_entry_only(messy) -> None:
    data, mapping, data_dir = messy
    import_source(data_dir, str(data), mapping, now=NOW)
    opening, epoch = open_entry_evidence(data_dir, "transaction_fraud", "phone", "+86 13812345678")
    root, size = epoch.evidence_root, epoch.size
    verify_opening(opening, root, size)
    assert (opening.value, opening.evidence_ref, opening.tree_size) == ("13812345678", "CASE-2", 3)
    text = opening.to_json()
    assert "11010519491231002X" not in text and "440524198001010013" not in text
    assert "CASE-1" not in text and "CASE-4" not in text
    again = EvidenceOpening.from_json(text)
    assert again == opening
    verify_opening(again, root, size)
    doc = json.loads(text)
    tampered = [
        {**doc, "evidence_ref": "CASE-99"},
        {**doc, "value": "13812345679"},
        {**doc, "salt": "00" * 32},
        {**doc, "leaf_index": (doc["leaf_index"] + 1) % 3},
        {**doc, "tree_size": 4},
        {**doc, "proof": doc["proof"][:-1]},
        {**doc, "list_type": "marketing_abuse"},
    ]
    for bad in tampered:
        with pytest.raises(EvidenceError):
            verify_opening(EvidenceOpening.from_json(json.dumps(bad)), root, size)
    for junk in ("", "{}", "[]", json.dumps({**doc, "salt": "zz"}), json.dumps({**doc, "x": 1})):
        with pytest.raises(EvidenceError):
            EvidenceOpening.from_json(junk)
    with pytest.raises(EvidenceError):
        open_entry_evidence(data_dir, "transaction_fraud", "phone", "13900000000")


def test_old_epochs_stay_openable_after_changes(messy) -> None:
    data, mapping, data_dir = messy
    import_source(data_dir, str(data), mapping, now=NOW)
    first, first_epoch = open_entry_evidence(data_dir, "transaction_fraud", "cn_id", FW_ID)
    _write(data, [MESSY_LINES[0], MESSY_LINES[2].replace("CASE-2", "CASE-2b")])
    sync_sources(data_dir, now=NOW + DAY)
    latest, latest_epoch = open_entry_evidence(
        data_dir, "transaction_fraud", "phone", "13812345678"
    )
    assert latest.epoch == first.epoch + 1 and latest.evidence_ref == "CASE-2b"
    assert latest.tree_size == 1 and latest_epoch.evidence_root != first_epoch.evidence_root
    old, old_epoch = open_entry_evidence(
        data_dir, "transaction_fraud", "phone", "13812345678", epoch=first.epoch
    )
    assert old.evidence_ref == "CASE-2" and old_epoch == first_epoch
    with pytest.raises(EvidenceError):
        open_entry_evidence(data_dir, "transaction_fraud", "cn_id", FW_ID)
