"""The index file holds OPRF private keys: created 0600, refused when others could read it.

And an epoch no SQLite integer can hold names no epoch (a ``StoreError``, not SQLite's
``OverflowError``).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psi import Entry, IndexStore, PsiError, StoreError
from tests.psi.conftest import key, phone

LT = "transaction_fraud"
NOW = 1_750_000_000
LOOSE = [0o640, 0o604, 0o644, 0o660, 0o666, 0o620, 0o602]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _digest(path: Path) -> tuple[int, str]:
    return _mode(path), hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    # With umask 0 a file gets exactly the mode it is created with: nothing hides a
    # store that asks for 0644.
    saved = os.umask(0)
    try:
        yield
    finally:
        os.umask(saved)


def test_a_new_index_and_its_wal_files_are_0600(tmp_path: Path, permissive_umask: None) -> None:
    path = tmp_path / "index.sqlite"
    with IndexStore(path, pool=None) as store:
        store.create_list(LT, key(1))
        store.apply(LT, [Entry("phone", phone(i)) for i in range(4)], now=NOW)
        files = sorted(tmp_path.iterdir())
        assert [p.name for p in files] == ["index.sqlite", "index.sqlite-shm", "index.sqlite-wal"]
        assert {p.name: oct(_mode(p)) for p in files if _mode(p) != 0o600} == {}
    assert _mode(path) == 0o600


@pytest.mark.parametrize("mode", LOOSE, ids=oct)
def test_a_loose_index_is_refused_and_left_alone(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "index.sqlite"
    with IndexStore(path, pool=None) as store:
        store.create_list(LT, key(1))
    os.chmod(path, mode)
    before = _digest(path)
    with pytest.raises(StoreError, match=f"permissions {mode:04o} are too open"):
        IndexStore(path, pool=None)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.sqlite"]
    os.chmod(path, 0o600)
    with IndexStore(path, pool=None) as store:
        assert store.list_types() == [LT]


@pytest.mark.parametrize("suffix", ["-wal", "-shm"])
def test_a_loose_wal_or_shm_file_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "index.sqlite"
    with IndexStore(path, pool=None) as running:
        running.create_list(LT, key(1))
        side = tmp_path / f"index.sqlite{suffix}"
        os.chmod(side, 0o644)
        with pytest.raises(StoreError, match=f"{suffix}: permissions 0644 are too open"):
            IndexStore(path, pool=None)
        os.chmod(side, 0o600)
        with IndexStore(path, pool=None) as second:
            assert second.list_types() == [LT]


def test_not_a_file_or_a_uri_is_refused(tmp_path: Path) -> None:
    (tmp_path / "index.sqlite").mkdir()
    with pytest.raises(StoreError, match="not a regular file"):
        IndexStore(tmp_path / "index.sqlite", pool=None)
    with pytest.raises(StoreError, match="not a URI"):
        IndexStore(f"file:{tmp_path / 'other.sqlite'}?mode=rwc", pool=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.sqlite"]


@pytest.mark.parametrize("epoch", [2**63, 2**64, -1, -(2**63) - 1, 2**63 - 1, 2])
def test_an_epoch_out_of_range_names_no_epoch(tmp_path: Path, epoch: int) -> None:
    with IndexStore(tmp_path / "index.sqlite", pool=None) as store:
        store.create_list(LT, key(1))
        c = store.apply(LT, [Entry("phone", phone(1))], now=NOW).commitment
        with pytest.raises(StoreError, match=f"has no epoch {epoch}"):
            store.commitment(LT, epoch)
        assert store.commitment(LT) == c == store.commitment(LT, 1)


def test_any_integer_epoch_is_a_commitment_or_a_store_error() -> None:
    store = IndexStore(":memory:", pool=None)
    store.create_list(LT, key(1))
    c1 = store.apply(LT, [Entry("phone", phone(1))], now=NOW).commitment

    @given(st.integers() | st.integers(-(2**70), 2**70))
    def check(epoch: int) -> None:
        try:
            found = store.commitment(LT, epoch)
        except PsiError as exc:
            assert isinstance(exc, StoreError) and epoch not in (0, 1)
        else:
            assert found.epoch == epoch and (epoch != 1 or found == c1)

    try:
        check()
    finally:
        store.close()
