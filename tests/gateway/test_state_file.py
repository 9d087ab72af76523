"""``gateway.sqlite`` keeps old OPRF private keys during a rotation: 0600, or refused.

SQLite gives ``-wal`` and ``-shm`` the main file's mode, so all three must be private
from the first byte, whatever the umask; a file (or side file) that the group or others
could read is refused, as psi refuses such an index.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import GatewayError
from gateway._localstate import SCHEMA_VERSION, LocalState
from gateway._rotation import RetainedKeys
from psi import generate_key_pair


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _modes(path: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.glob(path.name + "*")}


def test_state_file_and_its_wal_are_0600_with_a_kept_key(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "gateway.sqlite"
    state, kept = LocalState(path), RetainedKeys(path)
    try:
        key = generate_key_pair(os.urandom)
        kept.retain("transaction_fraud", key, 0)
        assert kept.get(key.key_id.hex()) is not None
        modes = _modes(path)
        # The kept secret is in the WAL until a checkpoint: that file above all.
        assert {"gateway.sqlite", "gateway.sqlite-wal", "gateway.sqlite-shm"} <= set(modes)
        assert modes == dict.fromkeys(modes, 0o600)
    finally:
        kept.close()
        state.close()


@pytest.mark.parametrize("suffix", ["", "-wal"])
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_loose_state_file_is_refused_and_left_as_it_was(
    tmp_path: Path, suffix: str, mode: int
) -> None:
    path = tmp_path / "gateway.sqlite"
    kept = RetainedKeys(path)
    key = generate_key_pair(os.urandom)
    kept.retain("transaction_fraud", key, 0)
    loose = Path(f"{path}{suffix}")
    os.chmod(loose, mode)
    before = path.read_bytes()
    try:
        for opener in (LocalState, RetainedKeys):
            with pytest.raises(GatewayError, match=f"permissions {mode:04o} are too open"):
                opener(path)
        assert stat.S_IMODE(loose.stat().st_mode) == mode  # refused, not quietly fixed
        assert path.read_bytes() == before
    finally:
        kept.close()


def _sql(path: Path, query: str) -> object:
    db = sqlite3.connect(path)
    try:
        return db.execute(query).fetchone()
    finally:
        db.close()


def test_a_new_state_file_carries_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite"
    LocalState(path).close()
    assert _sql(path, "PRAGMA user_version") == (SCHEMA_VERSION,)


def test_a_file_from_before_versioning_is_stamped_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite"
    state = LocalState(path)
    state.close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO meta (k, v) VALUES ('tx_seq', 41)")
    db.execute("PRAGMA user_version = 0")
    db.commit()
    db.close()
    LocalState(path).close()
    assert _sql(path, "PRAGMA user_version") == (SCHEMA_VERSION,)
    assert _sql(path, "SELECT v FROM meta WHERE k = 'tx_seq'") == (41,)


def test_a_file_from_a_newer_release_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite"
    LocalState(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = path.read_bytes()
    with pytest.raises(GatewayError, match=rf"schema version {SCHEMA_VERSION + 1}.*upgrade"):
        LocalState(path)
    with pytest.raises(GatewayError, match="schema version"):
        RetainedKeys(path)
    assert path.read_bytes() == before
