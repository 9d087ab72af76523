"""Hostile and failing conditions: nothing in staging or the index changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters import (
    INDEX_FILE,
    STAGING_FILE,
    IndexBindingError,
    MappingError,
    PsiIndexSink,
    SourceError,
    Staging,
    import_source,
    sync_sources,
)
from psi import Entry, IndexStore, Registry

NOW = 1_735_689_600
MAPPING = """
name = "f"
[columns]
list_type = "list"
id_type = { const = "phone" }
value = "phone"
"""


def _files(tmp_path: Path, lines: list[str]) -> tuple[Path, Path, Path]:
    data = tmp_path / "l.csv"
    data.write_text("\n".join(["list,phone", *lines]) + "\n", encoding="utf-8")
    mapping = tmp_path / "m.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return data, mapping, tmp_path / "d"


def _state(data_dir: Path) -> tuple[object, ...]:
    with Staging(data_dir / STAGING_FILE) as s:
        tables = tuple(
            s.db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
            for t in ("sources", "rows", "entries", "epochs")
        )
    with IndexStore(data_dir / INDEX_FILE) as store:
        index = tuple(
            (lt, store.commitment(lt).to_bytes(), store.export_snapshot(lt))
            for lt in store.list_types()
        )
    return tables, index


def test_an_index_out_of_step_with_staging_stops_the_sync(tmp_path: Path) -> None:
    data, mapping, data_dir = _files(tmp_path, ["marketing_abuse,13800000001"])
    import_source(data_dir, str(data), mapping, now=NOW)
    # Someone changes the index behind the adapter's back.
    with IndexStore(data_dir / INDEX_FILE) as store:
        store.apply("marketing_abuse", adds=[Entry("phone", "13900000000")], now=NOW)
    before = _state(data_dir)
    data.write_text("list,phone\nmarketing_abuse,13800000002\n", encoding="utf-8")
    with pytest.raises(IndexBindingError, match="same backup"):
        sync_sources(data_dir, now=NOW + 1)
    assert _state(data_dir) == before


def test_an_index_changed_behind_our_back_is_found_even_at_equal_size(tmp_path: Path) -> None:
    data, mapping, data_dir = _files(tmp_path, ["marketing_abuse,13800000001"])
    import_source(data_dir, str(data), mapping, now=NOW)
    with IndexStore(data_dir / INDEX_FILE) as store:
        store.apply(
            "marketing_abuse",
            adds=[Entry("phone", "13900000000")],
            removes=[("phone", "13800000001")],
            now=NOW,
        )
        assert store.size("marketing_abuse") == 1
    before = _state(data_dir)
    with pytest.raises(IndexBindingError, match="not where the last sync left it"):
        sync_sources(data_dir, now=NOW + 1)
    assert _state(data_dir) == before


def test_an_index_refusing_a_change_rolls_staging_back(tmp_path: Path) -> None:
    data, mapping, data_dir = _files(
        tmp_path, ["marketing_abuse,13800000001", "transaction_fraud,13800000002"]
    )
    import_source(data_dir, str(data), mapping, now=NOW)
    before = _state(data_dir)
    data.write_text(
        "list,phone\nmarketing_abuse,13800000003\ntransaction_fraud,13800000004\n",
        encoding="utf-8",
    )
    # An index whose registry no longer admits phones on transaction_fraud refuses the
    # second list type's change; that is found before the first list type is applied.
    narrow = Registry.from_mapping({"marketing_abuse": ["phone"], "transaction_fraud": ["cn_id"]})
    with (
        IndexStore(data_dir / INDEX_FILE, registry=narrow) as store,
        pytest.raises(IndexBindingError, match="refuses"),
    ):
        sync_sources(data_dir, now=NOW + 1, sink=PsiIndexSink(store))
    assert _state(data_dir) == before
    with Staging(data_dir / STAGING_FILE) as s:
        assert s.syncs("f", limit=1)[0].status == "failed"


def test_bad_mapping_or_missing_source_changes_nothing(tmp_path: Path) -> None:
    data, mapping, data_dir = _files(tmp_path, ["marketing_abuse,13800000001"])
    import_source(data_dir, str(data), mapping, now=NOW)
    before = _state(data_dir)
    broken = tmp_path / "broken.toml"
    broken.write_text(MAPPING.replace('value = "phone"', 'value = "nope"'), encoding="utf-8")
    with pytest.raises(MappingError):
        import_source(data_dir, str(data), broken, now=NOW + 1)
    data.unlink()
    with pytest.raises(SourceError):
        sync_sources(data_dir, now=NOW + 2)
    assert _state(data_dir) == before


def test_a_locked_index_leaves_the_epoch_staged_and_the_next_sync_publishes_it(
    tmp_path: Path,
) -> None:
    import sqlite3

    from adapters import lists_status

    from ._truth import assert_index_matches

    data, mapping, data_dir = _files(tmp_path, ["marketing_abuse,13800000001"])
    import_source(data_dir, str(data), mapping, now=NOW)
    data.write_text("list,phone\nmarketing_abuse,13800000002\n", encoding="utf-8")
    blocker = sqlite3.connect(data_dir / INDEX_FILE, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        # The index's writes wait out sqlite's busy timeout (5 s), then fail.
        with pytest.raises(IndexBindingError, match="next sync publishes it"):
            sync_sources(data_dir, now=NOW + 1)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with Staging(data_dir / STAGING_FILE) as s:
        assert s.syncs("f", limit=1)[0].status == "index_pending"
        pending = s.epoch("marketing_abuse")
        assert pending is not None and pending.index_epoch is None
    # Nothing changed in the source since; the next sync publishes the staged epoch.
    summary = sync_sources(data_dir, now=NOW + 2)[0]
    assert (summary.added, summary.removed) == (0, 0)
    with IndexStore(data_dir / INDEX_FILE) as store:
        assert_index_matches(
            store,
            "marketing_abuse",
            {("phone", "13800000002"): (0, NOW + 1, NOW + 1 + 730 * 86_400)},
            [("phone", "13800000001")],
        )
    (status,) = lists_status(data_dir).lists
    assert status.epoch is not None and status.epoch.index_epoch is not None


def test_a_key_rotation_is_recorded_as_a_new_epoch_with_the_same_evidence(
    tmp_path: Path,
) -> None:
    import os

    from adapters import open_entry_evidence, verify_opening
    from psi import generate_key_pair

    from ._truth import assert_index_matches

    data, mapping, data_dir = _files(
        tmp_path, ["marketing_abuse,13800000001", "marketing_abuse,13800000002"]
    )
    import_source(data_dir, str(data), mapping, now=NOW)
    first, first_epoch = open_entry_evidence(data_dir, "marketing_abuse", "phone", "13800000001")
    with IndexStore(data_dir / INDEX_FILE) as store:
        old_key = store.public_key("marketing_abuse")
        store.rotate_key("marketing_abuse", generate_key_pair(os.urandom))
    data.write_text("list,phone\nmarketing_abuse,13800000001\n", encoding="utf-8")
    summary = sync_sources(data_dir, now=NOW + 1)[0]
    assert summary.removed == 1
    with Staging(data_dir / STAGING_FILE) as s:
        rotation = s.epoch("marketing_abuse", first_epoch.epoch + 1)
        assert rotation is not None
        assert rotation.evidence_root == first_epoch.evidence_root
        assert rotation.key_id != first_epoch.key_id
    with IndexStore(data_dir / INDEX_FILE) as store:
        assert store.public_key("marketing_abuse") != old_key
        assert_index_matches(
            store,
            "marketing_abuse",
            {("phone", "13800000001"): (0, NOW, NOW + 730 * 86_400)},
            [("phone", "13800000002")],
        )
    # The opening made before the rotation still verifies against its epoch's root.
    verify_opening(first, first_epoch.evidence_root, first_epoch.size)
